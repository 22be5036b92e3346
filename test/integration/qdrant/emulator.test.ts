// The emulator's own machinery: the derived schema is current, and the validator
// catches what it should (so "no errors" in the adapter tests means something).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DEFAULT_SPEC, SCHEMA_FILE, deriveSchema, renderSchema } from '../../support/qdrant-emulator/derive-schema.js';
import { loadDerivedSchema } from '../../support/qdrant-emulator/server.js';
import { SchemaValidator } from '../../support/qdrant-emulator/validate.js';

const schema = await loadDerivedSchema();
const validator = new SchemaValidator(schema.components.schemas);
const op = (id: keyof typeof schema.operations) => schema.operations[id] as (typeof schema.operations)[string];

test('qdrant-schema.json is what derive-schema.ts makes of the OpenAPI spec', { skip: existsSync(DEFAULT_SPEC) ? false : `no ${DEFAULT_SPEC}` }, async () => {
  const derived = deriveSchema(await readFile(DEFAULT_SPEC, 'utf8'));
  assert.equal(await readFile(SCHEMA_FILE, 'utf8'), renderSchema(derived), 'run: node --import tsx test/support/qdrant-emulator/derive-schema.ts');
  assert.equal(derived._source.licence, 'Apache-2.0');
  assert.ok(Object.keys(derived.components.schemas).length < 400, 'only reachable components');
});

test('request bodies: required, types, nullable, uuid ids, additionalProperties: false, best anyOf branch', () => {
  const upsert = op('upsert_points').requestBody;
  assert.ok(upsert);
  const id = '9342d47a-1bab-5709-9869-c840b2eac501';
  assert.deepEqual(validator.validate(upsert, { points: [{ id, vector: [0.5, 1], payload: null }, { id: 7, vector: [1, 2], payload: { a: [1] } }] }), []);
  assert.deepEqual(validator.validate(upsert, { points: [{ id, payload: {} }] }), [{ path: '$.points[0].vector', message: 'is required' }]);
  assert.match(validator.validate(upsert, { points: [{ id: 'abc', vector: [1] }] })[0]?.message ?? '', /not a UUID/);
  assert.equal(validator.validate(upsert, { points: [{ id: -1, vector: [1] }] })[0]?.path, '$.points[0].id');
  assert.deepEqual(validator.validate(upsert, 'nope').map((i) => i.path), ['$']);

  const scroll = op('scroll_points').requestBody;
  assert.ok(scroll);
  assert.deepEqual(validator.validate(scroll, { filter: { must: [{ key: 'a', match: { value: 'x' } }] }, limit: null, offset: null }), []);
  const unknownClause = validator.validate(scroll, { filter: { mustt: [] } });
  assert.ok(unknownClause.some((i) => i.path === '$.filter.mustt' && /not an allowed property/.test(i.message)), JSON.stringify(unknownClause));
  assert.ok(validator.validate(scroll, { filter: { must: [{ key: 'a', match: { value: 1.5 } }] } }).length > 0, 'match value must be string/int/bool');
  assert.ok(validator.validate(scroll, { with_vector: 'yes' }).length > 0);
});

test('response schemas are strict enough to catch a wrong emulator answer', () => {
  const info = op('get_collection').responses['200'];
  assert.ok(info);
  const issues = validator.validate(info, { result: { status: 'blue', config: {} }, status: 'ok', time: 0 });
  const paths = issues.map((i) => i.path);
  for (const p of ['$.result.status', '$.result.optimizer_status', '$.result.payload_schema', '$.result.config.params']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
  const query = op('query_points').responses['200'];
  assert.ok(query);
  assert.deepEqual(validator.validate(query, { result: { points: [{ id: 1, version: 0, score: 0.5 }] }, status: 'ok', time: 0 }), []);
  assert.equal(validator.validate(query, { result: { points: [{ id: 1, score: 0.5 }] }, status: 'ok', time: 0 })[0]?.path, '$.result.points[0].version');
  const error = op('query_points').responses['4XX'];
  assert.ok(error);
  assert.deepEqual(validator.validate(error, { status: { error: 'Not found' }, time: 0 }), []);
});
