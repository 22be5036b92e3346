// imgsim search <images...> (--index <dir> | --dataset NAME) -k 10: nearest neighbours of
// each query image (files, or folders of them) and a contact sheet per query; --index
// searches a local index folder, --dataset a queue-built dataset in Qdrant. The index and
// the model are opened once per call: every query after the first costs its decode, a
// share of a batched forward pass, the scan and its sheet (npm run bench:cli measures it).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { fileProblem, UsageError, UserError } from '../../shared/errors.js';
import { OUTPUT, readIndexManifest } from '../../pipelines/layout.js';
import type { LoadedModel } from '../../shared/model/store.js';
import type { Storage } from '../../shared/storage/types.js';
import type { VectorIndex } from '../../shared/vectors/types.js';
import { helpAfter, valueOption, wholeNumber } from '../help.js';
import { filePathIn, neighbourJson, type NeighbourJson } from '../neighbours.js';
import { addConfigFlags, BACKEND_SETTINGS, contextFrom, positiveInt, SERVICE_SETTINGS, type CommandContext } from '../options.js';
import { print } from '../print.js';
import { queryFiles, type QueryFile } from '../query-files.js';
import { baseCommand } from './catalog.js';

/** What one query found: its neighbours (the --json shape features shares, bin/neighbours.ts) and contact sheet, or why it could not be searched. */
type QueryResult = { query: string; neighbors: NeighbourJson[]; sheet?: string } | { query: string; error: string };

/** Where the neighbours come from: an index and its model, the images (for sheets), the default sheet path. */
interface Searched {
  index: VectorIndex;
  model: LoadedModel;
  source: Storage | undefined;
  defaultSheet(q: QueryFile): string;
  /** With --exclude-self, the query's key when it is one of the indexed images. */
  selfKey(q: QueryFile): string | undefined;
  /** An indexed image's file, when the source is a local folder. */
  pathOf(key: string): string | undefined;
}

/** The --json of one query image: the neighbour fields are features --json's too (bin/neighbours.ts). */
const SEARCH_JSON = '{query, neighbors: [{rank, key, path?, score, cluster?}], sheet?}';

const SEARCH_EXAMPLES = [
  'imgsim search imgsim-demo/data/blue-circle/0000.png --index imgsim-demo/run -k 10 --json',
  'imgsim search imgsim-demo/data/red-circle imgsim-demo/data/blue-circle/0000.png --index imgsim-demo/run -k 5 --no-sheet --json',
  'imgsim search imgsim-demo/data/blue-circle/0000.png --index imgsim-demo/run -k 5 --exclude-self --sheet /tmp/imgsim-sheet.png',
  'imgsim search imgsim-demo/data/blue-circle/0000.png --dataset photos -k 5     # a dataset built by imgsim enqueue (Redis, Qdrant)',
];

