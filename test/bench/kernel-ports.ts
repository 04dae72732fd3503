// The two ports of kernel/irq/matrix.c's algorithm behind one interface for the tests: the JS port
// takes masks by reference, the AssemblyScript port through a mask slot (written before each call).

import * as S from '../../assembly/status.js';
import { KernelReference } from '../../src/alloc/kernel-reference.js';
import { WasmKernelReference } from '../../src/alloc/wasm/wasm-kernel.js';

export interface KernelPort {
  online(cpu: number): number;
  offline(cpu: number): number;
  assignSystem(bit: number, replace: boolean): number;
  assign(cpu: number, bit: number): number;
  reserve(): number;
  removeReserved(): number;
  alloc(mask: Int32Array, reserved: boolean): number;
  allocBlock(mask: Int32Array, count: number, reserved: boolean): number;
  free(cpu: number, bit: number, managed: boolean): number;
  freeBlock(cpu: number, base: number, count: number): number;
  available(cpudown: boolean, cpu: number): number;
  lastCpu(): number;
  cpuAvailable(cpu: number): number;
  cpuAllocated(cpu: number): number;
  allocWord(cpu: number, i: number): number;
  readonly globalAvailable: number;
  readonly globalReserved: number;
  readonly totalAllocated: number;
  readonly onlineMaps: number;
}

export type PortName = 'js' | 'wasm';
export const PORT_NAMES: readonly PortName[] = ['js', 'wasm'];

/** The slot the wrapper writes masks into (the last one, away from the benchmark slots). */
const SCRATCH_SLOT = S.MASK_SLOTS - 1;

class WasmPort implements KernelPort {
  constructor(readonly k: WasmKernelReference) {}
  online(cpu: number): number { return this.k.online(cpu); }
  offline(cpu: number): number { return this.k.offline(cpu); }
  assignSystem(bit: number, replace: boolean): number { return this.k.assignSystem(bit, replace ? 1 : 0); }
  assign(cpu: number, bit: number): number { return this.k.assign(cpu, bit); }
  reserve(): number { return this.k.reserve(); }
  removeReserved(): number { return this.k.removeReserved(); }
  alloc(mask: Int32Array, reserved: boolean): number {
    this.k.writeMask(SCRATCH_SLOT, mask);
    return this.k.alloc(SCRATCH_SLOT, reserved ? 1 : 0);
  }
  allocBlock(mask: Int32Array, count: number, reserved: boolean): number {
    this.k.writeMask(SCRATCH_SLOT, mask);
    return this.k.allocBlock(SCRATCH_SLOT, count, reserved ? 1 : 0);
  }
  free(cpu: number, bit: number, managed: boolean): number { return this.k.free(cpu, bit, managed ? 1 : 0); }
  freeBlock(cpu: number, base: number, count: number): number { return this.k.freeBlock(cpu, base, count); }
  available(cpudown: boolean, cpu: number): number { return this.k.available(cpudown ? 1 : 0, cpu); }
  lastCpu(): number { return this.k.lastCpu(); }
  cpuAvailable(cpu: number): number { return this.k.cpuAvailable(cpu); }
  cpuAllocated(cpu: number): number { return this.k.cpuAllocated(cpu); }
  allocWord(cpu: number, i: number): number { return this.k.allocWord(cpu, i); }
  get globalAvailable(): number { return this.k.globalAvailable; }
  get globalReserved(): number { return this.k.globalReserved; }
  get totalAllocated(): number { return this.k.totalAllocated; }
  get onlineMaps(): number { return this.k.onlineMaps; }
}

export function makePort(name: PortName, module: WebAssembly.Module, cpus: number, bits = 256, start = 0x20, end = 0xeb): KernelPort {
  return name === 'js' ? new KernelReference(cpus, bits, start, end) : new WasmPort(new WasmKernelReference(cpus, bits, start, end, module));
}

/** A CPU mask as the engines' slots hold it: ceil(cpus/64) * 2 words of 32 bits. */
export function maskWords(cpus: number, list: Iterable<number>): Int32Array {
  const m = new Int32Array(Math.ceil(cpus / 64) * 2);
  for (const c of list) m[c >>> 5]! |= 1 << (c & 31);
  return m;
}
