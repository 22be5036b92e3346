import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, describeSettings, settings } from '../../../shared/config/index.js';
import { UsageError } from '../../../shared/errors.js';

/** The error is a UsageError whose message (not `name: message`) matches. */
const message = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);

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

test('an invalid value names the variable, what it must be in plain words and the received value', () => {
  assert.throws(
    () => loadConfig({ IMGSIM_EPOCHS: 'many' }),
    (e: unknown) => e instanceof UsageError && e.message === 'IMGSIM_EPOCHS must be a whole number from 1 to 10000, got "many"',
  );
  assert.throws(() => loadConfig({}, { fit: 'stretch' }), message(/^--fit must be one of crop, letterbox, got "stretch"$/));
  assert.throws(() => loadConfig({ IMGSIM_FILTERS: '16,,32' }), message(/^IMGSIM_FILTERS must be comma-separated positive integers such as 16,32,64,128,256, got "16,,32"$/));
  assert.throws(() => loadConfig({}, { filters: '0,16' }), message(/^--filters must be comma-separated positive integers/));
  assert.throws(() => loadConfig({}, { clusters: 'lots' }), message(/^--clusters must be auto or a whole number from 2 to 1000, got "lots"$/));
  assert.throws(() => loadConfig({}, { clusters: '1' }), message(/^--clusters must be auto or a whole number from 2 to 1000, got "1"$/));
  assert.throws(() => loadConfig({}, { learningRate: 'fast' }), message(/^--lr must be a number from 1e-7 to 10, got "fast"$/));
  assert.throws(() => loadConfig({}, { maxPixels: '0' }), message(/^--max-pixels must be a whole number ≥ 1, got "0"$/));
  assert.throws(() => loadConfig({}, { superresScale: '3' }), message(/^--scale must be 2 or 4, got "3"$/));
  assert.throws(() => loadConfig({}, { crosshairWidth: '3-1' }), message(/^--crosshair-width must be a width ≥ 1, or a range min-max with 1 ≤ min ≤ max, got "3-1"$/));
  assert.throws(() => loadConfig({ IMGSIM_REDIS_URL: 'localhost:6379' }), message(/^IMGSIM_REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL, got "localhost:6379"$/));
  assert.throws(() => loadConfig({ IMGSIM_QDRANT_URL: 'ftp://x' }), message(/^IMGSIM_QDRANT_URL must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"$/));
  assert.throws(() => loadConfig({ IMGSIM_S3_ENDPOINT: 'nope' }), message(/^IMGSIM_S3_ENDPOINT must be an http:\/\/ or https:\/\/ URL, or empty, got "nope"$/));
  assert.throws(() => loadConfig({ IMGSIM_S3_FORCE_PATH_STYLE: 'yes' }), message(/^IMGSIM_S3_FORCE_PATH_STYLE must be true or false, got "yes"$/));
});

test('a near miss of an allowed word gets a suggestion', () => {
  assert.throws(() => loadConfig({}, { fit: 'corp' }), message(/^--fit must be one of crop, letterbox, got "corp" \(did you mean crop\?\)$/));
  assert.throws(() => loadConfig({ IMGSIM_TASK: 'denoize' }), message(/^IMGSIM_TASK must be one of reconstruct, denoise, colorize, superres, got "denoize" \(did you mean denoise\?\)$/));
  assert.throws(() => loadConfig({}, { clusters: 'aut' }), message(/\(did you mean auto\?\)$/));
  assert.throws(() => loadConfig({}, { task: 'sharpen' }), message(/got "sharpen"$/));
});

test('no zod wording reaches a message, whatever the setting', () => {
  const bad = ['abc', '-1', '0', '1e99', 'x://y', ''];
  for (const [name, s] of Object.entries(settings)) {
    for (const value of bad) {
      try {
        loadConfig({}, { [name]: value });
      } catch (e) {
        const m = (e as Error).message;
        assert.ok(e instanceof UsageError, `${name}=${value}: ${m}`);
        assert.match(m, new RegExp(`^${(s.flag ?? s.env).replace(/[-]/g, '\\-')} must be .+, got `), `${name}=${value}: ${m}`);
        assert.doesNotMatch(m, /expected|received|Invalid|Too (small|big)|NaN|>=|<=/, `${name}=${value}: ${m}`);
      }
    }
  }
});

test('every problem is reported at once, on one line', () => {
  assert.throws(() => loadConfig({ IMGSIM_SEED: '-1', IMGSIM_LEARNING_RATE: 'fast' }), (e: unknown) => {
    const m = (e as Error).message;
    return m.includes('IMGSIM_LEARNING_RATE must be') && m.includes('; IMGSIM_SEED must be') && !m.includes('\n');
  });
});

test('a secret value is never shown', () => {
  assert.throws(() => loadConfig({ IMGSIM_API_TOKEN: 'short' }), (e: unknown) => e instanceof UsageError && !e.message.includes('short') && /value not shown/.test(e.message));
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
