// Aligned free runs in a 256-bit map held as four 64-bit words of free bits (1 = free). Blocks are
// at most 32 bits and aligned to their size, so none crosses a word: each word is folded on its own
// with shift-and-mask steps (y & y >> m & ALIGN(2m)) into the positions where an aligned run starts.

// Aligned-run masks: bit i of ALIGN(n) set for every i that is a multiple of n.
@inline function alignMask(n: i32): u64 {
  if (n == 2) return 0x5555555555555555;
  if (n == 4) return 0x1111111111111111;
  if (n == 8) return 0x0101010101010101;
  if (n == 16) return 0x0001000100010001;
  if (n == 32) return 0x0000000100000001;
  return 1; // 64
}

/** Folds a free-bit word into the set of aligned positions p (multiple of n) with p..p+n-1 free. */
@inline function alignedRuns(x: u64, n: i32): u64 {
  let y = x;
  for (let m = 1; m < n; m <<= 1) y = y & (y >> <u64>m) & alignMask(m << 1);
  return y;
}

/** First fit: the lowest n-aligned run of n free bits, or -1. */
export function firstFitRun(f0: u64, f1: u64, f2: u64, f3: u64, n: i32): i32 {
  let y = alignedRuns(f0, n);
  if (y != 0) return <i32>ctz(y);
  y = alignedRuns(f1, n);
  if (y != 0) return 64 + <i32>ctz(y);
  y = alignedRuns(f2, n);
  if (y != 0) return 128 + <i32>ctz(y);
  y = alignedRuns(f3, n);
  if (y != 0) return 192 + <i32>ctz(y);
  return -1;
}

/**
 * Best-fit: the run inside the smallest free aligned block that can hold it (a buddy-style choice
 * that keeps larger free aligned blocks intact); lowest base among equals.
 */
export function bestFitRun(f0: u64, f1: u64, f2: u64, f3: u64, n: i32): i32 {
  let cur0 = alignedRuns(f0, n), cur1 = alignedRuns(f1, n), cur2 = alignedRuns(f2, n), cur3 = alignedRuns(f3, n);
  if ((cur0 | cur1 | cur2 | cur3) == 0) return -1;
  let m = n;
  // Within a word: blocks of m (< 64) whose 2m-buddy block is not entirely free.
  while (m < 64) {
    const am = alignMask(m << 1);
    const sh = <u64>m;
    const n0 = cur0 & (cur0 >> sh) & am;
    const n1 = cur1 & (cur1 >> sh) & am;
    const n2 = cur2 & (cur2 >> sh) & am;
    const n3 = cur3 & (cur3 >> sh) & am;
    const z0 = cur0 & ~(n0 | (n0 << sh));
    if (z0 != 0) return <i32>ctz(z0);
    const z1 = cur1 & ~(n1 | (n1 << sh));
    if (z1 != 0) return 64 + <i32>ctz(z1);
    const z2 = cur2 & ~(n2 | (n2 << sh));
    if (z2 != 0) return 128 + <i32>ctz(z2);
    const z3 = cur3 & ~(n3 | (n3 << sh));
    if (z3 != 0) return 192 + <i32>ctz(z3);
    cur0 = n0; cur1 = n1; cur2 = n2; cur3 = n3;
    m <<= 1;
  }
  // Word level: unit u = one fully free 64-bit word.
  let u: u32 = <u32>(cur0 & 1) | (<u32>(cur1 & 1) << 1) | (<u32>(cur2 & 1) << 2) | (<u32>(cur3 & 1) << 3);
  let um: u32 = 1; // block size in words
  while (um < 4) {
    const am: u32 = um == 1 ? 0x5 : 0x1;
    const nx: u32 = u & (u >> um) & am;
    const z: u32 = u & ~(nx | (nx << um));
    if (z != 0) return <i32>ctz(z) << 6;
    u = nx;
    um <<= 1;
  }
  return u != 0 ? 0 : -1;
}
