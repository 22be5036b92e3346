// Throughput and ETA of a run, from its counts and timestamps (pure, for tests and CLI).
import { TERMINAL_STATUSES, type RunRecord } from './types.js';

/**
 * imagesPerSecond = done / seconds since the embedding stage started (falling back to
 * startedAt), up to finishedAt once finished; etaSeconds = (total − done − failed) /
 * imagesPerSecond, 0 once finished. Both undefined until at least one item is done.
 */
export function withMetrics(run: RunRecord, nowMs: number = Date.now()): RunRecord {
  const { imagesPerSecond: _rate, etaSeconds: _eta, ...base } = run;
  const since = run.embeddingStartedAt ?? run.startedAt;
  if (since === undefined || run.done <= 0) return base;
  const end = run.finishedAt !== undefined ? Date.parse(run.finishedAt) : nowMs;
  // A floor of 1 ms keeps the rate finite when done arrives in the same millisecond.
  const elapsedSeconds = Math.max(end - Date.parse(since), 1) / 1000;
  const imagesPerSecond = run.done / elapsedSeconds;
  const remaining = Math.max(run.total - run.done - run.failed, 0);
  const etaSeconds = TERMINAL_STATUSES.has(run.status) ? 0 : remaining / imagesPerSecond;
  return { ...base, imagesPerSecond, etaSeconds };
}
