// The kernel/irq/matrix.c reference ports — JS (src/alloc/kernel-reference.ts) and AssemblyScript
// (assembly/kernel/index.ts) — lib/bitmap.c search semantics, matrix.c behaviours, and differential
// agreement with the JS twin on random traces. The long traces against both engines are in
// kernel-differential.test.ts.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as S from '../../assembly/status.js';
import { JsMatrixCore } from '../../src/alloc/js-core.js';
import { findNextBit, findNextZeroArea, findNextZeroBit, KernelReference } from '../../src/alloc/kernel-reference.js';
import { compileKernelModule, WasmKernelReference } from '../../src/alloc/wasm/wasm-kernel.js';
import { makePort, maskWords, PORT_NAMES, type KernelPort, type PortName } from './kernel-ports.js';

const X86 = { bits: 256, start: 0x20, end: 0xeb };

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await compileKernelModule();
});

function words(nbits: number, set: number[]): Int32Array {
  const w = new Int32Array(Math.ceil(nbits / 32));
  for (const b of set) w[b >>> 5] = w[b >>> 5]! | (1 << (b & 31));
  return w;
}

const unsigned = (m: Int32Array) => new Uint32Array(m.buffer, m.byteOffset, m.length);

/** A port and the twin on the same geometry; `preset` adds the x86 system bits 0x32 and 0x80. */
function pair(port: PortName, cpus: number, preset: boolean): { ref: KernelPort; twin: JsMatrixCore } {
  const ref = makePort(port, module, cpus, X86.bits, X86.start, X86.end);
  const twin = new JsMatrixCore(cpus, X86.bits, X86.start, X86.end, S.POLICY_FIRST_FIT);
  if (preset) {
    for (const b of [0x32, 0x80]) {
      expect(ref.assignSystem(b, false)).toBe(S.OK);
      expect(twin.assignSystem(b, 0)).toBe(S.OK);
    }
  }
  return { ref, twin };
}

describe('lib/bitmap.c search helpers', () => {
  it('find_next_bit and find_next_zero_bit cross 32-bit word boundaries', () => {
    const map = words(96, [3, 40, 95]);
    expect(findNextBit(map, 96, 4)).toBe(40);
    expect(findNextBit(map, 96, 41)).toBe(95);
    expect(findNextBit(map, 95, 41)).toBe(95 /* = size: none below 95 */);
    const full = words(64, Array.from({ length: 40 }, (_, i) => i));
    expect(findNextZeroBit(full, 64, 0)).toBe(40);
    // Bit 31 (the sign bit of an Int32Array word) and an all-ones word.
    const top = words(96, [31, ...Array.from({ length: 32 }, (_, i) => 32 + i)]);
    expect(findNextBit(top, 96, 1)).toBe(31);
    expect(findNextZeroBit(top, 96, 31)).toBe(64);
    expect(findNextZeroBit(top, 64, 31)).toBe(64 /* = size */);
  });

  it('bitmap_find_next_zero_area rounds the start up to the alignment and restarts after a set bit', () => {
    // bits 0x20..0x2F taken, 0x32 taken: the first 16-aligned clear run of 16 from 0x20 is 0x40
    // (0x30 is rejected because 0x32 is set, the search restarts at 0x33 and aligns up to 0x40).
    const map = words(256, [...Array.from({ length: 16 }, (_, i) => 0x20 + i), 0x32]);
    expect(findNextZeroArea(map, 0xeb, 0x20, 16, 15)).toBe(0x40);
    expect(findNextZeroArea(map, 0xeb, 0x20, 1, 0)).toBe(0x30);
  });

  it('returns a value beyond size - nr when no area fits', () => {
    const map = words(256, []);
    expect(findNextZeroArea(map, 0xeb, 0xe0, 32, 31)).toBeGreaterThan(0xeb - 32);
  });
});

