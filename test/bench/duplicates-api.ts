// GET /v1/datasets/{name}/duplicates at scale: a synthetic stored report of --pairs pairs
// (test/support/synthetic-duplicates-report.ts: groups of 2–4 mostly, camera-roll keys) in
// a local artefact store, paged through by one Fastify app in this process (createBaseApp,
// as the server) answering two ways, the same requests in the same run:
//   baseline  readGroups per request (read + JSON.parse + zod + groupsOf + the dismissed
//             count on the server's event loop; Fastify serialises the page): the route
//             before workers/server/duplicate-groups-cache.ts;
//   cached    the route now: DuplicateGroupsCache.page (groups built once per report and
//             dismissals version in a worker thread, pages cut from pre-serialised groups;
//             a dismissal regroups its group only).
// For each: the first page, --pages next pages, and the page after each of --dismissals
// dismissals (a pair of a group of the first pages, written to the dismissals file as
// POST …/dismiss does; the next GET must show it): latency per request and the worst gap
// of this process's event loop during it (a 10 ms timer; with the CPU time within the gap:
// a gap with little CPU is waiting for a core, not a block). Redis is not involved: the pass
// record is a stub on both sides (the route reads it per request either way).
//
//   npm run bench:duplicates-api [-- --pairs 100000 --pages 5 --dismissals 3]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { dismissalsOf, readGroups } from '../../pipelines/distributed/duplicates-results.js';
import { loadConfig } from '../../shared/config/index.js';
import type { DuplicateGroup } from '../../shared/duplicates/groups.js';
import { silentLogger } from '../../shared/logger.js';
import { watchStep, type LoopBlock } from '../../shared/loop-watch.js';
import type { DuplicatePass, DuplicatePasses } from '../../shared/runs/duplicate-passes.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import { LocalStorage } from '../../shared/storage/local.js';
import { createBaseApp } from '../../workers/server/base-app.js';
import { DuplicateGroupsCache } from '../../workers/server/duplicate-groups-cache.js';
import { duplicatesQuery } from '../../workers/server/schemas.js';
import { syntheticReport } from '../support/synthetic-duplicates-report.js';
import { intOption, machineLine, peakRssMiB, table } from './common.js';

const argv = process.argv.slice(2);
const PAIRS = intOption(argv, 'pairs', 100_000);
const PAGES = intOption(argv, 'pages', 5);
const DISMISSALS = intOption(argv, 'dismissals', 3, 0);
const DATASET = 'bench';
const LIMIT = 20;

