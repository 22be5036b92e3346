// The resolve hook of import-trace.mjs (runs on the loader's thread).
import { appendFileSync } from 'node:fs';

let file = '';

export function initialize(data) {
  file = data;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(file, `${result.url}\n`);
  return result;
}
