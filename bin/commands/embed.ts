// imgsim embed <folder> --model <dir> --out <dir>: embed with an existing model and
// write an index folder (embeddings.npy, ids.json, index.json).
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { loadEncoder } from '../../shared/model/store.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { openSource } from '../../shared/storage/open.js';
import { embedFromStorage } from '../../pipelines/embed.js';
import { listImages } from '../../pipelines/ingest.js';
import { OUTPUT } from '../../pipelines/layout.js';
import { writeIndex } from '../../pipelines/local-run.js';
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
    const { meta, encoder } = await loadEncoder(new LocalStorage(modelDir), '');
    const source = await openSource(folder);
    const { images: objects, ignored } = await listImages(source);
    const { embeddings, failures } = await embedFromStorage(encoder, source, objects, {
      size: meta.inputSize,
      fit: meta.fit,
      maxPixels: c.maxPixels,
      batchSize: c.embedBatchSize,
      concurrency: c.decodeConcurrency,
      logger: ctx.logger,
      progressBar: ctx.progressBar,
    });
    const out = new LocalStorage(String(opts.out));
    await out.put(OUTPUT.failures, JSON.stringify([...failures, ...ignored], null, 2));
    await writeIndex(out, embeddings, { source: source.uri, model: modelDir, modelId: meta.modelId });
    print(ctx, { out: out.root, images: embeddings.keys.length, failed: failures.length + ignored.length, dim: embeddings.dim }, [
      `${embeddings.keys.length} images embedded (${embeddings.dim}-d) → ${out.root}; ${failures.length + ignored.length} skipped`,
    ]);
  });
}
