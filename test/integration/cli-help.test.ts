// One help style (issue 15, deliverable 6), checked on every command's and sub-command's
// real help text as `imgsim <command> --help` prints it: an Examples section whose lines
// parse as written (known command, known flags, required arguments and flags present);
// every flag that takes a value shows its default (or that it is required) in the one
// format, config flags their environment variable too; no flag named that the command does
// not have; no output named that it does not write; only the service flags it uses.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command, Option } from 'commander';
import { CATALOG, COMMAND_NAMES, type CommandName } from '../../bin/commands/catalog.js';
import { addConfigFlags, GLOBAL_SETTINGS } from '../../bin/options.js';
import { OUTPUT } from '../../pipelines/layout.js';

/** The command as bin/imgsim.ts builds it for `imgsim <name> --help`. */
async function fullCommand(name: CommandName): Promise<Command> {
  const cmd = await CATALOG[name].load();
  addConfigFlags(cmd, GLOBAL_SETTINGS);
  return cmd.option('--verbose', 'print stack traces of errors');
}

/** The whole help of `cmd` (options and the text added after them), as --help prints it. */
function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

interface Entry {
  /** "search", "dataset list". */
  path: string;
  cmd: Command;
  help: string;
}

const entries: Entry[] = [];
const byPath = new Map<string, Entry>();

/** The options of `cmd` and of the commands above it (optsWithGlobals: dataset list takes dataset's). */
function optionsOf(cmd: Command): Option[] {
  const own = (cmd as unknown as { options: Option[] }).options;
  return cmd.parent && cmd.parent.name() !== 'imgsim' ? [...own, ...optionsOf(cmd.parent)] : own;
}

function hasFlag(cmd: Command, flag: string): boolean {
  if (flag === '--help') return true;
  return optionsOf(cmd).some((o) => o.long === flag || o.short === flag || (o.negate && o.long === flag));
}

/** Splits a shell line into words (double and single quotes kept together). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** The example lines of a help: the indented lines under "Examples:". */
function examplesOf(help: string): string[] {
  const at = help.indexOf('\nExamples:\n');
  if (at < 0) return [];
  return help
    .slice(at + '\nExamples:\n'.length)
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim().replace(/\s+#.*$/, ''));
}

/** An example without the environment variables set before it (IMGSIM_API_TOKEN=$(openssl rand -hex 24) imgsim serve …). */
function withoutEnv(line: string): string {
  return line.replace(/^(\w+=(\$\([^)]*\)|\S+) )+/, '');
}

/** A fresh copy of an entry's command whose actions do nothing: parsing an example runs no work. */
async function parserFor(path: string): Promise<Command> {
  const [name, sub] = path.split(' ') as [CommandName, string | undefined];
  const cmd = await fullCommand(name);
  const mute = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
    if (c.commands.length === 0) c.action(() => undefined);
    for (const s of c.commands) mute(s);
  };
  mute(cmd);
  return sub ? (cmd.commands.find((c) => c.name() === sub) as Command) : cmd;
}

