// The run store: runs (status, counts, failures, throughput/ETA) and the dataset registry on Redis.
export { RunStore, RunNotFoundError, RunWaitTimeoutError, newRunId } from './store.js';
export { CorruptRecordError } from './schema.js';
export { withMetrics } from './metrics.js';
export { StoreKeys } from './keys.js';
export * from './types.js';
export { BAD_INPUT_REASONS, TRANSIENT_REASON, describeOtherFailures, isBadInput, summariseFailures, type FailureSummary } from './failure-kinds.js';
