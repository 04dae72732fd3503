// The interrupt-remapping table's allocation bitmap, with Linux's bitmap_find_free_region() /
// bitmap_release_region() semantics (lib/bitmap.c): a block of 2^order entries starts on a multiple of
// its size, the first free such block wins. alloc_irte() in drivers/iommu/intel/irq_remapping.c rounds a
// multi-MSI count up to a power of two this way, so the device's sub-handles index one aligned block.

export class IrteBitmap {
  private readonly words: Uint32Array;
  private used = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  private isSet(i: number): boolean {
    return ((this.words[i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  private setRange(pos: number, n: number, on: boolean): void {
    for (let i = pos; i < pos + n; i++) {
      if (on) this.words[i >>> 5]! |= 1 << (i & 31);
      else this.words[i >>> 5]! &= ~(1 << (i & 31));
    }
  }

  /** bitmap_find_free_region(bitmap, size, order): the first free aligned block, marked used; −1 when none. */
  findFreeRegion(order: number): number {
    const n = 1 << order;
    for (let pos = 0; pos + n <= this.size; pos += n) {
      let free = true;
      for (let i = pos; i < pos + n && free; i++) free = !this.isSet(i);
      if (free) {
        this.setRange(pos, n, true);
        this.used += n;
        return pos;
      }
    }
    return -1;
  }

  /** bitmap_release_region(bitmap, pos, order). */
  releaseRegion(pos: number, order: number): void {
    const n = 1 << order;
    for (let i = pos; i < pos + n; i++) if (this.isSet(i)) this.used--;
    this.setRange(pos, n, false);
  }

  /** Entries in use. */
  get allocated(): number {
    return this.used;
  }
}
