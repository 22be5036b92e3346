// imgsim demo: generate a labelled synthetic dataset (shapes × colours on textured
// backgrounds), run the whole pipeline on it and print its retrieval precision.
// With --task colorize|denoise|superres: the image-to-image demos (pipelines/task-demo.ts).
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import { OUTPUT } from '../../pipelines/layout.js';
import type { TaskDemoReport } from '../../pipelines/task-demo.js';
import { formatQuality } from '../../shared/tasks/quality.js';
import type { TaskMetrics } from '../../shared/model/meta.js';
import { settings, type SettingName } from '../../shared/config/index.js';
import { helpAfter, valueOption, wholeNumber } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, checkApplicable, checkModelSize, CLUSTER_SETTINGS, contextFrom, DECODE_SETTINGS, positiveInt, TASK_SETTINGS, TRAIN_SETTINGS, withDefaults, type CommandContext } from '../options.js';
import { print } from '../print.js';
import { baseCommand } from './catalog.js';
import { formatDuration } from '../../shared/human-format.js';

/** 32×32 input, 4 stages, batch 16, 20 epochs: enough steps on 720 images to learn shapes and colours. */
const DEMO_DEFAULTS = { imageSize: '32', filters: '16,32,64,128', batchSize: '16', epochs: '20' } as const;

/** Image-to-image demos: sizes, filters and epochs measured to meet their targets in 1–3 minutes on 2 cores (docs/tasks.md). */
const TASK_DEMO_DEFAULTS: Record<'denoise' | 'colorize' | 'superres', Record<string, string>> = {
  denoise: { imageSize: '32', filters: '32,64', batchSize: '8', epochs: '50', learningRate: '3e-3', noise: 'gaussian,crosshair', patience: '0' },
  colorize: { imageSize: '32', filters: '16,32,64', batchSize: '16', epochs: '40', learningRate: '3e-3', patience: '0' },
  superres: { imageSize: '64', filters: '64', batchSize: '16', epochs: '30', learningRate: '3e-3', patience: '0' },
};
const TASK_DEMO_COUNT = { denoise: 360, colorize: 600, superres: 360 } as const;

/**
 * What help shows as the demo's default of each setting it changes: the reconstruct demo's
 * value, then the task demos' where they differ ("32 (--task superres: 64)"); the table's
 * default stands for a demo that does not change it.
 */
function demoDefaults(): Partial<Record<SettingName, string>> {
  const names = new Set<SettingName>([...(Object.keys(DEMO_DEFAULTS) as SettingName[]), ...Object.values(TASK_DEMO_DEFAULTS).flatMap((d) => Object.keys(d) as SettingName[])]);
  const valueIn = (d: Readonly<Record<string, string>>, name: SettingName): string => d[name] ?? String(settings[name].default);
  const out: Partial<Record<SettingName, string>> = {};
  for (const name of names) {
    const base = valueIn(DEMO_DEFAULTS, name);
    const tasks = Object.entries(TASK_DEMO_DEFAULTS).filter(([, d]) => valueIn(d, name) !== base);
    out[name] = tasks.length === 0 ? base : `${base} (${tasks.map(([task, d]) => `--task ${task}: ${valueIn(d, name)}`).join(', ')})`;
  }
  return out;
}

function metricsLine(label: string, m: TaskMetrics): string {
  return `${label}: ${formatQuality(m)}`;
}

/** A target's value for people: no ∞ or NaN (a PSNR gain is unbounded when the output equals its target). */
function targetValue(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : v > 0 ? 'unbounded (output identical to the target)' : 'n/a';
}

function printTaskReport(ctx: CommandContext, r: TaskDemoReport): void {
  print(ctx, r, [
    `${r.task} demo: dataset ${r.dataset}; model ${r.modelId} → ${r.model}`,
    `held-out images (${r.heldOut}) applied → ${r.applied}; preview ${r.preview}`,
    metricsLine('held-out, training corruption', r.metrics),
    ...Object.entries(r.extra).map(([name, m]) => metricsLine(`held-out, ${name} only`, m)),
    ...(r.colour ? [`colour: ${(100 * r.colour.circleRed).toFixed(1)}% of circle pixels closer to red, ${(100 * r.colour.squareBlue).toFixed(1)}% of square pixels closer to blue`] : []),
    ...r.targets.map((t) => `target ${t.met ? 'met' : 'NOT met'}: ${t.name} = ${targetValue(t.value)} (required ${t.required === 0 ? '> 0' : `≥ ${t.required}`})`),
    `time: data ${formatDuration(r.seconds.data)}, train ${formatDuration(r.seconds.train)}, apply ${formatDuration(r.seconds.apply)}, total ${formatDuration(r.seconds.total)}`,
  ]);
}

