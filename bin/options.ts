// Shared CLI plumbing: config flags generated from the config schema, config loading
// from env + flags, and the logger for a command.
import type { Command } from 'commander';
import { loadConfig, settings, type Config, type SettingName } from '../shared/config/index.js';
import { UsageError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';

/** Commander's attribute name for a flag: --embed-batch → embedBatch. */
function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

/** Add the flags of these settings to a command (help shows the env var and default). */
export function addConfigFlags(cmd: Command, names: readonly SettingName[]): Command {
  for (const name of names) {
    const s = settings[name];
    if (!s.flag || cmd.options.some((opt) => opt.long === s.flag)) continue;
    cmd.option(`${s.flag} <value>`, `${s.doc} [env ${s.env}, default ${String(s.default)}]`);
  }
  return cmd;
}

export const GLOBAL_SETTINGS: readonly SettingName[] = ['logLevel', 'backend'];
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
    logger: createLogger(config.logLevel, { human: true }),
    json,
    progressBar: !json && Boolean(process.stderr.isTTY),
  };
}
