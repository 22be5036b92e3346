// Keep the k best (highest score) items seen so far: a bounded min-heap, O(n log k).

export class TopK {
  private readonly scores: number[] = [];
  private readonly items: number[] = [];
  constructor(private readonly k: number) {}

  push(item: number, score: number): void {
    if (this.k <= 0) return;
    if (this.scores.length < this.k) {
      this.scores.push(score);
      this.items.push(item);
      this.up(this.scores.length - 1);
    } else if (score > (this.scores[0] as number)) {
      this.scores[0] = score;
      this.items[0] = item;
      this.down(0);
    }
  }

  /** Items by descending score (ties: lower item index first). */
  sorted(): Array<{ item: number; score: number }> {
    return this.items
      .map((item, i) => ({ item, score: this.scores[i] as number }))
      .sort((a, b) => b.score - a.score || a.item - b.item);
  }

  private less(i: number, j: number): boolean {
    return (this.scores[i] as number) < (this.scores[j] as number);
  }

  private swap(i: number, j: number): void {
    [this.scores[i], this.scores[j]] = [this.scores[j] as number, this.scores[i] as number];
    [this.items[i], this.items[j]] = [this.items[j] as number, this.items[i] as number];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.scores.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
