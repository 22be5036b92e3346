// A worker thread of the t-SNE repulsion step (tsne-repulsion.ts): waits for a step,
// builds its own quadtree over the shared layout, takes chunks of points until none are
// left, reports the step done. Exits when told to stop. A failure is flagged in the
// control block (the caller is blocked in Atomics.wait and sees nothing else) and written
// to stderr synchronously (a console line would wait for the caller's event loop).
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { QuadTree } from './quadtree.js';
import { CRASH_AT, DONE, ERROR, GEN, READY, repulsionChunks, STOP, type RepulsionShared } from './tsne-repulsion.js';

const shared = workerData as RepulsionShared;
const c = shared.control;
const tree = new QuadTree();
const force = new Float64Array(2);

function flagFailure(): void {
  Atomics.store(c, ERROR, 1);
  Atomics.notify(c, DONE);
  Atomics.notify(c, READY);
}
// Exiting for any reason but a stop (an uncaught error, terminate()) fails the step in progress.
process.on('exit', () => {
  if (Atomics.load(c, STOP) === 0) flagFailure();
});

Atomics.add(c, READY, 1);
Atomics.notify(c, READY);
let seen = 0;
for (;;) {
  Atomics.wait(c, GEN, seen);
  if (Atomics.load(c, STOP) !== 0) break;
  seen = Atomics.load(c, GEN);
  try {
    if (Atomics.load(c, CRASH_AT) === seen) throw new Error(`told to fail at step ${seen} (a test)`);
    tree.build(shared.y, shared.n);
    repulsionChunks(shared, tree, force, true);
  } catch (error) {
    writeSync(2, `imgsim: t-SNE repulsion thread: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    flagFailure();
    break;
  }
  Atomics.add(c, DONE, 1);
  Atomics.notify(c, DONE);
}
