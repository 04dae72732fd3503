// Aligned free runs in a 256-bit map held as eight 32-bit words of free bits (1 = free; Int32Array,
// so a full word is a small integer, never a boxed number): the
// TypeScript twin of assembly/runs.ts. Blocks are at most 32 bits and aligned to their size, so none
// crosses a word; each word is folded with shift-and-mask steps into the positions where a run starts.

const WORDS = 8;

/** Bit i set for every i that is a multiple of n (n = 2..32). */
function alignMask(n: number): number {
  switch (n) {
    case 2: return 0x55555555;
    case 4: return 0x11111111;
    case 8: return 0x01010101;
    case 16: return 0x00010001;
    default: return 0x00000001; // 32
  }
}

/** Positions p (multiples of n) where bits p..p+n-1 of x are all set; n <= 32. */
export function alignedRuns(x: number, n: number): number {
  // Straight-line folds (no per-step mask lookup): step m keeps positions aligned to 2m.
  let y = x | 0;
  if (n > 1) y &= (y >>> 1) & 0x55555555;
  if (n > 2) y &= (y >>> 2) & 0x11111111;
  if (n > 4) y &= (y >>> 4) & 0x01010101;
  if (n > 8) y &= (y >>> 8) & 0x00010001;
  if (n > 16) y &= (y >>> 16) & 0x00000001;
  return y;
}

export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** First fit: the lowest n-aligned run of n free bits, or -1. */
export function firstFitRun(free: Int32Array, n: number): number {
  for (let w = 0; w < WORDS; w++) {
    const y = alignedRuns(free[w]!, n);
    if (y !== 0) return (w << 5) + ctz32(y);
  }
  return -1;
}

const cur = new Int32Array(WORDS);

/**
 * Buddy-style best fit: the run inside the smallest free aligned block that can hold it (so larger
 * free aligned blocks stay intact); lowest base among equals; -1 when there is none.
 */
export function bestFitRun(free: Int32Array, n: number): number {
  let anyRun = 0;
  for (let w = 0; w < WORDS; w++) anyRun |= cur[w] = alignedRuns(free[w]!, n);
  if (anyRun === 0) return -1;
  let m = n;
  // Within a word: blocks of m (< 32) whose 2m-buddy block is not entirely free.
  while (m < 32) {
    const am = alignMask(m << 1);
    for (let w = 0; w < WORDS; w++) {
      const c = cur[w]!;
      const nx = c & (c >>> m) & am;
      const z = c & ~(nx | (nx << m));
      if (z !== 0) return (w << 5) + ctz32(z);
    }
    for (let w = 0; w < WORDS; w++) {
      const c = cur[w]!;
      cur[w] = c & (c >>> m) & am;
    }
    m <<= 1;
  }
  // Word level: unit = one fully free 32-bit word (cur[w] bit 0 = the 32-block at w*32 is free).
  let u = 0;
  for (let w = 0; w < WORDS; w++) u |= (cur[w]! & 1) << w;
  let um = 1;
  while (um < WORDS) {
    const am = um === 1 ? 0x55 : um === 2 ? 0x11 : 0x01;
    const nx = u & (u >>> um) & am;
    const z = u & ~(nx | (nx << um));
    if (z !== 0) return ctz32(z) << 5;
    u = nx;
    um <<= 1;
  }
  return u !== 0 ? 0 : -1;
}
