// A small structural JSON-Schema validator for the subset qdrant-schema.json uses:
// type (incl. type arrays for null), properties, required, additionalProperties,
// items, enum, anyOf / oneOf (lenient: at least one branch) / allOf, $ref into
// components.schemas, and the cheap bounds minimum/maximum, min/maxLength,
// min/maxItems, uniqueItems, plus format "uuid" (Qdrant rejects other string ids).

import type { JsonSchema, JsonType } from './schema-types.js';

export interface SchemaIssue {
  /** Where in the document, e.g. `$.points[3].vector`. */
  path: string;
  message: string;
}

const UUID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;
const REF_PREFIX = '#/components/schemas/';

export class SchemaValidator {
  constructor(private readonly components: Record<string, JsonSchema>) {}

  /** Every issue found (empty when the value conforms). */
  validate(schema: JsonSchema, value: unknown, path = '$'): SchemaIssue[] {
    if (schema.$ref !== undefined) return this.validate(this.resolve(schema.$ref), value, path);
    const issues: SchemaIssue[] = [];
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((t) => hasType(value, t))) {
        return [{ path, message: `expected ${types.join(' or ')}, got ${describe(value)}` }];
      }
    }
    if (schema.enum !== undefined && !schema.enum.some((e) => e === value)) {
      issues.push({ path, message: `expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${describe(value)}` });
    }
    if (typeof value === 'number') this.checkNumber(schema, value, path, issues);
    if (typeof value === 'string') this.checkString(schema, value, path, issues);
    if (Array.isArray(value)) this.checkArray(schema, value, path, issues);
    else if (isPlainObject(value)) this.checkObject(schema, value, path, issues);
    if (schema.allOf !== undefined) for (const s of schema.allOf) issues.push(...this.validate(s, value, path));
    for (const alternatives of [schema.anyOf, schema.oneOf]) {
      if (alternatives !== undefined) issues.push(...this.checkAlternatives(alternatives, value, path));
    }
    return issues;
  }

  resolve(ref: string): JsonSchema {
    const target = ref.startsWith(REF_PREFIX) ? this.components[ref.slice(REF_PREFIX.length)] : undefined;
    if (target === undefined) throw new Error(`schema $ref ${ref} does not resolve`);
    return target;
  }

  private checkNumber(schema: JsonSchema, value: number, path: string, issues: SchemaIssue[]): void {
    if (schema.minimum !== undefined && value < schema.minimum) issues.push({ path, message: `${value} is below the minimum ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum) issues.push({ path, message: `${value} is above the maximum ${schema.maximum}` });
  }

  private checkString(schema: JsonSchema, value: string, path: string, issues: SchemaIssue[]): void {
    if (schema.minLength !== undefined && value.length < schema.minLength) issues.push({ path, message: `shorter than ${schema.minLength}` });
    if (schema.maxLength !== undefined && value.length > schema.maxLength) issues.push({ path, message: `longer than ${schema.maxLength}` });
    if (schema.format === 'uuid' && !UUID.test(value)) issues.push({ path, message: `${JSON.stringify(value)} is not a UUID` });
  }

  private checkArray(schema: JsonSchema, value: unknown[], path: string, issues: SchemaIssue[]): void {
    if (schema.minItems !== undefined && value.length < schema.minItems) issues.push({ path, message: `fewer than ${schema.minItems} items` });
    if (schema.maxItems !== undefined && value.length > schema.maxItems) issues.push({ path, message: `more than ${schema.maxItems} items` });
    if (schema.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) {
      issues.push({ path, message: 'items are not unique' });
    }
    if (schema.items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        issues.push(...this.validate(schema.items, value[i], `${path}[${i}]`));
        if (issues.length > 20) return; // enough to report; keeps a bad 600-point body cheap
      }
    }
  }

  private checkObject(schema: JsonSchema, value: Record<string, unknown>, path: string, issues: SchemaIssue[]): void {
    for (const name of schema.required ?? []) {
      if (!(name in value)) issues.push({ path: `${path}.${name}`, message: 'is required' });
    }
    const props = schema.properties ?? {};
    for (const [name, v] of Object.entries(value)) {
      const sub = props[name];
      if (sub !== undefined) issues.push(...this.validate(sub, v, `${path}.${name}`));
      else if (schema.additionalProperties === false) issues.push({ path: `${path}.${name}`, message: 'is not an allowed property' });
      else if (typeof schema.additionalProperties === 'object') issues.push(...this.validate(schema.additionalProperties, v, `${path}.${name}`));
    }
  }

  /**
   * At least one branch must match. Otherwise report the branch that got furthest: the
   * deepest issue path, and at equal depth a branch whose type fitted (a bad UUID says
   * "not a UUID", not "expected integer"); when none got past the type, say so.
   */
  private checkAlternatives(branches: JsonSchema[], value: unknown, path: string): SchemaIssue[] {
    let best: SchemaIssue[] | undefined;
    let bestRank = -1;
    for (const branch of branches) {
      const issues = this.validate(branch, value, path);
      if (issues.length === 0) return [];
      const depth = Math.max(...issues.map((i) => i.path.length));
      const typeMismatch = issues.length === 1 && issues[0]?.path === path && issues[0].message.startsWith('expected ');
      const rank = depth * 2 + (typeMismatch ? 0 : 1);
      if (rank > bestRank) {
        best = issues;
        bestRank = rank;
      }
    }
    if (best === undefined || bestRank === path.length * 2) {
      return [{ path, message: `matches none of ${branches.length} alternatives (${describe(value)})` }];
    }
    return best;
  }
}

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isPlainObject(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return `an object with keys [${Object.keys(value).slice(0, 8).join(', ')}]`;
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

/** Formats issues as one line: `$.a.b: expected …; $.c: is required`. */
export function formatIssues(issues: readonly SchemaIssue[], max = 5): string {
  const shown = issues.slice(0, max).map((i) => `${i.path}: ${i.message}`);
  if (issues.length > max) shown.push(`… ${issues.length - max} more`);
  return shown.join('; ');
}
