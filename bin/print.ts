// Output for commands: one JSON document with --json, otherwise human lines. Both on stdout.
import type { CommandContext } from './options.js';

export function print(ctx: Pick<CommandContext, 'json'>, data: unknown, lines: readonly string[]): void {
  process.stdout.write(ctx.json ? `${JSON.stringify(data, null, 2)}\n` : `${lines.join('\n')}\n`);
}
