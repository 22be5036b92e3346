import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeNpy, encodeNpy } from '../../../shared/npy.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('npy round trip keeps shape and every value', () => {
  const data = Float32Array.from({ length: 7 * 5 }, (_, i) => Math.sin(i) * 1e3);
  const buf = encodeNpy({ rows: 7, cols: 5, data });
  assert.equal((buf.readUInt16LE(8) + 10) % 64, 0, 'header padded to 64 bytes');
  const back = decodeNpy(buf);
  assert.equal(back.rows, 7);
  assert.equal(back.cols, 5);
  assert.deepEqual(back.data, data);
});

test('npy rejects other dtypes, truncation and non-npy input with a reason', () => {
  const good = encodeNpy({ rows: 2, cols: 2, data: new Float32Array(4) });
  assert.throws(() => decodeNpy(Buffer.from('hello world')), /not a \.npy file/);
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 4)), /truncated/);
  const f8 = Buffer.from(good.toString('latin1').replace("'<f4'", "'<f8'"), 'latin1');
  assert.throws(() => decodeNpy(f8), /dtype <f8 not supported/);
});

test('numpy.load reads the file as an (N, D) float32 array', { skip: hasNumpy ? false : 'python3 with numpy is not installed' }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-npy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'e.npy');
  const data = Float32Array.from({ length: 3 * 4 }, (_, i) => i / 3);
  await writeFile(file, encodeNpy({ rows: 3, cols: 4, data }));
  const py = spawnSync('python3', ['-c', `import numpy as np; a=np.load(${JSON.stringify(file)}); print(a.dtype, a.shape, repr(float(a[2,3])))`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.equal(py.stdout.trim(), `float32 (3, 4) ${String(Math.fround(11 / 3))}`);
});
