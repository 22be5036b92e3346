// imgsim duplicates <folder> | --index <dir>: groups of duplicates and near-duplicates in
// tiers (exact, perceptual, verified, learned: shared/duplicates/tiers.ts), each pair with
// its evidence; duplicates.json and one contact sheet per group under --out
// (pipelines/duplicates-output.ts). `--dismiss A B` marks a pair "not a duplicate" for good
// (stored with the index folder, or in --out for a plain folder) and runs no pass.
//
// The flags are checked here, before any image is read or any heavy module loads; the
// pass itself is pipelines/duplicates.ts findDuplicates, the same stage the queue runs.
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError, UserError } from '../../shared/errors.js';
import {
  DEFAULT_CANDIDATES,
  DEFAULT_MIN_TIER,
  DEFAULT_THRESHOLDS,
  DUPLICATE_NFEATURES,
  DUPLICATE_WORKING_SIZE,
  tierFromFlag,
  TIERS,
  type DuplicateThresholds,
  type Tier,
} from '../../shared/duplicates/tiers.js';
import type { DuplicateImage, DuplicatesReport, EmbeddingLookup } from '../../pipelines/duplicates.js';
import type { DuplicatesFile } from '../../pipelines/duplicates-output.js';
import type { Failure } from '../../shared/images/decoded.js';
import type { Progress } from '../../shared/progress.js';
import { formatDuration } from '../../shared/human-format.js';
import { helpAfter, MODEL_FLAG_DOC, valueOption, wholeNumber } from '../help.js';
import { settings, type SettingName } from '../../shared/config/index.js';
import { cosineOption, fractionOption, learnedThreshold, learnedThresholdText } from '../learned-flags.js';
import { addConfigFlags, attributeOf, BACKEND_SETTINGS, contextFrom, EMBED_SETTINGS, numberIn, positiveInt, type CommandContext } from '../options.js';
import { print } from '../print.js';
import { baseCommand } from './catalog.js';

/** ORB keypoints a fingerprint keeps at most (shared/duplicates/visual-words.ts MAX_DESCRIPTORS; not imported: it loads nothing heavy, but help should not need it). */
export const MAX_NFEATURES = 2048;

const DUPLICATES_JSON =
  '{version, source, index?, model?, images, embedded, failed: [{key, reason, message}], minTier, thresholds, fraction?, pairsByTier, dismissed, groups: [{tier, keeper, members: [{key, path?, width, height, bytes, keeper, tier}], pairs: [{a, b, tier, identical?, distance?, mirrored?, correlation?, inliers?, cosine?}], sheet?}], seconds, out}';

/** A tier named by --min-tier. */
export function tierOf(value: unknown): Tier {
  return tierFromFlag('--min-tier', value);
}

export interface DuplicateFlags {
  thresholds: DuplicateThresholds;
  minTier: Tier;
  fraction?: number;
  candidates: number;
  nfeatures: number;
  workingSize: number;
}

/**
 * The pass's settings from the flags (commander's attribute names). --inliers below the
 * weak-evidence count lowers that too.
 */
export function duplicateFlags(opts: Record<string, unknown>): DuplicateFlags {
  const inliers = numberIn('--inliers', opts.inliers, 4, 10_000, { whole: true });
  const learned = learnedThreshold(opts);
  return {
    thresholds: {
      ...DEFAULT_THRESHOLDS,
      hashDistance: numberIn('--hash-distance', opts.hashDistance, 0, 64, { whole: true }),
      inliers,
      weakInliers: Math.min(DEFAULT_THRESHOLDS.weakInliers, inliers),
      cosine: learned.cosine ?? DEFAULT_THRESHOLDS.cosine,
    },
    minTier: tierOf(opts.minTier),
    ...(learned.fraction !== undefined ? { fraction: learned.fraction } : {}),
    candidates: positiveInt('--candidates', opts.candidates),
    nfeatures: numberIn('--nfeatures', opts.nfeatures, 1, MAX_NFEATURES, { whole: true }),
    workingSize: positiveInt('--orb-size', opts.orbSize, 32),
  };
}

