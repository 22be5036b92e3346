// imgsim enqueue <source> --dataset NAME: create a run of the queue-driven pipeline.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { UsageError, UserError } from '../../shared/errors.js';
import { taskSpecFromConfig } from '../../shared/tasks/spec.js';
import { helpAfter, valueOption } from '../help.js';
import { addConfigFlags, checkApplicable, contextFrom, TASK_SETTINGS } from '../options.js';
import { print } from '../print.js';
import { toSourceUri } from '../source-uri.js';
import { baseCommand } from './catalog.js';

/**
 * A source given as a folder path (not a URI) is a folder on this machine: refused now when
 * it is missing or a file, not by a worker later. A file:/// or s3:// URI names a place the
 * workers read, which need not exist here.
 */
async function checkLocalFolder(source: string): Promise<void> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return;
  const info = await stat(source).catch(() => undefined);
  if (!info) throw new UserError(`Source folder not found: ${source}`);
  if (!info.isDirectory()) throw new UserError(`Source is not a folder: ${source}`);
}

export function enqueueCommand(): Command {
  const cmd = baseCommand('enqueue')
    .addOption(valueOption('-d, --dataset <name>', 'dataset name', { required: true, allowed: 'lowercase letters, digits, - and _' }))
    .addOption(valueOption('--mode <mode>', 'all: embed everything; missing: only keys whose version is not indexed for the model', { value: 'all', choices: ['all', 'missing'] }))
    .addOption(
      valueOption('--model <id>', 'the id of a trained model in the artefact store (imgsim run-status prints it)', {
        default: "--mode all trains one, --mode missing uses the dataset's current model",
      }),
    )
    .option('--train', 'train a new model on a sample of the source first (the default without --model for --mode all)')
    .option('--json', 'print the run as JSON')
    .addHelpText(
      'after',
      helpAfter(
        [
          'imgsim enqueue s3://photos/2026/ --dataset photos --train',
          "imgsim enqueue s3://photos/2026/ --dataset photos --mode missing            # the dataset's current model",
          'imgsim enqueue s3://photos/2026/ --dataset photos --mode missing --model cae-64-20261128T101500-s42',
          'imgsim enqueue imgsim-demo/data --dataset demo --train --redis redis://127.0.0.1:6379',
          'imgsim enqueue s3://scans/ --dataset scans --task denoise --noise gaussian,crosshair',
        ],
        [
          'The workers (imgsim worker <stage>) do the work, with their own --artifacts and --qdrant.',
          'With --task denoise|colorize|superres the run trains a model for that task (docs/tasks.md)',
          'and indexes the images with its encoder; `imgsim apply --model <modelId>` then runs it.',
        ],
      ),
    );
  addConfigFlags(cmd, ['redisUrl', ...TASK_SETTINGS]);
  return cmd.action(async (source: string, opts: Record<string, unknown>) => {
    const ctx = contextFrom(opts);
    checkApplicable(ctx, opts, TASK_SETTINGS);
    if (opts.train === true && typeof opts.model === 'string') throw new UsageError('--train and --model exclude each other');
    if (opts.train === true && opts.mode === 'missing') {
      throw new UsageError("--train trains a new model; --mode missing embeds with an existing one (--model ID, or the dataset's current model without it)");
    }
    await checkLocalFolder(source);
    const task = taskSpecFromConfig(ctx.config);
    const [{ connectServices }, { enqueueRun }] = await Promise.all([import('../../shared/services.js'), import('../../pipelines/distributed/runs.js')]);
    const services = await connectServices(ctx.config, ctx.logger);
    try {
      const { run, created, modelFrom } = await enqueueRun(
        {
          source: toSourceUri(source),
          dataset: String(opts.dataset),
          mode: opts.mode === 'missing' ? 'missing' : 'all',
          ...(typeof opts.model === 'string' ? { modelId: opts.model } : {}),
          task,
        },
        services,
      );
      print(ctx, { ...run, created, modelFrom }, [
        (created ? `run ${run.id} enqueued` : `run ${run.id} is already doing this work (status ${run.status})`) + (run.task ? `: trains ${run.task}` : ''),
        ...(modelFrom === 'dataset' ? [`model ${run.modelId ?? '?'}: the current model of dataset ${run.dataset} (--mode missing without --model)`] : []),
        `follow it: imgsim run-status ${run.id} --wait`,
      ]);
    } finally {
      await services.close();
    }
  });
}
