// The differential matrix run of test/alloc/differential.test.ts at fuzz length: the WASM engine and
// the TypeScript twin run the same seeded random traces and must agree on every outcome and on the
// counters after every operation; invariants (and the debugfs dumps) are sampled: on the CPUs an
// operation touched every `touchedEvery` operations, on all CPUs every `fullEvery` operations and at
// the end of each trace.

import type { Placement } from '../../../src/alloc/core.js';
import { createMatrix, type VectorMatrix } from '../../../src/alloc/matrix.js';
import { checkInvariants, noteSystemOverlap, touchedCpus, type InvariantContext } from '../../alloc/invariants.js';
import { apply, TraceGenerator } from '../../alloc/trace.js';

export interface MatrixFuzzOptions {
  ops: number;
  /** First trace seed; trace k uses seed + k. */
  seed: number;
  /** Invariants on all CPUs (and dumps compared) every this many operations; default 256. */
  fullEvery?: number;
  /** Invariants on the touched CPUs every this many operations; default 4. */
  touchedEvery?: number;
  onProgress?: (c: MatrixFuzzCounts) => void;
}

export interface MatrixFuzzCounts {
  ops: number;
  traces: number;
  fullChecks: number;
  /** The first disagreement or broken invariant (the run stops there), with the seed to replay. */
  failure: string | null;
}

const stringify = (v: unknown) => JSON.stringify(v);

async function trace(seed: number, cpus: number, ops: number, placement: Placement, every: number, touchedEvery: number, counts: MatrixFuzzCounts): Promise<void> {
  const opts = { cpus, placement, ...(seed % 3 !== 0 ? { preset: 'x86' as const } : {}) };
  const w: VectorMatrix = await createMatrix({ ...opts, engine: 'wasm' });
  const j: VectorMatrix = await createMatrix({ ...opts, engine: 'js' });
  const gen = new TraceGenerator(seed, cpus);
  const ctx: InvariantContext = { allowedSystemOverlap: new Set(), blocks: [] };
  for (let i = 0; i < ops; i++) {
    const o = gen.next();
    const a = apply(w, o);
    const b = apply(j, o);
    const where = `trace seed ${seed} (${cpus} CPUs, ${placement}) op ${i} ${stringify(o)}`;
    if (stringify(a) !== stringify(b)) throw new Error(`${where}: wasm ${stringify(a)} != js ${stringify(b)}`);
    noteSystemOverlap(w, o, a, ctx);
    gen.observe(o, a);
    const sa = stringify(w.stats());
    if (sa !== stringify(j.stats())) throw new Error(`${where}: stats differ ${sa} vs ${stringify(j.stats())}`);
    const blocks = gen.liveBlocks().filter((l) => !l.managed);
    const full = i % every === 0 || i === ops - 1;
    if (!full && i % touchedEvery !== 0) continue;
    const touched = full ? undefined : touchedCpus(o, a);
    try {
      checkInvariants(w, { ...ctx, blocks }, touched);
      checkInvariants(j, { ...ctx, blocks }, touched);
    } catch (e) {
      throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (full) {
      counts.fullChecks++;
      if (w.dump() !== j.dump()) throw new Error(`${where}: debugfs dumps differ`);
    }
  }
}

export async function runMatrixFuzz(o: MatrixFuzzOptions): Promise<MatrixFuzzCounts> {
  const counts: MatrixFuzzCounts = { ops: 0, traces: 0, fullChecks: 0, failure: null };
  for (let k = 0; counts.ops < o.ops; k++) {
    const seed = (o.seed + k) >>> 0;
    // As the CI differential: mostly small machines, every fifth trace 65..300 CPUs (several tree groups).
    const cpus = seed % 5 === 0 ? 65 + ((seed * 53) % 236) : 1 + ((seed * 37) % 64);
    const ops = Math.min(2500, o.ops - counts.ops);
    try {
      await trace(seed, cpus, ops, seed % 4 === 0 ? 'bestFit' : 'firstFit', o.fullEvery ?? 256, o.touchedEvery ?? 4, counts);
    } catch (e) {
      counts.failure = e instanceof Error ? e.message : String(e);
      return counts;
    }
    counts.ops += ops;
    counts.traces++;
    o.onProgress?.(counts);
  }
  return counts;
}
