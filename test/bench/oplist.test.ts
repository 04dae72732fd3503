// Benchmark operation lists (bench/lib/oplist.ts) and fixtures (bench/lib/fixture.ts): the lists
// leave the matrix exactly as they found it and give the same results on every engine.

import { beforeAll, describe, expect, it } from 'vitest';
import * as S from '../../assembly/status.js';
import { createFixture, fillBits, maskCpus, scatteredBits, SLOT, type Fixture } from '../../bench/lib/fixture.js';
import { churnList, pairList, runJs, runKernel, runWasm, verifyList } from '../../bench/lib/oplist.js';
import { quantileSorted, summarize, speedup } from '../../bench/lib/stats.js';
import { compileMatrixModule } from '../../src/alloc/matrix.js';

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await compileMatrixModule();
});

function snapshot(fx: Fixture): string {
  const parts: number[] = [fx.js.globalAvailable(), fx.js.totalAllocated(), fx.wasm.globalAvailable(), fx.kernel.globalAvailable];
  for (let c = 0; c < fx.cpus; c++) {
    parts.push(fx.js.cpuAvailable(c), fx.wasm.cpuAvailable(c), fx.kernel.cpuAvailable(c));
    for (let w = 0; w < 8; w++) parts.push(fx.js.allocWord(c, w), fx.wasm.allocWord(c, w), fx.kernel.allocWord(c, w));
  }
  return parts.join(',');
}

describe('fixtures', () => {
  it('fill puts singles at the lowest vectors, skipping the system bits 0x32 and 0x80', () => {
    const bits = fillBits(100);
    expect(bits.length).toBe(100);
    expect(bits[0]).toBe(0x20);
    expect(bits.includes(0x32) || bits.includes(0x80)).toBe(false);
    expect(bits[bits.length - 1]).toBe(0x20 + 100 - 1 + 2 /* 100 vectors from 0x20, two system bits skipped = 0x85 */);
  });

  it('builds the same state in the three engines: load 50 % = round(100.5) = 101 singles, 100 available', () => {
    const fx = createFixture(module, 70, 0.5);
    expect(fx.filledPerCpu).toBe(101);
    expect(fx.js.cpuAvailable(69)).toBe(201 - 101);
    expect(fx.kernel.cpuAvailable(0)).toBe(201 - 101);
    const words = (c: number) => Array.from({ length: 8 }, (_, w) => [fx.js.allocWord(c, w), fx.wasm.allocWord(c, w), fx.kernel.allocWord(c, w)]);
    for (const c of [0, 31, 32, 69]) for (const [a, b, k] of words(c)) expect(new Set([a, b, k]).size).toBe(1);
  });

  it('names the middle CPU, the 64-CPU node around it and all CPUs', () => {
    const m = maskCpus(1024);
    expect(m.one).toEqual([512]);
    expect(m.node[0]).toBe(512);
    expect(m.node.length).toBe(64);
    expect(maskCpus(8).node).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('scatters singles deterministically per CPU and fills every 64th CPU low', () => {
    expect(scatteredBits(100, 5)).toEqual(scatteredBits(100, 5));
    expect(scatteredBits(100, 5)).not.toEqual(scatteredBits(100, 6));
    const fx = createFixture(module, 64, 0.5, 'scattered');
    expect(fx.js.cpuLargestFree(63)).toBe(32);
    expect(fx.js.cpuLargestFree(0)).toBeLessThan(16);
  });
});

describe('operation lists', () => {
  it('alloc/free pairs repeat the same result and restore the state on every engine', () => {
    const fx = createFixture(module, 40, 0.5);
    const before = snapshot(fx);
    const list = pairList(fx, SLOT.all, 0, 8);
    expect(list.n).toBe(16);
    expect(list.outcome).toBe('ok');
    expect(list.expected[0]).toBe(0x20 + 101 + 2 /* 0x87: above 101 singles and the two system bits */);
    expect(list.expected[2 * 2]).toBe(list.expected[0]);
    verifyList(fx, list);
    runWasm(fx.wasm, list.ops, list.n);
    runJs(fx.js, list.ops, list.n);
    runKernel(fx.kernel, fx.masks, list.ops, list.n);
    expect(snapshot(fx)).toBe(before);
  });

  it('a block that fits nowhere makes an all-ENOSPC list that changes nothing', () => {
    const fx = createFixture(module, 8, 0.9);
    const list = pairList(fx, SLOT.all, 32, 4);
    expect(list.outcome).toBe('enospc');
    expect(Array.from(list.expected.filter((_, i) => i % 2 === 0))).toEqual([S.ENOSPC, S.ENOSPC, S.ENOSPC, S.ENOSPC]);
    verifyList(fx, list);
  });

  it('a churn trace mixes allocations and frees and ends where it began', () => {
    const fx = createFixture(module, 24, 0.5);
    const before = snapshot(fx);
    const list = churnList(fx, SLOT.node, 300, 7);
    const codes = new Set(Array.from(list.ops.filter((_, i) => i % 4 === 0)));
    expect([...codes].sort()).toEqual([S.OP_ALLOC, S.OP_FREE, S.OP_ALLOC_BLOCK, S.OP_FREE_BLOCK].sort());
    expect(snapshot(fx)).toBe(before);
    verifyList(fx, list);
    expect(snapshot(fx)).toBe(before);
  });
});

describe('statistics', () => {
  it('interpolates the median and reports min, max and count', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(summarize([5, 1, 3])).toEqual({ medianNs: 3, minNs: 1, maxNs: 5, samples: 3 });
    expect(speedup({ medianNs: 100, minNs: 0, maxNs: 0, samples: 1 }, { medianNs: 10, minNs: 0, maxNs: 0, samples: 1 })).toBe(10);
  });
});
