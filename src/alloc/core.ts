// The engine-neutral core interface: the exact operations exported by the WASM module, implemented
// a second time in TypeScript (js-core.ts). Codes are those of assembly/status.ts.

export type EngineName = 'wasm' | 'js';
export type Placement = 'firstFit' | 'bestFit';

/**
 * One vector matrix engine. Masks are written into numbered slots as 32-bit little-endian words
 * (bit c of word c>>5 = CPU c); operations taking a mask take the slot number. Every operation
 * returns a status: >= 0 success (a bit number or OK), < 0 an errno/WARN/BUG code.
 */
export interface MatrixCore {
  readonly engine: EngineName;
  readonly cpus: number;
  readonly bits: number;
  readonly start: number;
  readonly end: number;
  /** Number of 32-bit words a mask slot holds. */
  readonly maskWords32: number;
  writeMask(slot: number, words: Uint32Array): void;

  online(cpu: number): number;
  offline(cpu: number): number;
  assignSystem(bit: number, replace: number): number;
  assign(cpu: number, bit: number): number;
  reserve(): number;
  removeReserved(): number;
  reserveManaged(slot: number): number;
  removeManaged(slot: number): number;
  alloc(slot: number, reserved: number): number;
  allocManaged(slot: number): number;
  free(cpu: number, bit: number, managed: number): number;
  allocBlock(slot: number, count: number, reserved: number): number;
  freeBlock(cpu: number, base: number, count: number): number;
  available(cpudown: number, cpu: number): number;
  /** CPU of the last successful alloc/allocManaged/allocBlock, or the CPU a removeManaged WARN names. */
  lastCpu(): number;

  globalAvailable(): number;
  globalReserved(): number;
  totalAllocated(): number;
  onlineMaps(): number;
  systembitsInalloc(): number;
  cpuAvailable(cpu: number): number;
  cpuAllocated(cpu: number): number;
  cpuManaged(cpu: number): number;
  cpuManagedAllocated(cpu: number): number;
  cpuLargestFree(cpu: number): number;
  /** Bit 0 online, bit 1 initialized. */
  cpuFlags(cpu: number): number;
  /** 32-bit word `i` (0..7) of a CPU's alloc_map / managed_map, and of the system_map. */
  allocWord(cpu: number, i: number): number;
  managedWord(cpu: number, i: number): number;
  systemWord(i: number): number;

  /**
   * Batch entry point: ops are [opcode, a, b, c] (assembly/status.ts OP_*); results [status, cpu].
   * `ops.length` must be a multiple of 4 and at most MAX_BATCH ops.
   */
  runBatch(ops: Int32Array, results: Int32Array): void;
}
