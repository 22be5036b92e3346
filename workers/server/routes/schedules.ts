// GET /v1/schedules: the scheduled re-indexing runs and duplicates passes (the 'schedule'
// queue's job schedulers, shared/queue/schedules.ts), by name, each with when it fires
// next. Read-only: schedules are added and removed with `imgsim schedule`.
import type { FastifyInstance } from 'fastify';
import type { Schedules } from '../../../shared/queue/schedules.js';

export function scheduleRoutes(app: FastifyInstance, schedules: Schedules): void {
  app.get('/v1/schedules', async () => ({ schedules: await schedules.list() }));
}
