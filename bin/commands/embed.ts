// imgsim embed <folder> --model <dir> --out <dir>: embed with an existing model and
// write an index folder (embeddings.npy, ids.json, index.json).
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { loadEncoder } from '../../shared/model/store.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { openSource } from '../../shared/storage/open.js';
import { embedImages } from '../../pipelines/embed.js';
import { listSource, sortByKey } from '../../pipelines/ingest.js';
import { OUTPUT } from '../../pipelines/layout.js';
import { indexLocally } from '../../pipelines/local-run.js';
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
    const source = await openSource(folder);
    const listing = await listSource(source);
    const { embedded, failures } = await embedImages({
      source,
      objects: listing.toEmbed,
      model,
      settings: { maxPixels: c.maxPixels, batchSize: c.embedBatchSize, concurrency: c.decodeConcurrency },
      logger: ctx.logger,
      progressBar: ctx.progressBar,
    });
    const skipped = sortByKey([...failures, ...listing.ignored]);
    const out = new LocalStorage(String(opts.out));
    await out.put(OUTPUT.failures, JSON.stringify(skipped, null, 2));
    await indexLocally(out, embedded, { source: source.uri, model: modelDir });
    print(ctx, { out: out.root, images: embedded.keys.length, failed: skipped.length, dim: embedded.dim }, [
      `${embedded.keys.length} images embedded (${embedded.dim}-d) → ${out.root}; ${skipped.length} skipped`,
    ]);
  });
}
