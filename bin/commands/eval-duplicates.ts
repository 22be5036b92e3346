// imgsim eval-duplicates <folder>: pair precision and recall of the duplicates pass per
// tier and per kind of edit, on edited copies generated from <folder>, with the retrieval
// recall@k of the visual words and the time per 1,000 images.
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CANDIDATES, TIERS } from '../../shared/duplicates/tiers.js';
import { EDIT_KINDS } from '../../shared/features/defaults.js';
import { formatDuration } from '../../shared/human-format.js';
import { baseCommand } from './catalog.js';
import { helpAfter, valueOption, wholeNumber } from '../help.js';
import { addConfigFlags, contextFrom, positiveInt } from '../options.js';
import { print } from '../print.js';
import type { DuplicatesEvalReport } from '../../pipelines/duplicates-eval.js';

const DEFAULT_QUERIES = 100; // pipelines/duplicates-eval.ts DEFAULT_EVAL_QUERIES (not imported: it loads sharp and OpenCV)

export function evalDuplicatesCommand(): Command {
  const cmd = baseCommand('eval-duplicates')
    .addOption(valueOption('-o, --out <dir>', 'output folder: data/originals/ (copies), data/edits/, edits.json (the families), duplicates-eval.json', { value: 'imgsim-duplicates-eval' }))
    .addOption(
      valueOption('--queries <n>', `originals that get one edited copy of each kind (${EDIT_KINDS.join(', ')}), a seeded choice; the others stay as distinct pictures`, {
        default: `${DEFAULT_QUERIES}, or all when fewer`,
        allowed: wholeNumber(1),
      }),
    )
    .addOption(valueOption('-k, --k <n>', "retrieval recall@k: a copy's original among its k best visual-word candidates", { value: '5', allowed: wholeNumber(1) }))
    .addOption(valueOption('--candidates <n>', 'visual-word (and embedding) candidates per image in the duplicates pass', { value: String(DEFAULT_CANDIDATES), allowed: wholeNumber(1) }))
    .addOption(
      valueOption('-i, --index <dir>', 'an index folder built on <out>/data (imgsim run <out>/data --out …): its embeddings add candidates and the learned tier', {
        default: 'none: the learned tier is skipped',
      }),
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim eval-duplicates imgsim-demo/data --out /tmp/imgsim-deval --queries 20',
          'imgsim run /tmp/imgsim-deval/data --out /tmp/imgsim-deval/index --size 32     # after the first: an index for the learned tier',
          'imgsim eval-duplicates imgsim-demo/data --out /tmp/imgsim-deval --queries 20 --index /tmp/imgsim-deval/index --json',
        ],
        [
          'Every two images of one family (an original and its copies) are a true pair, every two of one group a predicted pair; groups are made at the default thresholds and min tier, as imgsim duplicates reports them.',
        ],
      ),
    );
  addConfigFlags(cmd, ['seed', 'maxPixels', 'decodeConcurrency'], { docs: { seed: 'seed for the choice of originals and their edits' } });
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const options = {
      folder,
      out: String(opts.out),
      ...(opts.queries !== undefined ? { queries: positiveInt('--queries', opts.queries) } : {}),
      seed: ctx.config.seed,
      k: positiveInt('-k', opts.k),
      candidates: positiveInt('--candidates', opts.candidates),
      ...(typeof opts.index === 'string' ? { index: opts.index } : {}),
      maxPixels: ctx.config.maxPixels,
      concurrency: ctx.config.decodeConcurrency,
      logger: ctx.logger,
      progressBar: ctx.progressBar,
    };
    const { evaluateDuplicates } = await import('../../pipelines/duplicates-eval.js');
    const report = await evaluateDuplicates(options);
    print(ctx, report, reportLines(report, path.resolve(String(opts.out))));
  });
}

const score = (x: number | null): string => (x === null ? '–' : x.toFixed(3));
const count = (n: number): string => n.toLocaleString('en-US');

