// Operation lists in the batch format ([opcode, a, b, c] per op, assembly/status.ts) that leave the
// matrix exactly as they found it, so every engine can replay them any number of times; their
// expected results come from a dry run on the JS twin and are checked on every engine before timing.

import * as S from '../../assembly/status.js';
import type { JsMatrixCore } from '../../src/alloc/js-core.js';
import type { KernelReference } from '../../src/alloc/kernel-reference.js';
import type { WasmMatrixCore } from '../../src/alloc/wasm/wasm-core.js';
import type { WasmKernelReference } from '../../src/alloc/wasm/wasm-kernel.js';
import type { Fixture } from './fixture.js';
import type { VectorMatrix } from '../../src/alloc/matrix.js';
import type { CpuMask } from '../../src/alloc/cpumask.js';
import { mulberry32 } from '../../src/util/random.js';

export interface OpList {
  ops: Int32Array;
  n: number;
  /** [status, cpu] per op, as runBatch reports them. */
  expected: Int32Array;
  /** 'ok': every allocation succeeded; 'enospc': every allocation failed; 'mixed'. */
  outcome: 'ok' | 'enospc' | 'mixed';
}

class Builder {
  private readonly ops: number[] = [];
  private readonly res: number[] = [];
  private allocs = 0;
  private failed = 0;
  constructor(private readonly js: JsMatrixCore) {}

  alloc(slot: number): number {
    const st = this.js.alloc(slot, 0);
    return this.push(S.OP_ALLOC, slot, 0, 0, st, st >= 0 ? this.js.lastCpu() : -1, true);
  }
  allocBlock(slot: number, count: number): number {
    const st = this.js.allocBlock(slot, count, 0);
    return this.push(S.OP_ALLOC_BLOCK, slot, count, 0, st, st >= 0 ? this.js.lastCpu() : -1, true);
  }
  free(cpu: number, bit: number): void {
    this.push(S.OP_FREE, cpu, bit, 0, this.js.free(cpu, bit, 0), cpu, false);
  }
  freeBlock(cpu: number, base: number, count: number): void {
    this.push(S.OP_FREE_BLOCK, cpu, base, count, this.js.freeBlock(cpu, base, count), cpu, false);
  }
  lastCpu(): number {
    return this.js.lastCpu();
  }
  private push(code: number, a: number, b: number, c: number, status: number, cpu: number, isAlloc: boolean): number {
    if (!isAlloc && status !== S.OK) throw new RangeError(`dry run: free op ${code} ${a} ${b} ${c} failed with ${status}`);
    if (isAlloc) {
      this.allocs++;
      if (status < 0) this.failed++;
    }
    this.ops.push(code, a, b, c);
    this.res.push(status, cpu);
    return status;
  }
  build(): OpList {
    if (this.ops.length / 4 > S.MAX_BATCH) throw new RangeError(`op list of ${this.ops.length / 4} exceeds MAX_BATCH ${S.MAX_BATCH}`);
    const outcome = this.failed === 0 ? 'ok' : this.failed === this.allocs ? 'enospc' : 'mixed';
    return { ops: Int32Array.from(this.ops), n: this.ops.length / 4, expected: Int32Array.from(this.res), outcome };
  }
}

/**
 * `pairs` × (allocation, free of what it got). An allocation followed by its free restores the state
 * exactly, so each pair gets the same result; a failed allocation is just repeated.
 */
export function pairList(fx: Fixture, slot: number, count: number, pairs: number): OpList {
  const b = new Builder(fx.js);
  for (let i = 0; i < pairs; i++) {
    const st = count === 0 ? b.alloc(slot) : b.allocBlock(slot, count);
    if (st < 0) continue;
    if (count === 0) b.free(b.lastCpu(), st);
    else b.freeBlock(b.lastCpu(), st, count);
  }
  return b.build();
}

/** Block sizes of the churn traces: mostly singles, some 2..16, NVMe-like 32s. */
const CHURN_SIZES = [1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 8, 16, 32, 32, 32];

