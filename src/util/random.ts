// Seeded pseudo-random numbers (mulberry32: small, well mixed, 32-bit state): the same seed gives
// the same workloads, traces and interleavings everywhere — benchmarks, fault injection, tests.

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded integers in [0, n): mulberry32 scaled, for code that picks indices and values. */
export function randomInts(seed: number): (n: number) => number {
  const r = mulberry32(seed);
  return (n: number) => Math.floor(r() * n);
}