/** The human table of a report. */
export function reportLines(r: DuplicatesEvalReport, out: string): string[] {
  const p = r.pairs;
  const per = r.perThousandImages;
  const s = r.seconds;
  const col = (text: string, width: number): string => text.padStart(width);
  return [
    `${count(r.originals)} originals, ${count(r.queries)} of them with ${r.kinds.length} edited copies each (${r.kinds.join(', ')}): ${count(r.images)} images${r.failed.length > 0 ? `, ${r.failed.length} failed to decode` : ''}`,
    r.learned.used
      ? `learned tier: embeddings of ${r.learned.index} (cosine ≥ ${r.learned.cosine}), also as candidates`
      : 'learned tier: skipped (no --index; candidates from visual words only)',
    `pairs (every two images of one family), grouped at min tier ${r.minTier}:`,
    `  true ${count(p.truePairs)}  predicted ${count(p.predicted)}  correct ${count(p.correct)}  precision ${score(p.precision)}  recall ${score(p.recall)}`,
    `by tier       ${col('pairs', 7)} ${col('precision', 10)} │ ${col('this tier and stronger:', 23)} ${col('precision', 10)} ${col('recall', 7)}`,
    ...TIERS.map((t) => {
      const x = r.tiers[t];
      if (t === 'learned' && !r.learned.used) return `  ${t.padEnd(11)} ${col('skipped (no --index)', 18)}`;
      return `  ${t.padEnd(11)} ${col(count(x.pairs), 7)} ${col(score(x.precision), 10)} │ ${col('', 23)} ${col(score(x.cumulative.precision), 10)} ${col(score(x.cumulative.recall), 7)}`;
    }),
    `by edit      ${col('copies', 7)} ${col('grouped', 8)} ${col('direct pair', 12)} ${col(`recall@${r.retrieval.k}`, 9)} ${col('(no siblings)', 14)}   direct pair's tier`,
    ...r.kinds.map((kind) => {
      const x = r.byKind[kind];
      const tiers = TIERS.filter((t) => (x.directTiers[t] ?? 0) > 0).map((t) => `${t} ${x.directTiers[t] ?? 0}`);
      return `  ${kind.padEnd(10)} ${col(count(x.copies), 7)} ${col(score(x.recall), 8)} ${col(score(x.directRate), 12)} ${col(score(x.retrieval), 9)} ${col(score(x.retrievalWithoutSiblings), 14)}   ${tiers.join(', ') || '–'}`;
    }),
    `unedited distinct originals grouped: ${r.distinctOriginalsGrouped} pair(s)${r.distinctOriginalsGrouped > 0 ? ` (${r.distinctOriginalsPaired} paired directly, the rest joined through edited copies)` : ''}${r.falsePairCount > 0 ? `; confirmed pairs across families: ${r.falsePairCount} (duplicates-eval.json falsePairs)` : ''}`,
    ...r.falsePairs.slice(0, 5).map((f) => `  ${f.a} ↔ ${f.b}: ${f.tier}${f.inliers !== undefined ? `, ${f.inliers} inliers` : ''}${f.distance !== undefined ? `, distance ${f.distance}` : ''}${f.correlation !== undefined ? `, correlation ${f.correlation}` : ''}${f.cosine !== undefined ? `, cosine ${f.cosine}` : ''}`),
    `retrieval recall@${r.retrieval.k} (a copy's original among its ${r.retrieval.k} best visual-word candidates): ${score(r.retrieval.recall)}; with the original's other copies left out of the ranking: ${score(r.retrieval.recallWithoutSiblings)}`,
    `time: duplicates pass ${formatDuration(s.duplicates)} for ${count(r.images)} images (fingerprint ${formatDuration(s.fingerprint)}, pairs ${formatDuration(s.pairs)}); per 1,000 images: fingerprint ${formatDuration(per.fingerprint)}, pairs ${formatDuration(per.pairs)}, total ${formatDuration(per.total)}`,
    `      CPU time of the pass ${formatDuration(r.cpuSeconds.duplicates)} (${r.load.cores} cores, load average ${r.load.before} before, ${r.load.after} after)`,
    `      generate ${formatDuration(s.generate)}, retrieval ${formatDuration(s.retrieval)} (a second fingerprint pass), in all ${formatDuration(s.total)}`,
    `report: ${path.join(out, 'duplicates-eval.json')}`,
  ];
}
