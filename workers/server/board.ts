// Bull Board at /admin/queues: every stage queue, with retry, clean, promote and add
// actions (not read-only). Authentication is the app-wide onRequest hook (auth.ts).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { STAGES, type Stage } from '../../shared/jobs/contracts.js';

export const BOARD_PATH = '/admin/queues';

/** Every stage queue, and the queue whose job schedulers fire scheduled re-indexing. */
export async function registerBoard(app: FastifyInstance, queues: Readonly<Record<Stage, Queue>>, schedules?: Queue): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const options = { readOnlyMode: false, allowRetries: true };
  createBullBoard({
    queues: [
      ...STAGES.map((stage) => new BullMQAdapter(queues[stage], { ...options, description: `imgsim ${stage} stage` })),
      ...(schedules ? [new BullMQAdapter(schedules, { ...options, description: 'scheduled re-indexing (job schedulers)' })] : []),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'imgsim queues', sortQueues: false } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
}
