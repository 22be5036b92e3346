// imgsim apply --model <dir|modelId> <images or folders...> --out <dir>: run a trained
// model (denoise, colorize, superres, or reconstruct) on images; one output PNG per
// input, a preview grid, and PSNR/SSIM when targets are known.
import type { Command } from 'commander';
import { UserError } from '../../shared/errors.js';
import { APPLY_FILES, checkOutputFolder } from '../../pipelines/output-folder.js';
import { formatQuality } from '../../shared/tasks/quality.js';
import { taskLabel } from '../../shared/tasks/spec.js';
import { baseCommand } from './catalog.js';
import { addConfigFlags, contextFrom } from '../options.js';
import { print } from '../print.js';

export function applyCommand(): Command {
  const cmd = baseCommand('apply')
    .requiredOption('-m, --model <dir|modelId>', 'model folder (with meta.json), output folder of train/run, or a model id in IMGSIM_ARTIFACTS')
    .requiredOption('-o, --out <dir>', `output folder: one PNG per input at its path relative to the inputs' common folder, ${APPLY_FILES.preview}, ${APPLY_FILES.summary}; refused if it holds another command's outputs or images`)
    .option(
      '--corrupt',
      "make the model's input from clean images as in training and compare with them: denoise adds the model's own training noise (seeded per image), superres downscales first; the preview then shows input / output / target",
    )
    .option('--expect-task <task>', 'refuse (exit 2) unless the model was trained for this task: reconstruct, denoise, colorize or superres')
    .option('--preview-count <n>', 'images shown in preview.png', '8')
    .option('--batch <n>', 'images per forward pass', '32')
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      [
        '',
        'Images are decoded to the model\'s input side (meta.json inputSize, its --fit). Colorize always makes the',
        'input grey (target = the image). Superres without --corrupt treats each image as the low-res input and',
        'writes outputs scale× larger; with --corrupt it downscales first (area) and compares with the original.',
        'Denoise without --corrupt cleans the images as given (no target, no metrics).',
        "Outputs keep each input's path relative to the inputs' common folder (a.jpg beside a.png: a-<hash>.png);",
        `${APPLY_FILES.summary} lists input → output file. --out must not hold images or another command's outputs.`,
        '',
        'Examples:',
        '  imgsim apply --model ./dn ./photos --out ./denoised --corrupt --expect-task denoise',
        '  imgsim apply --model ./sr/model small.png --out ./upscaled',
        '  imgsim apply --model ./col ./grey-shapes --out ./coloured --json',
        '  imgsim apply --model ./out ./photos/cats ./photos/dogs --out ./applied     # applied/cats/…, applied/dogs/…',
      ].join('\n'),
    );
  addConfigFlags(cmd, ['maxPixels', 'decodeConcurrency', 'artifacts']);
  return cmd.action(async (paths: string[], opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const c = ctx.config;
    const positive = (flag: string, v: unknown): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag}: expected a positive integer, received "${String(v)}"`);
      return n;
    };
    const previewCount = positive('--preview-count', opts.previewCount);
    const batchSize = positive('--batch', opts.batch);
    const expected = typeof opts.expectTask === 'string' ? opts.expectTask : undefined;
    await checkOutputFolder(String(opts.out), ['apply']);
    const [{ applyModel, checkExpectedTask, loadTaskModel }, { initBackend }, { LocalStorage }] = await Promise.all([
      import('../../pipelines/apply.js'),
      import('../../shared/model/backend.js'),
      import('../../shared/storage/local.js'),
    ]);
    await initBackend(c.backend, ctx.logger);
    const model = await loadTaskModel(String(opts.model), c);
    checkExpectedTask(model, expected);
    const out = new LocalStorage(String(opts.out));
    const r = await applyModel(model, paths, out, {
      corrupt: opts.corrupt === true,
      maxPixels: c.maxPixels,
      concurrency: c.decodeConcurrency,
      batchSize,
      previewCount,
      logger: ctx.logger,
    });
    const m = r.metrics;
    print(ctx, { ...r, out: out.root, model: model.location }, [
      `${taskLabel(model.spec)} model ${r.modelId}: ${r.outputs.length} images ${r.inputSize}px → ${r.outputSize}px outputs in ${out.root}; ${r.failures.length} skipped`,
      `preview → ${out.resolveKey(r.preview)}`,
      ...(m
        ? [
            `${formatQuality(m)} on ${m.images} images`,
          ]
        : []),
    ]);
  });
}