/**
 * Mixed churn: `steps` random allocations (singles and blocks) and frees of live ones, then every
 * remaining allocation freed, so the list ends where it began.
 */
export function churnList(fx: Fixture, slot: number, steps: number, seed: number): OpList {
  const rnd = mulberry32(seed);
  const b = new Builder(fx.js);
  const live: Array<{ cpu: number; base: number; count: number }> = [];
  const release = (i: number) => {
    const l = live[i]!;
    live[i] = live[live.length - 1]!;
    live.pop();
    if (l.count === 1 && (l.base & 1) === 0) b.free(l.cpu, l.base); // singles through both free paths
    else b.freeBlock(l.cpu, l.base, l.count);
  };
  for (let i = 0; i < steps; i++) {
    if (live.length > 0 && rnd() < 0.45) {
      release(Math.floor(rnd() * live.length));
      continue;
    }
    const count = CHURN_SIZES[Math.floor(rnd() * CHURN_SIZES.length)]!;
    const st = count === 1 && rnd() < 0.5 ? b.alloc(slot) : b.allocBlock(slot, count);
    if (st >= 0) live.push({ cpu: b.lastCpu(), base: st, count });
  }
  while (live.length > 0) release(Math.floor(rnd() * live.length));
  return b.build();
}

// ---- replaying a list: one monomorphic loop per engine, so no engine pays for another's call sites ----
// Every runner reads the CPU after an allocation (lastCpu), as any caller must: the public API
// returns it, so the engines pay for it too.

/** The public API (VectorMatrix over the WASM engine) with frozen masks; lists hold only successes. */
export function runApi(api: VectorMatrix, masks: readonly CpuMask[], ops: Int32Array, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const o = i << 2;
    const code = ops[o]!;
    const a = ops[o + 1]!;
    const b = ops[o + 2]!;
    const c = ops[o + 3]!;
    if (code === S.OP_ALLOC) acc += api.alloc(masks[a]!).vector;
    else if (code === S.OP_FREE) api.free(a, b);
    else if (code === S.OP_ALLOC_BLOCK) acc += api.allocBlock(masks[a]!, b).base;
    else api.freeBlock(a, b, c);
  }
  return acc;
}

export function runWasm(core: WasmMatrixCore, ops: Int32Array, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const o = i << 2;
    const code = ops[o]!;
    const a = ops[o + 1]!;
    const b = ops[o + 2]!;
    const c = ops[o + 3]!;
    if (code === S.OP_ALLOC) acc += core.alloc(a, b) + core.lastCpu();
    else if (code === S.OP_FREE) acc += core.free(a, b, c);
    else if (code === S.OP_ALLOC_BLOCK) acc += core.allocBlock(a, b, c) + core.lastCpu();
    else acc += core.freeBlock(a, b, c);
  }
  return acc;
}

export function runJs(core: JsMatrixCore, ops: Int32Array, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const o = i << 2;
    const code = ops[o]!;
    const a = ops[o + 1]!;
    const b = ops[o + 2]!;
    const c = ops[o + 3]!;
    if (code === S.OP_ALLOC) acc += core.alloc(a, b) + core.lastCpu();
    else if (code === S.OP_FREE) acc += core.free(a, b, c);
    else if (code === S.OP_ALLOC_BLOCK) acc += core.allocBlock(a, b, c) + core.lastCpu();
    else acc += core.freeBlock(a, b, c);
  }
  return acc;
}

/** The kernel algorithm in JS: masks are passed by reference (it has no slots). */
export function runKernel(ref: KernelReference, masks: readonly Int32Array[], ops: Int32Array, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const o = i << 2;
    const code = ops[o]!;
    const a = ops[o + 1]!;
    const b = ops[o + 2]!;
    const c = ops[o + 3]!;
    if (code === S.OP_ALLOC) acc += ref.alloc(masks[a]!, b !== 0) + ref.lastCpu();
    else if (code === S.OP_FREE) acc += ref.free(a, b, c !== 0);
    else if (code === S.OP_ALLOC_BLOCK) acc += ref.allocBlock(masks[a]!, b, c !== 0) + ref.lastCpu();
    else acc += ref.freeBlock(a, b, c);
  }
  return acc;
}