describe.each(PORT_NAMES)('matrix.c behaviours of the %s port', (port) => {
  it('online sets available = alloc_size - systembits_inalloc (0xEB - 0x20 - 2 = 201)', () => {
    const { ref } = pair(port, 2, true);
    expect(ref.online(0)).toBe(S.OK);
    expect(ref.cpuAvailable(0)).toBe(201);
    expect(ref.globalAvailable).toBe(201);
    expect(ref.online(0)).toBe(S.BUG_ONLINE_TWICE);
  });

  it('alloc picks the online CPU with the most available, the lowest on ties, and the lowest free bit', () => {
    const { ref } = pair(port, 3, true);
    for (const c of [0, 1, 2]) ref.online(c);
    expect(ref.alloc(maskWords(3, [0, 1, 2]), false)).toBe(0x20);
    expect(ref.lastCpu()).toBe(0);
    expect(ref.alloc(maskWords(3, [0, 1, 2]), false)).toBe(0x20);
    expect(ref.lastCpu()).toBe(1);
    expect(ref.alloc(maskWords(3, [0, 1]), false)).toBe(0x21);
    expect(ref.lastCpu()).toBe(0);
  });

  it('alloc with an empty mask is EINVAL and with no online CPU in the mask is ENOSPC', () => {
    const { ref } = pair(port, 2, true);
    ref.online(0);
    expect(ref.alloc(maskWords(2, []), false)).toBe(S.EINVAL);
    expect(ref.alloc(maskWords(2, [1]), false)).toBe(S.ENOSPC);
  });

  it('allocBlock 32 on an empty preset CPU lands at 0x40 (0x20-0x3F holds system bit 0x32)', () => {
    const { ref } = pair(port, 1, true);
    ref.online(0);
    expect(ref.allocBlock(maskWords(1, [0]), 32, false)).toBe(0x40);
    expect(ref.cpuAvailable(0)).toBe(201 - 32);
    expect(ref.allocBlock(maskWords(1, [0]), 32, false)).toBe(0x60);
    expect(ref.allocBlock(maskWords(1, [0]), 32, false)).toBe(0xa0);
    expect(ref.allocBlock(maskWords(1, [0]), 32, false)).toBe(0xc0);
    expect(ref.allocBlock(maskWords(1, [0]), 32, false)).toBe(S.ENOSPC);
  });

  it('allocBlock falls back to the next CPU in best-CPU order when the best one has no aligned run', () => {
    const { ref } = pair(port, 3, true);
    for (const c of [0, 1, 2]) ref.online(c);
    const all = maskWords(3, [0, 1, 2]);
    // Fragment CPU 0 (most available after this): one single in each 32-window it could use.
    for (const b of [0x40, 0x60, 0xa0, 0xc0]) expect(ref.assign(0, b)).toBe(S.OK);
    for (let i = 0; i < 10; i++) expect(ref.assign(1, 0x20 + i)).toBe(S.OK); // CPU 1: 191 available
    for (let i = 0; i < 12; i++) expect(ref.assign(2, 0x20 + i)).toBe(S.OK); // CPU 2: 189 available
    expect(ref.allocBlock(all, 32, false)).toBe(0x40);
    expect(ref.lastCpu()).toBe(1 /* CPU 0 (197 available) has no free 32-aligned run */);
  });

  it('freeBlock refuses a block that is not wholly allocated and leaves the map unchanged', () => {
    const { ref } = pair(port, 1, true);
    ref.online(0);
    expect(ref.allocBlock(maskWords(1, [0]), 4, false)).toBe(0x20);
    expect(ref.freeBlock(0, 0x20, 8)).toBe(S.WARN_FREE_NOT_ALLOCATED);
    expect(ref.allocWord(0, 1)).toBe(0x0000000f /* bits 0x20-0x23 */);
    expect(ref.freeBlock(0, 0x20, 4)).toBe(S.OK);
    expect(ref.cpuAvailable(0)).toBe(201);
  });
});

