// imgsim eval-features <folder>: near-duplicate recall@k of plain AE search, the
// reference ORB method and the match method, side by side.
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_NFEATURES, DEFAULT_WORKING_SIZE, DUPLICATE_KINDS, WORD_INDEX_ORB } from '../../shared/features/defaults.js';
import { baseCommand } from './catalog.js';
import { helpAfter, valueOption, wholeNumber } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, checkApplicable, checkModelSize, contextFrom, DECODE_SETTINGS, EMBED_SETTINGS, positiveInt, TRAIN_SETTINGS, withDefaults } from '../options.js';
import { print } from '../print.js';
import { formatDuration } from '../../shared/human-format.js';

/** A small, quick model for the internal training (as the demo's), unless flags or env say otherwise. */
const EVAL_DEFAULTS = { imageSize: '32', filters: '16,32,64,128', batchSize: '16', epochs: '15' } as const;

export function evalFeaturesCommand(): Command {
  const cmd = baseCommand('eval-features')
    .addOption(valueOption('-o, --out <dir>', 'output folder: data/ (originals + duplicates), groups.json, index/, features-eval.json', { value: 'imgsim-features-eval' }))
    .addOption(valueOption('--per-image <n>', `near-duplicates per query image (kinds cycle through ${DUPLICATE_KINDS.join(', ')})`, { value: '5', allowed: wholeNumber(1) }))
    .addOption(valueOption('-k, --k <n>', 'recall@k', { value: '5', allowed: wholeNumber(1) }))
    .addOption(valueOption('--queries <n>', 'originals used as queries (seeded choice); the others stay in the index as distractors', { default: 'all', allowed: wholeNumber(1) }))
    .addOption(valueOption('--candidates <n>', 'match: AE neighbours re-ranked, and as many images sharing the most visual words (as imgsim features --index)', { value: '50', allowed: wholeNumber(1) }))
    .addOption(valueOption('--nfeatures <n>', 'ORB keypoints per image for match (and its visual-word index)', { default: String(WORD_INDEX_ORB.nfeatures), allowed: wholeNumber(1) }))
    .addOption(valueOption('--reference-nfeatures <n>', 'ORB keypoints (vector length n × 32) for the reference method', { value: String(DEFAULT_NFEATURES.reference), allowed: wholeNumber(1) }))
    .addOption(
      valueOption('--orb-size <px>', 'longest side of the image ORB runs on (both methods)', {
        default: `${WORD_INDEX_ORB.workingSize} for match, ${DEFAULT_WORKING_SIZE} for reference`,
        allowed: wholeNumber(32),
      }),
    )
    .addOption(
      valueOption('-i, --index <dir>', 'reuse an index already built on <out>/data (e.g. <out>/index from an earlier run) instead of training', { default: 'train one (a small model, below)' }),
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim eval-features imgsim-demo/data --out /tmp/imgsim-feval --queries 50',
          'imgsim eval-features imgsim-demo/data --out /tmp/imgsim-feval --index /tmp/imgsim-feval/index --candidates 100 --json     # after the first',
        ],
        [`The internal training uses a smaller model than train's defaults (shown above): ${Object.entries(EVAL_DEFAULTS).map(([k, v]) => `${k}=${v}`).join(' ')}.`],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...DECODE_SETTINGS, ...TRAIN_SETTINGS, ...EMBED_SETTINGS], { defaults: EVAL_DEFAULTS });
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(withDefaults(opts, EVAL_DEFAULTS));
    checkApplicable(ctx, opts, TRAIN_SETTINGS);
    await checkModelSize(ctx.config);
    const options = {
      folder,
      out: String(opts.out),
      perImage: positiveInt('--per-image', opts.perImage),
      k: positiveInt('-k', opts.k),
      ...(opts.queries !== undefined ? { queries: positiveInt('--queries', opts.queries) } : {}),
      candidates: positiveInt('--candidates', opts.candidates),
      nfeatures: {
        ...(opts.nfeatures !== undefined ? { match: positiveInt('--nfeatures', opts.nfeatures) } : {}),
        reference: positiveInt('--reference-nfeatures', opts.referenceNfeatures),
      },
      ...(opts.orbSize !== undefined ? { workingSize: positiveInt('--orb-size', opts.orbSize, 32) } : {}),
      ...(typeof opts.index === 'string' ? { index: opts.index } : {}),
      config: ctx.config,
      logger: ctx.logger,
      progressBar: ctx.progressBar,
    };
    const { evaluateFeatures } = await import('../../pipelines/features-eval.js');
    const report = await evaluateFeatures(options);
    const r = report.recallAtK;
    const row = (name: string, v: Record<'autoencoder' | 'reference' | 'match', number>): string =>
      `${name.padEnd(12)} ${v.autoencoder.toFixed(3).padStart(11)} ${v.reference.toFixed(3).padStart(11)} ${v.match.toFixed(3).padStart(11)}`;
    print(ctx, report, [
      `${report.queries} queries × ${report.duplicatesPerImage} near-duplicates, ${report.indexed} images indexed (${report.originals} originals)`,
      `recall@${report.k} of each query's own duplicates:`,
      `${''.padEnd(12)} ${'autoencoder'.padStart(11)} ${'reference'.padStart(11)} ${'match'.padStart(11)}`,
      row('all', r),
      ...Object.entries(report.recallByKind).map(([kind, v]) => row(`  ${kind}`, v)),
      `duplicates among the AE top ${report.candidates}: ${report.candidateRecall.toFixed(3)}; with the top ${report.candidates} by visual words (match's ceiling): ${report.wordCandidateRecall.toFixed(3)}`,
      `queries without ORB keypoints: ${report.queriesWithoutKeypoints}; indexed images without: ${report.wordIndexWithoutKeypoints}`,
      `time: generate ${formatDuration(report.seconds.generate)}, index ${formatDuration(report.seconds.index)}, visual words ${formatDuration(report.seconds.words)}, search ${formatDuration(report.seconds.search)}, total ${formatDuration(report.seconds.total)}`,
      `report: ${path.join(path.resolve(String(opts.out)), 'features-eval.json')}`,
    ]);
  });
}
