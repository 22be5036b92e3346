// imgsim run <folder> --out <dir>: the whole local pipeline.
import { Command } from 'commander';
import { initBackend } from '../../shared/model/backend.js';
import { runLocal } from '../../pipelines/local-run.js';
import { OUTPUT } from '../../pipelines/layout.js';
import { addConfigFlags, CLUSTER_SETTINGS, contextFrom, DECODE_SETTINGS, EMBED_SETTINGS, TRAIN_SETTINGS } from '../options.js';
import { print } from '../print.js';

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('ingest → train → embed → index → cluster a folder of images, writing everything under --out')
    .argument('<folder>', 'folder of images (searched recursively), or file:///absolute/path')
    .requiredOption('-o, --out <dir>', 'output folder (created if missing)')
    .option('--json', 'print a JSON summary on stdout')
    .addHelpText(
      'after',
      `\nExample:\n  imgsim run ./photos --out ./out --size 64 --epochs 10\n\nWrites ${Object.values(OUTPUT).join(', ')} under --out.`,
    );
  addConfigFlags(cmd, [...DECODE_SETTINGS, ...TRAIN_SETTINGS, ...EMBED_SETTINGS, ...CLUSTER_SETTINGS]);
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    await initBackend(ctx.config.backend, ctx.logger);
    const r = await runLocal({ source: folder, out: String(opts.out), config: ctx.config, logger: ctx.logger, progressBar: ctx.progressBar });
    const summary = {
      out: r.out,
      images: r.embedded.keys.length,
      failed: r.failures.length,
      modelId: r.model.modelId,
      bestValidationLoss: r.model.training.bestValidationLoss,
      embeddingDim: r.embedded.dim,
      clusters: r.clusters?.k,
      seconds: r.seconds,
    };
    print(ctx, summary, [
      `${summary.images} images embedded (${summary.embeddingDim}-d), ${summary.failed} skipped (see ${OUTPUT.failures})`,
      `model ${summary.modelId}: best validation loss ${summary.bestValidationLoss.toFixed(5)} after ${r.model.training.epochsRun} epoch(s)`,
      summary.clusters !== undefined ? `${summary.clusters} clusters → ${OUTPUT.clusterPlot}` : 'too few images to cluster',
      `outputs in ${r.out} (${r.seconds.total.toFixed(1)} s)`,
    ]);
  });
}
