// imgsim worker <stage>: one worker process of the queue-driven pipeline.
import type { Command } from 'commander';
import { isStage, STAGES } from '../../shared/jobs/stages.js';
import { UserError } from '../../shared/errors.js';
import { baseCommand } from './catalog.js';
import { addConfigFlags, contextFrom, SERVICE_SETTINGS } from '../options.js';

export function workerCommand(): Command {
  const cmd = baseCommand('worker')
    .addHelpText('after', '\nExample:\n  IMGSIM_REDIS_URL=redis://127.0.0.1:6379 imgsim worker embed --concurrency 2');
  addConfigFlags(cmd, [...SERVICE_SETTINGS, 'concurrency']);
  return cmd.action(async (stage: string, opts: Record<string, unknown>) => {
    if (!isStage(stage)) throw new UserError(`Unknown worker "${stage}": expected one of ${STAGES.join(', ')}`);
    const ctx = contextFrom(opts);
    const { startWorker } = await import('../../workers/start-worker.js');
    await startWorker(stage, ctx.config, ctx.logger);
  });
}
