// imgsim's start-up (issue 15): the command runs the compiled build (dist/), not tsx;
// `--help` and `--version` load no command module, no zod and nothing heavy; every
// command's --help and its flag-validation errors load none of the heavy packages
// (TensorFlow.js, OpenCV, sharp, the AWS SDK, BullMQ, ioredis, Fastify, Qdrant's client).
// What is loaded does not depend on how busy the machine is; the times are
// `npm run bench:cli`'s.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildIsFresh } from '../../bin/build-state.mjs';
import { CATALOG, COMMAND_NAMES } from '../../bin/commands/catalog.js';
import { ROOT } from '../support/cli.js';

const BIN = path.join(ROOT, 'bin', 'imgsim.js');
const TRACE = path.join(ROOT, 'test', 'support', 'import-trace.mjs');
const HEAVY = ['@tensorflow/', '@techstark/', 'sharp', '@img/', '@aws-sdk/', '@smithy/', 'bullmq', 'ioredis', 'fastify', '@fastify/', '@bull-board/', '@qdrant/', 'prom-client', 'ml-pca', 'ml-kmeans', 'undici', 'tsx'];

interface Traced {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Packages resolved from node_modules, by name. */
  packages: Set<string>;
  /** Project files loaded, relative to the root. */
  files: string[];
}

function traced(args: readonly string[]): Traced {
  const dir = mkdtempSync(path.join(tmpdir(), 'imgsim-trace-'));
  try {
    const file = path.join(dir, 'trace.txt');
    const r = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, IMGSIM_IMPORT_TRACE: file, IMGSIM_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const packages = new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
    const files = urls.filter((u) => u.startsWith('file://') && !u.includes('/node_modules/')).map((u) => path.relative(ROOT, new URL(u).pathname));
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, packages, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertLight(t: Traced, what: string): void {
  const heavy = [...t.packages].filter((p) => HEAVY.some((h) => p === h || p.startsWith(h)));
  assert.deepEqual(heavy, [], `${what} loads ${heavy.join(', ')}`);
  assert.ok(t.files.includes('dist/bin/imgsim.js'), `${what} runs the compiled build: ${t.files.slice(0, 5).join(', ')}`);
  assert.ok(!t.files.some((f) => f.endsWith('.ts')), `${what} loads no TypeScript source`);
}

describe('imgsim start-up', () => {
  before(() => {
    // `npm test` builds first (pretest); a test file run on its own builds here when the
    // sources changed since (what `npm run build` does).
    if (!buildIsFresh(ROOT)) {
      const b = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'infra', 'scripts', 'build.ts')], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(b.status, 0, b.stderr);
    }
    assert.ok(buildIsFresh(ROOT), 'dist/ is fresh');
  });

  test('--help and --version load commander and the catalog only: no command module, no zod, no logger', () => {
    for (const args of [['--help'], ['--version'], ['-V'], []]) {
      const t = traced(args);
      assert.equal(t.code, args.length === 0 ? 2 : 0, t.stderr); // no command: the help on stderr, a usage error
      assertLight(t, `imgsim ${args.join(' ')}`);
      assert.deepEqual([...t.packages], ['commander'], `imgsim ${args.join(' ')}`);
      assert.deepEqual(
        t.files.filter((f) => f.startsWith('dist/bin/commands/')),
        ['dist/bin/commands/catalog.js'],
      );
    }
    const help = traced(['--help']).stdout;
    for (const name of COMMAND_NAMES) assert.match(help, new RegExp(`^  ${name} `, 'm'), `--help lists ${name}`);
    assert.match(traced(['--version']).stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test("every command's --help shows its own options and loads nothing heavy", () => {
    for (const name of COMMAND_NAMES) {
      const t = traced([name, '--help']);
      assert.equal(t.code, 0, `${name}: ${t.stderr}`);
      assert.match(t.stdout, new RegExp(`^Usage: imgsim ${name} `), name);
      assert.ok(t.stdout.includes(CATALOG[name].description.slice(0, 40)), `${name}: its description`);
      assert.match(t.stdout, /--verbose/, `${name}: the common flags`);
      assertLight(t, `imgsim ${name} --help`);
    }
    const viaHelp = traced(['help', 'run']);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.match(viaHelp.stdout, /-o, --out <dir>/);
  });

  test('flag validation fails with exit 2 before anything heavy is loaded', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imgsim-startup-'));
    try {
      const missing = path.join(dir, 'nonexistent');
      const cases: Array<[string[], RegExp]> = [
        [['run', missing, '--out', path.join(dir, 'o'), '--size', 'abc'], /--size/],
        [['train', missing, '--out', path.join(dir, 'o'), '--epochs', '0'], /--epochs/],
        [['embed', missing, '--model', dir, '--out', path.join(dir, 'o'), '--embed-batch', '0'], /--embed-batch/],
        [['search', path.join(missing, 'q.jpg'), '--index', dir, '-k', 'abc'], /-k/],
        [['search', path.join(missing, 'q.jpg'), '--index', dir, '--dataset', 'd'], /exactly one of --index/],
        [['features', path.join(missing, 'q.jpg'), '--index', dir, '--method', 'sift'], /--method/],
        [['cluster', '--index', dir, '--clusters', 'many'], /--clusters/],
        [['apply', missing, '--model', dir, '--out', path.join(dir, 'o'), '--batch', '0'], /--batch/],
        [['demo', '--per-class', '1'], /--per-class/],
        [['eval-features', missing, '--per-image', 'x'], /--per-image/],
        [['serve', '--port', 'abc'], /--port/],
        [['worker', 'resize'], /Unknown worker "resize"/],
        [['enqueue', 's3://bucket/p/', '--dataset', 'd', '--train', '--model', 'm'], /exclude each other/],
        [['runs', '--redis', 'localhost:6379'], /--redis/],
      ];
      for (const [args, pattern] of cases) {
        const t = traced(args);
        assert.equal(t.code, 2, `imgsim ${args.join(' ')}: ${t.stderr}`);
        assert.match(t.stderr, pattern, args.join(' '));
        assertLight(t, `imgsim ${args.join(' ')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
