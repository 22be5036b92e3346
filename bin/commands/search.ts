// imgsim search <image> (--index <dir> | --dataset NAME) -k 10: nearest neighbours and a
// contact sheet; --index searches a local index folder, --dataset a queue-built dataset in Qdrant.
import path from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { UserError } from '../../shared/errors.js';
import { renderContactSheet } from '../../shared/images/contact-sheet.js';
import { openIndex, readQuery, renderSearchSheet, searchSimilar } from '../../pipelines/search.js';
import { hitImages, searchDataset } from '../../pipelines/distributed/search-dataset.js';
import { ModelCache } from '../../shared/model/cache.js';
import { OUTPUT } from '../../pipelines/layout.js';
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
    const result = await searchSimilar(opened, image, { k, excludeSelf: opts.excludeSelf === true, maxPixels: ctx.config.maxPixels });
    const sheet = typeof opts.sheet === 'string' ? path.resolve(opts.sheet) : path.join(opened.dir, OUTPUT.searches, `${path.parse(image).name}.png`);
    await mkdir(path.dirname(sheet), { recursive: true });
    await writeFile(sheet, await renderSearchSheet(opened, result));
    printNeighbors(ctx, image, result.neighbors, sheet);
  });
}

async function searchInDataset(ctx: CommandContext, image: string, dataset: string, k: number, opts: Record<string, unknown>): Promise<void> {
  const services = await connectServices(ctx.config, ctx.logger);
  try {
    const bytes = await readQuery(image);
    const models = new ModelCache(services.artifacts);
    const { hits } = await searchDataset(dataset, bytes, image, { k }, { ...services, models });
    const record = await services.runs.getDataset(dataset);
    const source = record ? await services.openSource(record.source).catch(() => undefined) : undefined;
    const images = source ? await hitImages(source, hits) : hits.map(() => Buffer.alloc(0));
    const sheet = typeof opts.sheet === 'string' ? path.resolve(opts.sheet) : path.resolve(`search-${path.parse(image).name}.png`);
    await writeFile(
      sheet,
      await renderContactSheet(
        { image: bytes, label: `query: ${path.basename(image)}` },
        hits.map((h, i) => ({ image: images[i] ?? Buffer.alloc(0), label: `${h.key}  ${h.score.toFixed(3)}` })),
      ),
    );
    printNeighbors(ctx, image, hits.map((h) => ({ key: h.key, score: h.score })), sheet);
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
