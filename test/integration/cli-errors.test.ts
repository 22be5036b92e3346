// What a new user sees when something they gave is wrong (issue 15, deliverable 3): one
// line on stderr, exit 2, what was expected in plain words — never a raw errno, a file://
// URL or zod wording — and every such check before any image is read or anything written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli, type CliResult } from '../support/cli.js';

/** Internals no message may show a person. */
const LEAKS = /ENOENT|ENOTDIR|EISDIR|EACCES|realpath|file:\/\/|expected \w+, received|received NaN|Invalid (input|option|configuration)|Too (small|big)/;

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Exit 2, nothing on stdout, exactly `line` on stderr (one line), nothing internal in it. */
function assertOneLine(r: CliResult, line: string, what: string): void {
  assert.equal(r.code, 2, `${what}: ${r.stderr}`);
  assert.equal(r.stdout, '', what);
  assert.equal(r.stderr, `imgsim: ${line}\n`, what);
  assert.doesNotMatch(r.stderr, LEAKS, what);
}

describe('imgsim: usage and input errors in plain words, before any work', () => {
  let dir: string;
  let data: string;
  let query: string;
  let empty: string;
  let aFile: string;
  let runLike: string;
  const out = (name: string): string => path.join(dir, 'out', name);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgsim-errors-'));
    data = path.join(dir, 'data');
    await mkdir(data, { recursive: true });
    for (let i = 0; i < 4; i++) {
      await sharp({ create: { width: 24, height: 24, channels: 3, background: { r: 40 * i, g: 90, b: 200 - 30 * i } } })
        .png()
        .toFile(path.join(data, `${i}.png`));
    }
    query = path.join(data, '0.png');
    empty = path.join(dir, 'empty');
    await mkdir(empty);
    aFile = path.join(dir, 'a-file.txt');
    await writeFile(aFile, 'not a folder');
    // An output folder of train/run: the model is in its model/ sub-folder.
    runLike = path.join(dir, 'run-out');
    await mkdir(path.join(runLike, 'model'), { recursive: true });
    await writeFile(path.join(runLike, 'model', 'meta.json'), '{}');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a flag or variable value: what it must be, the value received, the help to read', async () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['train', data, '--out', out('t1'), '--epochs', 'abc'], {}, '--epochs must be a whole number from 1 to 10000, got "abc" — see imgsim train --help'],
      [['train', data, '--out', out('t2')], { IMGSIM_EPOCHS: 'abc' }, 'IMGSIM_EPOCHS must be a whole number from 1 to 10000, got "abc" — see imgsim train --help'],
      [['run', data, '--out', out('r1'), '--fit', 'corp'], {}, '--fit must be one of crop, letterbox, got "corp" (did you mean crop?) — see imgsim run --help'],
      [['run', data, '--out', out('r2'), '--size', 'abc', '--lr', '0'], {}, '--size must be a whole number from 8 to 1024, got "abc"; --lr must be a number from 1e-7 to 10, got "0" — see imgsim run --help'],
      [['cluster', '--index', data, '--clusters', '1'], {}, '--clusters must be auto or a whole number from 2 to 1000, got "1" — see imgsim cluster --help'],
      [['search', query, '--index', data, '-k', '0'], {}, '-k must be a whole number ≥ 1, got "0" — see imgsim search --help'],
      [['worker', 'embed'], { IMGSIM_REDIS_URL: 'localhost:6379' }, 'IMGSIM_REDIS_URL must be a redis:// or rediss:// URL, got "localhost:6379" — see imgsim worker --help'],
    ];
    const results = await Promise.all(cases.map(([args, env]) => runCli(args, env)));
    cases.forEach(([args, , line], i) => assertOneLine(results[i] as CliResult, line, args.join(' ')));
    for (const name of ['t1', 't2', 'r1', 'r2']) assert.equal(await exists(out(name)), false, `${name}: nothing written`);
  });

  test('a --size the model cannot take is refused before any image is listed, decoded or written', async () => {
    const message = '--size must be a multiple of 32 (2^5, for 5 pooling stages: --filters 16,32,64,128,256), got 48; try 64';
    const [train, run, runLogged, demo] = await Promise.all([
      runCli(['train', data, '--out', out('s1'), '--size', '48']),
      runCli(['run', data, '--out', out('s2'), '--size', '48']),
      runCli(['run', data, '--out', out('s3'), '--size', '48'], { IMGSIM_LOG_LEVEL: 'info' }),
      runCli(['demo', '--out', out('s4'), '--size', '40']),
    ]);
    assertOneLine(train, `${message} — see imgsim train --help`, 'train --size 48');
    assertOneLine(run, `${message} — see imgsim run --help`, 'run --size 48');
    // At log level info every stage logs as it starts: nothing was listed or decoded.
    assert.equal(runLogged.code, 2);
    assert.doesNotMatch(runLogged.stderr, /listed|decode|train/, runLogged.stderr);
    assertOneLine(demo, '--size must be a multiple of 16 (2^4, for 4 pooling stages: --filters 16,32,64,128), got 40; try 48 — see imgsim demo --help', 'demo --size 40');
    for (const name of ['s1', 's2', 's3', 's4']) assert.equal(await exists(out(name)), false, `${name}: nothing written (no images generated either)`);
  });

  test('an index or model folder that is missing, a file, or another kind of folder is named in plain words', async () => {
    const nowhere = path.join(dir, 'nowhere');
    const cases: Array<[string[], string]> = [
      [['cluster', '--index', nowhere], `No index at ${nowhere}: the folder does not exist`],
      [['cluster', '--index', aFile], `No index at ${aFile}: it is a file, not an index folder`],
      [['search', query, '--index', data], `${data} is not an index folder: it has no index.json (imgsim run or imgsim embed writes one)`],
      [['embed', data, '--model', nowhere, '--out', out('e1')], `No model at ${nowhere}: the folder does not exist`],
      [['embed', data, '--model', aFile, '--out', out('e2')], `No model at ${aFile}: it is a file, not a model folder`],
      [['embed', data, '--model', data, '--out', out('e3')], `${data} is not a model folder: it has no meta.json (imgsim train or imgsim run writes one in <out>/model)`],
      // A run folder is taken for its model/ (one --model convention); this one's meta.json is not a model's.
      [['embed', data, '--model', runLike, '--out', out('e4')], `${path.join(runLike, 'model', 'meta.json')} is damaged or from another version of imgsim: field "modelId" is missing or invalid`],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    cases.forEach(([args, line], i) => assertOneLine(results[i] as CliResult, line, args.join(' ')));
    for (const name of ['e1', 'e2', 'e3', 'e4']) assert.equal(await exists(out(name)), false, `${name}: nothing written`);
  });

  test('a folder without images: its path, not a file:// URL', async () => {
    const r = await runCli(['train', empty, '--out', out('n1')]);
    assertOneLine(r, `No images found in ${empty}: the folder is empty`, 'train on an empty folder');
  });

  test('queue commands: a run id, a count and a local source folder are checked before Redis is reached', async () => {
    // An unreachable Redis: any of these that got past its checks would fail on the connection instead.
    const env = { IMGSIM_REDIS_URL: 'redis://127.0.0.1:1' };
    const nowhere = path.join(dir, 'nowhere');
    const cases: Array<[string[], string]> = [
      [['run-status', 'nope'], '<id> must be a run id as imgsim enqueue and imgsim runs print it (6–64 lowercase letters, digits or -), got "nope" — see imgsim run-status --help'],
      [['retry-failed', 'Bad Id!'], '<id> must be a run id as imgsim enqueue and imgsim runs print it (6–64 lowercase letters, digits or -), got "Bad Id!" — see imgsim retry-failed --help'],
      [['run-status', 'abcdef-123', '--wait', '--timeout', 'soon'], '--timeout must be a whole number ≥ 1, got "soon" — see imgsim run-status --help'],
      [['runs', '--limit', 'abc'], '--limit must be a whole number ≥ 1, got "abc" — see imgsim runs --help'],
      [['enqueue', nowhere, '--dataset', 'd'], `Source folder not found: ${nowhere}`],
      [['enqueue', aFile, '--dataset', 'd'], `Source is not a folder: ${aFile}`],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, env)));
    cases.forEach(([args, line], i) => assertOneLine(results[i] as CliResult, line, args.join(' ')));
  });

  test('--verbose keeps what the message leaves out: the cause (errno) and the stacks', async () => {
    const nowhere = path.join(dir, 'nowhere');
    const r = await runCli(['cluster', '--index', nowhere, '--verbose']);
    assert.equal(r.code, 2);
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], `imgsim: No index at ${nowhere}: the folder does not exist`);
    assert.match(r.stderr, /\n {4}at readIndexManifest /);
    assert.match(r.stderr, /\ncaused by: Error: ENOENT: no such file or directory/);
  });
});
