// The stages of the queue-driven pipeline, one queue each, in pipeline order
// (pipelines/distributed/graph.ts says what follows what). Apart from the payload schemas
// (contracts.ts) so that `imgsim --help` can name them without loading zod.
export const STAGES = ['ingest', 'train', 'embed', 'index', 'publish', 'cluster'] as const;
export type Stage = (typeof STAGES)[number];

export function isStage(name: string): name is Stage {
  return (STAGES as readonly string[]).includes(name);
}
