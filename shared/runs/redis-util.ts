// Small helpers over ioredis: run a MULTI/pipeline and turn per-command errors into
// errors that name the key (WRONGTYPE = something else lives under our key).
import type { ChainableCommander } from 'ioredis';
import { CorruptRecordError } from './schema.js';

/** Exec and return each command's reply; `keys[i]` names the key command i touches. */
export async function execAll(commands: ChainableCommander, keys: readonly string[]): Promise<unknown[]> {
  const results = await commands.exec();
  if (results === null) throw new Error('Redis transaction was aborted');
  return results.map(([error, value], i) => {
    if (error) throw keyError(error, keys[i] ?? 'unknown key');
    return value;
  });
}

/** Name the key in a Redis error; WRONGTYPE becomes a CorruptRecordError. */
export function keyError(error: unknown, key: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/WRONGTYPE/.test(message)) {
    return new CorruptRecordError(
      key,
      `Redis key "${key}" holds another type of value than the run store writes (${message}); it was written by something else under this key prefix`,
    );
  }
  return error instanceof Error ? error : new Error(message);
}

export function asNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function asStringRecord(value: unknown): Record<string, string> {
  return value !== null && typeof value === 'object' ? (value as Record<string, string>) : {};
}
