// Worker thread of duplicates-view-offloop.ts: groups one report (duplicates-view.ts
// buildViewData, or only counts the groups) and posts the result back, its buffers moved
// rather than copied. One request a thread; the thread ends once it has answered.
import { parentPort } from 'node:worker_threads';
import { buildViewData, DamagedReportError, groupReport, parseReport } from './duplicates-view.js';
import type { ViewReply, ViewRequest } from './duplicates-view-offloop.js';

function answer(req: ViewRequest): { reply: ViewReply; transfer: ArrayBuffer[] } {
  try {
    if (req.count) {
      const groups = groupReport(parseReport(req.bytes), new Set(req.dismissed), req.minTier).groups.length;
      return { reply: { ok: true, groups }, transfer: [] };
    }
    const data = buildViewData(req.bytes, req.dismissed, req.minTier);
    const transfer = [data.json, data.ends, data.tiers, data.sizes, data.keyHashes, data.keyGroups, data.pairHashes].map((a) => a.buffer as ArrayBuffer);
    return { reply: { ok: true, data }, transfer };
  } catch (error) {
    // A damaged report's message is for the client; anything else is a bug: its stack, for the log.
    const damaged = error instanceof DamagedReportError;
    return { reply: { ok: false, damaged, message: error instanceof Error ? (damaged ? error.message : (error.stack ?? error.message)) : String(error) }, transfer: [] };
  }
}

parentPort?.once('message', (req: ViewRequest) => {
  const { reply, transfer } = answer(req);
  parentPort?.postMessage(reply, transfer);
});
