// The stages of the queue-driven pipeline, one queue each, in pipeline order
// (pipelines/distributed/graph.ts says what follows what). Apart from the payload schemas
// (contracts.ts) so that `imgsim --help` can name them without loading zod.
//
// RUN_STAGES make a run (ingest → … → cluster); DUPLICATE_STAGES make a dataset's
// duplicates pass (duplicates plans it and, once every fingerprint batch is in, builds the
// pairs; docs/duplicates.md "Queued datasets").
export const RUN_STAGES = ['ingest', 'train', 'embed', 'index', 'publish', 'cluster'] as const;
export const DUPLICATE_STAGES = ['fingerprint', 'duplicates'] as const;
export const STAGES = [...RUN_STAGES, ...DUPLICATE_STAGES] as const;
export type Stage = (typeof STAGES)[number];
export type RunStage = (typeof RUN_STAGES)[number];

export function isStage(name: string): name is Stage {
  return (STAGES as readonly string[]).includes(name);
}
