import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, describeSettings } from '../../../shared/config/index.js';
import { UserError } from '../../../shared/errors.js';

test('defaults match the documented reference setup', () => {
  const c = loadConfig({});
  assert.equal(c.imageSize, 64);
  assert.deepEqual(c.filters, [16, 32, 64, 128, 256]);
  assert.equal(c.batchSize, 32);
  assert.equal(c.fit, 'crop');
  assert.equal(c.clusters, 'auto');
  assert.ok(Object.isFrozen(c));
});

test('environment overrides defaults and flags override the environment', () => {
  const c = loadConfig({ IMGSIM_EPOCHS: '7', IMGSIM_BATCH_SIZE: '16' }, { batchSize: '8', clusters: '5' });
  assert.equal(c.epochs, 7);
  assert.equal(c.batchSize, 8);
  assert.equal(c.clusters, 5);
});

test('an invalid value names the variable, the expectation and the received value', () => {
  assert.throws(
    () => loadConfig({ IMGSIM_EPOCHS: 'many' }),
    (e: unknown) => e instanceof UserError && /IMGSIM_EPOCHS/.test(e.message) && /--epochs/.test(e.message) && /"many"/.test(e.message) && /expected number/.test(e.message),
  );
  assert.throws(() => loadConfig({}, { fit: 'stretch' }), /--fit: received "stretch"; .*"crop"\|"letterbox"/);
  assert.throws(() => loadConfig({ IMGSIM_FILTERS: '16,,32' }), /IMGSIM_FILTERS.*comma-separated/);
  assert.throws(() => loadConfig({}, { clusters: 'lots' }), /--clusters: received "lots"; expected "auto" or an integer/);
});

test('every problem is reported at once', () => {
  assert.throws(() => loadConfig({ IMGSIM_SEED: '-1', IMGSIM_LEARNING_RATE: 'fast' }), (e: unknown) => {
    const m = (e as Error).message;
    return m.includes('IMGSIM_SEED') && m.includes('IMGSIM_LEARNING_RATE');
  });
});

test('the settings table documents every variable', () => {
  const table = describeSettings();
  for (const v of ['IMGSIM_IMAGE_SIZE', 'IMGSIM_BACKEND', 'IMGSIM_MAX_PIXELS', 'IMGSIM_PERPLEXITY']) assert.ok(table.includes(v), v);
});

test("the README's configuration table is the schema's", async () => {
  const { readFile } = await import('node:fs/promises');
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(describeSettings()), 'README.md configuration table is out of date: run npm run docs:config');
});