/** The pair of --dismiss / --undismiss, when one is given: exactly two values. */
export function pairFlag(opts: Record<string, unknown>): { undo: boolean; a: string; b: string } | undefined {
  if (opts.dismiss !== undefined && opts.undismiss !== undefined) throw new UsageError('give --dismiss or --undismiss, not both');
  const undo = opts.undismiss !== undefined;
  const values = (undo ? opts.undismiss : opts.dismiss) as string[] | undefined;
  if (values === undefined) return undefined;
  const flag = undo ? '--undismiss' : '--dismiss';
  if (values.length !== 2) throw new UsageError(`${flag} takes the two keys of one pair, got ${values.length}: ${values.map((v) => JSON.stringify(v)).join(' ')}`);
  const [a, b] = values as [string, string];
  if (a === b) throw new UsageError(`${flag} takes two different images, got ${JSON.stringify(a)} twice`);
  return { undo, a, b };
}

/** The default --out: <index>/duplicates, or <folder>-duplicates beside the folder (never inside it: its sheets would be listed as images). */
export function defaultOut(o: { index?: string; folder?: string }): string {
  if (o.index !== undefined) return path.join(path.resolve(o.index), 'duplicates');
  const folder = path.resolve(o.folder ?? '.');
  if (path.dirname(folder) === folder) throw new UsageError(`give --out: there is no folder beside ${folder} to write to`);
  return `${folder}-duplicates`;
}

/** The source folder's key of `value`: a key as duplicates.json names it, or a file path inside the folder. */
export function keyOf(value: string, root: string, keys: ReadonlySet<string>): string | undefined {
  if (keys.has(value)) return value;
  const rel = path.relative(root, path.resolve(value));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const key = rel.split(path.sep).join('/');
  return keys.has(key) ? key : undefined;
}

/** One progress bar (or log line series) per phase of the pass, each closed when the next starts. */
function phaseProgress(ctx: CommandContext, create: (label: string, total: number) => Progress): { update(phase: string, done: number, total: number): void; stop(): void } {
  let current: { phase: string; total: number; bar: Progress } | undefined;
  return {
    update(phase, done, total) {
      if (!current || current.phase !== phase || current.total !== total) {
        current?.bar.stop();
        current = { phase, total, bar: create(phase, total) };
      }
      current.bar.update(done);
    },
    stop() {
      current?.bar.stop();
      current = undefined;
    },
  };
}

const UNITS: Record<string, string> = { fingerprint: 'images', embed: 'images', candidates: 'images', verify: 'pairs', sheets: 'sheets' };

/** Flags that set how this process finds pairs: a queued dataset's workers use the defaults (but --cosine / --fraction, which a pass carries). */
const LOCAL_ONLY: ReadonlyArray<[string, string]> = [
  ['model', '--model'],
  ['out', '--out'],
  ['hashDistance', '--hash-distance'],
  ['inliers', '--inliers'],
  ['candidates', '--candidates'],
  ['nfeatures', '--nfeatures'],
  ['orbSize', '--orb-size'],
  ['undismiss', '--undismiss'],
];

/** Settings of how this process decodes and embeds (its workers' own configuration decides for a queued pass). */
const PROCESS_SETTINGS: readonly SettingName[] = [...BACKEND_SETTINGS, 'maxPixels', 'decodeConcurrency', ...EMBED_SETTINGS];

/** imgsim duplicates --dataset <name>: the dataset's pass on the workers, started (or joined) and waited for, then its groups; or --dismiss. */
async function datasetPass(name: string, opts: Record<string, unknown>, given: (key: string) => boolean): Promise<void> {
  const local = LOCAL_ONLY.filter(([k]) => given(k)).map(([, flag]) => flag);
  if (given('sheets')) local.push('--no-sheets');
  // Flags only: the same settings from the environment serve the workers and other commands.
  for (const name of PROCESS_SETTINGS) {
    const flag = settings[name].flag;
    if (flag && given(attributeOf(flag))) local.push(flag);
  }
  if (local.length > 0) throw new UsageError(`${local.join(', ')} ${local.length === 1 ? 'applies' : 'apply'} to a <folder> or --index: a dataset's pass runs on the workers at the default settings, but for the learned tier's --cosine or --fraction (docs/duplicates.md, "Queued datasets")`);
  const { queuedDuplicates } = await import('./dataset-duplicates.js');
  await queuedDuplicates(name, opts.dismiss !== undefined ? 'dismiss' : 'wait', { ...opts, limit: '20', timeout: '86400' });
}

