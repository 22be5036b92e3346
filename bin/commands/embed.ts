// imgsim embed <folder> --model <dir> --out <dir>: the local driver's ingest, embed and index
// steps with an existing model: an index folder (embeddings.npy, ids.json, index.json).
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { loadEncoder } from '../../shared/model/store.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { openSource } from '../../shared/storage/open.js';
import { embedLocally, listLocally } from '../../pipelines/local-run.js';
import { addConfigFlags, contextFrom, EMBED_SETTINGS } from '../options.js';
import { print } from '../print.js';

export function embedCommand(): Command {
  const cmd = new Command('embed')
    .description('embed a folder with a trained model; writes embeddings.npy, ids.json and index.json under --out')
    .argument('<folder>', 'folder of images')
    .requiredOption('-m, --model <dir>', 'model folder (the model/ folder written by train or run)')
    .requiredOption('-o, --out <dir>', 'output (index) folder')
    .option('--json', 'print a JSON summary')
    .addHelpText('after', '\nExample:\n  imgsim embed ./more-photos --model ./out/model --out ./index2');
  addConfigFlags(cmd, ['maxPixels', 'decodeConcurrency', ...EMBED_SETTINGS]);
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const c = ctx.config;
    await initBackend(c.backend, ctx.logger);
    const modelDir = path.resolve(String(opts.model));
    const model = await loadEncoder(new LocalStorage(modelDir), '');
    const local = { source: await openSource(folder), out: new LocalStorage(String(opts.out)), config: c, logger: ctx.logger, progressBar: ctx.progressBar };
    const { embedded, failures } = await embedLocally(local, await listLocally(local), model, modelDir);
    print(ctx, { out: local.out.root, images: embedded.keys.length, failed: failures.length, dim: embedded.dim }, [
      `${embedded.keys.length} images embedded (${embedded.dim}-d) → ${local.out.root}; ${failures.length} skipped`,
    ]);
  });
}
