// A worker thread of the t-SNE repulsion step (tsne-repulsion.ts): waits for a step,
// builds its own quadtree over the shared layout, takes chunks of points until none are
// left, reports the step done. Exits when told to stop.
import { workerData } from 'node:worker_threads';
import { QuadTree } from './quadtree.js';
import { DONE, ERROR, GEN, READY, repulsionChunks, STOP, type RepulsionShared } from './tsne-repulsion.js';

const shared = workerData as RepulsionShared;
const c = shared.control;
const tree = new QuadTree();
const force = new Float64Array(2);

Atomics.add(c, READY, 1);
Atomics.notify(c, READY);
let seen = 0;
for (;;) {
  Atomics.wait(c, GEN, seen);
  if (Atomics.load(c, STOP) !== 0) break;
  seen = Atomics.load(c, GEN);
  try {
    tree.build(shared.y, shared.n);
    repulsionChunks(shared, tree, force);
  } catch (error) {
    console.error('t-SNE repulsion thread:', error);
    Atomics.store(c, ERROR, 1);
  }
  Atomics.add(c, DONE, 1);
  Atomics.notify(c, DONE);
}