describe('the two ports as objects', () => {
  it('refuse the same geometries with the same MatrixError', () => {
    for (const make of [(c: number, b?: number, s?: number, e?: number) => new KernelReference(c, b, s, e), (c: number, b?: number, s?: number, e?: number) => new WasmKernelReference(c, b, s, e, module)]) {
      expect(() => make(0)).toThrow(/cpus must be 1\.\.8192/);
      expect(() => make(8193)).toThrow(/cpus must be/);
      expect(() => make(4, 257)).toThrow(/matrix_bits/);
      expect(() => make(4, 256, 0x20, 0x101)).toThrow(/does not fit/);
      expect(() => make(4, 256, 0x40, 0x40)).toThrow(/does not fit/);
      expect(make(8192).cpuAvailable(8191)).toBe(0);
    }
  });

  it('ignore mask bits at or above the CPU count (an otherwise empty mask is EINVAL)', () => {
    for (const port of PORT_NAMES) {
      const ref = makePort(port, module, 33);
      ref.online(32);
      const m = new Int32Array(2);
      m[1] = -2; // CPUs 33..63: none exists
      expect(ref.alloc(m, false)).toBe(S.EINVAL);
      m[1] = -1; // and CPU 32
      expect(ref.alloc(m, false)).toBe(0x20);
      expect(ref.lastCpu()).toBe(32);
    }
  });

  it('the AssemblyScript port runs a batch as it runs single calls, and reports [status, cpu]', () => {
    const k = new WasmKernelReference(70, 256, 0x20, 0xeb, module);
    for (let c = 0; c < 70; c++) k.online(c);
    k.writeMask(0, maskWords(70, [3, 40, 69]));
    k.writeMask(1, new Uint32Array([0, 0, 0x20, 0])); // CPU 69 as an unsigned word
    const ops = Int32Array.from([
      S.OP_ALLOC, 0, 0, 0,
      S.OP_ALLOC_BLOCK, 1, 32, 0,
      S.OP_FREE, 3, 0x20, 0,
      S.OP_FREE_BLOCK, 69, 0x20, 32,
      S.OP_FREE, 3, 0x20, 0,
      S.OP_ALLOC_MANAGED, 0, 0, 0,
      S.OP_ALLOC_BLOCK, 0, 3, 0,
    ]);
    const res = new Int32Array(14);
    k.runBatch(ops, res);
    expect(Array.from(res)).toEqual([0x20, 3, 0x20, 69, S.OK, 3, S.OK, 69, S.WARN_FREE_NOT_ALLOCATED, 3, S.EINVAL, -1, S.EINVAL, -1]);
    expect(k.globalAvailable).toBe(70 * 0xcb);
    expect(() => k.writeMask(S.MASK_SLOTS, new Int32Array(4))).toThrow(RangeError);
    expect(() => k.runBatch(new Int32Array((S.MAX_BATCH + 1) * 4), new Int32Array(2))).toThrow(RangeError);
  });

  it('allocWord: unsigned words, 0 outside 0..7, MatrixError for a CPU that does not exist', () => {
    for (const port of PORT_NAMES) {
      const ref = makePort(port, module, 1);
      ref.online(0);
      for (let b = 0xc0; b < 0xe0; b++) expect(ref.assign(0, b)).toBe(S.OK);
      expect(ref.allocWord(0, 6)).toBe(0xffffffff);
      expect(ref.allocWord(0, 8)).toBe(0);
      expect(ref.allocWord(0, -1)).toBe(0);
      expect(() => ref.allocWord(1, 0)).toThrow(/CPU 1/);
      expect(ref.freeBlock(0, 0xc0, 32)).toBe(S.OK);
      expect(ref.allocWord(0, 6)).toBe(0);
    }
  });
});

type SingleOp =
  | { k: 'online' | 'offline'; cpu: number }
  | { k: 'alloc'; mask: number[]; reserved: boolean }
  | { k: 'freeLive'; pick: number }
  | { k: 'freeAny'; cpu: number; bit: number }
  | { k: 'reserve' };

type BlockOp = SingleOp | { k: 'block'; mask: number[]; order: number } | { k: 'freeBlockLive'; pick: number };

