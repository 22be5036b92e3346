// imgsim train <folder> --out <dir>: ingest and train only; the model lands in <dir>/model/.
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { openSource } from '../../shared/storage/open.js';
import { ingest } from '../../pipelines/ingest.js';
import { OUTPUT } from '../../pipelines/layout.js';
import { saveModel } from '../../pipelines/local-run.js';
import { trainAutoencoder } from '../../pipelines/train.js';
import { addConfigFlags, contextFrom, DECODE_SETTINGS, TRAIN_SETTINGS } from '../options.js';
import { print } from '../print.js';

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train the autoencoder on a folder; writes <out>/model/ (encoder, decoder, meta.json, preview.png)')
    .argument('<folder>', 'folder of images')
    .requiredOption('-o, --out <dir>', 'output folder')
    .option('--json', 'print meta.json on stdout')
    .addHelpText('after', '\nExample:\n  imgsim train ./photos --out ./out --epochs 20 --batch 32');
  addConfigFlags(cmd, [...DECODE_SETTINGS, ...TRAIN_SETTINGS]);
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const c = ctx.config;
    await initBackend(c.backend, ctx.logger);
    const source = await openSource(folder);
    const out = new LocalStorage(String(opts.out));
    const common = { logger: ctx.logger, progressBar: ctx.progressBar };
    const { images, failures } = await ingest(source, { size: c.imageSize, fit: c.fit, maxPixels: c.maxPixels, concurrency: c.decodeConcurrency, ...common });
    await out.put(OUTPUT.failures, JSON.stringify(failures, null, 2));
    const model = await trainAutoencoder(images, { ...c, source: source.uri, ...common });
    await saveModel(out, OUTPUT.modelPrefix, model, images);
    const m = model.meta;
    print(ctx, m, [
      `model ${m.modelId} → ${out.resolveKey(OUTPUT.modelPrefix)}`,
      `${m.training.trainImages} train / ${m.training.validationImages} validation images, ${failures.length} skipped`,
      `best validation loss ${m.training.bestValidationLoss.toFixed(5)} at epoch ${m.training.bestEpoch}/${m.training.epochsRun}, ${m.timings.imagesPerSecond.toFixed(1)} img/s on ${m.backend}`,
    ]);
  });
}
