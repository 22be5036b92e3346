// imgsim search <image> --index <dir> -k 10: nearest neighbours and a contact sheet.
import path from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { UserError } from '../../shared/errors.js';
import { openIndex, renderSearchSheet, searchSimilar } from '../../pipelines/search.js';
import { OUTPUT } from '../../pipelines/layout.js';
import { addConfigFlags, contextFrom } from '../options.js';
import { print } from '../print.js';

export function searchCommand(): Command {
  const cmd = new Command('search')
    .description('find the images most similar to <image> in an index folder')
    .argument('<image>', 'query image file')
    .requiredOption('-i, --index <dir>', 'index folder (written by run or embed)')
    .option('-k, --k <n>', 'number of neighbours', '10')
    .option('--exclude-self', 'leave the query out of the results when it is one of the indexed images')
    .option('--sheet <file>', `contact sheet PNG path (default <index>/${OUTPUT.searches}<query>.png)`)
    .option('--json', 'print the neighbours as JSON')
    .addHelpText('after', '\nExample:\n  imgsim search ./photos/cat.jpg --index ./out -k 10 --json');
  addConfigFlags(cmd, ['maxPixels']);
  return cmd.action(async (image: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const k = Number(opts.k);
    if (!Number.isInteger(k) || k < 1) throw new UserError(`-k: expected a positive integer, received "${String(opts.k)}"`);
    await initBackend(ctx.config.backend, ctx.logger);
    const opened = await openIndex(String(opts.index));
    const result = await searchSimilar(opened, image, { k, excludeSelf: opts.excludeSelf === true, maxPixels: ctx.config.maxPixels });
    const sheet =
      typeof opts.sheet === 'string'
        ? path.resolve(opts.sheet)
        : path.join(opened.dir, OUTPUT.searches, `${path.parse(image).name}.png`);
    await mkdir(path.dirname(sheet), { recursive: true });
    await writeFile(sheet, await renderSearchSheet(opened, result));
    print(ctx, { query: image, neighbors: result.neighbors, sheet }, [
      ...result.neighbors.map((n, i) => `${String(i + 1).padStart(3)}  ${n.score.toFixed(4)}  ${n.key}`),
      `contact sheet: ${sheet}`,
    ]);
  });
}
