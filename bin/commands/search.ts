// imgsim search <image> (--index <dir> | --dataset NAME) -k 10: nearest neighbours and a
// contact sheet; --index searches a local index folder, --dataset a queue-built dataset in Qdrant.
import path from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { UserError } from '../../shared/errors.js';
import { openIndex, keyWithinSource, indexSource, readQuery, renderSearchSheet, searchIndex } from '../../pipelines/search.js';
import { OUTPUT } from '../../pipelines/layout.js';
import { ModelCache } from '../../shared/model/cache.js';
import { openDataset } from '../../shared/runs/open-dataset.js';
import { connectServices } from '../../shared/services.js';
import { addConfigFlags, contextFrom, SERVICE_SETTINGS, type CommandContext } from '../options.js';
import { print } from '../print.js';

export function searchCommand(): Command {
  const cmd = new Command('search')
    .description('find the images most similar to <image> in a local index folder (--index) or a dataset in Qdrant (--dataset)')
    .argument('<image>', 'query image file')
    .option('-i, --index <dir>', 'index folder (written by run or embed)')
    .option('-d, --dataset <name>', 'dataset built by the queue-driven pipeline')
    .option('-k, --k <n>', 'number of neighbours', '10')
    .option('--exclude-self', 'leave the query out of the results when it is one of the indexed images')
    .option('--sheet <file>', `contact sheet PNG path (default <index>/${OUTPUT.searches}<query>.png, or ./search-<query>.png with --dataset)`)
    .option('--json', 'print the neighbours as JSON')
    .addHelpText('after', '\nExamples:\n  imgsim search ./photos/cat.jpg --index ./out -k 10 --json\n  imgsim search ./cat.jpg --dataset photos -k 5');
  addConfigFlags(cmd, ['maxPixels', ...SERVICE_SETTINGS]);
  return cmd.action(async (image: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const k = Number(opts.k);
    if (!Number.isInteger(k) || k < 1) throw new UserError(`-k: expected a positive integer, received "${String(opts.k)}"`);
    if ((typeof opts.index === 'string') === (typeof opts.dataset === 'string')) throw new UserError('search needs exactly one of --index <dir> or --dataset <name>');
    await initBackend(ctx.config.backend, ctx.logger);
    if (typeof opts.dataset === 'string') return searchInDataset(ctx, image, opts.dataset, k, opts);
    const opened = await openIndex(String(opts.index));
    const bytes = await readQuery(image);
    const self = opts.excludeSelf === true ? keyWithinSource(opened, image) : undefined;
    const neighbors = await searchIndex({
      index: opened.index,
      model: opened.model,
      query: bytes,
      queryName: image,
      k,
      ...(self !== undefined ? { excludeKeys: new Set([self]) } : {}),
      maxPixels: ctx.config.maxPixels,
    });
    const sheet = typeof opts.sheet === 'string' ? path.resolve(opts.sheet) : path.join(opened.dir, OUTPUT.searches, `${path.parse(image).name}.png`);
    await mkdir(path.dirname(sheet), { recursive: true });
    await writeFile(sheet, await renderSearchSheet({ image: bytes, name: image }, neighbors, indexSource(opened)));
    printNeighbors(ctx, image, neighbors, sheet);
  });
}

async function searchInDataset(ctx: CommandContext, image: string, dataset: string, k: number, opts: Record<string, unknown>): Promise<void> {
  const services = await connectServices(ctx.config, ctx.logger);
  try {
    const bytes = await readQuery(image);
    const opened = await openDataset(dataset, { ...services, models: new ModelCache(services.artifacts) });
    const neighbors = await searchIndex({ index: opened.index, model: opened.model, query: bytes, queryName: image, k, maxPixels: ctx.config.maxPixels });
    const source = await opened.source().catch(() => undefined);
    const sheet = typeof opts.sheet === 'string' ? path.resolve(opts.sheet) : path.resolve(`search-${path.parse(image).name}.png`);
    await writeFile(sheet, await renderSearchSheet({ image: bytes, name: image }, neighbors, source));
    printNeighbors(ctx, image, neighbors, sheet);
  } finally {
    await services.close();
  }
}

function printNeighbors(ctx: CommandContext, query: string, neighbors: ReadonlyArray<{ key: string; score: number }>, sheet: string): void {
  print(ctx, { query, neighbors, sheet }, [
    ...neighbors.map((n, i) => `${String(i + 1).padStart(3)}  ${n.score.toFixed(4)}  ${n.key}`),
    `contact sheet: ${sheet}`,
  ]);
}