export function searchCommand(): Command {
  const cmd = baseCommand('search')
    .addOption(valueOption('-i, --index <dir>', 'index folder (written by run or embed); this or --dataset', { default: 'none' }))
    .addOption(valueOption('-d, --dataset <name>', 'dataset built by the queue-driven pipeline (Redis, Qdrant and the artefact store: --redis, --qdrant, --artifacts); this or --index', { default: 'none' }))
    .addOption(
      valueOption('-k, --k <n>', 'number of neighbours (at most the indexed images: a larger k is capped, with a warning; a contact sheet shows the first 35)', { value: '10', allowed: wholeNumber(1) }),
    )
    .option('--exclude-self', 'leave the query out of the results when it is one of the indexed images (--index only)')
    .addOption(valueOption('--sheet <file>', 'contact sheet PNG path, for one query image', { default: `<index>/${OUTPUT.searches}<name>.png, or ./search-<name>.png with --dataset (<name> below)` }))
    .option('--no-sheet', 'write no contact sheets')
    .option('--json', `print JSON: ${SEARCH_JSON} for one query image, an array of them for several or a folder`);
  const notes = [
    `Several query images (or folders of them) are searched in one call: the index and model load once.`,
    `Contact sheets never replace another image's: <name> is the query's path in the index's source folder when it`,
    `lies there (${OUTPUT.searches}blue-circle/0000.png), else its name and a hash of its absolute path`,
    `(${OUTPUT.searches}cat-1a2b3c4d.png; a folder's images: ${OUTPUT.searches}<folder>-<hash>/<path in it>.png).`,
    'A query image that does not decode is reported and the others are searched (exit 1 at the end); one that',
    'decodes only with corruption warnings (a garbled JPEG: grey blocks) is searched, with a warning naming it.',
  ];
  cmd.addHelpText('after', helpAfter(SEARCH_EXAMPLES, notes));
  addConfigFlags(cmd, [...BACKEND_SETTINGS, 'maxPixels', ...SERVICE_SETTINGS]);
  return cmd.action(async (images: string[], opts: Record<string, unknown>) => {
    const started = performance.now();
    const ctx = contextFrom(opts);
    const k = positiveInt('-k', opts.k);
    if ((typeof opts.index === 'string') === (typeof opts.dataset === 'string')) throw new UsageError('search needs exactly one of --index <dir> or --dataset <name>');
    if (opts.excludeSelf === true && typeof opts.dataset === 'string') throw new UsageError('--exclude-self works with --index only (a dataset does not know where the query file came from)');
    // Cheap checks first, before anything heavy is loaded or any image read.
    let sourceRoot: string | undefined;
    if (typeof opts.index === 'string') {
      const { LocalStorage } = await import('../../shared/storage/local.js');
      const { source } = await readIndexManifest(new LocalStorage(opts.index));
      if (source.startsWith('file://')) sourceRoot = fileURLToPath(source);
    }
    const queries = await queryFiles(images, sourceRoot !== undefined ? { sourceRoot } : {});
    const single = images.length === 1 && queries.length === 1 && queries[0]?.shown === images[0];
    if (typeof opts.sheet === 'string' && !single) throw new UsageError('--sheet names the contact sheet of one query image; with several, each goes to its default path (or use --no-sheet)');
    const sheetFor = (q: QueryFile, s: Searched): string | undefined =>
      opts.sheet === false ? undefined : typeof opts.sheet === 'string' ? path.resolve(opts.sheet) : s.defaultSheet(q);

    const { initBackend } = await import('../../shared/model/backend.js');
    await initBackend(ctx.config.backend, ctx.logger);
    const results =
      typeof opts.dataset === 'string'
        ? await inDataset(ctx, opts.dataset, (s) => searchAll(ctx, s, queries, { k, sheetFor, started }))
        : await searchAll(ctx, await inIndex(String(opts.index), opts.excludeSelf === true), queries, { k, sheetFor, started });
    // One query image named on its own: its error is the command's (one line, exit 2); a
    // folder's images, even one, are reported in the array (exit 1 when one failed).
    const first = results[0];
    if (single && first && 'error' in first) throw new UserError(first.error);
    printResults(ctx, results, single);
    if (results.some((r) => 'error' in r)) process.exitCode = 1;
  });
}

async function inIndex(dir: string, excludeSelf: boolean): Promise<Searched> {
  const { openIndex, indexSource, keyWithinSource } = await import('../../pipelines/search.js');
  const opened = await openIndex(dir);
  return {
    index: opened.index,
    model: opened.model,
    source: indexSource(opened),
    defaultSheet: (q) => path.join(opened.dir, OUTPUT.searches, `${q.sheetName}.png`),
    selfKey: (q) => (excludeSelf ? keyWithinSource(opened, q.file) : undefined),
    pathOf: filePathIn(opened.sourceRoot),
  };
}

async function inDataset<T>(ctx: CommandContext, dataset: string, fn: (s: Searched) => Promise<T>): Promise<T> {
  const [{ connectServices }, { openDataset }, { ModelCache }] = await Promise.all([
    import('../../shared/services.js'),
    import('../../shared/runs/open-dataset.js'),
    import('../../shared/model/cache.js'),
  ]);
  const services = await connectServices(ctx.config, ctx.logger);
  try {
    const opened = await openDataset(dataset, { ...services, models: new ModelCache(services.artifacts) });
    const source = await opened.source().catch(() => undefined);
    return await fn({
      index: opened.index,
      model: opened.model,
      source,
      defaultSheet: (q) => path.resolve(`search-${q.sheetName}.png`),
      selfKey: () => undefined,
      pathOf: filePathIn(source?.uri),
    });
  } finally {
    await services.close();
  }
}

/**
 * Every query, a batch at a time (bounded memory for a folder of any size): read and
 * decode `decodeConcurrency` at once, encode the batch in one pass, search each, then draw
 * the sheets. One query image keeps the old behaviour: an error ends the command (exit 2).
 */