export function duplicatesCommand(): Command {
  const cmd = baseCommand('duplicates')
    .addOption(valueOption('-i, --index <dir>', 'index folder (written by imgsim run or imgsim embed): its source folder\'s images, its embeddings for the learned tier; this, a <folder> or --dataset', { default: 'none' }))
    .addOption(valueOption('-d, --dataset <name>', "dataset of the queue-driven pipeline: its pass runs on the workers — start (or join) it, wait, show its groups (see below)", { default: 'none' }))
    .addOption(valueOption('-m, --model <dir>', `with a <folder>: embed its images with this model for the learned tier and embedding candidates; ${MODEL_FLAG_DOC}`, { default: 'none (no learned tier)' }))
    .addOption(
      valueOption('-o, --out <dir>', 'output folder: duplicates.json and groups/NNNN.png (a folder holding images or another command\'s outputs is refused)', {
        default: '<index>/duplicates with --index, <folder>-duplicates beside a folder',
      }),
    )
    .addOption(valueOption('--min-tier <tier>', 'weakest tier reported (learned needs embeddings: --index or --model)', { value: DEFAULT_MIN_TIER, allowed: `one of ${TIERS.join(', ')}` }))
    .addOption(valueOption('--hash-distance <bits>', 'perceptual tier: most bits two 64-bit perceptual hashes may differ by', { value: String(DEFAULT_THRESHOLDS.hashDistance), allowed: 'a whole number from 0 to 64' }))
    .addOption(
      valueOption('--inliers <n>', `verified tier: ORB matches consistent with one affine transform, with the aligned thumbnails correlated ≥ 0.6 (3 × n alone; ${DEFAULT_THRESHOLDS.weakInliers} or more aligned at ≥ ${DEFAULT_THRESHOLDS.weakCorrelation} count too)`, {
        value: String(DEFAULT_THRESHOLDS.inliers),
        allowed: 'a whole number from 4 to 10000',
      }),
    )
    .addOption(cosineOption())
    .addOption(fractionOption())
    .addOption(valueOption('--candidates <n>', 'candidate images per image, from the visual-word index (and from the embeddings)', { value: String(DEFAULT_CANDIDATES), allowed: wholeNumber(1) }))
    .addOption(valueOption('--nfeatures <n>', 'ORB keypoints per image', { value: String(DUPLICATE_NFEATURES), allowed: `a whole number from 1 to ${MAX_NFEATURES}` }))
    .addOption(valueOption('--orb-size <px>', 'longest side of the image ORB runs on (resized, aspect kept)', { value: String(DUPLICATE_WORKING_SIZE), allowed: wholeNumber(32) }))
    .addOption(valueOption('--dismiss <key...>', 'mark the pair <a> <b> "not a duplicate" (keys as duplicates.json names them, or file paths); no pass is run', { default: 'none' }))
    .addOption(valueOption('--undismiss <key...>', 'take the mark off the pair <a> <b>; no pass is run', { default: 'none' }))
    .option('--no-sheets', 'write no contact sheets (duplicates.json only)')
    .option('--json', `print the report: ${DUPLICATES_JSON}`)
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim duplicates imgsim-demo/data --out /tmp/imgsim-duplicates',
          'imgsim duplicates --index imgsim-demo/run --min-tier learned --fraction 0.05 --json',
          'imgsim duplicates imgsim-demo/data --out /tmp/imgsim-duplicates --min-tier exact --no-sheets',
          'imgsim duplicates --index imgsim-demo/run --dismiss blue-circle/0000.png blue-circle/0001.png',
        ],
        [
          'Tiers, strongest first: exact (identical bytes or decoded pixels), perceptual (perceptual hashes',
          'within the distance, thumbnails agree), verified (ORB matches under one affine transform: crops,',
          'rotations, rescales, flips), learned (embedding cosine alone). Pairs marked "not a duplicate" are',
          'stored with the index folder (a folder: in --out) and never reported again.',
          "A queued dataset's pass (--dataset) runs on the fingerprint and duplicates workers at the default",
          'settings but for --cosine / --fraction: this starts (or joins) it, waits and shows its groups (--min-tier, --json, --dismiss apply);',
          'imgsim dataset duplicates <name> has the rest (--mode all, --show, --timeout), GET /v1/datasets/{name}/duplicates serves it.',
        ],
      ),
    );
  addConfigFlags(cmd, [...PROCESS_SETTINGS, 'redisUrl', 'artifacts']);
  return cmd.action(async (folder: string | undefined, opts: Record<string, unknown>, command: Command) => {
    const t0 = performance.now();
    const ctx = contextFrom(opts);
    const given = [folder !== undefined ? 'a <folder>' : '', typeof opts.index === 'string' ? '--index' : '', typeof opts.dataset === 'string' ? '--dataset' : ''].filter(Boolean);
    if (given.length !== 1) throw new UsageError(`duplicates needs exactly one of <folder>, --index <dir> or --dataset <name>${given.length > 1 ? `, got ${given.join(' and ')}` : ''}`);
    if (typeof opts.dataset === 'string') return await datasetPass(opts.dataset, opts, (k) => command.getOptionValueSource(k) === 'cli');
    const index = typeof opts.index === 'string' ? opts.index : undefined;
    if (index !== undefined && typeof opts.model === 'string') throw new UsageError('--model applies to a <folder>: an index folder brings its own embeddings');
    const flags = duplicateFlags(opts);
    const pair = pairFlag(opts);
    const learnedAsked = opts.fraction !== undefined || opts.cosine !== undefined;
    const hasEmbeddings = index !== undefined || typeof opts.model === 'string';
    if (learnedAsked && !hasEmbeddings) throw new UsageError(`${opts.fraction !== undefined ? '--fraction' : '--cosine'} applies to the learned tier, which needs embeddings: --index <dir>, or --model <dir> with a folder`);
    const out = path.resolve(typeof opts.out === 'string' ? opts.out : defaultOut(index !== undefined ? { index } : { folder }));

    const [{ LocalStorage }, { openSource }, { listImages }, { DismissalStore, DISMISSALS_FILE }, { checkOutputFolder }, { readIndexManifest }] = await Promise.all([
      import('../../shared/storage/local.js'),
      import('../../shared/storage/open.js'),
      import('../../pipelines/ingest.js'),
      import('../../shared/duplicates/dismissals.js'),
      import('../../pipelines/output-folder.js'),
      import('../../pipelines/layout.js'),
    ]);

    // The source folder: the <folder>, or the one the index was built from.
    let sourceRef: string;
    const indexStorage = index !== undefined ? new LocalStorage(index) : undefined;
    if (indexStorage) {
      const manifest = await readIndexManifest(indexStorage);
      if (!manifest.source.startsWith('file://')) throw new UserError(`The index in ${indexStorage.root} was built from ${manifest.source}; duplicates needs its images in a local folder`);
      sourceRef = manifest.source;
    } else {
      if (/^s3:\/\//i.test(folder as string)) throw new UsageError(`duplicates reads a local folder; an S3 source is a queued dataset's (--dataset)`);
      sourceRef = folder as string;
    }
    const source = await openSource(sourceRef);
    if (!(source instanceof LocalStorage)) throw new UserError(`duplicates needs a local folder, got ${sourceRef}`);
    const root = source.root;
    if (out === root) throw new UsageError(`--out ${out} is the source folder itself; choose another folder`);
    // Our own output inside the source folder is not part of it (its sheets are images).
    const outRel = path.relative(root, out);
    const outPrefix = outRel.startsWith('..') || path.isAbsolute(outRel) ? undefined : `${outRel.split(path.sep).join('/')}/`;
    const listing = await listImages(source);
    const listed = listing.images.filter((o) => outPrefix === undefined || !o.key.startsWith(outPrefix));
    const ignored: Failure[] = listing.ignored.filter((f) => outPrefix === undefined || !f.key.startsWith(outPrefix));
    const pathOf = (key: string): string => path.join(root, ...key.split('/'));

    const store = indexStorage ? new DismissalStore(indexStorage) : new DismissalStore(new LocalStorage(out));
    const storeFile = path.join(indexStorage ? indexStorage.root : out, DISMISSALS_FILE);
    if (pair) {
      if (!indexStorage) await checkOutputFolder(out, ['duplicates']);
      const keys = new Set(listed.map((o) => o.key));
      const resolved = [pair.a, pair.b].map((v) => {
        const key = keyOf(v, root, keys);
        // Undismissing may name an image since removed from the folder: the stored key is enough.
        if (key === undefined && !pair.undo) throw new UserError(`--dismiss: ${JSON.stringify(v)} is not an image of ${root} (name images by their key in duplicates.json, e.g. "${listed[0]?.key ?? 'a/b.jpg'}", or by their file path)`);
        return key ?? v;
      }) as [string, string];
      const [a, b] = resolved;
      if (a === b) throw new UsageError(`${pair.undo ? '--undismiss' : '--dismiss'} names the same image twice (${a})`);
      const changed = pair.undo ? await store.remove(a, b) : await store.add(a, b);
      const total = (await store.list()).length;
      const what = pair.undo ? (changed ? 'no longer marked "not a duplicate"' : 'was not marked "not a duplicate"; nothing changed') : changed ? 'marked "not a duplicate"' : 'was already marked "not a duplicate"';
      print(ctx, { a, b, dismissed: !pair.undo, changed, store: storeFile, pairs: total }, [`${a} ↔ ${b}: ${what} (${storeFile}: ${total} pair${total === 1 ? '' : 's'})`]);
      return;
    }

    await checkOutputFolder(out, ['duplicates']);
    if (flags.minTier === 'learned' && !hasEmbeddings) ctx.logger.warn('--min-tier learned: no learned pairs without embeddings (--index <dir>, or --model <dir> with a folder); the other tiers are reported');

    const images: DuplicateImage[] = listed.map((o) => ({ key: o.key, path: pathOf(o.key), load: () => source.get(o.key) }));
    const { createProgress } = await import('../../shared/progress.js');
    const progress = phaseProgress(ctx, (label, total) => createProgress({ label, total, unit: UNITS[label] ?? '', logger: ctx.logger, bar: ctx.progressBar }));

    // Embeddings: the index's, or the --model's over the folder.
    let embeddings: EmbeddingLookup | undefined;
    let modelDir: string | undefined;
    if (indexStorage) {
      const [{ FlatIndex }, { initBackend }] = await Promise.all([import('../../shared/vectors/flat-index.js'), import('../../shared/model/backend.js')]);
      embeddings = lookupOf(await FlatIndex.load(indexStorage));
      // The embeddings' nearest neighbours are matrix products on the TensorFlow.js backend.
      await initBackend(ctx.config.backend, ctx.logger);
    } else if (typeof opts.model === 'string') {
      const { resolveModelFolder } = await import('../../pipelines/model-folder.js');
      modelDir = (await resolveModelFolder(opts.model)) ?? path.resolve(opts.model);
      embeddings = await embedImages(images, modelDir, ctx, (done, total) => progress.update('embed', done, total));
    }
    const embedded = embeddings ? images.filter((img) => embeddings.vectorOf(img.key) !== undefined).length : 0;

    const { findDuplicates } = await import('../../pipelines/duplicates.js');
    let report: DuplicatesReport;
    try {
      report = await findDuplicates(
        images,
        { ...flags, maxPixels: ctx.config.maxPixels, concurrency: ctx.config.decodeConcurrency },
        { ...(embeddings ? { embeddings } : {}), dismissed: await store.ids(), progress: (phase, done, total) => progress.update(phase, done, total), logger: ctx.logger },
      );
    } finally {
      progress.stop();
    }

    const { reportFile, writeDuplicatesOutput, DUPLICATES_FILES, MAX_SHEET_MEMBERS } = await import('../../pipelines/duplicates-output.js');
    const sheets = opts.sheets !== false;
    const file = reportFile(
      { ...report, failed: [...ignored, ...report.failed].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)) },
      { source: source.uri, ...(indexStorage ? { index: indexStorage.root } : {}), ...(modelDir !== undefined ? { model: modelDir } : {}), embedded, pathOf, sheets },
    );
    const t1 = performance.now();
    const { cut } = await writeDuplicatesOutput(new LocalStorage(out), file, {
      sheets,
      maxPixels: ctx.config.maxPixels,
      imageOf: (key) => Promise.resolve(pathOf(key)),
      onSheet: (done, total) => progress.update('sheets', done, total),
    });
    progress.stop();
    if (cut > 0) ctx.logger.warn(`${cut} group${cut === 1 ? ' has' : 's have'} more than ${MAX_SHEET_MEMBERS} images: ${cut === 1 ? 'its sheet shows' : 'their sheets show'} the keeper and the first ${MAX_SHEET_MEMBERS - 1} others (duplicates.json lists them all)`);
    const sheetSeconds = (performance.now() - t1) / 1000;
    print(ctx, { ...file, out }, summaryLines(file, { out, reportPath: path.join(out, DUPLICATES_FILES.report), sheets, sheetSeconds, totalSeconds: (performance.now() - t0) / 1000 }));
  });
}

