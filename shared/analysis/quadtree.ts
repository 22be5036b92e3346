// Barnes-Hut quadtree for t-SNE's repulsive forces (van der Maaten 2014). Rebuilt
// every iteration over the current 2-D layout; a cell far enough away (full cell
// width < θ·distance to its centre of mass, scikit-learn's criterion) acts as a
// single point with its combined count, turning the O(N²) repulsion sum into
// ~O(N log N).
//
// Layout: one Float64Array, 8 slots (one 64-byte cache line) per node, the 4
// children of a node allocated together — the traversal, which dominates t-SNE
// time, touches one line per visited node. Reused across iterations, so a rebuild
// allocates nothing once capacity is reached. Coincident points share a leaf
// (counted, not subdivided); subdivision also stops at MAX_DEPTH so nearly
// coincident points cannot recurse without bound.

const MAX_DEPTH = 50;
const STRIDE = 8;
// Slot offsets within a node.
const CX = 0; // cell centre
const CY = 1;
const HALF = 2; // half the cell width while building…
const WIDTH2 = 2; // …then the squared full width, for the Barnes-Hut criterion
const MX = 3; // Σx while building, then centre of mass
const MY = 4;
const COUNT = 5; // points in the cell
const CHILD = 6; // node index of the first of 4 children, −1 for a leaf
const POINT = 7; // a resident point index (leaves), −1 if none

export class QuadTree {
  private nodes = new Float64Array(0);
  private capacity = 0;
  private size = 0;
  private readonly stack = new Int32Array(4 * MAX_DEPTH + 8);

  /** Build over n points with coordinates at y[2i], y[2i+1]. */
  build(y: Float64Array, n: number): void {
    this.ensure(Math.max(2 * n + 1, 64));
    const { minX, minY, maxX, maxY } = boundingBox(y, n);
    const half = (Math.max(maxX - minX, maxY - minY) / 2) * (1 + 1e-6) + 1e-12;
    this.size = 0;
    this.newNode((minX + maxX) / 2, (minY + maxY) / 2, half);
    for (let i = 0; i < n; i++) this.insert(y, i);
    // Sums → centres of mass; half-width → squared full width (what the criterion
    // needs; the build, the only user of half-widths, is done).
    const nodes = this.nodes;
    for (let o = 0; o < this.size * STRIDE; o += STRIDE) {
      const c = nodes[o + COUNT] as number;
      if (c > 0) {
        nodes[o + MX] = (nodes[o + MX] as number) / c;
        nodes[o + MY] = (nodes[o + MY] as number) / c;
      }
      const half = nodes[o + HALF] as number;
      nodes[o + HALF] = 4 * half * half;
    }
  }

  /**
   * Repulsion on point (px, py) (itself a point of the tree): adds Σ q²·(p − y_j)
   * into out[0..1] and returns Σ q, with q = 1/(1 + ‖p − y_j‖²) over all j ≠ self.
   */
  repulsion(px: number, py: number, theta2: number, out: Float64Array): number {
    const stack = this.stack;
    const nodes = this.nodes;
    let sumQ = 0;
    let fx = 0;
    let fy = 0;
    // Root first (it may itself be a leaf or far enough).
    let sp = 0;
    {
      const dx = px - (nodes[MX] as number);
      const dy = py - (nodes[MY] as number);
      const d2 = dx * dx + dy * dy;
      if ((nodes[CHILD] as number) < 0 || (nodes[WIDTH2] as number) < theta2 * d2) {
        let c = nodes[COUNT] as number;
        if (d2 === 0) c -= 1;
        const q = 1 / (1 + d2);
        sumQ += c * q;
        const f = c * q * q;
        out[0] = (out[0] as number) + f * dx;
        out[1] = (out[1] as number) + f * dy;
        return sumQ;
      }
      stack[sp++] = nodes[CHILD] as number;
    }
    // Stack holds first-child indices of expanded nodes; their 4 children are
    // handled here directly, and only children that must be opened are pushed.
    while (sp > 0) {
      const first = stack[--sp] as number;
      for (let o = first * STRIDE, end = o + 4 * STRIDE; o < end; o += STRIDE) {
        const c0 = nodes[o + COUNT] as number;
        if (c0 === 0) continue;
        const dx = px - (nodes[o + MX] as number);
        const dy = py - (nodes[o + MY] as number);
        const d2 = dx * dx + dy * dy;
        const child = nodes[o + CHILD] as number;
        if (child < 0 || (nodes[o + WIDTH2] as number) < theta2 * d2) {
          const c = d2 === 0 ? c0 - 1 : c0;
          const q = 1 / (1 + d2);
          sumQ += c * q;
          const f = c * q * q;
          fx += f * dx;
          fy += f * dy;
        } else {
          stack[sp++] = child;
        }
      }
    }
    out[0] = (out[0] as number) + fx;
    out[1] = (out[1] as number) + fy;
    return sumQ;
  }