describe('imgsim help', () => {
  before(async () => {
    for (const name of COMMAND_NAMES) {
      const cmd = await fullCommand(name);
      const top = { path: name, cmd, help: helpOf(cmd) };
      entries.push(top);
      for (const sub of cmd.commands) entries.push({ path: `${name} ${sub.name()}`, cmd: sub, help: helpOf(sub) });
    }
    for (const e of entries) byPath.set(e.path, e);
  });

  test('every command and sub-command has an Examples section', () => {
    for (const e of entries) {
      assert.ok(examplesOf(e.help).length > 0, `imgsim ${e.path} --help has no Examples section:\n${e.help}`);
      for (const line of examplesOf(e.help)) assert.match(withoutEnv(line), /^imgsim /, `imgsim ${e.path}: an example is a command line: ${line}`);
    }
  });

  test('every example parses as written: its command, flags, arguments and required flags', async () => {
    for (const e of entries) {
      for (const line of examplesOf(e.help)) {
        const w = words(withoutEnv(line));
        assert.equal(w[0], 'imgsim', line);
        const name = w[1] as CommandName;
        assert.ok(COMMAND_NAMES.includes(name), `imgsim ${e.path}: unknown command in "${line}"`);
        const target = (await fullCommand(name)).commands.length > 0 ? `${name} ${w[2] ?? ''}` : name;
        const args = w.slice(target.split(' ').length + 1);
        if (target.includes(' ') && !w[2]) continue;
        const parser = await parserFor(target);
        await assert.doesNotReject(parser.parseAsync(args, { from: 'user' }), `imgsim ${e.path}: the example "${line}" does not parse`);
      }
    }
  });

  test('one format: every flag that takes a value shows its default or that it is required; config flags their env variable and allowed values', () => {
    for (const e of entries) {
      assert.doesNotMatch(e.help, /\(default: "/, `imgsim ${e.path}: commander's own default format`);
      assert.doesNotMatch(e.help, /\[env [A-Z_]+, default/, `imgsim ${e.path}: the old config-flag format`);
      for (const o of optionsOf(e.cmd)) {
        if (o.hidden || o.long === '--help' || o.long === '--version') continue;
        const d = o.description;
        if (o.required || o.optional) {
          assert.match(d, /\[(required|default: [^\]]+)\]$|\[(required; )?default: .*\]$|\[required(; allowed: [^\]]+)?\]$/, `imgsim ${e.path} ${o.flags}: "${d}"`);
        } else {
          assert.doesNotMatch(d, /default:/, `imgsim ${e.path} ${o.flags}: a switch has no default to show`);
        }
        if (/env: IMGSIM_/.test(d)) assert.match(d, /\[default: [^\]]+; env: IMGSIM_[A-Z0-9_]+; allowed: [^\]]+\]$/, `imgsim ${e.path} ${o.flags}: "${d}"`);
      }
    }
    // Limits appear in the help, not only in errors.
    assert.match((byPath.get('cluster')?.help ?? '').replace(/\s+/g, ' '), /--tsne-iterations <n> .*?allowed: a whole number from 250 to 100000\]/);
  });

  test('per-command defaults are the ones used: the demo trains at 32 px, apply runs --embed-batch (not the training --batch)', () => {
    const demo = (byPath.get('demo')?.help ?? '').replace(/\s+/g, ' ');
    assert.match(demo, /--size <n> model input side .*?\[default: 32 \(--task superres: 64\); env: IMGSIM_IMAGE_SIZE/);
    assert.match(demo, /--batch <n> training batch size \[default: 16/);
    const apply = byPath.get('apply') as Entry;
    assert.ok(hasFlag(apply.cmd, '--embed-batch'));
    assert.doesNotMatch(apply.help, /--batch </, 'apply lists no --batch');
    assert.match(apply.help.replace(/\s+/g, ' '), /--embed-batch <n> images per forward pass when applying the model/);
    const evalFeatures = (byPath.get('eval-features')?.help ?? '').replace(/\s+/g, ' ');
    assert.match(evalFeatures, /--epochs <n> .*?\[default: 15;/);
  });

  test('no help names a flag the command does not have (a flag after "imgsim <other>" is that command\'s)', () => {
    for (const e of entries) {
      for (const line of e.help.split('\n')) {
        let owner = e.cmd;
        let ownerName = e.path;
        // "imgsim <other>" hands the flags after it to that command, until the facts' "[" or a ";".
        for (const m of line.matchAll(/imgsim (\w[\w-]*)(?: (\w+))?|(--[a-z][a-z0-9-]*)|([[;])/g)) {
          if (m[4] !== undefined) {
            owner = e.cmd;
            ownerName = e.path;
            continue;
          }
          if (m[1] !== undefined) {
            const top = byPath.get(m[1]);
            if (!top) continue;
            const sub = m[2] !== undefined ? byPath.get(`${m[1]} ${m[2]}`) : undefined;
            owner = (sub ?? top).cmd;
            ownerName = (sub ?? top).path;
            continue;
          }
          const flag = m[3] as string;
          assert.ok(hasFlag(owner, flag), `imgsim ${e.path} --help names ${flag}, which imgsim ${ownerName} does not have: "${line.trim()}"`);
        }
      }
    }
  });

  test('no help names an output the command does not write', () => {
    const writes: Partial<Record<CommandName, readonly string[]>> = {
      run: [OUTPUT.manifest, OUTPUT.failures, OUTPUT.modelPrefix, OUTPUT.preview, OUTPUT.index, OUTPUT.clusters, OUTPUT.clusterPlot],
      train: [OUTPUT.modelPrefix, OUTPUT.failures],
      embed: [OUTPUT.index],
      cluster: [OUTPUT.clusters, OUTPUT.clusterPlot],
      search: [OUTPUT.searches],
      demo: [OUTPUT.clusters, OUTPUT.clusterPlot, OUTPUT.modelPrefix],
      eval: [],
    };
    const named = [OUTPUT.searches, OUTPUT.clusters, OUTPUT.clusterPlot, OUTPUT.index, OUTPUT.manifest];
    for (const [name, files] of Object.entries(writes) as Array<[CommandName, readonly string[]]>) {
      const help = byPath.get(name)?.help ?? '';
      for (const file of named) if (!files.includes(file)) assert.ok(!help.includes(file), `imgsim ${name} --help names ${file}, which it does not write`);
    }
  });

  test('only the flags that apply: no --backend where no model runs, service flags only where the service is used', () => {
    const without: Record<string, readonly string[]> = {
      runs: ['--backend', '--qdrant', '--artifacts'],
      'run-status': ['--backend', '--qdrant', '--artifacts'],
      'retry-failed': ['--backend', '--qdrant'],
      enqueue: ['--backend', '--qdrant', '--artifacts'],
      cluster: ['--backend', '--redis', '--qdrant'],
      'schedule add': ['--backend', '--qdrant', '--artifacts'],
      'schedule list': ['--backend', '--qdrant', '--artifacts'],
      'schedule remove': ['--backend', '--qdrant', '--artifacts'],
      'dataset list': ['--backend', '--artifacts'],
      'dataset show': ['--backend', '--artifacts'],
      'dataset rollback': ['--backend', '--artifacts'],
      run: ['--redis', '--qdrant', '--artifacts'],
      train: ['--redis', '--qdrant', '--artifacts', '--embed-batch'],
      embed: ['--redis', '--qdrant', '--batch'],
    };
    for (const [p, flags] of Object.entries(without)) {
      const e = byPath.get(p) as Entry;
      for (const flag of flags) assert.ok(!hasFlag(e.cmd, flag), `imgsim ${p} lists ${flag}`);
    }
    for (const p of ['run', 'train', 'embed', 'search', 'features', 'apply', 'demo', 'eval', 'eval-features', 'worker', 'serve']) {
      assert.ok(hasFlag((byPath.get(p) as Entry).cmd, '--backend'), `imgsim ${p} runs a model: --backend`);
    }
  });
});
