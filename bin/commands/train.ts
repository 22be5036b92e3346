// imgsim train <folder> --out <dir>: the local driver's ingest and train steps; the model lands in <dir>/model/.
import type { Command } from 'commander';
import { OUTPUT } from '../../pipelines/layout.js';
import { checkOutputFolder } from '../../pipelines/output-folder.js';
import { baseCommand } from './catalog.js';
import { helpAfter, valueOption } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, checkApplicable, contextFrom, DECODE_SETTINGS, TASK_SETTINGS, TRAIN_SETTINGS } from '../options.js';
import { print } from '../print.js';
import { formatLoss, formatRate } from '../../shared/human-format.js';

export function trainCommand(): Command {
  const cmd = baseCommand('train')
    .addOption(valueOption('-o, --out <dir>', `output folder: the model goes to <out>/${OUTPUT.modelPrefix}, skipped files to <out>/${OUTPUT.failures}`, { required: true }))
    .option('--json', 'print meta.json on stdout')
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim train imgsim-demo/data --out /tmp/imgsim-trained --epochs 20 --batch 32',
          'imgsim train imgsim-demo/data --out /tmp/imgsim-dn --task denoise --noise gaussian,crosshair --noise-sigma 0.1 --crosshair-width 1-3 --filters 32,64 --lr 3e-3 --batch 8',
          'imgsim train imgsim-demo/data --out /tmp/imgsim-sr --task superres --scale 2 --size 64 --filters 64 --lr 3e-3',
          'imgsim train imgsim-demo/data --out /tmp/imgsim-col --task colorize --size 32 --filters 16,32,64,128',
        ],
        [
          'Tasks (--task; docs/tasks.md): reconstruct (default, the embedding autoencoder), denoise (noisy → clean),',
          'colorize (grey → colour), superres (input --size/--scale → output --size). The input is made from each',
          'clean image on the fly (seeded); meta.json records the task, its parameters, and PSNR/SSIM on the',
          'validation split for the output and for the baseline (the input; bicubic upscale for superres).',
          'Use 1-3 --filters stages for image-to-image tasks: every pooling stage loses detail.',
          '--batch is the training batch; the images per forward pass of imgsim embed and imgsim apply are their --embed-batch.',
        ],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...DECODE_SETTINGS, ...TRAIN_SETTINGS, ...TASK_SETTINGS]);
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    checkApplicable(ctx, opts, [...TRAIN_SETTINGS, ...TASK_SETTINGS]);
    const c = ctx.config;
    await checkOutputFolder(String(opts.out), ['run']);
    const [{ initBackend }, { LocalStorage }, { openSource }, { sortByKey }, { listLocally, trainLocally }, { checkTaskSize, formatQuality, taskLabel, taskSpecFromConfig }] = await Promise.all([
      import('../../shared/model/backend.js'),
      import('../../shared/storage/local.js'),
      import('../../shared/storage/open.js'),
      import('../../shared/images/failures.js'),
      import('../../pipelines/local-run.js'),
      import('../../shared/tasks/index.js'),
    ]);
    const taskSpec = taskSpecFromConfig(c);
    checkTaskSize(taskSpec, c.imageSize, c.filters); // before any image is listed or read
    await initBackend(c.backend, ctx.logger);
    const local = { source: await openSource(folder), out: new LocalStorage(String(opts.out)), config: c, logger: ctx.logger, progressBar: ctx.progressBar };
    const listing = await listLocally(local);
    const trained = await trainLocally(local, listing, taskSpec);
    trained.model.encoder.dispose();
    trained.model.decoder.dispose();
    const failures = sortByKey([...listing.ignored, ...trained.failures]);
    await local.out.put(OUTPUT.failures, JSON.stringify(failures, null, 2));
    const out = local.out;
    const m = trained.model.meta;
    print(ctx, m, [
      `model ${m.modelId} → ${out.resolveKey(OUTPUT.modelPrefix)}`,
      `${m.training.trainImages} train / ${m.training.validationImages} validation images, ${failures.length} skipped`,
      `best validation loss ${formatLoss(m.training.bestValidationLoss)} at epoch ${m.training.bestEpoch}/${m.training.epochsRun}, ${formatRate(m.timings.imagesPerSecond)} img/s on ${m.backend}`,
      ...(m.metrics
        ? [
            `${taskLabel(taskSpec)} on ${m.metrics.images} validation images: ${formatQuality(m.metrics)}`,
          ]
        : []),
    ]);
  });
}