  private insert(y: Float64Array, i: number): void {
    const x = y[2 * i] as number;
    const v = y[2 * i + 1] as number;
    let node = 0;
    let depth = 0;
    for (;;) {
      let nodes = this.nodes;
      const o = node * STRIDE;
      const c = (nodes[o + COUNT] as number) + 1;
      nodes[o + COUNT] = c;
      nodes[o + MX] = (nodes[o + MX] as number) + x;
      nodes[o + MY] = (nodes[o + MY] as number) + v;
      const child = nodes[o + CHILD] as number;
      if (child >= 0) {
        node = child + this.quadrant(o, x, v);
        depth++;
        continue;
      }
      if (c === 1) {
        nodes[o + POINT] = i;
        return;
      }
      // Occupied leaf: its previous c−1 points all sit at the resident's position
      // (or the leaf is at MAX_DEPTH and just accumulates).
      const resident = nodes[o + POINT] as number;
      const rx = y[2 * resident] as number;
      const ry = y[2 * resident + 1] as number;
      if ((rx === x && ry === v) || depth >= MAX_DEPTH) return;
      const first = this.split(node);
      nodes = this.nodes; // split may have grown the buffer
      const target = (first + this.quadrant(o, rx, ry)) * STRIDE;
      const previous = c - 1;
      nodes[target + COUNT] = previous;
      nodes[target + MX] = rx * previous;
      nodes[target + MY] = ry * previous;
      nodes[target + POINT] = resident;
      nodes[o + POINT] = -1;
      node = first + this.quadrant(o, x, v);
      depth++;
    }
  }

  private quadrant(o: number, x: number, y: number): number {
    return (x >= (this.nodes[o + CX] as number) ? 1 : 0) + (y >= (this.nodes[o + CY] as number) ? 2 : 0);
  }

  private split(node: number): number {
    if (this.size + 4 > this.capacity) this.ensure(this.capacity * 2);
    const o = node * STRIDE;
    const h = (this.nodes[o + HALF] as number) / 2;
    const cx = this.nodes[o + CX] as number;
    const cy = this.nodes[o + CY] as number;
    const first = this.newNode(cx - h, cy - h, h);
    this.newNode(cx + h, cy - h, h);
    this.newNode(cx - h, cy + h, h);
    this.newNode(cx + h, cy + h, h);
    this.nodes[o + CHILD] = first;
    return first;
  }

  private newNode(cx: number, cy: number, half: number): number {
    const id = this.size++;
    const o = id * STRIDE;
    const nodes = this.nodes;
    nodes[o + CX] = cx;
    nodes[o + CY] = cy;
    nodes[o + HALF] = half;
    nodes[o + MX] = 0;
    nodes[o + MY] = 0;
    nodes[o + COUNT] = 0;
    nodes[o + CHILD] = -1;
    nodes[o + POINT] = -1;
    return id;
  }

  private ensure(capacity: number): void {
    if (capacity <= this.capacity) return;
    const next = new Float64Array(capacity * STRIDE);
    next.set(this.nodes.subarray(0, this.size * STRIDE));
    this.nodes = next;
    this.capacity = capacity;
  }
}

/** Bounding box of n 2-D points at y[2i], y[2i+1] (all zero when n = 0). */
export function boundingBox(y: Float64Array, n: number): { minX: number; minY: number; maxX: number; maxY: number } {
  if (n === 0) return { minX: 0, minY: 0, maxX: 0, maxY: 0 };
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = y[2 * i] as number;
    const v = y[2 * i + 1] as number;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (v < minY) minY = v;
    if (v > maxY) maxY = v;
  }
  return { minX, minY, maxX, maxY };
}
