// A run's listing as pages in the artefact store (pipelines/distributed/handoffs.ts) and
// the streamed training sample (pipelines/ingest.ts TrainingSample): what ingest writes
// page by page is what the fan-out reads back, in order, regrouped into job batches; a
// listing without its manifest is not a listing; an older run's listing.json still reads;
// the sample depends on the keys and the seed only, never on listing order or paging.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ListingWriter, listingPages, readListingManifest, rebatch } from '../../../pipelines/distributed/handoffs.js';
import { TrainingSample, trainingSample } from '../../../pipelines/ingest.js';
import { artifactKeys } from '../../../shared/runs/naming.js';
import { LocalStorage } from '../../../shared/storage/local.js';

const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `d${i % 7}/img-${String(i).padStart(5, '0')}.jpg`, etag: `e${i}` }));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('ingest writes the listing in pages; the fan-out reads it back in order and in job batches', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-listing-'));
  try {
    const artifacts = new LocalStorage(dir);
    const listing = refs(2_345);
    const writer = new ListingWriter(artifacts, 'run-000001', 1_000);
    for (const ref of listing) await writer.add(ref);
    assert.equal(await readListingManifest(artifacts, 'run-000001'), undefined, 'no manifest: the listing is incomplete');
    const manifest = await writer.finish({ listed: 2_400, toEmbed: 2_345, ignored: 3, removed: 0 });
    assert.equal(manifest.pages, 3);
    assert.deepEqual(await readListingManifest(artifacts, 'run-000001'), manifest);
    assert.equal((await readdir(path.join(dir, 'runs/run-000001/listing'))).length, 4);

    const pages = await collect(listingPages(artifacts, 'run-000001'));
    assert.deepEqual(pages.map((p) => p.length), [1_000, 1_000, 345]);
    assert.deepEqual(pages.flat(), listing);
    const batches = await collect(rebatch(listingPages(artifacts, 'run-000001'), 64));
    assert.equal(batches.length, Math.ceil(2_345 / 64));
    assert.ok(batches.slice(0, -1).every((b) => b.length === 64));
    assert.deepEqual(batches.flat(), listing);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a run listed by an older imgsim (one listing.json) reads as one page; a run with no listing is named', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'imgsim-listing-'));
  try {
    const artifacts = new LocalStorage(dir);
    await artifacts.put(artifactKeys.legacyListing('run-000002'), JSON.stringify(refs(5)));
    assert.deepEqual(await collect(listingPages(artifacts, 'run-000002')), [refs(5)]);
    await assert.rejects(collect(listingPages(artifacts, 'run-000003')), /Run run-000003 has no listing/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the training sample is the same whatever the listing order, size-bounded, in key order', () => {
  const listing = refs(20_000);
  const a = trainingSample(listing, 500, 7, 'src');
  const b = trainingSample([...listing].reverse(), 500, 7, 'src');
  assert.equal(a.length, 500);
  assert.deepEqual(a, b);
  assert.deepEqual(a.map((r) => r.key), a.map((r) => r.key).sort());
  assert.notDeepEqual(trainingSample(listing, 500, 8, 'src'), a, 'another seed, another sample');
  assert.equal(trainingSample(listing.slice(0, 10), 500, 7, 'src').length, 10, 'fewer images than the sample: all of them');
  // Offered one by one (as a streamed listing is): the same.
  const streamed = new TrainingSample(500, 7);
  for (const ref of listing) streamed.offer(ref);
  assert.deepEqual(streamed.result('src'), a);
  assert.throws(() => trainingSample(listing.slice(0, 1), 500, 7, 's3://b/p'), /Cannot train on 1 image\(s\) in s3:\/\/b\/p/);
});
