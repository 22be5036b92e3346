// What a run's failure reasons mean for the run. Two families:
//   - bad input: the image's own bytes (or name) — retrying cannot help, and a build
//     whose only failures are these is complete and goes live;
//   - job gave up: a job ran out of attempts, for a transient reason (a service down for
//     longer than the retry window) or another error. The images may be fine: the build
//     is held back from going live until `retry-failed` (or a later run) indexes them.
import type { ImageFailureReason } from '../errors.js';

const BAD_IMAGE: Record<ImageFailureReason, true> = {
  'empty-file': true,
  'unsupported-format': true,
  corrupt: true,
  truncated: true,
  'too-many-pixels': true,
  unreadable: true,
};

/**
 * Reasons that are the item's own fault (ImageFailureReason, a file that is not an image,
 * and a symbolic link whose target is outside the source folder: never read).
 */
export const BAD_INPUT_REASONS: ReadonlySet<string> = new Set([...Object.keys(BAD_IMAGE), 'not-an-image', 'outside-root']);

/** A job gave up after its attempts over transient faults (a store or service unreachable). */
export const TRANSIENT_REASON = 'transient';

export function isBadInput(reason: string): boolean {
  return BAD_INPUT_REASONS.has(reason);
}

/** Failure counts by reason, split into bad input and the rest. */
export interface FailureSummary {
  badInput: number;
  /** Everything else by reason ('transient', 'embed-failed', 'index-failed'…). */
  other: Record<string, number>;
  otherTotal: number;
}

export function summariseFailures(reasons: Iterable<string>): FailureSummary {
  const summary: FailureSummary = { badInput: 0, other: {}, otherTotal: 0 };
  for (const reason of reasons) {
    if (isBadInput(reason)) summary.badInput++;
    else {
      summary.other[reason] = (summary.other[reason] ?? 0) + 1;
      summary.otherTotal++;
    }
  }
  return summary;
}

/** The non-bad-input failures as "3 transient, 1 embed-failed" ('' when none). */
export function describeOtherFailures(s: FailureSummary): string {
  return Object.entries(s.other)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
}
