// Shared CLI plumbing: config flags generated from the config schema, config loading
// from env + flags, and the logger for a command.
import type { Command } from 'commander';
import { loadConfig, settings, type Config, type SettingName } from '../shared/config/index.js';
import { expectationOf } from '../shared/config/expectation.js';
import { UsageError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { describeFlag, numberRangeText, type NumberRange } from './help.js';

/** Commander's attribute name for a flag: --embed-batch → embedBatch. */
export function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

/** The value placeholder of a setting's flag: <n> for numbers, <value> otherwise. */
function placeholder(allowed: string): string {
  return /^a (whole )?number/.test(allowed) ? 'n' : 'value';
}

/**
 * Add the flags of these settings to a command, each described in the one help style
 * (bin/help.ts): its doc, then its default, environment variable and accepted values from
 * the settings table. `defaults` are what a command uses instead of the table's default
 * (demo, eval-features: see withDefaults), as help shows them; `docs` replace a doc where
 * the setting means something narrower in that command.
 */
export function addConfigFlags(
  cmd: Command,
  names: readonly SettingName[],
  o: { defaults?: Partial<Record<SettingName, string>>; docs?: Partial<Record<SettingName, string>> } = {},
): Command {
  for (const name of names) {
    const s = settings[name];
    if (!s.flag || cmd.options.some((opt) => opt.long === s.flag)) continue;
    const allowed = expectationOf(s.schema);
    const fallback = String(s.default);
    cmd.option(`${s.flag} <${placeholder(allowed)}>`, describeFlag(o.docs?.[name] ?? s.doc, { default: o.defaults?.[name] ?? (fallback === '' ? '(empty)' : fallback), env: s.env, allowed }));
  }
  return cmd;
}

/** A list of settings whose flags a command takes. */
export type SettingFlags = readonly SettingName[];

/** The flags of every command (bin/imgsim.ts adds them). */
export const GLOBAL_SETTINGS: readonly SettingName[] = ['logLevel', 'logFormat'];
/** Commands that run a model (train, embed, search, apply…): the TensorFlow.js backend. */
export const BACKEND_SETTINGS: readonly SettingName[] = ['backend'];
export const DECODE_SETTINGS: readonly SettingName[] = ['imageSize', 'fit', 'maxPixels', 'decodeConcurrency'];
export const TRAIN_SETTINGS: readonly SettingName[] = [
  'trainSample',
  'filters',
  'kernelSize',
  'epochs',
  'batchSize',
  'trainThreads',
  'learningRate',
  'optimizer',
  'weightDecay',
  'patience',
  'validationSplit',
  'seed',
];
/** Image-to-image task settings (train and demo only; see docs/tasks.md). */
export const TASK_SETTINGS: readonly SettingName[] = [
  'task',
  'noise',
  'noiseSigma',
  'saltPepperAmount',
  'crosshairWidth',
  'eraseFraction',
  'eraseFill',
  'superresScale',
];
export const EMBED_SETTINGS: readonly SettingName[] = ['embedBatchSize'];
/** Commands that use all three services (search/features --dataset, worker, serve); others name the ones they use. */
export const SERVICE_SETTINGS: readonly SettingName[] = ['redisUrl', 'qdrantUrl', 'artifacts'];
export const CLUSTER_SETTINGS: readonly SettingName[] = ['pcaComponents', 'perplexity', 'tsneIterations', 'clusters', 'mapSample', 'seed'];

/**
 * Command-specific defaults: fill a setting's flag value unless the user gave the flag
 * or its environment variable (so the demo can be small and fast yet overridable).
 */
export function withDefaults(opts: Record<string, unknown>, defaults: Partial<Record<SettingName, string>>): Record<string, unknown> {
  const out = { ...opts };
  for (const [name, value] of Object.entries(defaults) as Array<[SettingName, string]>) {
    const s = settings[name];
    if (!s.flag) continue;
    const attr = attributeOf(s.flag);
    if (out[attr] === undefined && !process.env[s.env]) out[attr] = value;
  }
  return out;
}

/** An integer flag value ≥ min, or a UsageError naming the flag (worded as the config table's, expectation.ts). */
export function positiveInt(flag: string, value: unknown, min = 1): number {
  const n = typeof value === 'string' && value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(String(value))}`);
  return n;
}

/** A number flag within (min, max] or [min, max], or a UsageError in the config table's wording. */
export function numberIn(flag: string, value: unknown, min: number, max: number, o: NumberRange = {}): number {
  const n = typeof value === 'string' && value.trim() === '' ? NaN : Number(value);
  const ok = Number.isFinite(n) && (o.minOpen === true ? n > min : n >= min) && n <= max && (o.whole !== true || Number.isInteger(n));
  if (!ok) throw new UsageError(`${flag} must be ${numberRangeText(min, max, o)}, got ${JSON.stringify(String(value))}`);
  return n;
}

/**
 * When a setting means something: the noise settings for --task denoise (each kind's own
 * setting only with that kind in --noise), --scale for superres, --weight-decay for adamw.
 * `applies` says whether it does under the resolved config; `why` what it applies to.
 */
const APPLIES: Partial<Record<SettingName, { applies: (c: Config) => boolean; why: (c: Config) => string }>> = {
  noise: denoiseOnly(),
  noiseSigma: noiseKind('gaussian'),
  saltPepperAmount: noiseKind('salt-pepper'),
  crosshairWidth: noiseKind('crosshair'),
  eraseFraction: noiseKind('erase'),
  eraseFill: noiseKind('erase'),
  superresScale: { applies: (c) => c.task === 'superres', why: (c) => `--task superres only (the task is ${c.task})` },
  weightDecay: { applies: (c) => c.optimizer === 'adamw', why: (c) => `--optimizer adamw only (the optimizer is ${c.optimizer}, which has no decoupled weight decay)` },
};

function denoiseOnly(): { applies: (c: Config) => boolean; why: (c: Config) => string } {
  return { applies: (c) => c.task === 'denoise', why: (c) => `--task denoise only (the task is ${c.task})` };
}

function noiseKind(kind: Config['noise'][number]): { applies: (c: Config) => boolean; why: (c: Config) => string } {
  return {
    applies: (c) => c.task === 'denoise' && c.noise.includes(kind),
    why: (c) => (c.task !== 'denoise' ? `--task denoise only (the task is ${c.task})` : `${kind} noise only (--noise is ${c.noise.join(',')}; add ${kind} to it)`),
  };
}

/**
 * The settings among `names` that were given but do nothing under `config`, and what they
 * apply to: from a flag (`flag`) or only from the environment (`env`). Pure.
 */
export function inapplicableSettings(
  config: Config,
  names: readonly SettingName[],
  given: (name: SettingName) => 'flag' | 'env' | undefined,
): Array<{ name: SettingName; from: 'flag' | 'env'; why: string }> {
  return names.flatMap((name) => {
    const rule = APPLIES[name];
    const from = given(name);
    return rule && from && !rule.applies(config) ? [{ name, from, why: rule.why(config) }] : [];
  });
}

/**
 * Flags that would be ignored under the chosen task or optimizer are refused (one line,
 * exit 2): `--noise-sigma 0.3 --task superres` trains for minutes without the noise asked
 * for. The same settings from the environment only warn (one line): an exported
 * IMGSIM_NOISE serves the denoise runs of a shell and need not be unset for the others.
 * `opts` are the flags as the user gave them (before a command's own defaults).
 */
export function checkApplicable(ctx: CommandContext, opts: Record<string, unknown>, names: readonly SettingName[]): void {
  const found = inapplicableSettings(ctx.config, names, (name) => {
    const s = settings[name];
    if (s.flag && opts[attributeOf(s.flag)] !== undefined) return 'flag';
    return process.env[s.env] ? 'env' : undefined;
  });
  const flags = found.filter((f) => f.from === 'flag');
  if (flags.length > 0) throw new UsageError(flags.map((f) => `${settings[f.name].flag ?? f.name} applies to ${f.why}`).join('; '));
  const env = found.filter((f) => f.from === 'env');
  if (env.length > 0) {
    ctx.logger.warn({ ignored: env.map((f) => settings[f.name].env) }, `ignored: ${env.map((f) => `${settings[f.name].env} (applies to ${f.why})`).join('; ')}`);
  }
}

/**
 * A --size the model cannot take (with --filters, --task, --scale) is refused before any
 * heavy module loads or any image is read: one line, exit 2, in well under a second.
 */
export async function checkModelSize(config: Config): Promise<void> {
  const [{ checkTaskSize }, { taskSpecFromConfig }] = await Promise.all([import('../shared/tasks/batches.js'), import('../shared/tasks/spec.js')]);
  checkTaskSize(taskSpecFromConfig(config), config.imageSize, config.filters);
}

export interface CommandContext {
  config: Config;
  logger: Logger;
  json: boolean;
  progressBar: boolean;
}

/** Config from env + this command's flags; logs at warn when --json keeps stdout for data. */
export function contextFrom(opts: Record<string, unknown>): CommandContext {
  const overrides: Partial<Record<SettingName, unknown>> = {};
  for (const [name, s] of Object.entries(settings) as Array<[SettingName, (typeof settings)[SettingName]]>) {
    if (!s.flag) continue;
    const value = opts[attributeOf(s.flag)];
    if (value !== undefined) overrides[name] = value;
  }
  const config = loadConfig(process.env, overrides);
  const json = opts.json === true;
  return {
    config,
    logger: createLogger(config.logLevel, { format: config.logFormat }),
    json,
    // JSON logs get progress as log lines: a bar drawn between them would break them.
    progressBar: !json && config.logFormat === 'human' && Boolean(process.stderr.isTTY),
  };
}
