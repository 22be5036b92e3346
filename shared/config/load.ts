// Parse the configuration once: defaults < environment variables < CLI overrides.
// An invalid value throws a UserError naming the variable (and flag), the expected
// value and the received one. The result is frozen.
import { UserError } from '../errors.js';
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
    const also = fromFlag !== undefined ? '' : s.flag ? ` (flag ${s.flag})` : '';
    const expected = parsed.error.issues.map((i) => i.message.replace(/^Invalid input: /, '')).join('; ');
    const received = 'secret' in s && s.secret ? '(a hidden value)' : JSON.stringify(raw);
    problems.push(`${source}${also}: received ${received}; ${expected} (${s.doc})`);
  }
  if (problems.length > 0) throw new UserError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
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
