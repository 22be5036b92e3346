// imgsim worker <stage>: one worker process of the queue-driven pipeline.
import type { Command } from 'commander';
import { isStage, STAGES } from '../../shared/jobs/stages.js';
import { UserError } from '../../shared/errors.js';
import { baseCommand } from './catalog.js';
import { helpAfter } from '../help.js';
import { addConfigFlags, BACKEND_SETTINGS, contextFrom, SERVICE_SETTINGS } from '../options.js';

export function workerCommand(): Command {
  const cmd = baseCommand('worker')
    .addHelpText(
      'after',
      helpAfter(
        ['IMGSIM_REDIS_URL=redis://127.0.0.1:6379 imgsim worker embed --concurrency 2', 'imgsim worker ingest --artifacts s3://imgsim-artifacts/ --qdrant http://127.0.0.1:6333'],
        ['--backend applies to the train and embed stages (the others run no model).'],
      ),
    );
  addConfigFlags(cmd, [...BACKEND_SETTINGS, ...SERVICE_SETTINGS, 'concurrency']);
  return cmd.action(async (stage: string, opts: Record<string, unknown>) => {
    if (!isStage(stage)) throw new UserError(`Unknown worker "${stage}": expected one of ${STAGES.join(', ')}`);
    const ctx = contextFrom(opts);
    const { startWorker } = await import('../../workers/start-worker.js');
    await startWorker(stage, ctx.config, ctx.logger);
  });
}
