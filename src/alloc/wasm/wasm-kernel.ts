// Binding of the AssemblyScript port of kernel/irq/matrix.c (assembly/kernel/index.ts), the WASM
// baseline of the benchmarks. Same pattern as wasm-core.ts: raw WebAssembly API, the module compiled
// once, one instance per matrix, memory grown once by init(). Masks go in numbered slots as in the
// engines (MASK_SLOTS slots of ceil(cpus/64) 64-bit words, written here as 32-bit words).

import * as S from '../../../assembly/status.js';
import { MatrixError } from '../errors.js';
import { KERNEL_WASM_BASE64 } from './kernel-wasm.generated.js';
import { decodeBase64 } from './base64.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  init(cpus: number, bits: number, start: number, end: number): number;
  online(cpu: number): number;
  offline(cpu: number): number;
  assignSystem(bit: number, replace: number): number;
  assign(cpu: number, bit: number): number;
  reserve(): number;
  removeReserved(): number;
  alloc(slot: number, reserved: number): number;
  free(cpu: number, bit: number, managed: number): number;
  allocBlock(slot: number, count: number, reserved: number): number;
  freeBlock(cpu: number, base: number, count: number): number;
  available(cpudown: number, cpu: number): number;
  runBatch(n: number): number;
  lastCpu(): number;
  getGlobalAvailable(): number;
  getGlobalReserved(): number;
  getTotalAllocated(): number;
  getOnlineMaps(): number;
  getSystembitsInalloc(): number;
  cpuAvailable(cpu: number): number;
  cpuAllocated(cpu: number): number;
  cpuOnline(cpu: number): number;
  allocMapPtr(): number;
  masksPtr(): number;
  maskWords(): number;
  batchOpsPtr(): number;
  batchResultsPtr(): number;
}

let compiled: WebAssembly.Module | undefined;
let compiling: Promise<WebAssembly.Module> | undefined;

/** Compiles the embedded module once per process. */
export function compileKernelModule(): Promise<WebAssembly.Module> {
  if (compiled) return Promise.resolve(compiled);
  compiling ??= WebAssembly.compile(decodeBase64(KERNEL_WASM_BASE64) as BufferSource).then((m) => (compiled = m));
  return compiling;
}

/** Synchronous compile (a few KB; for callers that cannot await, such as the bench fixtures). */
export function compileKernelModuleSync(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(decodeBase64(KERNEL_WASM_BASE64) as BufferSource);
  return compiled;
}

export class WasmKernelReference {
  readonly maskWords32: number;
  private readonly x: KernelExports;
  // Views are taken once: init() grows memory once, and nothing grows it afterwards.
  private readonly masks: Int32Array;
  private readonly allocMap: Uint32Array;
  private readonly batchOps: Int32Array;
  private readonly batchRes: Int32Array;