const PASS = { passId: 'p-synthetic', dataset: DATASET, mode: 'all', status: 'completed', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' } as DuplicatePass;
const passes = { get: () => Promise.resolve(PASS) } as unknown as DuplicatePasses;

interface Sample {
  step: string;
  ms: number;
  block: LoopBlock;
  bytes: number;
}

async function buildApp(store: LocalStorage): Promise<{ app: FastifyInstance; cache: DuplicateGroupsCache }> {
  const app = await createBaseApp({ config: loadConfig({ IMGSIM_LOG_LEVEL: 'silent' }), logger: silentLogger, authenticated: false });
  const cache = new DuplicateGroupsCache();
  app.get('/baseline', (request) => readGroups(DATASET, duplicatesQuery.parse(request.query), { artifacts: store, passes }));
  app.get('/cached', async (request, reply) =>
    reply.type('application/json; charset=utf-8').send(await cache.page(DATASET, duplicatesQuery.parse(request.query), { artifacts: store, passes })),
  );
  await app.ready();
  return { app, cache };
}

async function timed(app: FastifyInstance, url: string, step: string): Promise<{ sample: Sample; body: string }> {
  const watch = watchStep(step);
  const t0 = performance.now();
  const r = await app.inject({ method: 'GET', url });
  const ms = performance.now() - t0;
  const block = watch.stop();
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 300)}`);
  return { sample: { step, ms, block, bytes: r.body.length }, body: r.body };
}

/** The first page, the next pages, then a page after each dismissal; the bodies, to compare both ways. */
async function walk(app: FastifyInstance, route: string, store: LocalStorage, dismiss: ReadonlyArray<{ a: string; b: string }>): Promise<{ samples: Sample[]; bodies: string[] }> {
  const samples: Sample[] = [];
  const bodies: string[] = [];
  const take = async (offset: number, step: string): Promise<void> => {
    const { sample, body } = await timed(app, `/${route}?limit=${LIMIT}&offset=${offset}`, step);
    samples.push(sample);
    bodies.push(body);
  };
  await take(0, 'first page');
  for (let i = 1; i <= PAGES; i++) await take(i * LIMIT, 'next page');
  for (const [i, p] of dismiss.entries()) {
    await dismissalsOf(store, DATASET).add(p.a, p.b);
    await take(0, 'after a dismissal');
    // The web app goes on paging after it.
    await take((i + 1) * LIMIT, 'next page after it');
  }
  return { samples, bodies };
}

function summary(samples: readonly Sample[], step: string): { ms: number; maxMs: number; block: LoopBlock; n: number } {
  const of = samples.filter((s) => s.step === step);
  const sorted = of.map((s) => s.ms).sort((x, y) => x - y);
  const block = of.reduce<LoopBlock>((w, s) => (s.block.ms > w.ms ? s.block : w), { ms: 0, cpuMs: 0, during: step });
  return { ms: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0, maxMs: sorted[sorted.length - 1] ?? 0, block, n: of.length };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgsim-bench-dup-api-'));
  try {
    const store = new LocalStorage(dir);
    const report = syntheticReport({ pairs: PAIRS, dataset: DATASET });
    const text = JSON.stringify(report);
    await store.put(artifactKeys.duplicatesReport(DATASET), text);
    console.log(`duplicates API bench: ${PAIRS.toLocaleString('en')} pairs over ${Object.keys(report.members).length.toLocaleString('en')} images, report ${(text.length / 1e6).toFixed(1)} MB; ${machineLine()}`);
    const { app, cache } = await buildApp(store);

    // Pairs to dismiss: one of each of the first groups, each splitting its group.
    const first = JSON.parse((await app.inject({ method: 'GET', url: `/baseline?limit=${DISMISSALS}` })).body) as { groups: DuplicateGroup[] };
    const dismiss = first.groups.map((g) => g.pairs[0] as { a: string; b: string });
    await store.delete(artifactKeys.duplicatesDismissed(DATASET));

    const baseline = await walk(app, 'baseline', store, dismiss);
    await store.delete(artifactKeys.duplicatesDismissed(DATASET));
    const cached = await walk(app, 'cached', store, dismiss);
    const same = baseline.bodies.every((b, i) => b === cached.bodies[i]);
    await app.close();

    const steps = ['first page', 'next page', 'after a dismissal', 'next page after it'];
    const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
    const block = (b: LoopBlock): string => `${b.ms} ms (${b.cpuMs} ms CPU)`;
    const ratio = (x: number, y: number): string => `${(x / Math.max(y, 0.01)).toFixed(x / Math.max(y, 0.01) < 10 ? 1 : 0)}×`;
    const rows = [['request', 'n', 'baseline median / max ms', 'worst loop gap', 'cached median / max ms', 'worst loop gap', 'latency ratio', 'gap ratio']];
    for (const step of steps) {
      const o = summary(baseline.samples, step);
      const n = summary(cached.samples, step);
      if (o.n === 0) continue;
      rows.push([step, String(o.n), `${ms(o.ms)} / ${ms(o.maxMs)}`, block(o.block), `${ms(n.ms)} / ${ms(n.maxMs)}`, block(n.block), ratio(o.ms, n.ms), ratio(o.block.ms, Math.max(n.block.ms, 1))]);
    }
    console.log(table(rows));
    console.log(`cached: ${cache.stats.builds} build(s) in a thread, ${cache.stats.dismissalUpdates} dismissal update(s), ${cache.stats.hits} hits; ${cache.size.views} view(s) kept, ${(cache.size.bytes / 2 ** 20).toFixed(0)} MiB; peak RSS of this process ${peakRssMiB().toFixed(0)} MiB`);
    console.log(same ? 'answers: identical bytes on every request, both ways' : 'answers: DIFFER between baseline and cached');
    if (!same) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
