// Derives qdrant-schema.json from Qdrant's OpenAPI spec: the request bodies, query
// parameters and JSON responses of the operations the adapter calls, plus every
// component schema they reach through $ref — nothing else.
//
// Transform (structure only): descriptions, examples, defaults, titles and deprecation
// marks are dropped; OpenAPI 3.0 `nullable: true` becomes a JSON-Schema type array
// (`{type: 'integer', nullable: true}` → `{type: ['integer', 'null']}`), and a bare
// `{nullable: true}` (the spec's "or null" branch of an anyOf) becomes `{type: 'null'}`.
// Any other keyword stops the script, so a new spec cannot silently lose a constraint.
//
//   node --import tsx test/support/qdrant-emulator/derive-schema.ts [spec.json] [--check]
//
// Default spec: ../shared/qdrant/openapi.json beside the repository (or $QDRANT_OPENAPI).
// --check compares with the committed file instead of writing it (exit 1 on a difference).
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DerivedOperation, DerivedSchema, JsonSchema, JsonType } from './schema-types.js';

/** operationIds of everything the adapter (shared/vectors/qdrant/adapter.ts) calls. */
export const OPERATIONS = [
  'root',
  'get_collections',
  'get_collection',
  'create_collection',
  'delete_collection',
  'collection_exists',
  'update_aliases',
  'get_collections_aliases',
  'create_field_index',
  'upsert_points',
  'get_points',
  'delete_points',
  'batch_update',
  'scroll_points',
  'count_points',
  'query_points',
  'query_batch_points',
] as const;
export type OperationId = (typeof OPERATIONS)[number];

/** The spec carries `info.version: "master"`; the file was taken at Qdrant v1.19. */
const QDRANT_VERSION = '1.19';
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SCHEMA_FILE = path.join(HERE, 'qdrant-schema.json');
export const DEFAULT_SPEC = process.env.QDRANT_OPENAPI ?? path.resolve(HERE, '../../../../shared/qdrant/openapi.json');

const KEEP = new Set([
  '$ref', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'anyOf', 'oneOf', 'allOf',
  'format', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems',
]);
const DROP = new Set(['description', 'example', 'examples', 'default', 'deprecated', 'title']);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One schema node → the kept structure (recursively). */
export function cleanSchema(node: Json, where: string): JsonSchema {
  if (!isObject(node)) throw new Error(`${where}: a schema must be an object`);
  const out: JsonSchema & Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (DROP.has(k) || k === 'nullable') continue;
    if (!KEEP.has(k)) throw new Error(`${where}: keyword "${k}" is not handled by the emulator's validator`);
    if (k === 'properties') {
      if (!isObject(v)) throw new Error(`${where}.properties: must be an object`);
      out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, cleanSchema(s, `${where}.properties.${p}`)]));
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v !== 'boolean')) {
      out[k] = cleanSchema(v, `${where}.${k}`);
    } else if (k === 'anyOf' || k === 'oneOf' || k === 'allOf') {
      if (!Array.isArray(v)) throw new Error(`${where}.${k}: must be an array`);
      out[k] = v.map((s, i) => cleanSchema(s, `${where}.${k}[${i}]`));
    } else {
      out[k] = v;
    }
  }
  if (node.nullable === true) {
    if (out.type === undefined) {
      if (Object.keys(out).length > 0) throw new Error(`${where}: nullable without a type next to ${Object.keys(out).join(', ')}`);
      out.type = 'null';
    } else {
      const types: JsonType[] = Array.isArray(out.type) ? out.type : [out.type];
      out.type = types.includes('null') ? types : [...types, 'null'];
    }
  }
  return out;
}

function collectRefs(schema: unknown, into: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const s of schema) collectRefs(s, into);
  } else if (typeof schema === 'object' && schema !== null) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === '$ref' && typeof v === 'string') into.add(v);
      else collectRefs(v, into);
    }
  }
}

const REF_PREFIX = '#/components/schemas/';

