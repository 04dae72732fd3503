// Device arrivals and departures for the fragmentation benchmark. Arrivals happen while the vectors
// held are below the target load, departures (a random live device) otherwise; the i-th arrival asks
// for the same block size under every policy (sizes and departures come from separate seeded streams).

import { newCounts, type SizeCounts } from './packing.js';
import type { Grant, Policy } from './policies.js';
import { mulberry32 } from '../../src/util/random.js';

/** Request mix: [size, weight]. Many singles, NVMe-like 32s, 8s and 16s, a few 2s and 4s. */
export const SIZE_MIX: ReadonlyArray<readonly [number, number]> = [[1, 50], [2, 5], [4, 5], [8, 12], [16, 10], [32, 18]];

export interface WorkloadConfig {
  cpus: number;
  /** Target fraction of the policy's own capacity held by live devices. */
  load: number;
  events: number;
  /** Events before statistics start (the fill from empty). */
  warmup: number;
  /** Events between time-series samples. */
  sampleEvery: number;
  seed: number;
}

export interface SizeStats {
  arrivals: number;
  full: number;
}

export interface WorkloadStats {
  policy: string;
  capacity: number;
  arrivals: number;
  /** Requests of size >= 2. */
  blockArrivals: number;
  /** Granted in full. */
  full: number;
  blockFull: number;
  /** Granted with fewer vectors than asked (policies that halve). */
  partial: number;
  /** Not granted in full although a re-packing of the live blocks would have made room. */
  fragmentationFailures: number;
  /** Not granted in full and no re-packing could make room. */
  capacityFailures: number;
  bySize: Record<number, SizeStats>;
  /** Mean of the per-CPU mean largest free aligned block over the samples (null: not defined). */
  meanLargestFree: number | null;
  /** Mean fraction of capacity held during the measured events. */
  meanLoad: number;
  series: Array<{ event: number; blockSuccess: number | null; meanLargestFree: number | null; load: number }>;
}

function sizeSampler(rnd: () => number): () => number {
  const total = SIZE_MIX.reduce((a, [, w]) => a + w, 0);
  return () => {
    let r = rnd() * total;
    for (const [s, w] of SIZE_MIX) if ((r -= w) < 0) return s;
    return SIZE_MIX[SIZE_MIX.length - 1]![0];
  };
}

/** Runs the workload on the policy made by `make`, which may read the live block counts. */
export function simulate(cfg: WorkloadConfig, make: (live: () => SizeCounts) => Policy): WorkloadStats {
  const live = newCounts();
  const policy = make(() => live);
  const capacity = policy.model.capacity;
  const nextSize = sizeSampler(mulberry32(cfg.seed));
  const pick = mulberry32(cfg.seed ^ 0x9e3779b9);
  const devices: Grant[] = [];
  let used = 0;
  const st: WorkloadStats = {
    policy: policy.name, capacity, arrivals: 0, blockArrivals: 0, full: 0, blockFull: 0, partial: 0,
    fragmentationFailures: 0, capacityFailures: 0, bySize: {}, meanLargestFree: null, meanLoad: 0, series: [],
  };
  for (const [s] of SIZE_MIX) st.bySize[s] = { arrivals: 0, full: 0 };
  let winArr = 0;
  let winFull = 0;
  let loadSum = 0;
  let largestSum = 0;
  let largestN = 0;
  for (let e = 0; e < cfg.events; e++) {
    const measuring = e >= cfg.warmup;
    if (used < cfg.load * capacity || devices.length === 0) {
      const size = nextSize();
      const room = policy.model.fits(live, size);
      const g = policy.alloc(size);
      if (g) {
        devices.push(g);
        live[g.count]!++;
        used += g.count;
      }
      if (measuring) {
        const ok = g !== null && g.count === size;
        st.arrivals++;
        st.bySize[size]!.arrivals++;
        if (ok) {
          st.full++;
          st.bySize[size]!.full++;
        } else if (room) st.fragmentationFailures++;
        else st.capacityFailures++;
        if (g && !ok) st.partial++;
        if (size > 1) {
          st.blockArrivals++;
          winArr++;
          if (ok) {
            st.blockFull++;
            winFull++;
          }
        }
      }
    } else {
      const i = Math.floor(pick() * devices.length);
      const g = devices[i]!;
      devices[i] = devices[devices.length - 1]!;
      devices.pop();
      policy.release(g);
      live[g.count]!--;
      used -= g.count;
    }
    if (measuring) loadSum += used / capacity;
    if (measuring && (e - cfg.warmup) % cfg.sampleEvery === cfg.sampleEvery - 1) {
      const largest = policy.meanLargestFree();
      if (largest !== null) {
        largestSum += largest;
        largestN++;
      }
      st.series.push({ event: e + 1, blockSuccess: winArr ? winFull / winArr : null, meanLargestFree: largest, load: used / capacity });
      winArr = 0;
      winFull = 0;
    }
  }
  st.meanLargestFree = largestN ? largestSum / largestN : null;
  st.meanLoad = loadSum / Math.max(1, cfg.events - cfg.warmup);
  return st;
}