/** An index's vectors by key, for the learned tier (rows of its matrix, no copy). */
function lookupOf(index: { dim: number; allKeys(): readonly string[]; view(): Float32Array }): EmbeddingLookup {
  const rows = new Map(index.allKeys().map((k, i) => [k, i]));
  const data = index.view();
  const dim = index.dim;
  return {
    dim,
    vectorOf: (key) => {
      const r = rows.get(key);
      return r === undefined ? undefined : data.subarray(r * dim, (r + 1) * dim);
    },
  };
}

/** Embeddings of `images` under the model in `modelDir`, a chunk at a time (images that do not decode have none: the pass records them). */
async function embedImages(images: readonly DuplicateImage[], modelDir: string, ctx: CommandContext, onProgress: (done: number, total: number) => void): Promise<EmbeddingLookup> {
  const [{ initBackend }, { loadEncoder }, { LocalStorage }, { embedQueries }] = await Promise.all([
    import('../../shared/model/backend.js'),
    import('../../shared/model/store.js'),
    import('../../shared/storage/local.js'),
    import('../../pipelines/search.js'),
  ]);
  await initBackend(ctx.config.backend, ctx.logger);
  const model = await loadEncoder(new LocalStorage(modelDir), '');
  const vectors = new Map<string, Float32Array>();
  const chunk = Math.max(ctx.config.embedBatchSize, 4 * ctx.config.decodeConcurrency);
  for (let start = 0; start < images.length; start += chunk) {
    const part = images.slice(start, start + chunk);
    const queries = await Promise.all(part.map(async (img) => ({ image: await img.load(), name: img.key })));
    const out = await embedQueries(model, queries, { maxPixels: ctx.config.maxPixels, concurrency: ctx.config.decodeConcurrency, batchSize: ctx.config.embedBatchSize });
    out.forEach((v, i) => {
      if (v instanceof Float32Array) vectors.set((part[i] as DuplicateImage).key, v);
    });
    onProgress(start + part.length, images.length);
  }
  return { dim: model.meta.embeddingDim, vectorOf: (key) => vectors.get(key) };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** The human summary: counts, groups by tier, the first groups, time, where the files are. */
export function summaryLines(file: DuplicatesFile, o: { out: string; reportPath: string; sheets: boolean; sheetSeconds: number; totalSeconds: number }): string[] {
  const reasons = new Map<string, number>();
  for (const f of file.failed) reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
  const failed = file.failed.length > 0 ? `, ${file.failed.length} skipped (${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')})` : '';
  const embedded = file.index !== undefined || file.model !== undefined ? `, ${file.embedded.toLocaleString('en-US')} with an embedding` : '';
  const byTier = TIERS.map((t) => [t, file.groups.filter((g) => g.tier === t).length] as const).filter(([, n]) => n > 0);
  const inGroups = file.groups.reduce((n, g) => n + g.members.length, 0);
  const lines = [
    `${plural(file.images, 'image')} fingerprinted${failed}${embedded}`,
    file.groups.length === 0
      ? `no duplicates at --min-tier ${file.minTier}`
      : `${plural(file.groups.length, 'group')} of duplicates (${plural(inGroups, 'image')}), by strongest tier: ${byTier.map(([t, n]) => `${t} ${n}`).join(', ')} (--min-tier ${file.minTier})`,
    `pairs found: ${TIERS.map((t) => `${t} ${file.pairsByTier[t]}`).join(', ')}${file.dismissed > 0 ? `; ${plural(file.dismissed, 'dismissed pair')} left out` : ''}`,
  ];
  if (file.fraction !== undefined) lines.push(`learned tier: ${learnedThresholdText(file)}`);
  const shown = file.groups.slice(0, 10);
  for (const [i, g] of shown.entries()) {
    lines.push(`${String(i + 1).padStart(5)}  ${g.tier.padEnd(10)} ${String(g.members.length).padStart(3)} images  keeper ${g.keeper}${g.sheet !== undefined ? `  ${g.sheet}` : ''}`);
  }
  if (file.groups.length > shown.length) lines.push(`  … ${plural(file.groups.length - shown.length, 'more group')} in duplicates.json`);
  const perThousand = file.images > 0 ? (file.seconds.total / file.images) * 1000 : 0;
  lines.push(
    `time: ${formatDuration(file.seconds.total)} (fingerprint ${formatDuration(file.seconds.fingerprint)}, pairs ${formatDuration(file.seconds.pairs)}), ${formatDuration(perThousand)} per 1,000 images${o.sheets ? `; sheets ${formatDuration(o.sheetSeconds)}` : ''}; whole command ${formatDuration(o.totalSeconds)}`,
    `report: ${o.reportPath}${o.sheets && file.groups.length > 0 ? `; sheets: ${path.join(o.out, 'groups')}${path.sep}` : ''}`,
  );
  return lines;
}
