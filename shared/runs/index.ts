// The run store: runs (status, counts, failures, throughput/ETA), the dataset registry and
// each dataset's collection history on Redis (every key in keys.ts).
export { RunStore } from './store.js';
export { RunNotFoundError, newRunId } from './run-records.js';
export { RunWaitTimeoutError } from './wait.js';
export { CorruptRecordError } from './schema.js';
export { withMetrics } from './metrics.js';
export { StoreKeys } from './keys.js';
export { CollectionHistory, historyEntrySchema, type HistoryEntry } from './history.js';
export * from './types.js';
export { BAD_INPUT_REASONS, TRANSIENT_REASON, describeOtherFailures, isBadInput, summariseFailures, type FailureSummary } from './failure-kinds.js';
