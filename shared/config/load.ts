// Parse the configuration once: defaults < environment variables < CLI overrides.
// An invalid value throws a UsageError naming the flag (or the variable, when the value
// came from the environment), what it must be in plain words (expectation.ts) and the
// value received: `--epochs must be a whole number from 1 to 10000, got "abc"`; several
// problems are reported at once, on one line. The result is frozen.
import { UsageError } from '../errors.js';
import { didYouMean, expectationFor } from './expectation.js';
import { settings, type Config, type SettingName } from './schema.js';

export type ConfigOverrides = Partial<Record<SettingName, unknown>>;

export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: ConfigOverrides = {},
): Config {
  const result: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(settings) as Array<[SettingName, (typeof settings)[SettingName]]>) {
    const fromFlag = overrides[name];
    const fromEnv = env[s.env];
    const raw: unknown = fromFlag !== undefined ? fromFlag : fromEnv !== undefined && fromEnv !== '' ? fromEnv : s.default;
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) {
      result[name] = parsed.data;
      continue;
    }
    const source = fromFlag !== undefined ? (s.flag ?? s.env) : s.env;
    const received = 'secret' in s && s.secret ? 'a value not shown (secret)' : JSON.stringify(typeof raw === 'string' ? raw : String(raw));
    problems.push(`${source} must be ${expectationFor(s.schema, parsed.error.issues)}, got ${received}${'secret' in s && s.secret ? '' : didYouMean(s.schema, raw)}`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return Object.freeze(result) as Config;
}

/** Markdown table of every setting, for the README and `imgsim config`. */
export function describeSettings(): string {
  const rows = Object.values(settings).map((s) => {
    const def = s.default === '' ? '(empty)' : `\`${String(s.default)}\``;
    return `| \`${s.env}\` | ${s.flag ? `\`${s.flag}\`` : ''} | ${def} | ${s.doc}${'secret' in s && s.secret ? ' (secret)' : ''} |`;
  });
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
