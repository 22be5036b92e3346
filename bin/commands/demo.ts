// imgsim demo: generate a labelled synthetic dataset (shapes × colours on textured
// backgrounds), run the whole pipeline on it and print its retrieval precision.
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { generateShapesDataset } from '../../shared/images/synthetic.js';
import { UserError } from '../../shared/errors.js';
import { retrievalReport } from '../../pipelines/eval.js';
import { runLocal } from '../../pipelines/local-run.js';
import { OUTPUT } from '../../pipelines/layout.js';
import { addConfigFlags, CLUSTER_SETTINGS, contextFrom, DECODE_SETTINGS, TRAIN_SETTINGS, withDefaults } from '../options.js';
import { print } from '../print.js';

/** 32×32 input, 4 stages, batch 16, 20 epochs: enough steps on 720 images to learn shapes and colours. */
const DEMO_DEFAULTS = { imageSize: '32', filters: '16,32,64,128', batchSize: '16', epochs: '20' } as const;

export function demoCommand(): Command {
  const cmd = new Command('demo')
    .description('generate a small labelled synthetic dataset, run the pipeline on it, print precision@10')
    .option('-o, --out <dir>', 'output folder (dataset in <out>/data, results in <out>/run)', 'imgsim-demo')
    .option('--per-class <n>', 'images per class', '80')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `\nUnless given, the demo trains a smaller model than the defaults so it ends in about a minute:\n  ${Object.entries(DEMO_DEFAULTS)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}\n\nExample:\n  imgsim demo --out ./demo --per-class 40 --epochs 10`,
    );
  addConfigFlags(cmd, [...DECODE_SETTINGS, ...TRAIN_SETTINGS, ...CLUSTER_SETTINGS]);
  return cmd.action(async (opts: Record<string, unknown>) => {
    const ctx = contextFrom(withDefaults(opts, DEMO_DEFAULTS));
    const perClass = Number(opts.perClass);
    if (!Number.isInteger(perClass) || perClass < 4) {
      throw new UserError(`--per-class: expected an integer ≥ 4, received "${String(opts.perClass)}"`);
    }
    const out = path.resolve(String(opts.out));
    const data = path.join(out, 'data');
    await initBackend(ctx.config.backend, ctx.logger);
    const generated = await generateShapesDataset(data, { perClass, seed: ctx.config.seed });
    ctx.logger.info({ dir: data, classes: generated.classes.length, files: generated.files }, 'demo dataset generated');
    const run = await runLocal({ source: data, out: path.join(out, 'run'), config: ctx.config, logger: ctx.logger, progressBar: ctx.progressBar });
    const report = retrievalReport(run);
    print(ctx, { ...report, dataset: data, out: run.out, clusters: run.clusters?.k }, [
      `demo dataset: ${generated.files} images in ${generated.classes.length} classes → ${data}`,
      `pipeline outputs → ${run.out} (model/, embeddings.npy, ids.json, ${OUTPUT.clusters}, ${OUTPUT.clusterPlot})`,
      `precision@10  embedding: ${report.precisionAt10.embedding.toFixed(3)}   raw pixels: ${report.precisionAt10.rawPixels.toFixed(3)}`,
      `try: imgsim search ${path.join(data, run.images.keys[0] ?? '')} --index ${run.out} -k 5`,
    ]);
  });
}
