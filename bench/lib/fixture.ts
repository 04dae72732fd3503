// One machine state, built identically in the engines under test (WASM core, JS twin, and the kernel
// algorithm ported to JS and to WASM): x86 preset, every CPU online, pre-filled with singles, and the
// three benchmark masks.

import * as S from '../../assembly/status.js';
import type { JsMatrixCore } from '../../src/alloc/js-core.js';
import { KernelReference } from '../../src/alloc/kernel-reference.js';
import { createMatrixSync, VectorMatrix, X86_SYSTEM_BITS } from '../../src/alloc/matrix.js';
import type { CpuMask } from '../../src/alloc/cpumask.js';
import type { WasmMatrixCore } from '../../src/alloc/wasm/wasm-core.js';
import { compileKernelModuleSync, WasmKernelReference } from '../../src/alloc/wasm/wasm-kernel.js';
import { mulberry32 } from '../../src/util/random.js';

export type MaskName = 'one' | 'node' | 'all';
export const MASK_NAMES: readonly MaskName[] = ['one', 'node', 'all'];
/** Mask slots in the engines: one CPU, a 64-CPU node slice, all CPUs. */
// Slots 1..3, the ones the public API gives its first three frozen masks: `api` below holds the
// same masks, compiled with api.mask() in this order, so every engine reads the same slot numbers.
export const SLOT: Readonly<Record<MaskName, number>> = { one: 1, node: 2, all: 3 };
/** CPUs in a NUMA-node-sized slice. */
export const NODE_CPUS = 64;
/** Allocatable vectors per CPU on the x86 preset: [0x20, 0xEB) less 0x32 and 0x80. */
export const X86_PER_CPU = 0xeb - 0x20 - X86_SYSTEM_BITS.length;

/**
 * How the singles are placed: 'low' = the lowest free vectors (where irq_matrix_alloc puts them);
 * 'scattered' = seeded random vectors, except on every 64th CPU (CPU 63, 127, ...) which is filled
 * low — aligned runs of 16/32 then survive only there, as on a machine after long churn.
 */
export type FillPattern = 'low' | 'scattered';

export interface Fixture {
  cpus: number;
  /** Fraction of each CPU's vectors pre-filled with singles. */
  load: number;
  fill: FillPattern;
  /** Singles per CPU that the fill placed. */
  filledPerCpu: number;
  /** The CPUs each mask names. */
  maskCpus: Readonly<Record<MaskName, readonly number[]>>;
  /** Mask words by slot, as written to the engine slots (and passed to the JS kernel port). */
  masks: readonly Int32Array[];
  wasm: WasmMatrixCore;
  js: JsMatrixCore;
  /** kernel/irq/matrix.c's algorithm in JS (masks passed as Int32Array words). */
  kernel: KernelReference;
  /** The same algorithm in AssemblyScript, masks in the same slots as the engines. */
  kernelWasm: WasmKernelReference;
  /** The public API over `wasm` (the same engine instance), and its frozen masks by slot. */
  api: VectorMatrix;
  apiMasks: readonly CpuMask[];
}

/** The CPU of the one-CPU mask and the node slice: in the middle of the machine, away from CPU 0. */
export function maskCpus(cpus: number): Record<MaskName, number[]> {
  const one = cpus >> 1;
  const nodeStart = cpus <= NODE_CPUS ? 0 : Math.floor(one / NODE_CPUS) * NODE_CPUS;
  const nodeLen = Math.min(NODE_CPUS, cpus);
  return {
    one: [one],
    node: Array.from({ length: nodeLen }, (_, i) => nodeStart + i),
    all: Array.from({ length: cpus }, (_, i) => i),
  };
}

/** Bits a fill of k singles takes on a CPU: the k lowest free bits, where irq_matrix_alloc puts them. */
export function fillBits(k: number): number[] {
  const out: number[] = [];
  for (let b = 0x20; b < 0xeb && out.length < k; b++) if (!X86_SYSTEM_BITS.includes(b)) out.push(b);
  return out;
}

export class FixtureError extends Error {
  override readonly name = 'FixtureError';
}

/** The vectors a scattered fill of k singles takes on `cpu` (deterministic per CPU). */
export function scatteredBits(k: number, cpu: number): number[] {
  const all = fillBits(X86_PER_CPU);
  const rnd = mulberry32(0x5ca7 + cpu * 7919);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k);
}

export function createFixture(
  module: WebAssembly.Module,
  cpus: number,
  load: number,
  fill: FillPattern = 'low',
  kernelModule: WebAssembly.Module = compileKernelModuleSync(),
): Fixture {
  const wasm = createMatrixSync({ cpus, engine: 'wasm', preset: 'x86' }, module).core as WasmMatrixCore;
  const js = createMatrixSync({ cpus, engine: 'js', preset: 'x86' }).core as JsMatrixCore;
  const kernel = new KernelReference(cpus);
  const kernelWasm = new WasmKernelReference(cpus, 256, 0x20, 0xeb, kernelModule);
  for (const b of X86_SYSTEM_BITS) {
    if (kernel.assignSystem(b, false) !== S.OK || kernelWasm.assignSystem(b, 0) !== S.OK) throw new FixtureError(`system bit ${b} refused`);
  }
  const k = Math.round(load * X86_PER_CPU);
  const low = fillBits(k);
  for (let c = 0; c < cpus; c++) {
    const bits = fill === 'scattered' && c % 64 !== 63 ? scatteredBits(k, c) : low;
    const st = [wasm.online(c), js.online(c), kernel.online(c), kernelWasm.online(c)];
    for (const b of bits) st.push(wasm.assign(c, b), js.assign(c, b), kernel.assign(c, b), kernelWasm.assign(c, b));
    if (st.some((s) => s !== S.OK)) throw new FixtureError(`fill of CPU ${c} failed: statuses ${st.filter((s) => s !== S.OK).join(',')}`);
  }
  const lists = maskCpus(cpus);
  const masks: Int32Array[] = [];
  for (const name of MASK_NAMES) {
    const words = new Int32Array(wasm.maskWords32);
    for (const c of lists[name]) words[c >>> 5]! |= 1 << (c & 31);
    masks[SLOT[name]] = words;
    const unsigned = new Uint32Array(words.buffer, words.byteOffset, words.length); // the engines' type
    wasm.writeMask(SLOT[name], unsigned);
    js.writeMask(SLOT[name], unsigned);
    kernelWasm.writeMask(SLOT[name], words);
  }
  const api = new VectorMatrix(wasm, 'firstFit');
  const apiMasks: CpuMask[] = [];
  for (const name of MASK_NAMES) {
    const m = api.mask(lists[name]);
    if (m.encodedSlot !== SLOT[name]) throw new FixtureError(`api mask ${name} went to slot ${m.encodedSlot}, not ${SLOT[name]}`);
    apiMasks[SLOT[name]] = m;
  }
  return { cpus, load, fill, filledPerCpu: k, maskCpus: lists, masks, wasm, js, kernel, kernelWasm, api, apiMasks };
}
