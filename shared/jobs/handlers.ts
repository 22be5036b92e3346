// The shape of a stage's queue handler: the payload parsed against its contract
// (contracts.ts) and a handle to report progress. A worker process dispatches through a
// typed record with one handler per stage (pipelines/distributed/handlers.ts).
import type { JobPayload, Stage } from './contracts.js';

/** What a handler may do with its job (BullMQ's Job satisfies it). */
export interface JobHandle {
  updateProgress(progress: object): Promise<void>;
}

export type StageHandler<S extends Stage> = (payload: JobPayload<S>, job: JobHandle) => Promise<unknown>;

export type StageHandlers = { readonly [S in Stage]: StageHandler<S> };
