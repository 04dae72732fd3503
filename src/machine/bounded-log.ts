// An append-only log that keeps the newest `limit` entries: a long run cannot grow it without bound.
// Dropping is amortised (the oldest are cut in one splice once the array holds 2 × limit), so a push
// costs O(1) and a read trims to at most `limit` entries first.

export class BoundedLog<T> {
  private readonly items: T[] = [];
  /** Entries already cut from the front. */
  private cut = 0;

  constructor(readonly limit: number) {}

  push(item: T): void {
    if (this.limit === 0) {
      this.cut++;
      return;
    }
    this.items.push(item);
    if (this.items.length >= 2 * this.limit) this.trim();
  }

  /** The kept entries, oldest first: the log's own array (at most `limit` long), trimmed on each read. */
  get entries(): T[] {
    this.trim();
    return this.items;
  }

  /** Entries pushed but no longer kept. */
  get dropped(): number {
    return this.cut + Math.max(0, this.items.length - this.limit);
  }

  private trim(): void {
    const extra = this.items.length - this.limit;
    if (extra > 0) {
      this.items.splice(0, extra);
      this.cut += extra;
    }
  }
}
