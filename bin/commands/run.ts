// imgsim run <folder> --out <dir>: the whole local pipeline.
import type { Command } from 'commander';
import { OUTPUT } from '../../pipelines/layout.js';
import { checkOutputFolder } from '../../pipelines/output-folder.js';
import { baseCommand } from './catalog.js';
import { helpAfter, valueOption } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, checkApplicable, checkModelSize, CLUSTER_SETTINGS, contextFrom, DECODE_SETTINGS, EMBED_SETTINGS, TRAIN_SETTINGS } from '../options.js';
import { print } from '../print.js';
import { formatDuration, formatLoss } from '../../shared/human-format.js';

/** What a run writes under --out (not searches/: imgsim search writes that). */
const RUN_WRITES = [OUTPUT.manifest, OUTPUT.failures, OUTPUT.modelPrefix, 'embeddings.npy', 'ids.json', OUTPUT.index, OUTPUT.clusters, OUTPUT.clusterPlot];

export function runCommand(): Command {
  const cmd = baseCommand('run')
    .addOption(valueOption('-o, --out <dir>', "output folder (created if missing); refused if it holds images or another command's outputs", { required: true }))
    .option('--json', 'print a JSON summary on stdout')
    .addHelpText(
      'after',
      helpAfter(
        ['imgsim run imgsim-demo/data --out /tmp/imgsim-run --size 64 --epochs 10 --seed 42', 'imgsim run imgsim-demo/data --out /tmp/imgsim-run32 --size 32 --filters 16,32,64,128 --batch 16 --json'],
        [`Writes ${RUN_WRITES.join(', ')} under --out.`],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...DECODE_SETTINGS, ...TRAIN_SETTINGS, ...EMBED_SETTINGS, ...CLUSTER_SETTINGS]);
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    checkApplicable(ctx, opts, TRAIN_SETTINGS);
    await checkModelSize(ctx.config);
    await checkOutputFolder(String(opts.out), ['run']);
    const [{ initBackend }, { runLocal }] = await Promise.all([import('../../shared/model/backend.js'), import('../../pipelines/local-run.js')]);
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
      `model ${summary.modelId}: best validation loss ${formatLoss(summary.bestValidationLoss)} after ${r.model.training.epochsRun} epoch(s)`,
      summary.clusters !== undefined ? `${summary.clusters} clusters → ${OUTPUT.clusterPlot}` : 'too few images to cluster',
      `outputs in ${r.out} (${formatDuration(r.seconds.total)})`,
    ]);
  });
}
