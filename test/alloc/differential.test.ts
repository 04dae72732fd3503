// Differential test: the WASM engine and the TypeScript twin run the same random traces and must
// agree on every outcome, every counter and the debugfs dump; invariants are checked after each op.
// CI runs >= 1e5 ops; `npm run fuzz` sets FUZZ_OPS for a longer run.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMatrix, type VectorMatrix } from '../../src/alloc/matrix.js';
import type { Placement } from '../../src/alloc/core.js';
import { checkInvariants, noteSystemOverlap, touchedCpus, type InvariantContext } from './invariants.js';
import { apply, TraceGenerator } from './trace.js';

const TOTAL_OPS = Number(process.env.FUZZ_OPS ?? 100_000);

async function pair(cpus: number, placement: Placement, preset: boolean): Promise<[VectorMatrix, VectorMatrix]> {
  const opts = { cpus, placement, ...(preset ? { preset: 'x86' as const } : {}) };
  return [await createMatrix({ ...opts, engine: 'wasm' }), await createMatrix({ ...opts, engine: 'js' })];
}

/** Runs `ops` ops of a seeded trace on both engines; returns the number of ops run. */
async function runTrace(seed: number, cpus: number, ops: number, placement: Placement, checkEvery: number): Promise<number> {
  const [w, j] = await pair(cpus, placement, seed % 3 !== 0);
  const gen = new TraceGenerator(seed, cpus);
  const ctx: InvariantContext = { allowedSystemOverlap: new Set(), blocks: [] };
  for (let i = 0; i < ops; i++) {
    const o = gen.next();
    const a = apply(w, o);
    const b = apply(j, o);
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      throw new Error(`seed ${seed} op ${i} ${JSON.stringify(o)}: wasm ${JSON.stringify(a)} != js ${JSON.stringify(b)}`);
    }
    noteSystemOverlap(w, o, a, ctx);
    gen.observe(o, a);
    const sa = JSON.stringify(w.stats());
    const sb = JSON.stringify(j.stats());
    if (sa !== sb) throw new Error(`seed ${seed} op ${i} ${JSON.stringify(o)}: stats differ ${sa} vs ${sb}`);
    const blocks = gen.liveBlocks().filter((l) => !l.managed);
    const full = i % checkEvery === 0 || i === ops - 1;
    const touched = full ? undefined : touchedCpus(o, a);
    checkInvariants(w, { ...ctx, blocks }, touched);
    checkInvariants(j, { ...ctx, blocks }, touched);
    if (full && w.dump() !== j.dump()) throw new Error(`seed ${seed} op ${i}: dumps differ`);
  }
  return ops;
}

describe('wasm and js engines agree on random traces', () => {
  it(`runs ${TOTAL_OPS} ops over CPU counts 1..300 with invariants`, async () => {
    let done = 0;
    let seed = 1;
    const t0 = performance.now();
    while (done < TOTAL_OPS) {
      // Mostly small machines; every fifth trace 65..300 CPUs, so that the selection trees have
      // several groups (32 CPUs in the twin, 64 in WASM) and a partial last group.
      const cpus = seed % 5 === 0 ? 65 + ((seed * 53) % 236) : 1 + ((seed * 37) % 64);
      const ops = Math.min(2500, TOTAL_OPS - done);
      // Full invariant scans cost O(cpus * 256); do them densely on small machines.
      const every = cpus <= 8 ? 1 : cpus <= 24 ? 4 : cpus <= 64 ? 16 : 64;
      done += await runTrace(seed, cpus, ops, seed % 4 === 0 ? 'bestFit' : 'firstFit', every);
      seed++;
    }
    const ms = performance.now() - t0;
    console.log(`differential: ${done} ops in ${seed - 1} traces, ${ms.toFixed(0)} ms`);
    expect(done).toBe(TOTAL_OPS);
  });

  it('agrees on shrinkable fast-check traces with invariants after every op', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), async (seed, cpus, best) => {
        await runTrace(seed, cpus, 300, best ? 'bestFit' : 'firstFit', 1);
      }),
      { numRuns: 60 },
    );
  });

  it('agrees at 8192 CPUs on block allocation over all CPUs', async () => {
    const [w, j] = await pair(8192, 'firstFit', true);
    for (const m of [w, j]) for (let c = 0; c < 8192; c++) m.online(c);
    const sizes = [32, 16, 8, 1, 4, 2];
    for (let i = 0; i < 3000; i++) {
      const count = sizes[i % sizes.length]!;
      const a = w.allocBlock('0-8191', count);
      const b = j.allocBlock('0-8191', count);
      expect(a).toEqual(b);
    }
    expect(w.stats()).toEqual(j.stats());
  });
});
