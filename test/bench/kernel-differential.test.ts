// Long seeded traces on four implementations at once — the engines (createMatrix 'wasm' and 'js') and
// the two ports of matrix.c's algorithm (JS and AssemblyScript) — compared op for op: status, CPU,
// counters and the touched CPU's map after every op, the whole state every few thousand ops. The AS
// port then replays the same trace through runBatch on a fresh instance and must end identical.

import { beforeAll, describe, expect, it } from 'vitest';
import * as S from '../../assembly/status.js';
import type { MatrixCore } from '../../src/alloc/core.js';
import { KernelReference } from '../../src/alloc/kernel-reference.js';
import { compileMatrixModule, createMatrixSync } from '../../src/alloc/matrix.js';
import { compileKernelModule, WasmKernelReference } from '../../src/alloc/wasm/wasm-kernel.js';
import { mulberry32 } from '../../src/util/random.js';

let matrixModule: WebAssembly.Module;
let kernelModule: WebAssembly.Module;
beforeAll(async () => {
  [matrixModule, kernelModule] = await Promise.all([compileMatrixModule(), compileKernelModule()]);
});

/** Mask slots every implementation holds (the AS port and the engines in their memory). */
const PALETTE = Math.min(8, S.MASK_SLOTS);

interface Geometry {
  cpus: number;
  bits: number;
  start: number;
  end: number;
  system: number[];
  ops: number;
  seed: number;
  /** Singles assigned at random vectors on every online CPU first: equal available, fragmented maps. */
  scatter?: number;
}

/** One event of a trace, kept for the batch replay. */
type Event =
  | { t: 'op'; op: [number, number, number, number]; want: [number, number] }
  | { t: 'online' | 'offline'; cpu: number }
  | { t: 'assign'; cpu: number; bit: number }
  | { t: 'reserve' | 'unreserve' }
  | { t: 'mask'; slot: number; words: Int32Array };

interface Live { cpu: number; base: number; count: number }

class Trace {
  readonly rnd: () => number;
  readonly wasm: MatrixCore;
  readonly js: MatrixCore;
  readonly kjs: KernelReference;
  readonly kwasm: WasmKernelReference;
  readonly masks: Int32Array[] = [];
  readonly events: Event[] = [];
  readonly live: Live[] = [];
  /** Successful allocBlocks that went to a CPU with less available than the best (sorted fallback). */
  fallbacks = 0;
  /** ... to a CPU tied with the best, not the lowest of them (the lazy fallback over ties). */
  tiedFallbacks = 0;
  blocks = 0;
  enospc = 0;

