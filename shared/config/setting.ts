// One setting of the configuration table (settings.ts): where its value comes from, what
// it accepts, its default and what it means; and the number schemas the table uses.
import { z } from 'zod';

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
export const num = (min: number, max: number) => z.coerce.number().min(min).max(max);

/** One setting: where it comes from, what it accepts, what it defaults to, what it means. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  env: string;
  flag?: string;
  /** Never printed or logged (credentials). */
  secret?: boolean;
  schema: S;
  default: z.input<S>;
  doc: string;
}

export function setting<S extends z.ZodType>(s: Setting<S>): Setting<S> {
  return s;
}