export function deriveSchema(specText: string): DerivedSchema {
  const spec = JSON.parse(specText) as JsonObject;
  const paths = spec.paths;
  const components = isObject(spec.components) ? spec.components.schemas : undefined;
  if (!isObject(paths) || !isObject(components)) throw new Error('not an OpenAPI document with paths and components.schemas');

  const operations: Record<string, DerivedOperation> = {};
  for (const [p, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op) || typeof op.operationId !== 'string') continue;
      const id = op.operationId;
      if (!(OPERATIONS as readonly string[]).includes(id)) continue;
      const where = `${method.toUpperCase()} ${p}`;
      const query: Record<string, JsonSchema> = {};
      for (const param of Array.isArray(op.parameters) ? op.parameters : []) {
        if (isObject(param) && param.in === 'query' && typeof param.name === 'string') {
          query[param.name] = cleanSchema(param.schema ?? {}, `${where} ?${param.name}`);
        }
      }
      const derived: DerivedOperation = { method: method.toUpperCase() as DerivedOperation['method'], path: p, query, responses: {} };
      const body = jsonContent(op.requestBody);
      if (body !== undefined) derived.requestBody = cleanSchema(body, `${where} request body`);
      if (isObject(op.responses)) {
        for (const [code, response] of Object.entries(op.responses)) {
          const schema = jsonContent(response);
          if (schema !== undefined) derived.responses[code] = cleanSchema(schema, `${where} ${code}`);
        }
      }
      operations[id] = derived;
    }
  }
  const missing = OPERATIONS.filter((id) => !(id in operations));
  if (missing.length > 0) throw new Error(`the spec lacks operations: ${missing.join(', ')}`);

  // Every component reachable from those operations.
  const reachable: Record<string, JsonSchema> = {};
  const pending = new Set<string>();
  collectRefs(operations, pending);
  while (pending.size > 0) {
    const ref = pending.values().next().value as string;
    pending.delete(ref);
    if (!ref.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref ${ref}`);
    const name = ref.slice(REF_PREFIX.length);
    if (name in reachable) continue;
    const source = components[name];
    if (source === undefined) throw new Error(`dangling $ref ${ref}`);
    const cleaned = cleanSchema(source, name);
    reachable[name] = cleaned;
    const refs = new Set<string>();
    collectRefs(cleaned, refs);
    for (const r of refs) if (!(r.slice(REF_PREFIX.length) in reachable)) pending.add(r);
  }
  const sortedComponents = Object.fromEntries(Object.keys(reachable).sort().map((k) => [k, reachable[k] as JsonSchema]));
  const sortedOperations = Object.fromEntries(OPERATIONS.map((id) => [id, operations[id] as DerivedOperation]));

  const info = isObject(spec.info) ? spec.info : {};
  const licence = isObject(info.license) && typeof info.license.name === 'string' ? info.license.name : 'unknown';
  return {
    _source: {
      spec: `Qdrant REST API, OpenAPI ${typeof spec.openapi === 'string' ? spec.openapi : '?'} (shared/qdrant/openapi.json)`,
      qdrantVersion: QDRANT_VERSION,
      infoVersion: typeof info.version === 'string' ? info.version : 'unknown',
      licence: licence.replace(/^Apache 2\.0$/, 'Apache-2.0'),
      sha256: createHash('sha256').update(specText).digest('hex'),
      derivedBy: 'test/support/qdrant-emulator/derive-schema.ts',
      transform:
        'structure only: request bodies, query parameters and JSON responses of the listed operations with the components they reach; ' +
        'description/example/default/deprecated/title dropped; nullable → type arrays, bare {nullable: true} → {type: "null"}',
    },
    operations: sortedOperations,
    components: { schemas: sortedComponents },
  };
}

function jsonContent(holder: Json | undefined): Json | undefined {
  if (!isObject(holder) || !isObject(holder.content)) return undefined;
  const json = holder.content['application/json'];
  return isObject(json) ? json.schema : undefined;
}

export function renderSchema(derived: DerivedSchema): string {
  return `${JSON.stringify(derived, null, 1)}\n`;
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const specPath = argv.find((a) => !a.startsWith('--')) ?? DEFAULT_SPEC;
  const text = renderSchema(deriveSchema(await readFile(specPath, 'utf8')));
  if (check) {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (committed !== text) {
      console.error(`${SCHEMA_FILE} is out of date with ${specPath}: run derive-schema.ts`);
      return 1;
    }
    console.log(`${SCHEMA_FILE} is up to date`);
    return 0;
  }
  await writeFile(SCHEMA_FILE, text);
  console.log(`wrote ${SCHEMA_FILE} (${text.length} bytes) from ${specPath}`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
