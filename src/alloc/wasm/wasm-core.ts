// Binding of the AssemblyScript core (assembly/index.ts). The module's exports take and return
// numbers only, so the raw WebAssembly API is enough: no loader, no generated glue.

import * as S from '../../../assembly/status.js';
import type { MatrixCore } from '../core.js';
import { MATRIX_WASM_BASE64 } from './matrix-wasm.generated.js';
import { decodeBase64 } from './base64.js';

/** The module's exports: the core operations under the same names and signatures, plus queries. */
type MatrixExports = Pick<
  MatrixCore,
  | 'online' | 'offline' | 'assignSystem' | 'assign' | 'reserve' | 'removeReserved' | 'reserveManaged'
  | 'removeManaged' | 'alloc' | 'allocManaged' | 'free' | 'allocBlock' | 'freeBlock' | 'available' | 'lastCpu'
  | 'cpuAvailable' | 'cpuAllocated' | 'cpuManaged' | 'cpuManagedAllocated' | 'cpuLargestFree' | 'cpuFlags'
> & {
  memory: WebAssembly.Memory;
  init(cpus: number, bits: number, start: number, end: number, policy: number): number;
  commitMask(slot: number): number;
  runBatch(n: number): number;
  getGlobalAvailable(): number;
  getGlobalReserved(): number;
  getTotalAllocated(): number;
  getOnlineMaps(): number;
  getSystembitsInalloc(): number;
  allocMapPtr(): number;
  managedMapPtr(): number;
  systemMapPtr(): number;
  masksPtr(): number;
  maskWords(): number;
  batchOpsPtr(): number;
  batchResultsPtr(): number;
};

let compiled: Promise<WebAssembly.Module> | undefined;

/** Compiles the embedded module once per process; each matrix gets its own instance and memory. */
export function compileMatrixModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(decodeBase64(MATRIX_WASM_BASE64) as BufferSource);
  return compiled;
}

export class WasmMatrixCore implements MatrixCore {
  readonly engine = 'wasm' as const;
  readonly maskWords32: number;
  private readonly x: MatrixExports;
  // Views are taken once: init() grows memory once, and nothing grows it afterwards.
  private readonly masks: Uint32Array;
  private readonly allocMap: Uint32Array;
  private readonly managedMap: Uint32Array;
  private readonly systemMap: Uint32Array;
  private readonly batchOps: Int32Array;
  private readonly batchRes: Int32Array;

  private constructor(
    instance: WebAssembly.Instance,
    readonly cpus: number,
    readonly bits: number,
    readonly start: number,
    readonly end: number,
  ) {
    this.x = instance.exports as unknown as MatrixExports;
    const buf = this.x.memory.buffer;
    this.maskWords32 = this.x.maskWords() * 2;
    this.masks = new Uint32Array(buf, this.x.masksPtr(), S.MASK_SLOTS * this.maskWords32);
    this.allocMap = new Uint32Array(buf, this.x.allocMapPtr(), cpus * 8);
    this.managedMap = new Uint32Array(buf, this.x.managedMapPtr(), cpus * 8);
    this.systemMap = new Uint32Array(buf, this.x.systemMapPtr(), 8);
    this.batchOps = new Int32Array(buf, this.x.batchOpsPtr(), S.MAX_BATCH * 4);
    this.batchRes = new Int32Array(buf, this.x.batchResultsPtr(), S.MAX_BATCH * 2);
  }

  static async create(cpus: number, bits: number, start: number, end: number, policy: number): Promise<WasmMatrixCore> {
    return WasmMatrixCore.createSync(await compileMatrixModule(), cpus, bits, start, end, policy);
  }

  /** Synchronous creation from an already compiled module (for callers that cannot await). */
  static createSync(module: WebAssembly.Module, cpus: number, bits: number, start: number, end: number, policy: number): WasmMatrixCore {
    const instance = new WebAssembly.Instance(module, {});
    const status = (instance.exports as unknown as MatrixExports).init(cpus, bits, start, end, policy);
    if (status !== S.OK) throw new RangeError(`wasm matrix init failed with status ${status}`);
    return new WasmMatrixCore(instance, cpus, bits, start, end);
  }

  writeMask(slot: number, words: Uint32Array): void {
    const off = slot * this.maskWords32;
    const n = Math.min(words.length, this.maskWords32);
    this.masks.set(n === words.length ? words : words.subarray(0, n), off);
    if (n < this.maskWords32) this.masks.fill(0, off + n, off + this.maskWords32);
    this.x.commitMask(slot); // the core indexes the mask (empty, all CPUs, its non-zero words)
  }

  online(cpu: number): number { return this.x.online(cpu); }
  offline(cpu: number): number { return this.x.offline(cpu); }
  assignSystem(bit: number, replace: number): number { return this.x.assignSystem(bit, replace); }
  assign(cpu: number, bit: number): number { return this.x.assign(cpu, bit); }
  reserve(): number { return this.x.reserve(); }
  removeReserved(): number { return this.x.removeReserved(); }
  reserveManaged(slot: number): number { return this.x.reserveManaged(slot); }
  removeManaged(slot: number): number { return this.x.removeManaged(slot); }
  alloc(slot: number, reserved: number): number { return this.x.alloc(slot, reserved); }
  allocManaged(slot: number): number { return this.x.allocManaged(slot); }
  free(cpu: number, bit: number, managed: number): number { return this.x.free(cpu, bit, managed); }
  allocBlock(slot: number, count: number, reserved: number): number { return this.x.allocBlock(slot, count, reserved); }
  freeBlock(cpu: number, base: number, count: number): number { return this.x.freeBlock(cpu, base, count); }
  available(cpudown: number, cpu: number): number { return this.x.available(cpudown, cpu); }
  lastCpu(): number { return this.x.lastCpu(); }
  globalAvailable(): number { return this.x.getGlobalAvailable(); }
  globalReserved(): number { return this.x.getGlobalReserved(); }
  totalAllocated(): number { return this.x.getTotalAllocated(); }
  onlineMaps(): number { return this.x.getOnlineMaps(); }
  systembitsInalloc(): number { return this.x.getSystembitsInalloc(); }
  cpuAvailable(cpu: number): number { return this.x.cpuAvailable(cpu); }
  cpuAllocated(cpu: number): number { return this.x.cpuAllocated(cpu); }
  cpuManaged(cpu: number): number { return this.x.cpuManaged(cpu); }
  cpuManagedAllocated(cpu: number): number { return this.x.cpuManagedAllocated(cpu); }
  cpuLargestFree(cpu: number): number { return this.x.cpuLargestFree(cpu); }
  cpuFlags(cpu: number): number { return this.x.cpuFlags(cpu); }
  allocWord(cpu: number, i: number): number { return this.allocMap[cpu * 8 + i]!; }
  managedWord(cpu: number, i: number): number { return this.managedMap[cpu * 8 + i]!; }
  systemWord(i: number): number { return this.systemMap[i]!; }

  runBatch(ops: Int32Array, results: Int32Array): void {
    const n = ops.length >>> 2;
    if (n > S.MAX_BATCH) throw new RangeError(`batch of ${n} ops exceeds ${S.MAX_BATCH}`);
    this.batchOps.set(ops);
    this.x.runBatch(n);
    results.set(this.batchRes.subarray(0, n * 2));
  }

  /** Direct views for zero-copy batching by benchmarks: fill ops in place, then runBatchInPlace(n). */
  get batchOpsView(): Int32Array { return this.batchOps; }
  get batchResultsView(): Int32Array { return this.batchRes; }
  runBatchInPlace(n: number): number { return this.x.runBatch(n); }
}