  constructor(readonly g: Geometry) {
    this.rnd = mulberry32(g.seed);
    const opts = { cpus: g.cpus, bits: g.bits, start: g.start, end: g.end };
    this.wasm = createMatrixSync({ ...opts, engine: 'wasm' }, matrixModule).core;
    this.js = createMatrixSync({ ...opts, engine: 'js' }).core;
    this.kjs = new KernelReference(g.cpus, g.bits, g.start, g.end);
    this.kwasm = new WasmKernelReference(g.cpus, g.bits, g.start, g.end, kernelModule);
    for (const b of g.system) this.same(`system ${b}`, this.wasm.assignSystem(b, 0), this.js.assignSystem(b, 0), this.kjs.assignSystem(b, false), this.kwasm.assignSystem(b, 0));
    for (let s = 0; s < PALETTE; s++) this.setMask(s, this.randomMask(s));
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  same(what: string, ...v: number[]): number {
    if (v.some((x) => x !== v[0])) throw new Error(`${this.g.cpus} CPUs, ${what}: wasm ${v[0]}, js ${v[1]}, kernel js ${v[2]}, kernel wasm ${v[3]}`);
    return v[0]!;
  }

  /** Slot 0 all CPUs; then contiguous ranges, random sets of several densities, one CPU, maybe empty. */
  randomMask(slot: number): Int32Array {
    const n = this.g.cpus;
    const m = new Int32Array(Math.ceil(n / 64) * 2);
    const set = (c: number) => (m[c >>> 5]! |= 1 << (c & 31));
    const kind = slot % 8;
    if (kind === 0) for (let c = 0; c < n; c++) set(c);
    else if (kind === 1 || kind === 5) {
      // kind 5 straddles a 32/64-CPU word boundary when there is one
      const a = kind === 5 && n > 40 ? 32 * (1 + this.int(Math.floor((n - 1) / 32))) - 1 - this.int(8) : this.int(n);
      const len = 1 + this.int(Math.min(n - Math.max(a, 0), kind === 5 ? 70 : n));
      for (let c = Math.max(a, 0); c < Math.min(n, a + len); c++) set(c);
    } else if (kind === 4) set(this.int(n));
    else {
      const p = kind === 2 ? 0.5 : kind === 3 ? Math.min(1, 2 / n) : kind === 6 ? 0.9 : this.rnd() < 0.3 ? 0 : 0.2;
      for (let c = 0; c < n; c++) if (this.rnd() < p) set(c);
      if (kind === 3) set(this.int(n));
    }
    return m;
  }

  setMask(slot: number, words: Int32Array): void {
    this.masks[slot] = words;
    const u = new Uint32Array(words.buffer, words.byteOffset, words.length);
    this.wasm.writeMask(slot, u);
    this.js.writeMask(slot, u);
    this.kwasm.writeMask(slot, slot % 2 === 0 ? words : u); // both element types
    this.events.push({ t: 'mask', slot, words });
  }

  /** Drops [base, base+count) on `cpu` from the live list; parts of larger entries stay as singles. */
  forget(cpu: number, base: number, count: number): void {
    for (let i = this.live.length - 1; i >= 0; i--) {
      const l = this.live[i]!;
      if (l.cpu !== cpu || l.base + l.count <= base || l.base >= base + count) continue;
      this.live.splice(i, 1);
      for (let b = l.base; b < l.base + l.count; b++) if (b < base || b >= base + count) this.live.push({ cpu, base: b, count: 1 });
    }
  }

  /** An op of the batch format on the four; returns [status, cpu]. */
  batchOp(code: number, a: number, b: number, c: number): [number, number] {
    const isAlloc = code === S.OP_ALLOC || code === S.OP_ALLOC_BLOCK;
    const res: Array<[number, number]> = [];
    for (const impl of [this.wasm, this.js] as const) {
      const st = code === S.OP_ALLOC ? impl.alloc(a, b) : code === S.OP_FREE ? impl.free(a, b, c) : code === S.OP_ALLOC_BLOCK ? impl.allocBlock(a, b, c) : impl.freeBlock(a, b, c);
      res.push([st, isAlloc ? (st >= 0 ? impl.lastCpu() : -1) : a]);
    }
    {
      const k = this.kjs;
      const st = code === S.OP_ALLOC ? k.alloc(this.masks[a]!, b !== 0) : code === S.OP_FREE ? k.free(a, b, c !== 0) : code === S.OP_ALLOC_BLOCK ? k.allocBlock(this.masks[a]!, b, c !== 0) : k.freeBlock(a, b, c);
      res.push([st, isAlloc ? (st >= 0 ? k.lastCpu() : -1) : a]);
    }
    {
      const k = this.kwasm;
      const st = code === S.OP_ALLOC ? k.alloc(a, b) : code === S.OP_FREE ? k.free(a, b, c) : code === S.OP_ALLOC_BLOCK ? k.allocBlock(a, b, c) : k.freeBlock(a, b, c);
      res.push([st, isAlloc ? (st >= 0 ? k.lastCpu() : -1) : a]);
    }
    const what = `op [${code},${a},${b},${c}]`;
    const st = this.same(`${what} status`, ...res.map((r) => r[0]));
    const cpu = this.same(`${what} cpu`, ...res.map((r) => r[1]));
    this.events.push({ t: 'op', op: [code, a, b, c], want: [st, cpu] });
    return [st, cpu];
  }

  /** [most available, lowest CPU with it] among the online CPUs of the mask (before an allocBlock). */
  bestAvailable(slot: number): [number, number] {
    let best = -1;
    let at = -1;
    const m = this.masks[slot]!;
    for (let c = 0; c < this.g.cpus; c++) {
      if (((m[c >>> 5]! >>> (c & 31)) & 1) === 0 || (this.js.cpuFlags(c) & 1) === 0) continue;
      if (this.js.cpuAvailable(c) > best) [best, at] = [this.js.cpuAvailable(c), c];
    }
    return [best, at];
  }

  step(fill: boolean): number {
    const n = this.g.cpus;
    const r = this.rnd();
    const anyCpu = () => (this.rnd() < 0.02 ? (this.rnd() < 0.5 ? n : -1) : this.int(n));
    if (r < 0.04) {
      const cpu = anyCpu();
      const off = this.rnd() < 0.4;
      this.same(`${off ? 'offline' : 'online'} ${cpu}`, ...[this.wasm, this.js, this.kjs, this.kwasm].map((x) => (off ? x.offline(cpu) : x.online(cpu))));
      this.events.push({ t: off ? 'offline' : 'online', cpu });
      return cpu;
    }
    if (r < 0.06) {
      const un = this.rnd() < 0.4;
      this.same(un ? 'removeReserved' : 'reserve', ...[this.wasm, this.js, this.kjs, this.kwasm].map((x) => (un ? x.removeReserved() : x.reserve())));
      this.events.push({ t: un ? 'unreserve' : 'reserve' });
      return -1;
    }
    if (r < 0.09) {
      // Scattered singles (as irq_matrix_assign of legacy vectors would leave): fragment the maps.
      const cpu = this.int(n);
      const bit = this.int(this.g.bits);
      const st = this.same(`assign ${cpu} ${bit}`, this.wasm.assign(cpu, bit), this.js.assign(cpu, bit), this.kjs.assign(cpu, bit), this.kwasm.assign(cpu, bit));
      if (st === S.OK) this.live.push({ cpu, base: bit, count: 1 });
      this.events.push({ t: 'assign', cpu, bit });
      return cpu;
    }
    if (r < 0.1) {
      const cpu = this.int(n);
      const down = this.rnd() < 0.5;
      this.same(`available ${down} ${cpu}`, this.wasm.available(down ? 1 : 0, cpu), this.js.available(down ? 1 : 0, cpu), this.kjs.available(down, cpu), this.kwasm.available(down ? 1 : 0, cpu));
      return cpu;
    }
    const allocShare = fill ? 0.7 : 0.3;
    if (r < 0.1 + 0.9 * allocShare) {
      const slot = this.int(PALETTE);
      const reserved = this.rnd() < 0.05 ? 1 : 0;
      if (this.rnd() < 0.4) {
        const [st, cpu] = this.batchOp(S.OP_ALLOC, slot, reserved, 0);
        if (st >= 0) this.live.push({ cpu, base: st, count: 1 });
        return cpu;
      }
      const count = this.rnd() < 0.03 ? [0, 3, 64, -1][this.int(4)]! : 1 << this.int(6);
      const [best, at] = this.bestAvailable(slot);
      const [st, cpu] = this.batchOp(S.OP_ALLOC_BLOCK, slot, count, reserved);
      if (st >= 0) {
        this.blocks++;
        if (this.js.cpuAvailable(cpu) + count < best) this.fallbacks++;
        else if (cpu !== at) this.tiedFallbacks++;
        this.live.push({ cpu, base: st, count });
      } else if (st === S.ENOSPC) this.enospc++;
      return cpu;
    }
    const q = this.rnd();
    if (q < 0.8 && this.live.length > 0) {
      const i = this.int(this.live.length);
      const l = this.live[i]!;
      const single = l.count === 1 && this.rnd() < 0.5;
      const [st] = single ? this.batchOp(S.OP_FREE, l.cpu, l.base, 0) : this.batchOp(S.OP_FREE_BLOCK, l.cpu, l.base, l.count);
      if (st !== S.OK) throw new Error(`free of live ${JSON.stringify(l)} failed with ${st}`);
      this.live[i] = this.live[this.live.length - 1]!;
      this.live.pop();
      return l.cpu;
    }
    // Frees of anything: wrong CPU, unallocated, partly allocated, out of range, managed flag, bad counts.
    const cpu = anyCpu();
    if (q < 0.9) {
      const bit = this.int(this.g.bits);
      const [st] = this.batchOp(S.OP_FREE, cpu, bit, this.rnd() < 0.1 ? 1 : 0);
      if (st === S.OK) this.forget(cpu, bit, 1);
      return cpu;
    }
    const count = this.rnd() < 0.1 ? [0, 3, 64][this.int(3)]! : 1 << this.int(6);
    // Valid counts stay inside the matrix: past it the engines say WARN where the port says EINVAL.
    const valid = count > 0 && count <= 32;
    const base = valid && this.rnd() < 0.9 ? this.int(Math.floor(this.g.bits / count)) * count : this.int(valid ? this.g.bits - count + 1 : this.g.bits);
    const [st] = this.batchOp(S.OP_FREE_BLOCK, cpu, base, count);
    if (st === S.OK) this.forget(cpu, base, count);
    return cpu;
  }

  /** allocBlock/freeBlock pairs (8, 16, 32) on the palette masks: the state, hence the ties, stay. */
  pairs(n: number): void {
    for (let i = 0; i < n; i++) {
      const slot = i % 3 === 0 ? 0 : this.int(PALETTE);
      const count = 8 << this.int(3);
      const [best, at] = this.bestAvailable(slot);
      const [st, cpu] = this.batchOp(S.OP_ALLOC_BLOCK, slot, count, 0);
      if (st < 0) continue;
      if (this.js.cpuAvailable(cpu) + count < best) this.fallbacks++;
      else if (cpu !== at) this.tiedFallbacks++;
      this.cpuRow(cpu);
      this.batchOp(S.OP_FREE_BLOCK, cpu, st, count);
    }
  }

  counters(): string {
    const w = this.wasm;
    const j = this.js;
    const a = [w.globalAvailable(), w.totalAllocated(), w.globalReserved(), w.onlineMaps()].join();
    const b = [j.globalAvailable(), j.totalAllocated(), j.globalReserved(), j.onlineMaps()].join();
    const c = [this.kjs.globalAvailable, this.kjs.totalAllocated, this.kjs.globalReserved, this.kjs.onlineMaps].join();
    const d = [this.kwasm.globalAvailable, this.kwasm.totalAllocated, this.kwasm.globalReserved, this.kwasm.onlineMaps].join();
    if (a !== b || a !== c || a !== d) throw new Error(`counters: wasm ${a}, js ${b}, kernel js ${c}, kernel wasm ${d}`);
    return a;
  }

  cpuRow(cpu: number): void {
    if (cpu < 0 || cpu >= this.g.cpus) return;
    const row = (x: { cpuAvailable(c: number): number; cpuAllocated(c: number): number; allocWord(c: number, i: number): number }) =>
      [x.cpuAvailable(cpu), x.cpuAllocated(cpu), ...Array.from({ length: 8 }, (_, i) => x.allocWord(cpu, i) >>> 0)].join();
    const rows = [row(this.wasm), row(this.js), row(this.kjs), row(this.kwasm)];
    if (rows.some((r) => r !== rows[0])) throw new Error(`CPU ${cpu}: wasm ${rows[0]}, js ${rows[1]}, kernel js ${rows[2]}, kernel wasm ${rows[3]}`);
  }

  run(): void {
    let fill = true;
    for (let i = 0; i < this.g.ops; i++) {
      if (i % 1500 === 0) fill = !fill || i === 0;
      if (i % 400 === 399) for (let s = 1; s < PALETTE; s++) this.setMask(s, this.randomMask(s));
      try {
        this.cpuRow(this.step(fill));
        this.counters();
        if (i % 2500 === 2499) for (let c = 0; c < this.g.cpus; c++) this.cpuRow(c);
      } catch (e) {
        throw new Error(`seed ${this.g.seed}, op ${i}: ${(e as Error).message}`);
      }
    }
    for (let c = 0; c < this.g.cpus; c++) this.cpuRow(c);
  }
}

/** Replays a trace on a fresh AS port, batching the ops between other calls; returns the instance. */
function replayBatched(g: Geometry, events: Event[]): WasmKernelReference {
  const k = new WasmKernelReference(g.cpus, g.bits, g.start, g.end, kernelModule);
  for (const b of g.system) k.assignSystem(b, 0);
  let pending: Array<Extract<Event, { t: 'op' }>> = [];
  let batches = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const ops = new Int32Array(pending.length * 4);
    pending.forEach((e, i) => ops.set(e.op, i * 4));
    const res = new Int32Array(pending.length * 2);
    k.runBatch(ops, res);
    pending.forEach((e, i) => {
      if (res[i * 2] !== e.want[0] || res[i * 2 + 1] !== e.want[1]) {
        throw new Error(`batch ${batches} op ${i} [${e.op.join()}]: ${res[i * 2]}@${res[i * 2 + 1]}, single calls gave ${e.want.join('@')}`);
      }
    });
    batches++;
    pending = [];
  };
  for (const e of events) {
    if (e.t === 'op') {
      pending.push(e);
      if (pending.length === S.MAX_BATCH) flush();
      continue;
    }
    flush();
    switch (e.t) {
      case 'online': k.online(e.cpu); break;
      case 'offline': k.offline(e.cpu); break;
      case 'assign': k.assign(e.cpu, e.bit); break;
      case 'reserve': k.reserve(); break;
      case 'unreserve': k.removeReserved(); break;
      case 'mask': k.writeMask(e.slot, e.words); break;
    }
  }
  flush();
  return k;
}

