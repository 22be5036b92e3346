// The imgsim command line: thin wiring of flags to pipeline stages. Errors caused by
// the user print one line and exit 2; unexpected ones exit 1 (stack with --verbose).
// Only the command being run is loaded (bin/commands/catalog.ts): the others are listed
// by name, description and arguments, so `imgsim --help` and `--version` load no
// command module at all.
import { Command, CommanderError } from 'commander';
import { errorMessage, UsageError, UserError } from '../shared/errors.js';
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

/**
 * Commander's usage errors (unknown option or command, missing argument…) are thrown, not
 * printed: they get our one-line shape and exit 2 below, with the help to read named.
 */
function throwUsageErrors(cmd: Command): void {
  cmd.exitOverride().configureOutput({ outputError: () => undefined });
  for (const sub of cmd.commands) throwUsageErrors(sub);
}

/** "error: unknown command 'serch'\n(Did you mean search?)" → one line naming the help to read. */
function usageLine(error: CommanderError, command: CommandName | undefined): string {
  const text = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim();
  return `${text} — see imgsim ${command !== undefined ? `${command} ` : ''}--help`;
}

/** A message on one line: the first line stays first, the others follow after "; ". */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, '; ').trim();
}

/** --verbose: the stack of the error and of each cause under it (an errno, a parser's error…), which the message leaves out. */
function stackWithCauses(error: unknown): string {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && !seen.has(e) && depth < 8; depth++) {
    seen.add(e);
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : errorMessage(e);
    lines.push(depth === 0 ? text : `caused by: ${text}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return `${lines.join('\n')}\n`;
}

const invoked = invokedCommand(process.argv.slice(2));
try {
  const program = new Command('imgsim')
    .description('Self-supervised image embeddings (convolutional autoencoder), similar-image search and clustering.')
    .version('0.1.0');
  for (const name of COMMAND_NAMES) {
    program.addCommand(name === invoked ? await fullCommand(name) : baseCommand(name).option(...VERBOSE_FLAG));
  }
  throwUsageErrors(program);
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end this way too (exit code 0; commander printed them).
    if (error.exitCode !== 0 && error.code !== 'commander.help') process.stderr.write(`imgsim: ${usageLine(error, invoked)}\n`);
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    // A flag's or variable's value refused (UsageError) names the help that lists the values it takes.
    const help = error instanceof UsageError ? ` — see imgsim ${invoked !== undefined ? `${invoked} ` : ''}--help` : '';
    process.stderr.write(`imgsim: ${oneLine(errorMessage(error))}${help}\n`);
    if (process.argv.includes('--verbose')) process.stderr.write(stackWithCauses(error));
    process.exitCode = error instanceof UserError ? error.exitCode : 1;
  }
}
