// Worker process entry point: `node --import tsx workers/main.ts <stage>` (what
// `npm run worker:<stage>` and `imgsim worker <stage>` run).
import { loadConfig } from '../shared/config/index.js';
import { errorMessage, UserError } from '../shared/errors.js';
import { isStage, STAGES } from '../shared/jobs/contracts.js';
import { createLogger } from '../shared/logger.js';
import { startWorker } from './start-worker.js';

const stage = process.argv[2] ?? '';
try {
  if (!isStage(stage)) throw new UserError(`Unknown worker "${stage}": expected one of ${STAGES.join(', ')}`);
  const config = loadConfig();
  await startWorker(stage, config, createLogger(config.logLevel, { name: `imgsim-${stage}` }));
} catch (error) {
  process.stderr.write(`imgsim worker: ${errorMessage(error)}\n`);
  process.exit(error instanceof UserError ? 2 : 1);
}