function singleOpArb(cpus: number): fc.Arbitrary<SingleOp> {
  const cpu = fc.integer({ min: 0, max: cpus - 1 });
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ k: fc.constant('online' as const), cpu }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('offline' as const), cpu }) },
    { weight: 8, arbitrary: fc.record({ k: fc.constant('alloc' as const), mask: fc.uniqueArray(cpu, { maxLength: cpus }), reserved: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ k: fc.constant('freeLive' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('freeAny' as const), cpu, bit: fc.integer({ min: 0, max: 255 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('reserve' as const) }) },
  );
}

function blockOpArb(cpus: number): fc.Arbitrary<BlockOp> {
  const cpu = fc.integer({ min: 0, max: cpus - 1 });
  return fc.oneof(
    { weight: 4, arbitrary: singleOpArb(cpus) as fc.Arbitrary<BlockOp> },
    { weight: 6, arbitrary: fc.record({ k: fc.constant('block' as const), mask: fc.uniqueArray(cpu, { minLength: 1, maxLength: cpus }), order: fc.integer({ min: 0, max: 5 }) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('freeBlockLive' as const), pick: fc.nat() }) },
  );
}

interface Live { cpu: number; base: number; count: number }

/** Runs one op on both; returns [reference outcome, twin outcome] as comparable strings. */
function step(ref: KernelPort, twin: JsMatrixCore, cpus: number, op: BlockOp, live: Live[]): [string, string] {
  const both = (a: number, b: number, cpuA = -1, cpuB = -1) => [`${a}@${cpuA}`, `${b}@${cpuB}`] as [string, string];
  switch (op.k) {
    case 'online': return both(ref.online(op.cpu), twin.online(op.cpu));
    case 'offline': return both(ref.offline(op.cpu), twin.offline(op.cpu));
    case 'reserve': return both(ref.reserve(), twin.reserve());
    case 'alloc': {
      const m = maskWords(cpus, op.mask);
      twin.writeMask(0, unsigned(m));
      const a = ref.alloc(m, op.reserved);
      const b = twin.alloc(0, op.reserved ? 1 : 0);
      if (a >= 0) live.push({ cpu: ref.lastCpu(), base: a, count: 1 });
      return both(a, b, a >= 0 ? ref.lastCpu() : -1, b >= 0 ? twin.lastCpu() : -1);
    }
    case 'block': {
      const m = maskWords(cpus, op.mask);
      twin.writeMask(0, unsigned(m));
      const count = 1 << op.order;
      const a = ref.allocBlock(m, count, false);
      const b = twin.allocBlock(0, count, 0);
      if (a >= 0) live.push({ cpu: ref.lastCpu(), base: a, count });
      return both(a, b, a >= 0 ? ref.lastCpu() : -1, b >= 0 ? twin.lastCpu() : -1);
    }
    case 'freeLive':
    case 'freeBlockLive': {
      if (live.length === 0) return ['none', 'none'];
      const [l] = live.splice(op.pick % live.length, 1);
      if (op.k === 'freeLive' || l!.count === 1) return both(ref.free(l!.cpu, l!.base, false), twin.free(l!.cpu, l!.base, 0));
      return both(ref.freeBlock(l!.cpu, l!.base, l!.count), twin.freeBlock(l!.cpu, l!.base, l!.count));
    }
    case 'freeAny': {
      const a = ref.free(op.cpu, op.bit, false);
      const b = twin.free(op.cpu, op.bit, 0);
      if (a === S.OK) live.splice(live.findIndex((l) => l.cpu === op.cpu && l.base === op.bit && l.count === 1) >>> 0, 1);
      return both(a, b);
    }
  }
}

function state(x: KernelPort | JsMatrixCore, cpus: number): string {
  const parts: number[] = [];
  const isRef = !(x instanceof JsMatrixCore);
  parts.push(
    isRef ? x.globalAvailable : x.globalAvailable(),
    isRef ? x.totalAllocated : x.totalAllocated(),
    isRef ? x.globalReserved : x.globalReserved(),
    isRef ? x.onlineMaps : x.onlineMaps(),
  );
  for (let c = 0; c < cpus; c++) {
    parts.push(x.cpuAvailable(c), x.cpuAllocated(c));
    for (let i = 0; i < 8; i++) parts.push(x.allocWord(c, i) >>> 0);
  }
  return parts.join(',');
}

function agree(port: PortName, cpus: number, preset: boolean, ops: BlockOp[]): void {
  const { ref, twin } = pair(port, cpus, preset);
  const live: Live[] = [];
  ops.forEach((op, i) => {
    const [a, b] = step(ref, twin, cpus, op, live);
    if (a !== b) throw new Error(`op ${i} ${JSON.stringify(op)}: reference ${a} != twin ${b}`);
    const sa = state(ref, cpus);
    const sb = state(twin, cpus);
    if (sa !== sb) throw new Error(`op ${i} ${JSON.stringify(op)}: states differ`);
  });
}

describe.each(PORT_NAMES)('differential: the %s port agrees with the JS twin', (port) => {
  it('on random single-allocation traces (alloc/free/online/offline/reserve), op by op and map by map', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((cpus) => fc.tuple(fc.constant(cpus), fc.array(singleOpArb(cpus), { minLength: 50, maxLength: 400 }))),
        fc.boolean(),
        ([cpus, ops], preset) => agree(port, cpus, preset, ops),
      ),
      { numRuns: 120 },
    );
  });

  it('on random block traces: same CPU and base for every block that fits, ENOSPC together otherwise', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }).chain((cpus) => fc.tuple(fc.constant(cpus), fc.array(blockOpArb(cpus), { minLength: 50, maxLength: 500 }))),
        fc.boolean(),
        ([cpus, ops], preset) => agree(port, cpus, preset, ops),
      ),
      { numRuns: 120 },
    );
  });

  it('at 70 CPUs (masks spanning three words), where the CPUs with the most available have no large run', () => {
    const cpus = 70;
    const { ref, twin } = pair(port, cpus, true);
    for (let c = 0; c < cpus; c++) {
      ref.online(c);
      twin.online(c);
      // Every third CPU: one single in each 8-window (about 178 available, no free run above 4);
      // the others: their lowest 20 + c bits taken (fewer available, large runs left at the top).
      const bits = c % 3 === 0
        ? Array.from({ length: 25 }, (_, k) => 0x20 + 8 * k + (c % 8)).filter((b) => b < 0xeb)
        : Array.from({ length: 20 + c }, (_, k) => 0x20 + k);
      for (const b of bits) {
        if (b === 0x32 || b === 0x80) continue;
        expect(ref.assign(c, b)).toBe(twin.assign(c, b));
      }
    }
    const all = Array.from({ length: cpus }, (_, c) => c);
    const live: Live[] = [];
    for (let i = 0; i < 600; i++) {
      const op: BlockOp = i % 3 === 2 ? { k: 'freeBlockLive', pick: i * 7 } : { k: 'block', mask: all, order: i % 6 };
      const [a, b] = step(ref, twin, cpus, op, live);
      expect(a).toBe(b);
    }
    expect(state(ref, cpus)).toBe(state(twin, cpus));
  });
});
