// The re-packing bound of the fragmentation benchmark: could a set of aligned power-of-two blocks be
// placed at all if every live block could be moved? Exact for power-of-two sizes in aligned slots.
//
// Each CPU's free space decomposes (greedily, bottom up) into maximal aligned blocks of 1..32. Every
// free aligned s-block lies inside one decomposition block of size >= s (aligned blocks nest), so a
// CPU offers sum(t/s) aligned s-slots over its blocks t >= s. Placing the largest items first and
// splitting what is left for the smaller sizes packs the items iff any placement exists.

export const BLOCK_SIZES_DESC = [32, 16, 8, 4, 2, 1] as const;

/** Counts by size (index = size, sizes 1..32). */
export type SizeCounts = Int32Array;

export function newCounts(): SizeCounts {
  return new Int32Array(33);
}

/**
 * Maximal aligned free blocks of one CPU over positions [lo, hi); alignment is tested on
 * position + alignOffset (0 for Linux vectors and FreeBSD table indices, 0x30 for FreeBSD main).
 */
export function alignedBlocks(lo: number, hi: number, isFree: (p: number) => boolean, alignOffset = 0): SizeCounts {
  const counts = newCounts();
  let p = lo;
  while (p < hi) {
    if (!isFree(p)) {
      p++;
      continue;
    }
    let size = 1;
    for (const s of BLOCK_SIZES_DESC) {
      if ((p + alignOffset) % s !== 0 || p + s > hi) continue;
      let ok = true;
      for (let q = p; q < p + s && ok; q++) ok = isFree(q);
      if (ok) {
        size = s;
        break;
      }
    }
    counts[size]!++;
    p += size;
  }
  return counts;
}

export class PackingModel {
  /** Free aligned blocks of the whole (empty) machine by size. */
  private readonly machine: SizeCounts;
  readonly capacity: number;

  constructor(perCpu: SizeCounts, readonly cpus: number) {
    this.machine = newCounts();
    let cap = 0;
    for (const s of BLOCK_SIZES_DESC) {
      this.machine[s] = perCpu[s]! * cpus;
      cap += this.machine[s]! * s;
    }
    this.capacity = cap;
  }

  /** Whether `live` (block counts by size) plus one block of `extra` (0: none) fits with migration. */
  fits(live: SizeCounts, extra = 0): boolean {
    let carry = 0;
    for (const s of BLOCK_SIZES_DESC) {
      const need = live[s]! + (s === extra ? 1 : 0);
      const have = this.machine[s]! + carry;
      if (need > have) return false;
      carry = (have - need) * 2; // what is left splits into twice as many blocks of the next size
    }
    return true;
  }
}