export function demoCommand(): Command {
  const cmd = baseCommand('demo')
    .addOption(valueOption('-o, --out <dir>', 'output folder (dataset in <out>/data, results in <out>/run)', { value: 'imgsim-demo' }))
    .addOption(valueOption('--per-class <n>', 'images per class (9 classes)', { value: '80', allowed: wholeNumber(4) }))
    .addOption(valueOption('--from <folder>', 'denoise/superres demos: train on this folder instead of generated shapes images', { default: 'generated shapes images' }))
    .addOption(valueOption('--count <n>', 'image-to-image demos: generated images', { default: `colorize ${TASK_DEMO_COUNT.colorize}, denoise/superres ${TASK_DEMO_COUNT.denoise}`, allowed: wholeNumber(9) }))
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim demo',
          'imgsim demo --out /tmp/imgsim-demo-small --per-class 40 --epochs 10',
          'imgsim demo --task colorize --out /tmp/imgsim-demo-colorize',
          'imgsim demo --task denoise --out imgsim-demo-denoise --from imgsim-demo/data --noise gaussian,crosshair',
          'imgsim demo --task superres --out /tmp/imgsim-demo-superres --scale 2',
        ],
        [
          'The demo trains a smaller model than train/run do, so it ends in about a minute: the defaults shown',
          'above are the demo\'s (--size, --filters, --batch, --epochs…), per --task where they differ.',
          'Image-to-image demos (--task; docs/tasks.md): train, apply to the held-out images (<out>/apply/,',
          'preview.png), print PSNR/SSIM vs the baseline and whether the target was met:',
          '  colorize: circles (red) and squares (blue) on grey; input = greyscale; ≥ 90% of shape pixels the right colour',
          '  denoise: gaussian + crosshair noise on shapes images (or --from); ≥ +3 dB PSNR over the input for gaussian sigma 0.1',
          '  superres: ×2 (--scale) on shapes images at 64 px (or --from); PSNR above bicubic upscaling',
        ],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...DECODE_SETTINGS, ...TRAIN_SETTINGS, ...CLUSTER_SETTINGS, ...TASK_SETTINGS], { defaults: demoDefaults() });
  return cmd.action(async (opts: Record<string, unknown>) => {
    const requested = typeof opts.task === 'string' ? opts.task : process.env.IMGSIM_TASK || 'reconstruct';
    if (requested === 'denoise' || requested === 'colorize' || requested === 'superres') {
      const ctx = contextFrom(withDefaults(opts, TASK_DEMO_DEFAULTS[requested]));
      checkApplicable(ctx, opts, [...TRAIN_SETTINGS, ...TASK_SETTINGS]);
      const count = opts.count === undefined ? TASK_DEMO_COUNT[requested] : positiveInt('--count', opts.count, 9);
      if (opts.from !== undefined && requested === 'colorize') throw new UsageError('--from: the colorize demo uses its own generated shapes (circles red, squares blue); train on a folder with imgsim train --task colorize');
      await checkModelSize(ctx.config);
      const [{ initBackend }, { runTaskDemo }] = await Promise.all([import('../../shared/model/backend.js'), import('../../pipelines/task-demo.js')]);
      await initBackend(ctx.config.backend, ctx.logger);
      const report = await runTaskDemo({
        out: path.resolve(String(opts.out)),
        config: ctx.config,
        count,
        ...(typeof opts.from === 'string' ? { from: opts.from } : {}),
        logger: ctx.logger,
        progressBar: ctx.progressBar,
      });
      printTaskReport(ctx, report);
      return;
    }
    const ctx = contextFrom(withDefaults(opts, DEMO_DEFAULTS));
    checkApplicable(ctx, opts, [...TRAIN_SETTINGS, ...TASK_SETTINGS]);
    const perClass = positiveInt('--per-class', opts.perClass, 4);
    await checkModelSize(ctx.config);
    const out = path.resolve(String(opts.out));
    const data = path.join(out, 'data');
    const [{ initBackend }, { generateShapesDataset }, { retrievalReport }, { runLocal }] = await Promise.all([
      import('../../shared/model/backend.js'),
      import('../../shared/images/synthetic.js'),
      import('../../pipelines/eval.js'),
      import('../../pipelines/local-run.js'),
    ]);
    await initBackend(ctx.config.backend, ctx.logger);
    const generated = await generateShapesDataset(data, { perClass, seed: ctx.config.seed });
    ctx.logger.info({ dir: data, classes: generated.classes.length, files: generated.files }, 'demo dataset generated');
    const run = await runLocal({ source: data, out: path.join(out, 'run'), config: ctx.config, logger: ctx.logger, progressBar: ctx.progressBar });
    const report = await retrievalReport(run);
    print(ctx, { ...report, dataset: data, out: run.out, clusters: run.clusters?.k }, [
      `demo dataset: ${generated.files} images in ${generated.classes.length} classes → ${data}`,
      `pipeline outputs → ${run.out} (model/, embeddings.npy, ids.json, ${OUTPUT.clusters}, ${OUTPUT.clusterPlot})`,
      `precision@10  embedding: ${report.precisionAt10.embedding.toFixed(3)}   raw pixels: ${report.precisionAt10.rawPixels.toFixed(3)}`,
      `try: imgsim search ${path.join(data, run.embedded.keys[0] ?? '')} --index ${run.out} -k 5`,
    ]);
  });
}