const X86_SYS = [0x32, 0x80];
const GEOMETRIES: Geometry[] = [
  { cpus: 1, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 10_000, seed: 1 },
  { cpus: 5, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 12_000, seed: 2 },
  { cpus: 31, bits: 256, start: 0x20, end: 0xeb, system: [], ops: 12_000, seed: 3 },
  { cpus: 33, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 12_000, seed: 4 },
  { cpus: 64, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 12_000, seed: 5 },
  { cpus: 65, bits: 256, start: 0x10, end: 0x100, system: [0x10, 0x47, 0x80, 0xff], ops: 12_000, seed: 6 },
  { cpus: 100, bits: 200, start: 3, end: 197, system: [5, 64, 150], ops: 12_000, seed: 7 },
  { cpus: 129, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 10_000, seed: 8 },
  { cpus: 300, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 10_000, seed: 9 },
  // As the bench's scattered fill: every CPU equally loaded at random vectors, few aligned runs left.
  { cpus: 70, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 6_000, seed: 10, scatter: 60 },
  { cpus: 192, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 6_000, seed: 11, scatter: 100 },
  { cpus: 200, bits: 256, start: 0x20, end: 0xeb, system: X86_SYS, ops: 4_000, seed: 12, scatter: 30 },
];

describe('differential: both kernel-algorithm ports against both engines, op for op', () => {
  const totals = { ops: 0, blocks: 0, fallbacks: 0, tiedFallbacks: 0, enospc: 0 };
  it.each(GEOMETRIES.map((g) => [`${g.cpus} CPUs, bits ${g.bits} [${g.start}, ${g.end})`, g] as const))('%s', (_, g) => {
    const t = new Trace(g);
    for (let c = 0; c < g.cpus; c++) {
      if (t.rnd() < 0.1) continue;
      t.same(`online ${c}`, t.wasm.online(c), t.js.online(c), t.kjs.online(c), t.kwasm.online(c));
      t.events.push({ t: 'online', cpu: c });
      // As the bench's scattered fill: every 64th CPU filled from the bottom keeps its aligned runs.
      for (let placed = 0, low = g.start; placed < (g.scatter ?? 0);) {
        const bit = c % 64 === 63 ? low++ : g.start + t.int(g.end - g.start);
        if (g.system.includes(bit) || t.kjs.allocWord(c, bit >>> 5) & (1 << (bit & 31))) continue;
        t.same(`assign ${c} ${bit}`, t.wasm.assign(c, bit), t.js.assign(c, bit), t.kjs.assign(c, bit), t.kwasm.assign(c, bit));
        t.events.push({ t: 'assign', cpu: c, bit });
        t.live.push({ cpu: c, base: bit, count: 1 });
        placed++;
      }
    }
    if (g.scatter) t.pairs(400);
    t.run();
    const k = replayBatched(g, t.events);
    const state = (x: { globalAvailable: number; totalAllocated: number; cpuAvailable(c: number): number; allocWord(c: number, i: number): number }) => {
      const p: number[] = [x.globalAvailable, x.totalAllocated];
      for (let c = 0; c < g.cpus; c++) p.push(x.cpuAvailable(c), ...Array.from({ length: 8 }, (_, i) => x.allocWord(c, i)));
      return p.join();
    };
    expect(state(k)).toBe(state(t.kwasm));
    totals.ops += g.ops;
    totals.blocks += t.blocks;
    totals.fallbacks += t.fallbacks;
    totals.tiedFallbacks += t.tiedFallbacks;
    totals.enospc += t.enospc;
  });

  it('covered ≥ 10^5 ops, blocks placed past the best CPU (among its ties and below them) and blocks refused', () => {
    expect(totals.ops).toBeGreaterThanOrEqual(100_000);
    expect(totals.fallbacks).toBeGreaterThan(50);
    expect(totals.tiedFallbacks).toBeGreaterThan(300);
    expect(totals.enospc).toBeGreaterThan(50);
    expect(totals.blocks).toBeGreaterThan(10_000);
  });
});
