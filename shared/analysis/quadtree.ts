// Barnes-Hut quadtree for t-SNE's repulsive forces (van der Maaten 2014). Rebuilt
// every iteration over the current 2-D layout; a cell far enough away (full cell
// width < θ·distance to its centre of mass) acts as a single point with its
// combined count, turning the O(N²) repulsion sum into ~O(N log N).
//
// Stored in flat typed arrays (struct-of-arrays, 4 children allocated together) and
// reused across iterations, so a rebuild allocates nothing once capacity is reached.
// Coincident points share a leaf (counted, not subdivided); subdivision also stops
// at MAX_DEPTH so nearly-coincident points cannot recurse without bound.

const MAX_DEPTH = 50;

export class QuadTree {
  private capacity = 0;
  private size = 0;
  private centreX = new Float64Array(0);
  private centreY = new Float64Array(0);
  private halfWidth = new Float64Array(0);
  private massX = new Float64Array(0);
  private massY = new Float64Array(0);
  private count = new Int32Array(0);
  private firstChild = new Int32Array(0);
  private point = new Int32Array(0);
  private stack = new Int32Array(4 * MAX_DEPTH + 8);

  /** Build over n points with coordinates at y[2i], y[2i+1]. */
  build(y: Float64Array, n: number): void {
    this.ensure(Math.max(4 * n + 1, 64));
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
    if (n === 0) minX = minY = maxX = maxY = 0;
    const half = (Math.max(maxX - minX, maxY - minY) / 2) * (1 + 1e-6) + 1e-12;
    this.size = 0;
    this.newNode((minX + maxX) / 2, (minY + maxY) / 2, half);
    for (let i = 0; i < n; i++) this.insert(y, i);
    // Sums → centres of mass.
    for (let node = 0; node < this.size; node++) {
      const c = this.count[node] as number;
      if (c > 0) {
        this.massX[node] = (this.massX[node] as number) / c;
        this.massY[node] = (this.massY[node] as number) / c;
      }
    }
  }

  /**
   * Repulsion on point (px, py) (itself a point of the tree): adds Σ q²·(p − y_j)
   * into out[0..1] and returns Σ q, with q = 1/(1 + ‖p − y_j‖²) over all j ≠ self.
   */
  repulsion(px: number, py: number, theta2: number, out: Float64Array): number {
    const stack = this.stack;
    const count = this.count;
    const firstChild = this.firstChild;
    const massX = this.massX;
    const massY = this.massY;
    const halfWidth = this.halfWidth;
    let sp = 0;
    stack[sp++] = 0;
    let sumQ = 0;
    let fx = 0;
    let fy = 0;
    while (sp > 0) {
      const node = stack[--sp] as number;
      let c = count[node] as number;
      if (c === 0) continue;
      const dx = px - (massX[node] as number);
      const dy = py - (massY[node] as number);
      const d2 = dx * dx + dy * dy;
      const child = firstChild[node] as number;
      const width = 2 * (halfWidth[node] as number);
      if (child < 0 || width * width < theta2 * d2) {
        // A leaf at distance 0 holds this point (and any exact duplicates of it).
        if (d2 === 0) c -= 1;
        const q = 1 / (1 + d2);
        sumQ += c * q;
        const f = c * q * q;
        fx += f * dx;
        fy += f * dy;
      } else {
        for (let t = 0; t < 4; t++) {
          if ((count[child + t] as number) > 0) stack[sp++] = child + t;
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
      this.count[node] = (this.count[node] as number) + 1;
      this.massX[node] = (this.massX[node] as number) + x;
      this.massY[node] = (this.massY[node] as number) + v;
      const child = this.firstChild[node] as number;
      if (child >= 0) {
        node = child + this.quadrant(node, x, v);
        depth++;
        continue;
      }
      const c = this.count[node] as number;
      if (c === 1) {
        this.point[node] = i;
        return;
      }
      // Occupied leaf: its previous c−1 points all sit at the resident's position
      // (or the leaf is at MAX_DEPTH and just accumulates).
      const resident = this.point[node] as number;
      const rx = y[2 * resident] as number;
      const ry = y[2 * resident + 1] as number;
      if ((rx === x && ry === v) || depth >= MAX_DEPTH) return;
      const first = this.split(node);
      const target = first + this.quadrant(node, rx, ry);
      const previous = c - 1;
      this.count[target] = previous;
      this.massX[target] = rx * previous;
      this.massY[target] = ry * previous;
      this.point[target] = resident;
      this.point[node] = -1;
      node = first + this.quadrant(node, x, v);
      depth++;
    }
  }

  private quadrant(node: number, x: number, y: number): number {
    return (x >= (this.centreX[node] as number) ? 1 : 0) + (y >= (this.centreY[node] as number) ? 2 : 0);
  }

  private split(node: number): number {
    if (this.size + 4 > this.capacity) this.ensure(this.capacity * 2);
    const h = (this.halfWidth[node] as number) / 2;
    const cx = this.centreX[node] as number;
    const cy = this.centreY[node] as number;
    const first = this.newNode(cx - h, cy - h, h);
    this.newNode(cx + h, cy - h, h);
    this.newNode(cx - h, cy + h, h);
    this.newNode(cx + h, cy + h, h);
    this.firstChild[node] = first;
    return first;
  }

  private newNode(cx: number, cy: number, half: number): number {
    const id = this.size++;
    this.centreX[id] = cx;
    this.centreY[id] = cy;
    this.halfWidth[id] = half;
    this.massX[id] = 0;
    this.massY[id] = 0;
    this.count[id] = 0;
    this.firstChild[id] = -1;
    this.point[id] = -1;
    return id;
  }

  private ensure(capacity: number): void {
    if (capacity <= this.capacity) return;
    const grow = <T extends Float64Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(0, this.size));
      return next;
    };
    const f64 = (n: number): Float64Array => new Float64Array(n);
    const i32 = (n: number): Int32Array => new Int32Array(n);
    this.centreX = grow(this.centreX, f64);
    this.centreY = grow(this.centreY, f64);
    this.halfWidth = grow(this.halfWidth, f64);
    this.massX = grow(this.massX, f64);
    this.massY = grow(this.massY, f64);
    this.count = grow(this.count, i32);
    this.firstChild = grow(this.firstChild, i32);
    this.point = grow(this.point, i32);
    this.capacity = capacity;
  }
}
