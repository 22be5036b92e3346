// imgsim eval <labelled-folder> --out <dir>: precision@10 of the embedding vs raw pixels.
import type { Command } from 'commander';
import { checkOutputFolder } from '../../pipelines/output-folder.js';
import { baseCommand } from './catalog.js';
import { helpAfter, valueOption } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, checkApplicable, checkModelSize, contextFrom, DECODE_SETTINGS, EMBED_SETTINGS, TRAIN_SETTINGS } from '../options.js';
import { print } from '../print.js';
import { formatDuration } from '../../shared/human-format.js';

export function evalCommand(): Command {
  const cmd = baseCommand('eval')
    .addOption(valueOption('-o, --out <dir>', 'output folder (model, embeddings)', { required: true }))
    .option('--json', 'print {precisionAt10: {embedding, rawPixels}, images, seconds, …}')
    .addHelpText('after', helpAfter(['imgsim eval imgsim-demo/data --out /tmp/imgsim-eval --epochs 20 --json']));
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...DECODE_SETTINGS, ...TRAIN_SETTINGS, ...EMBED_SETTINGS]);
  return cmd.action(async (folder: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    checkApplicable(ctx, opts, TRAIN_SETTINGS);
    await checkModelSize(ctx.config);
    await checkOutputFolder(String(opts.out), ['run']);
    const [{ initBackend }, { evaluateFolder }] = await Promise.all([import('../../shared/model/backend.js'), import('../../pipelines/eval.js')]);
    await initBackend(ctx.config.backend, ctx.logger);
    const { report } = await evaluateFolder({ source: folder, out: String(opts.out), config: ctx.config, logger: ctx.logger, progressBar: ctx.progressBar });
    print(ctx, report, [
      `${report.images} images in ${report.classes} classes (${report.failed} skipped), ${report.epochsRun} epoch(s), ${formatDuration(report.seconds)}`,
      `precision@10  embedding (${report.embeddingDim}-d): ${report.precisionAt10.embedding.toFixed(3)}`,
      `precision@10  raw pixels (${report.rawPixelDim}-d): ${report.precisionAt10.rawPixels.toFixed(3)}`,
    ]);
  });
}