/** The kernel algorithm in WASM, one export call per op. */
export function runKernelWasm(core: WasmKernelReference, ops: Int32Array, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const o = i << 2;
    const code = ops[o]!;
    const a = ops[o + 1]!;
    const b = ops[o + 2]!;
    const c = ops[o + 3]!;
    if (code === S.OP_ALLOC) acc += core.alloc(a, b) + core.lastCpu();
    else if (code === S.OP_FREE) acc += core.free(a, b, c);
    else if (code === S.OP_ALLOC_BLOCK) acc += core.allocBlock(a, b, c) + core.lastCpu();
    else acc += core.freeBlock(a, b, c);
  }
  return acc;
}

/** Replays `list` once on each engine and compares every [status, cpu] with the dry run. */
export function verifyList(fx: Fixture, list: OpList): void {
  const check = (engine: string, got: Int32Array) => {
    for (let i = 0; i < list.n * 2; i++) {
      if (got[i] !== list.expected[i]) {
        const op = Array.from(list.ops.subarray((i >> 1) * 4, (i >> 1) * 4 + 4));
        throw new RangeError(`${engine}: op ${i >> 1} [${op.join(',')}] gave ${got[(i >> 1) * 2]}@${got[(i >> 1) * 2 + 1]}, dry run ${list.expected[(i >> 1) * 2]}@${list.expected[(i >> 1) * 2 + 1]}`);
      }
    }
  };
  const res = new Int32Array(list.n * 2);
  fx.wasm.runBatch(list.ops, res);
  check('wasm batch', res);
  fx.js.runBatch(list.ops, res);
  check('js', res);
  const single = (name: string, call: (code: number, a: number, b: number, c: number) => [number, number]) => {
    const out = new Int32Array(list.n * 2);
    for (let i = 0; i < list.n; i++) {
      const [st, cpu] = call(list.ops[i * 4]!, list.ops[i * 4 + 1]!, list.ops[i * 4 + 2]!, list.ops[i * 4 + 3]!);
      out[i * 2] = st;
      out[i * 2 + 1] = cpu;
    }
    check(name, out);
  };
  const isAlloc = (code: number) => code === S.OP_ALLOC || code === S.OP_ALLOC_BLOCK;
  single('wasm', (code, a, b, c) => {
    const st = code === S.OP_ALLOC ? fx.wasm.alloc(a, b) : code === S.OP_FREE ? fx.wasm.free(a, b, c) : code === S.OP_ALLOC_BLOCK ? fx.wasm.allocBlock(a, b, c) : fx.wasm.freeBlock(a, b, c);
    return [st, isAlloc(code) ? (st >= 0 ? fx.wasm.lastCpu() : -1) : a];
  });
  single('kernel reference', (code, a, b, c) => {
    const k = fx.kernel;
    const st = code === S.OP_ALLOC ? k.alloc(fx.masks[a]!, b !== 0) : code === S.OP_FREE ? k.free(a, b, c !== 0) : code === S.OP_ALLOC_BLOCK ? k.allocBlock(fx.masks[a]!, b, c !== 0) : k.freeBlock(a, b, c);
    return [st, isAlloc(code) ? (st >= 0 ? k.lastCpu() : -1) : a];
  });
  fx.kernelWasm.runBatch(list.ops, res);
  check('kernel wasm batch', res);
  single('kernel wasm', (code, a, b, c) => {
    const k = fx.kernelWasm;
    const st = code === S.OP_ALLOC ? k.alloc(a, b) : code === S.OP_FREE ? k.free(a, b, c) : code === S.OP_ALLOC_BLOCK ? k.allocBlock(a, b, c) : k.freeBlock(a, b, c);
    return [st, isAlloc(code) ? (st >= 0 ? k.lastCpu() : -1) : a];
  });
}
