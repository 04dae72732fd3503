// Sample statistics for benchmark results: medians with min/max over pooled samples, ratios of
// medians and geometric means. Plain functions; no timing happens here.

export interface Summary {
  /** Median of the pooled samples, ns per operation. */
  medianNs: number;
  minNs: number;
  maxNs: number;
  /** Number of pooled samples (tinybench iterations over all rounds). */
  samples: number;
}

/** Linear-interpolated quantile of an ascending array (q in 0..1). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile of an empty sample');
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return { medianNs: quantileSorted(s, 0.5), minNs: s[0]!, maxNs: s[s.length - 1]!, samples: s.length };
}

/** How many times faster `fast` is than `slow` (ratio of medians), or null when either is missing. */
export function speedup(slow: Summary | undefined, fast: Summary | undefined): number | null {
  if (!slow || !fast || fast.medianNs <= 0) return null;
  return slow.medianNs / fast.medianNs;
}

export function geomean(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

/** Formats a ratio as "12.3×" (or "n/a"). */
export function fmtRatio(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
}

/** Formats nanoseconds with a unit that keeps 3 significant digits. */
export function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${ns.toPrecision(3)} ns`;
}
