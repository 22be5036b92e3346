// The imgsim command line: thin wiring of flags to pipeline stages. Errors caused by
// the user print one line and exit 2; unexpected ones exit 1 (stack with --verbose).
// Only the command being run is loaded (bin/commands/catalog.ts): the others are listed
// by name, description and arguments, so `imgsim --help` and `--version` load no
// command module at all.
import { Command } from 'commander';
import { errorMessage, UserError } from '../shared/errors.js';
import { baseCommand, CATALOG, COMMAND_NAMES, isCommandName, type CommandName } from './commands/catalog.js';

const VERBOSE_FLAG = ['--verbose', 'print stack traces of errors'] as const;

/** The command argv asks for: its first word (program options take no value), or what `help <command>` names. */
function invokedCommand(args: readonly string[]): CommandName | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return name !== undefined && isCommandName(name) ? name : undefined;
}

async function fullCommand(name: CommandName): Promise<Command> {
  const [cmd, { addConfigFlags, GLOBAL_SETTINGS }] = await Promise.all([CATALOG[name].load(), import('./options.js')]);
  addConfigFlags(cmd, GLOBAL_SETTINGS);
  return cmd.option(...VERBOSE_FLAG);
}

try {
  const program = new Command('imgsim')
    .description('Self-supervised image embeddings (convolutional autoencoder), similar-image search and clustering.')
    .version('0.1.0')
    .showHelpAfterError();
  const invoked = invokedCommand(process.argv.slice(2));
  for (const name of COMMAND_NAMES) {
    program.addCommand(name === invoked ? await fullCommand(name) : baseCommand(name).option(...VERBOSE_FLAG));
  }
  await program.parseAsync(process.argv);
} catch (error) {
  const verbose = process.argv.includes('--verbose');
  process.stderr.write(`imgsim: ${errorMessage(error)}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = error instanceof UserError ? error.exitCode : 1;
}
