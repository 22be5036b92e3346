// Grouping a stored duplicates report without holding the caller's event loop: at 100,000
// pairs parsing, validating, grouping and serialising take ~2 s of CPU (docs/duplicates.md
// "Reading the groups"), which on the server's loop would stall every other request, and
// on a duplicates worker's would stall BullMQ's lock renewals. A worker thread does it
// (duplicates-view-thread.ts); a small report (below INLINE_BYTES: ~1,000 pairs, a few ms)
// is grouped in place, which is cheaper than starting a thread.
import { spawnModuleThread } from '../../shared/spawn-module.js';
import type { Tier } from '../../shared/duplicates/tiers.js';
import { artifactKeys } from '../../shared/runs/naming.js';
import type { Storage } from '../../shared/storage/types.js';
import { dismissalsOf } from './duplicates-results.js';
import { buildViewData, DamagedReportError, groupReport, GroupsView, parseReport, type ViewData } from './duplicates-view.js';

/** Report bytes below which grouping runs on the caller's thread (~1,000 pairs: ~20 ms). */
export const INLINE_BYTES = 256 * 1024;

export interface ViewRequest {
  bytes: Uint8Array;
  /** Dismissed pairs, pairId form. */
  dismissed: string[];
  minTier: Tier;
  /** Only count the groups. */
  count: boolean;
}

export type ViewReply = { ok: true; data?: ViewData; groups?: number } | { ok: false; damaged: boolean; message: string };

/** Bytes the thread may take over: their own whole ArrayBuffer (a pooled or shared one is copied). */
function movable(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
}

async function inThread(req: ViewRequest): Promise<ViewReply> {
  const worker = spawnModuleThread(import.meta.url, 'duplicates-view-thread');
  try {
    return await new Promise<ViewReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the duplicates grouping thread exited (code ${code}) before answering`)));
      const bytes = movable(req.bytes);
      worker.postMessage({ ...req, bytes }, [bytes.buffer as ArrayBuffer]);
    });
  } finally {
    void worker.terminate();
  }
}

function unwrap(reply: ViewReply): { data?: ViewData; groups?: number } {
  if (reply.ok) return reply;
  throw reply.damaged ? new DamagedReportError(reply.message) : new Error(`grouping the duplicates report failed in its thread: ${reply.message}`);
}

export interface OffLoopOptions {
  /** Report bytes below which grouping runs in place (default INLINE_BYTES; 0: always a thread). */
  inlineBytes?: number;
}

/** The report's bytes grouped at minTier less the dismissed pairs, serialised for paging. A thread takes the bytes over (their buffer is detached here) unless they share a buffer. */
export async function viewOffLoop(bytes: Uint8Array, dismissed: readonly string[], minTier: Tier, o: OffLoopOptions = {}): Promise<GroupsView> {
  if (bytes.byteLength < (o.inlineBytes ?? INLINE_BYTES)) return GroupsView.from(buildViewData(bytes, dismissed, minTier));
  const { data } = unwrap(await inThread({ bytes, dismissed: [...dismissed], minTier, count: false }));
  return GroupsView.from(data as ViewData);
}

/** How many groups the dataset's stored report makes at minTier less its dismissed pairs (0 without a report). */
export async function countGroupsOffLoop(artifacts: Storage, dataset: string, minTier: Tier, o: OffLoopOptions = {}): Promise<number> {
  const key = artifactKeys.duplicatesReport(dataset);
  if (!(await artifacts.exists(key))) return 0;
  const [bytes, dismissed] = await Promise.all([artifacts.get(key), dismissalsOf(artifacts, dataset).ids()]);
  if (bytes.byteLength < (o.inlineBytes ?? INLINE_BYTES)) return groupReport(parseReport(bytes), dismissed, minTier).groups.length;
  return unwrap(await inThread({ bytes, dismissed: [...dismissed], minTier, count: true })).groups as number;
}