  /** irq_alloc_matrix(matrix_bits, alloc_start, alloc_end) for `cpus` possible CPUs, all offline. */
  constructor(
    readonly cpus: number,
    readonly matrixBits = 256,
    readonly allocStart = 0x20,
    readonly allocEnd = 0xeb,
    module: WebAssembly.Module = compileKernelModuleSync(),
  ) {
    // The JS port's checks and messages; the module would only say EINVAL.
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > S.MAX_CPUS) throw new MatrixError('EINVAL', `cpus must be 1..${S.MAX_CPUS}, got ${cpus}`);
    if (!Number.isInteger(matrixBits) || matrixBits < 1 || matrixBits > S.MAX_BITS) throw new MatrixError('EINVAL', `matrix_bits must be 1..${S.MAX_BITS}`);
    if (!(Number.isInteger(allocStart) && Number.isInteger(allocEnd) && allocStart >= 0 && allocStart < allocEnd && allocEnd <= matrixBits)) {
      throw new MatrixError('EINVAL', `allocation range [${allocStart}, ${allocEnd}) does not fit ${matrixBits} bits`);
    }
    const instance = new WebAssembly.Instance(module, {});
    this.x = instance.exports as unknown as KernelExports;
    const status = this.x.init(cpus, matrixBits, allocStart, allocEnd);
    if (status !== S.OK) throw new RangeError(`wasm kernel init failed with status ${status}`);
    const buf = this.x.memory.buffer;
    this.maskWords32 = this.x.maskWords() * 2;
    this.masks = new Int32Array(buf, this.x.masksPtr(), S.MASK_SLOTS * this.maskWords32);
    this.allocMap = new Uint32Array(buf, this.x.allocMapPtr(), cpus * 8);
    this.batchOps = new Int32Array(buf, this.x.batchOpsPtr(), S.MAX_BATCH * 4);
    this.batchRes = new Int32Array(buf, this.x.batchResultsPtr(), S.MAX_BATCH * 2);
  }

  /** Writes a mask (32-bit words, CPU c = word c >> 5 bit c & 31) into slot `slot`. */
  writeMask(slot: number, words: Uint32Array | Int32Array): void {
    if (!(slot >>> 0 < S.MASK_SLOTS)) throw new RangeError(`mask slot ${slot} is not in 0..${S.MASK_SLOTS - 1}`);
    const off = slot * this.maskWords32;
    const n = Math.min(words.length, this.maskWords32);
    this.masks.fill(0, off, off + this.maskWords32);
    for (let i = 0; i < n; i++) this.masks[off + i] = words[i]! | 0;
  }

  online(cpu: number): number { return this.x.online(cpu); }
  offline(cpu: number): number { return this.x.offline(cpu); }
  assignSystem(bit: number, replace: number): number { return this.x.assignSystem(bit, replace); }
  assign(cpu: number, bit: number): number { return this.x.assign(cpu, bit); }
  reserve(): number { return this.x.reserve(); }
  removeReserved(): number { return this.x.removeReserved(); }
  alloc(slot: number, reserved: number): number { return this.x.alloc(slot, reserved); }
  free(cpu: number, bit: number, managed: number): number { return this.x.free(cpu, bit, managed); }
  allocBlock(slot: number, count: number, reserved: number): number { return this.x.allocBlock(slot, count, reserved); }
  freeBlock(cpu: number, base: number, count: number): number { return this.x.freeBlock(cpu, base, count); }
  available(cpudown: number, cpu: number): number { return this.x.available(cpudown, cpu); }
  /** CPU of the last successful alloc/allocBlock. */
  lastCpu(): number { return this.x.lastCpu(); }
  cpuAvailable(cpu: number): number { return this.x.cpuAvailable(cpu); }
  cpuAllocated(cpu: number): number { return this.x.cpuAllocated(cpu); }
  isOnline(cpu: number): boolean { return this.x.cpuOnline(cpu) !== 0; }
  // The JS port's counters are fields; getters give the same shape.
  get globalAvailable(): number { return this.x.getGlobalAvailable(); }
  get globalReserved(): number { return this.x.getGlobalReserved(); }
  get totalAllocated(): number { return this.x.getTotalAllocated(); }
  get onlineMaps(): number { return this.x.getOnlineMaps(); }
  get systembitsInalloc(): number { return this.x.getSystembitsInalloc(); }

  /** 32-bit word `i` (0..7) of the CPU's alloc_map, unsigned (as the JS port and the engines). */
  allocWord(cpu: number, i: number): number {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus)) throw new MatrixError('EINVAL', `CPU ${cpu} is not in 0..${this.cpus - 1}`);
    return Number.isInteger(i) && i >= 0 && i < 8 ? this.allocMap[cpu * 8 + i]! : 0;
  }

  /** ops are [opcode, a, b, c] (OP_ALLOC, OP_FREE, OP_ALLOC_BLOCK, OP_FREE_BLOCK); results [status, cpu]. */
  runBatch(ops: Int32Array, results: Int32Array): void {
    const n = ops.length >>> 2;
    if (n > S.MAX_BATCH) throw new RangeError(`batch of ${n} ops exceeds ${S.MAX_BATCH}`);
    this.batchOps.set(ops);
    this.x.runBatch(n);
    const r = this.batchRes;
    for (let i = 0; i < n * 2; i++) results[i] = r[i]!; // no subarray object per call
  }

  /** Direct views for zero-copy batching: fill ops in place, then runBatchInPlace(n). */
  get batchOpsView(): Int32Array { return this.batchOps; }
  get batchResultsView(): Int32Array { return this.batchRes; }
  runBatchInPlace(n: number): number { return this.x.runBatch(n); }
}
