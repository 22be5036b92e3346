// imgsim apply --model <dir|modelId> <images or folders...> --out <dir>: run a trained
// model (denoise, colorize, superres, or reconstruct) on images; one output PNG per
// input, a preview grid, and PSNR/SSIM when targets are known.
import { Option, type Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import { APPLY_FILES, checkOutputFolder } from '../../pipelines/output-folder.js';
import { formatQuality } from '../../shared/tasks/quality.js';
import { taskLabel } from '../../shared/tasks/spec.js';
import { baseCommand } from './catalog.js';
import { helpAfter, MODEL_FLAG_DOC, valueOption, wholeNumber } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, contextFrom, positiveInt } from '../options.js';
import { print } from '../print.js';

const APPLY_NOTES = [
  "Images are decoded to the model's input side and fit (meta.json inputSize, fit). Colorize always makes the",
  'input grey (target = the image). Superres without --corrupt treats each image as the low-res input and',
  'writes outputs scale× larger; with --corrupt it downscales first (area) and compares with the original.',
  'Denoise without --corrupt cleans the images as given (no target, no metrics).',
  "Outputs keep each input's path relative to the inputs' common folder (a.jpg beside a.png: a-<hash>.png);",
  `${APPLY_FILES.summary} lists input → output file. --out must not hold images or another command's outputs.`,
  '--model takes a model folder or the train/run output folder holding it in model/, as imgsim embed does.',
];

/** They run after `imgsim demo` and the demos of docs/tasks.md (imgsim demo --task denoise --out imgsim-demo-denoise). */
const APPLY_EXAMPLES = [
  'imgsim apply --model imgsim-demo/run imgsim-demo/data/red-circle imgsim-demo/data/blue-circle --out /tmp/imgsim-applied     # /tmp/imgsim-applied/red-circle/…, …/blue-circle/…',
  'imgsim apply --model imgsim-demo/run/model imgsim-demo/data/red-circle/0000.png --out /tmp/imgsim-applied-one --json',
  'imgsim apply --model imgsim-demo-denoise/model imgsim-demo/data/red-circle --out /tmp/imgsim-denoised --corrupt --expect-task denoise',
];

export function applyCommand(): Command {
  const cmd = baseCommand('apply')
    .addOption(valueOption('-m, --model <dir|modelId>', `${MODEL_FLAG_DOC}, or a model id in --artifacts`, { required: true }))
    .addOption(
      valueOption('-o, --out <dir>', `output folder: one PNG per input at its path relative to the inputs' common folder, ${APPLY_FILES.preview}, ${APPLY_FILES.summary}; refused if it holds another command's outputs or images`, {
        required: true,
      }),
    )
    .option(
      '--corrupt',
      "make the model's input from clean images as in training and compare with them: denoise adds the model's own training noise (seeded per image), superres downscales first; the preview then shows input / output / target",
    )
    .addOption(valueOption('--expect-task <task>', 'refuse (exit 2) unless the model was trained for this task', { default: 'any task', allowed: 'one of reconstruct, denoise, colorize, superres' }))
    .addOption(valueOption('--preview-count <n>', `images shown in ${APPLY_FILES.preview}`, { value: '8', allowed: wholeNumber(1) }))
    // --batch is the training batch everywhere else: apply's batch is --embed-batch (a hidden --batch says so).
    .addOption(new Option('--batch <n>').hideHelp())
    .option('--json', 'print a JSON summary')
    .addHelpText('after', helpAfter(APPLY_EXAMPLES, APPLY_NOTES));
  addConfigFlags(cmd, [...BACKEND_SETTINGS, 'maxPixels', 'decodeConcurrency', 'embedBatchSize', 'artifacts'], {
    docs: { embedBatchSize: "images per forward pass when applying the model (inference; the training batch is imgsim train's --batch)" },
  });
  return cmd.action(async (paths: string[], opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    const c = ctx.config;
    const previewCount = positiveInt('--preview-count', opts.previewCount);
    if (opts.batch !== undefined) throw new UsageError('--batch is the training batch (imgsim train, run); the images apply runs per forward pass are --embed-batch');
    const batchSize = c.embedBatchSize;
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
