// imgsim embed <folder> --model <dir> --out <dir>: the local driver's ingest, embed and index
// steps with an existing model: an index folder (embeddings.npy, ids.json, index.json).
import path from 'node:path';
import type { Command } from 'commander';
import { checkOutputFolder } from '../../pipelines/output-folder.js';
import { baseCommand } from './catalog.js';
import { helpAfter, MODEL_FLAG_DOC, valueOption } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, contextFrom, EMBED_SETTINGS } from '../options.js';
import { resolveModelFolder } from '../../pipelines/model-folder.js';

import { print } from '../print.js';

export function embedCommand(): Command {
  const cmd = baseCommand('embed')
    .addOption(valueOption('-m, --model <dir>', MODEL_FLAG_DOC, { required: true }))
    .addOption(valueOption('-o, --out <dir>', "output (index) folder: embeddings.npy, ids.json, index.json; refused if it holds images or another command's outputs", { required: true }))
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      helpAfter([
        'imgsim embed imgsim-demo/data --model imgsim-demo/run --out /tmp/imgsim-index2',
        'imgsim embed imgsim-demo/data/red-circle --model imgsim-demo/run/model --out /tmp/imgsim-index-red --embed-batch 32 --json',
      ]),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, 'maxPixels', 'decodeConcurrency', ...EMBED_SETTINGS]);
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const c = ctx.config;
    await checkOutputFolder(String(opts.out), ['run']);
    const [{ initBackend }, { loadEncoder }, { LocalStorage }, { openSource }, { embedLocally, listLocally }] = await Promise.all([
      import('../../shared/model/backend.js'),
      import('../../shared/model/store.js'),
      import('../../shared/storage/local.js'),
      import('../../shared/storage/open.js'),
      import('../../pipelines/local-run.js'),
    ]);
    await initBackend(c.backend, ctx.logger);
    // A train/run output folder stands for its model/ sub-folder (pipelines/model-folder.ts); else loadEncoder says what is wrong.
    const modelDir = (await resolveModelFolder(String(opts.model))) ?? path.resolve(String(opts.model));
    const model = await loadEncoder(new LocalStorage(modelDir), '');
    const local = { source: await openSource(folder), out: new LocalStorage(String(opts.out)), config: c, logger: ctx.logger, progressBar: ctx.progressBar };
    const { embedded, failures } = await embedLocally(local, await listLocally(local), model, modelDir);
    print(ctx, { out: local.out.root, images: embedded.keys.length, failed: failures.length, dim: embedded.dim }, [
      `${embedded.keys.length} images embedded (${embedded.dim}-d) → ${local.out.root}; ${failures.length} skipped`,
    ]);
  });
}