async function searchAll(
  ctx: CommandContext,
  s: Searched,
  queries: readonly QueryFile[],
  o: { k: number; sheetFor: (q: QueryFile, s: Searched) => string | undefined; started: number },
): Promise<QueryResult[]> {
  const [{ capK, corruptQueryMessage, embedQueries, QueryImageError, renderSearchSheet, sheetNeighbours }, { mapConcurrent }] = await Promise.all([
    import('../../pipelines/search.js'),
    import('../../shared/concurrency.js'),
  ]);
  const { sheetFor } = o;
  // -k above the collection is capped at it (a million neighbours of 720 images are 720).
  const capped = capK(o.k, await s.index.count());
  if (capped.warning !== undefined) ctx.logger.warn({ requested: o.k, used: capped.k }, capped.warning);
  const k = capped.k;
  let sheetShows: { shown: number; found: number } | undefined;
  const opened = performance.now();
  const c = ctx.config;
  const results: QueryResult[] = [];
  for (let start = 0; start < queries.length; start += c.embedBatchSize) {
    const batch = queries.slice(start, start + c.embedBatchSize);
    const read = await mapConcurrent(batch, c.decodeConcurrency, (q) =>
      readFile(q.file).catch((error: unknown) => new UserError(`Cannot read the query image ${q.shown}: it ${fileProblem(error)}`, 2, { cause: error })),
    );
    const readable = batch.flatMap((q, i) => {
      const image = read[i];
      return image instanceof Buffer ? [{ q, image }] : [];
    });
    const vectors = await embedQueries(
      s.model,
      readable.map(({ q, image }) => ({ image, name: q.shown })),
      {
        maxPixels: c.maxPixels,
        concurrency: c.decodeConcurrency,
        batchSize: c.embedBatchSize,
        onCorruption: (name, warning) => ctx.logger.warn({ query: name, warning }, corruptQueryMessage(name, warning)),
      },
    );
    const found = new Map<QueryFile, QueryResult>();
    for (const [i, { q }] of readable.entries()) {
      const v = vectors[i] as Float32Array | InstanceType<typeof QueryImageError>;
      if (v instanceof QueryImageError) {
        found.set(q, { query: q.shown, error: v.message });
        continue;
      }
      const self = s.selfKey(q);
      const neighbors = await s.index.search(v, { k, ...(self !== undefined ? { excludeKeys: new Set([self]) } : {}) });
      found.set(q, { query: q.shown, neighbors: neighbors.map((n, rank) => neighbourJson(n, rank + 1, s.pathOf(n.key))) });
    }
    await mapConcurrent(readable, c.decodeConcurrency, async ({ q, image }) => {
      const r = found.get(q);
      const sheet = sheetFor(q, s);
      if (!r || 'error' in r || sheet === undefined) return;
      await mkdir(path.dirname(sheet), { recursive: true });
      await writeFile(sheet, await renderSearchSheet({ image, name: q.shown }, r.neighbors, s.source));
      r.sheet = sheet;
      const shown = sheetNeighbours(r.neighbors.length);
      if (shown < r.neighbors.length && (sheetShows === undefined || r.neighbors.length > sheetShows.found)) sheetShows = { shown, found: r.neighbors.length };
    });
    for (const [i, q] of batch.entries()) {
      const failed = read[i];
      results.push(failed instanceof UserError ? { query: q.shown, error: failed.message } : (found.get(q) as QueryResult));
    }
  }
  if (sheetShows) {
    ctx.logger.info(
      { shown: sheetShows.shown, neighbours: sheetShows.found },
      `contact sheets show the first ${sheetShows.shown} of ${sheetShows.found} neighbours (the list${ctx.json ? ' in the JSON' : ''} has all ${sheetShows.found})`,
    );
  }
  // What a call costs: opening (start-up, index, model) once, then each query (npm run bench:cli reads this line).
  const searchMs = performance.now() - opened;
  ctx.logger.info(
    { queries: queries.length, openSeconds: (opened - o.started) / 1000, perQueryMs: searchMs / queries.length },
    'search done',
  );
  return results;
}

function neighbourLines(r: { neighbors: readonly NeighbourJson[]; sheet?: string }): string[] {
  return [...r.neighbors.map((n) => `${String(n.rank).padStart(3)}  ${n.score.toFixed(4)}  ${n.key}`), ...(r.sheet ? [`contact sheet: ${r.sheet}`] : [])];
}

/**
 * One query image: the object and lines as before. Several: a JSON array (failed queries
 * as {query, error}), or each query's lines under its name; failures also on stderr.
 */
function printResults(ctx: CommandContext, results: readonly QueryResult[], single: boolean): void {
  const first = results[0];
  if (single && first && !('error' in first)) return print(ctx, first, neighbourLines(first));
  const failed = results.filter((r) => 'error' in r);
  for (const r of failed) process.stderr.write(`imgsim: ${r.error}\n`);
  if (failed.length > 0) process.stderr.write(`imgsim: ${failed.length} of ${results.length} query images could not be searched\n`);
  print(
    ctx,
    results,
    results.flatMap((r) => ('error' in r ? [] : [`query: ${r.query}`, ...neighbourLines(r).map((l) => `  ${l}`)])),
  );
}
