// Random-projection trees (Dasgupta & Freund 2008, as pynndescent and Annoy build
// them): each node splits its points by the hyperplane halfway between two of them
// picked at random, until a leaf holds ≤ leafSize points. Points that fall in the same
// leaf are likely near each other, so a few trees give every point a good first set
// of candidate neighbours (nn-descent.ts) and give a new point (a query) a shortlist
// to start its search from (ann-query.ts), each at O(leafSize) distances instead of N.
// Building costs O(N·log(N/leafSize)·D) per tree: ~0.1 s for 50k × 50-D on one core.
// Seeded: the same data and seed build the same trees.
import type { EmbeddingMatrix } from './matrix.js';
import { createRng, type Rng } from './rng.js';

export interface RpTree {
  /** Internal node i: normal at [i*dim, (i+1)*dim), offset[i]; children[2i], children[2i+1] (≥ 0 node, < 0 leaf −(l+1)). */
  normals: Float32Array;
  offsets: Float64Array;
  children: Int32Array;
  /** Leaf l holds indices[leafStart[l] .. leafStart[l+1]). */
  leafStart: Int32Array;
  indices: Int32Array;
}

/** Build `trees` trees over the rows of `m`. */
export function buildForest(m: EmbeddingMatrix, o: { trees: number; leafSize: number; seed: number }): RpTree[] {
  const rng = createRng(o.seed);
  const out: RpTree[] = [];
  for (let t = 0; t < o.trees; t++) out.push(buildTree(m, Math.max(2, o.leafSize), rng));
  return out;
}

function buildTree(m: EmbeddingMatrix, leafSize: number, rng: Rng): RpTree {
  const { rows: n, dim: d, data } = m;
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  const normals: number[] = [];
  const offsets: number[] = [];
  const children: number[] = [];
  const leafStart: number[] = [];
  const side = new Uint8Array(n);
  const scratch = new Int32Array(n);
  const normal = new Float64Array(d);

  // Returns the node reference for indices[from, to): ≥ 0 internal node, < 0 leaf.
  const build = (from: number, to: number, depth: number): number => {
    const size = to - from;
    if (size <= leafSize || depth > 60) {
      leafStart.push(from);
      return -leafStart.length;
    }
    const a = indices[from + Math.floor(rng() * size)] as number;
    let b = indices[from + Math.floor(rng() * size)] as number;
    for (let tries = 0; b === a && tries < 8; tries++) b = indices[from + Math.floor(rng() * size)] as number;
    let offset = 0;
    for (let j = 0; j < d; j++) {
      const xa = data[a * d + j] as number;
      const xb = data[b * d + j] as number;
      normal[j] = xa - xb;
      offset += (xa - xb) * (xa + xb) * 0.5;
    }
    let left = 0;
    for (let p = from; p < to; p++) {
      const i = indices[p] as number;
      let s = -offset;
      for (let j = 0; j < d; j++) s += (normal[j] as number) * (data[i * d + j] as number);
      // Ties (points on the plane, duplicates) go either way at random.
      const goLeft = s > 0 || (s === 0 && rng() < 0.5);
      side[p - from] = goLeft ? 1 : 0;
      if (goLeft) left++;
    }
    if (left === 0 || left === size) {
      // Degenerate split (all points equal along the normal): halve at random.
      for (let p = 0; p < size; p++) side[p] = 0;
      left = Math.floor(size / 2);
      for (let p = 0; p < left; p++) side[p] = 1;
      for (let p = size - 1; p > 0; p--) {
        const q = Math.floor(rng() * (p + 1));
        const t = side[p] as number;
        side[p] = side[q] as number;
        side[q] = t;
      }
      for (let j = 0; j < d; j++) normal[j] = 0;
      offset = 0; // queries then all go right, to a leaf of the second half
    }
    let l = from;
    let r = from + left;
    for (let p = from; p < to; p++) scratch[side[p - from] ? l++ : r++] = indices[p] as number;
    indices.set(scratch.subarray(from, to), from);
    const node = offsets.length;
    offsets.push(offset);
    for (let j = 0; j < d; j++) normals.push(normal[j] as number);
    children.push(0, 0);
    const mid = from + left;
    children[2 * node] = build(from, mid, depth + 1);
    children[2 * node + 1] = build(mid, to, depth + 1);
    return node;
  };
  const root = build(0, n, 0);
  if (root < 0) {
    // A single leaf: represent it as a node whose both sides lead to it.
    offsets.push(0);
    for (let j = 0; j < d; j++) normals.push(0);
    children.push(root, root);
  }
  leafStart.push(n);
  return {
    normals: Float32Array.from(normals),
    offsets: Float64Array.from(offsets),
    children: Int32Array.from(children),
    leafStart: Int32Array.from(leafStart),
    indices,
  };
}

/** Number of leaves of a tree. */
export function leafCount(tree: RpTree): number {
  return tree.leafStart.length - 1;
}

/** The leaf a point (q[off, off+dim)) falls in. */
export function leafOf(tree: RpTree, q: ArrayLike<number>, off: number, dim: number): number {
  let node = 0;
  for (;;) {
    let s = -(tree.offsets[node] as number);
    const base = node * dim;
    for (let j = 0; j < dim; j++) s += (tree.normals[base + j] as number) * (q[off + j] as number);
    const next = tree.children[2 * node + (s > 0 ? 0 : 1)] as number;
    if (next < 0) return -next - 1;
    node = next;
  }
}
