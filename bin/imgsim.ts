// The imgsim command line: thin wiring of flags to pipeline stages. Errors caused by
// the user print one line and exit 2; unexpected ones exit 1 (stack with --verbose).
import { Command } from 'commander';
import { errorMessage, UserError } from '../shared/errors.js';
import { applyCommand } from './commands/apply.js';
import { clusterCommand } from './commands/cluster.js';
import { demoCommand } from './commands/demo.js';
import { embedCommand } from './commands/embed.js';
import { evalCommand } from './commands/eval.js';
import { evalFeaturesCommand } from './commands/eval-features.js';
import { featuresCommand } from './commands/features.js';
import { runCommand } from './commands/run.js';
import { searchCommand } from './commands/search.js';
import { trainCommand } from './commands/train.js';
import { enqueueCommand } from './commands/enqueue.js';
import { retryFailedCommand, runsCommand, runStatusCommand } from './commands/runs.js';
import { workerCommand } from './commands/worker.js';
import { serveCommand } from './commands/serve.js';
import { scheduleCommand } from './commands/schedule.js';
import { datasetCommand } from './commands/dataset.js';
import { addConfigFlags, GLOBAL_SETTINGS } from './options.js';

const program = new Command('imgsim')
  .description('Self-supervised image embeddings (convolutional autoencoder), similar-image search and clustering.')
  .version('0.1.0')
  .showHelpAfterError();

const commands = [
  runCommand(),
  trainCommand(),
  embedCommand(),
  clusterCommand(),
  searchCommand(),
  featuresCommand(),
  evalCommand(),
  evalFeaturesCommand(),
  demoCommand(),
  applyCommand(),
  workerCommand(),
  enqueueCommand(),
  runsCommand(),
  runStatusCommand(),
  retryFailedCommand(),
  serveCommand(),
  scheduleCommand(),
  datasetCommand(),
];
for (const cmd of commands) {
  addConfigFlags(cmd, GLOBAL_SETTINGS);
  cmd.option('--verbose', 'print stack traces of errors');
  program.addCommand(cmd);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const verbose = process.argv.includes('--verbose');
  process.stderr.write(`imgsim: ${errorMessage(error)}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = error instanceof UserError ? error.exitCode : 1;
}
