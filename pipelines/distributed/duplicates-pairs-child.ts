// Child-process side of a duplicates pass's pairs step (duplicates-pairs.ts): holds the
// fingerprints the parent streams to it a file at a time, then runs findPairs over them
// and answers with the pairs by key. In a child so that the ~100 KB an image it holds is
// returned whole when it exits, and the worker's event loop never waits on the index
// build or the verification (the word index of 1,000 photos takes ~0.5 s in one block).
import { errorMessage, ImageError, UserError } from '../../shared/errors.js';
import { decodeFingerprints } from '../../shared/duplicates/fingerprint-file.js';
import { mirroredPrint, type Fingerprint } from '../../shared/duplicates/fingerprint.js';
import { findPairs } from '../../shared/duplicates/pairs.js';
import { loadOpenCv } from '../../shared/features/opencv.js';
import type { PairsChildLoaded, PairsChildReply, PairsChildRequest, PairsChildResult } from './duplicates-pairs.js';
import type { StoredReport } from './duplicates-store.js';

const prints: Fingerprint[] = [];
const at = new Map<string, number>();
const fresh = new Set<number>();
/** Learned-tier neighbours by key, as the parent read them from Qdrant. */
const neighbours = new Map<string, Array<[string, number]>>();

function send(message: PairsChildReply): Promise<void> {
  return new Promise((resolve) => process.send?.(message, undefined, {}, () => resolve()) ?? resolve());
}

/** Image bytes asked of the parent (it reads the dataset's source), by request number. */
const loads = new Map<number, { resolve: (b: Buffer | undefined) => void; reject: (e: Error) => void }>();
let nextLoad = 0;

/** The image's bytes from the parent; undefined when the object is gone or unreadable (its own fault). */
function load(key: string): Promise<Buffer | undefined> {
  const req = nextLoad++;
  return new Promise((resolve, reject) => {
    loads.set(req, { resolve, reject });
    void send({ type: 'load', req, key });
  });
}

async function handle(m: PairsChildRequest): Promise<PairsChildResult> {
  switch (m.type) {
    case 'file': {
      const keep = m.keep ? new Map(m.keep) : undefined;
      const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      const file = decodeFingerprints(bytes, m.name, keep ? (key, etag) => keep.get(key) === etag : undefined);
      const kept: Array<[string, string]> = [];
      for (const p of file.prints) {
        if (at.has(p.fingerprint.key)) continue;
        at.set(p.fingerprint.key, prints.length);
        if (m.fresh) fresh.add(prints.length);
        prints.push(p.fingerprint);
        kept.push([p.fingerprint.key, p.etag]);
      }
      return { type: 'file', kept, failed: file.failed, workingSize: file.workingSize, nfeatures: file.nfeatures };
    }
    case 'neighbours':
      for (const [key, list] of m.lists) neighbours.set(key, list);
      return { type: 'ok' };
    case 'pairs': {
      const cv = await loadOpenCv();
      const list = {
        neighbours: (i: number) =>
          (neighbours.get((prints[i] as Fingerprint).key) ?? []).flatMap(([key, cosine]) => {
            const j = at.get(key);
            return j === undefined || j === i ? [] : [{ image: j, cosine }];
          }),
      };
      const found = await findPairs(
        cv,
        prints,
        {
          thresholds: m.thresholds,
          candidates: m.candidates,
          cosine: m.thresholds.cosine,
          ...(m.onlyFresh ? { onlyWith: fresh } : {}),
          // A pair found by one image's mirror hash is confirmed on that image's mirror
          // image's ORB features: decoded again here from the bytes the parent reads.
          mirrored: async (i: number) => {
            const key = (prints[i] as Fingerprint).key;
            const bytes = await load(key);
            if (!bytes) return undefined;
            try {
              return await mirroredPrint(cv, key, bytes, { workingSize: m.workingSize, nfeatures: m.nfeatures, maxPixels: m.maxPixels });
            } catch (error) {
              if (error instanceof ImageError) return undefined; // changed since it was fingerprinted: no mirrored evidence
              throw error;
            }
          },
          onProgress: (done, total, phase) => void send({ type: 'progress', phase, done, total }),
        },
        m.learned ? list : undefined,
      );
      const members: StoredReport['members'] = {};
      const pairs = found.map((q) => {
        for (const i of [q.a, q.b]) {
          const f = prints[i] as Fingerprint;
          members[f.key] = { width: f.width, height: f.height, bytes: f.bytes };
        }
        return { ...q, a: (prints[q.a] as Fingerprint).key, b: (prints[q.b] as Fingerprint).key };
      });
      return { type: 'pairs', pairs, members, images: prints.length, fresh: fresh.size, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
    }
  }
}

// One request at a time, in order: the parent awaits each answer before the next.
let queue = Promise.resolve();
process.on('message', (m: (PairsChildRequest & { id: number }) | PairsChildLoaded) => {
  if (m.type === 'loaded') {
    const w = loads.get(m.req);
    loads.delete(m.req);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.bytes ? Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength) : undefined);
    return;
  }
  queue = queue.then(async () => {
    let reply: PairsChildReply;
    try {
      reply = { id: m.id, result: await handle(m) };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      reply = { id: m.id, error: errorMessage(e), user: e instanceof UserError, ...(e.stack ? { stack: e.stack } : {}) };
    }
    await send(reply);
  });
});
process.on('disconnect', () => process.exit(0));
