// The pipeline graph (pipelines/distributed/graph.ts): what `next` schedules after each
// stage is what PIPELINE_GRAPH declares, and a run that cannot train never says "training".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FanOut, JobScheduler } from '../../../shared/jobs/scheduler.js';
import type { RunStore } from '../../../shared/runs/index.js';
import type { Storage } from '../../../shared/storage/types.js';
import { STAGES } from '../../../shared/jobs/contracts.js';
import { next, PIPELINE_GRAPH } from '../../../pipelines/distributed/graph.js';

function fakes(listing: Array<{ key: string; etag: string }>) {
  const statuses: string[] = [];
  const scheduled: Array<{ stage: 'train' | 'fanOut' | 'cluster'; plan?: FanOut; batches?: Array<Array<{ key: string }>> }> = [];
  const runs = {
    get: () => Promise.resolve({ id: 'run-000001', dataset: 'ds', source: 'file:///src' }),
    setStatus: (_id: string, status: string) => {
      statuses.push(status);
      return Promise.resolve();
    },
    setMap: (_id: string, map: { status: string }) => {
      statuses.push(`map ${map.status}`);
      return Promise.resolve();
    },
  } as unknown as RunStore;
  // A run listed before listing pages: one listing.json (still read as one page).
  const artifacts = {
    exists: (key: string) => Promise.resolve(key.endsWith('/listing.json')),
    get: () => Promise.resolve(Buffer.from(JSON.stringify(listing))),
  } as unknown as Storage;
  const scheduler: JobScheduler = {
    ingest: () => Promise.resolve(),
    train: () => {
      scheduled.push({ stage: 'train' });
      return Promise.resolve();
    },
    fanOut: async (plan) => {
      const batches = [];
      for await (const b of plan.batches) batches.push(b);
      scheduled.push({ stage: 'fanOut', plan, batches });
    },
    cluster: () => {
      scheduled.push({ stage: 'cluster' });
      return Promise.resolve();
    },
  };
  return { deps: { runs, artifacts, scheduler, config: { jobBatchSize: 2 } }, statuses, scheduled };
}

const listing = [1, 2, 3, 4, 5].map((i) => ({ key: `k${i}.jpg`, etag: `e${i}` }));
const run = { runId: 'run-000001', dataset: 'ds', source: 'file:///src', mode: 'all' as const };

test('the graph names every stage, and every successor is a stage', () => {
  assert.deepEqual(Object.keys(PIPELINE_GRAPH).sort(), [...STAGES].sort());
  for (const { next: successors } of Object.values(PIPELINE_GRAPH)) for (const s of successors) assert.ok(STAGES.includes(s));
});

test('ingest without a model → train on the sample; train → fan out embed → index in batches, then cluster', async () => {
  const f = fakes(listing);
  assert.equal(await next.ingest(run, () => Promise.resolve(listing.slice(0, 2)), f.deps), 'train');
  assert.ok(PIPELINE_GRAPH.ingest.next.includes('train'));
  assert.deepEqual(f.statuses, ['training']);
  await next.train(run.runId, 'model-1', f.deps);
  assert.ok(PIPELINE_GRAPH.train.next.includes('embed'));
  const fanned = f.scheduled.at(-1);
  assert.equal(fanned?.plan?.modelId, 'model-1');
  assert.deepEqual(fanned.batches?.map((b) => b.length), [2, 2, 1]);
  assert.deepEqual(PIPELINE_GRAPH.embed.next, ['index']);
  assert.deepEqual(PIPELINE_GRAPH.index.next, ['publish']);
});

test('publish → the cluster map only for a live build; the run is searchable before it', async () => {
  const f = fakes(listing);
  const p = { runId: 'run-000001', dataset: 'ds', modelId: 'm', collection: 'c', attempt: '' };
  assert.equal(await next.publish(p, false, f.deps), undefined);
  assert.equal(f.scheduled.length, 0);
  assert.equal(await next.publish(p, true, f.deps), 'cluster');
  assert.deepEqual(PIPELINE_GRAPH.publish.next, ['cluster']);
  assert.deepEqual(f.scheduled.map((s) => s.stage), ['cluster']);
  assert.deepEqual(PIPELINE_GRAPH.cluster.next, []);
});

test('ingest with a model → fan out at once', async () => {
  const f = fakes(listing);
  assert.equal(await next.ingest({ ...run, modelId: 'model-2' }, () => Promise.resolve([]), f.deps), 'embed');
  assert.ok(PIPELINE_GRAPH.ingest.next.includes('embed'));
  assert.deepEqual(f.scheduled.map((s) => s.stage), ['fanOut']);
  assert.deepEqual(f.statuses, ['embedding']);
});

test('a source too small to train fails before the run says it is training', async () => {
  const f = fakes(listing);
  await assert.rejects(
    next.ingest(run, () => Promise.reject(new Error('Cannot train on 1 image(s)')), f.deps),
    /Cannot train/,
  );
  assert.deepEqual(f.statuses, []);
  assert.deepEqual(f.scheduled, []);
});
