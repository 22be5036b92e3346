// What a setting accepts, in plain words, derived from its zod type and limits: the one
// place a flag's or an environment variable's wording comes from (`--epochs must be a
// whole number from 1 to 10000, got "abc"`), so no zod wording ("expected number,
// received NaN") reaches a person. Custom messages in the settings table (regexes,
// refinements) are written as the phrase that follows "must be".
import type { z } from 'zod';

/** The zod internals read here (zod 4): a schema's definition and its checks. */
interface Def {
  type: string;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  in?: z.ZodType;
  options?: readonly z.ZodType[];
  values?: readonly unknown[];
  entries?: Record<string, unknown>;
  format?: string;
  protocol?: RegExp;
}
interface CheckDef {
  check: string;
  format?: string;
  minimum?: number;
  error?: (issue: object) => unknown;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** A check's own message (the settings table's wording), if it was given one. */
function customMessage(check: CheckDef): string | undefined {
  const message = check.error?.({});
  return typeof message === 'string' ? message : undefined;
}

function list(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1) as string}`;
}

function numberPhrase(schema: z.ZodType): string {
  const { minValue, maxValue, isInt } = schema as unknown as { minValue: number | null; maxValue: number | null; isInt: boolean };
  const kind = isInt ? 'a whole number' : 'a number';
  const min = minValue !== null && Number.isFinite(minValue) && minValue > Number.MIN_SAFE_INTEGER ? minValue : undefined;
  const max = maxValue !== null && Number.isFinite(maxValue) && maxValue < Number.MAX_SAFE_INTEGER ? maxValue : undefined;
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} ≥ ${min}`;
  if (max !== undefined) return `${kind} ≤ ${max}`;
  return kind;
}

function stringPhrase(def: Def): string {
  if (def.format === 'url') {
    return def.protocol && def.protocol.test('http') && def.protocol.test('https') && !def.protocol.test('ftp') ? 'an http:// or https:// URL' : 'a URL';
  }
  for (const { _zod } of def.checks ?? []) {
    const message = customMessage(_zod.def);
    if (message !== undefined) return message;
    if (_zod.def.check === 'min_length' && _zod.def.minimum === 1) return 'a non-empty value';
  }
  return 'any text';
}

/** What `schema` accepts, as the phrase after "must be": "one of crop, letterbox", "a whole number ≥ 1"… */
export function expectationOf(schema: z.ZodType): string {
  const def = defOf(schema);
  // A refinement with its own message states the whole rule (e.g. "2 or 4").
  const custom = (def.checks ?? []).map(({ _zod }) => (_zod.def.check === 'custom' ? customMessage(_zod.def) : undefined)).find((m) => m !== undefined);
  switch (def.type) {
    case 'number':
      return custom ?? numberPhrase(schema);
    case 'string':
      return stringPhrase(def);
    case 'boolean':
      return 'true or false';
    case 'enum': {
      const values = Object.values(def.entries ?? {}).map(String);
      return values.length === 2 && values.includes('true') && values.includes('false') ? 'true or false' : `one of ${values.join(', ')}`;
    }
    case 'literal': {
      const values = (def.values ?? []).map(String);
      return values.length === 1 && values[0] === '' ? 'empty' : list(values);
    }
    case 'union': {
      const options = def.options ?? [];
      const empty = options.some((o) => defOf(o).type === 'literal' && (defOf(o).values ?? []).includes(''));
      const phrases = options.filter((o) => !(defOf(o).type === 'literal' && (defOf(o).values ?? []).includes(''))).map(expectationOf);
      return `${list(phrases)}${empty ? ', or empty' : ''}`;
    }
    case 'pipe':
      // A transform after the input type: the input is what a person writes.
      return def.in ? expectationOf(def.in) : 'a valid value';
    default:
      return custom ?? 'a valid value';
  }
}

/**
 * Why `raw` is refused, as the phrase after "must be": the message of the refinement it
 * failed when the table gave one (e.g. min ≤ max of a range), else what the type accepts.
 */
export function expectationFor(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): string {
  const refinement = issues.find((i) => i.code === 'custom' && i.message !== '');
  return refinement ? refinement.message : expectationOf(schema);
}

/** The words a schema accepts as they are (enum values, literals), through unions and pipes. */
function wordsOf(schema: z.ZodType): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'enum':
      return Object.values(def.entries ?? {}).map(String);
    case 'literal':
      return (def.values ?? []).map(String).filter((v) => v !== '');
    case 'union':
      return (def.options ?? []).flatMap(wordsOf);
    case 'pipe':
      return def.in ? wordsOf(def.in) : [];
    default:
      return [];
  }
}

/** Edits (insert, delete, replace, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** " (did you mean crop?)" when `raw` is a near miss of a word the schema accepts (a typo, another case), else "". */
export function didYouMean(schema: z.ZodType, raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') return '';
  const value = raw.toLowerCase();
  let best: { word: string; distance: number } | undefined;
  for (const word of wordsOf(schema)) {
    const w = word.toLowerCase();
    const distance = (w.startsWith(value) || value.startsWith(w)) && Math.min(value.length, w.length) >= 3 ? 0 : editDistance(value, w);
    if (distance <= Math.max(1, Math.floor(word.length / 3)) && (!best || distance < best.distance)) best = { word, distance };
  }
  return best ? ` (did you mean ${best.word}?)` : '';
}
