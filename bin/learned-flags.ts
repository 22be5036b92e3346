// --cosine and --fraction: the learned tier's threshold, given or chosen for a share of the
// images. One definition for `imgsim duplicates` (a folder or index, this process) and
// `imgsim dataset duplicates` / `duplicates --dataset` (a queued pass: the workers use it).
import type { Option } from 'commander';
import { UsageError } from '../shared/errors.js';
import { DEFAULT_THRESHOLDS, type LearnedThreshold } from '../shared/duplicates/tiers.js';
import { numberRangeText, valueOption } from './help.js';
import { numberIn } from './options.js';

const SHARE = { minOpen: true } as const;

export function cosineOption(): Option {
  return valueOption('--cosine <x>', 'learned tier: embedding cosine threshold', { default: String(DEFAULT_THRESHOLDS.cosine), allowed: numberRangeText(0, 1, SHARE) });
}

export function fractionOption(): Option {
  return valueOption('--fraction <x>', 'learned tier: choose the cosine threshold so that this share of the images has a neighbour at or above it (reported back); instead of --cosine', {
    default: 'none (--cosine)',
    allowed: numberRangeText(0, 1, SHARE),
  });
}

/** "cosine ≥ 0.9481 (chosen so that 5% of the images have a neighbour at or above it)": the threshold a pass used, for its summary. */
export function learnedThresholdText(r: { thresholds: { cosine: number }; fraction?: number }): string {
  if (r.fraction === undefined) return `cosine ≥ ${r.thresholds.cosine}`;
  return `cosine ≥ ${r.thresholds.cosine} (chosen so that ${+(r.fraction * 100).toFixed(2)}% of the images have a neighbour at or above it)`;
}

/** The threshold the flags ask for (commander's attribute names); {} when neither is given. */
export function learnedThreshold(opts: Record<string, unknown>): LearnedThreshold {
  if (opts.fraction !== undefined && opts.cosine !== undefined) throw new UsageError('give --cosine or --fraction, not both: --fraction chooses the cosine threshold');
  return {
    ...(opts.cosine !== undefined ? { cosine: numberIn('--cosine', opts.cosine, 0, 1, SHARE) } : {}),
    ...(opts.fraction !== undefined ? { fraction: numberIn('--fraction', opts.fraction, 0, 1, SHARE) } : {}),
  };
}
