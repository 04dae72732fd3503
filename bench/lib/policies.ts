// Placement policies of the fragmentation benchmark behind one interface: the irqslice block
// allocator (first/best fit), FreeBSD's placement (FreeBsdVectors, current and older), FreeBSD's CPU policy on the
// Linux matrix, and the re-packing bound.

import * as S from '../../assembly/status.js';
import type { Placement } from '../../src/alloc/core.js';
import { FreeBsdVectors, IDT_DTRACE_RET, IDT_SYSCALL, APIC_IO_INTS, APIC_NUM_IOINTS } from '../../src/alloc/freebsd-reference.js';
import { createMatrixSync, X86_SYSTEM_BITS } from '../../src/alloc/matrix.js';
import { alignedBlocks, PackingModel, type SizeCounts } from './packing.js';

export interface Grant {
  cpu: number;
  base: number;
  count: number;
}

export interface Policy {
  readonly name: string;
  /** The packing model of the policy's own vector space (for the capacity/fragmentation split). */
  readonly model: PackingModel;
  alloc(size: number): Grant | null;
  release(g: Grant): void;
  /** Mean over CPUs of the largest free aligned block; null where the notion does not apply. */
  meanLargestFree(): number | null;
}

/** Linux x86 matrix per CPU: [0x20, 0xEB) less the system bits 0x32 and 0x80. */
export function linuxModel(cpus: number): PackingModel {
  return new PackingModel(alignedBlocks(0x20, 0xeb, (v) => !X86_SYSTEM_BITS.includes(v)), cpus);
}

/** FreeBSD la_ioint_irqs per CPU: indices 0..190 less syscall and DTrace, aligned per `alignment`. */
export function freebsdModel(cpus: number, alignment: 'index' | 'vector'): PackingModel {
  const reserved = [IDT_SYSCALL - APIC_IO_INTS, IDT_DTRACE_RET - APIC_IO_INTS];
  return new PackingModel(alignedBlocks(0, APIC_NUM_IOINTS, (i) => !reserved.includes(i), alignment === 'vector' ? APIC_IO_INTS : 0), cpus);
}

/**
 * irqslice over the all-CPU mask (every CPU tried, most available first): blocks through allocBlock
 * with the given placement; singles through irq_matrix_alloc (lowest free vector) as the guest
 * kernel's vector domain does (firmware/vector-domain.ts), or with singles = 'block' through
 * allocBlock(1), i.e. with the same placement as blocks.
 */
export function matrixPolicy(module: WebAssembly.Module, cpus: number, placement: Placement, name: string, singles: 'alloc' | 'block' = 'alloc'): Policy {
  const core = createMatrixSync({ cpus, engine: 'wasm', preset: 'x86', placement }, module).core;
  const all = new Uint32Array(core.maskWords32);
  for (let c = 0; c < cpus; c++) {
    core.online(c);
    all[c >>> 5]! |= 1 << (c & 31);
  }
  core.writeMask(0, all);
  return {
    name,
    model: linuxModel(cpus),
    alloc(size) {
      const base = size === 1 && singles === 'alloc' ? core.alloc(0, 0) : core.allocBlock(0, size, 0);
      return base >= 0 ? { cpu: core.lastCpu(), base, count: size } : null;
    },
    release(g) {
      const st = g.count === 1 ? core.free(g.cpu, g.base, 0) : core.freeBlock(g.cpu, g.base, g.count);
      if (st !== S.OK) throw new RangeError(`${name}: free of ${g.count} at ${g.cpu}:${g.base} failed with ${st}`);
    },
    meanLargestFree() {
      let sum = 0;
      for (let c = 0; c < cpus; c++) sum += core.cpuLargestFree(c);
      return sum / cpus;
    },
  };
}

/** FreeBSD's CPU choice (round robin, one CPU per try, halving) over the Linux matrix, first fit. */
export function roundRobinMatrixPolicy(module: WebAssembly.Module, cpus: number): Policy {
  const core = createMatrixSync({ cpus, engine: 'wasm', preset: 'x86', placement: 'firstFit' }, module).core;
  for (let c = 0; c < cpus; c++) core.online(c);
  const one = new Uint32Array(core.maskWords32);
  let next = 0;
  return {
    name: 'round robin, one CPU (FreeBSD policy) on the Linux matrix',
    model: linuxModel(cpus),
    alloc(size) {
      for (let n = size; n >= 1; n >>= 1) {
        const cpu = next;
        next = (next + 1) % cpus;
        one.fill(0);
        one[cpu >>> 5] = 1 << (cpu & 31);
        core.writeMask(1, one);
        const base = core.allocBlock(1, n, 0);
        if (base >= 0) return { cpu, base, count: n };
      }
      return null;
    },
    release(g) {
      const st = core.freeBlock(g.cpu, g.base, g.count);
      if (st !== S.OK) throw new RangeError(`round robin: freeBlock failed with ${st}`);
    },
    meanLargestFree() {
      let sum = 0;
      for (let c = 0; c < cpus; c++) sum += core.cpuLargestFree(c);
      return sum / cpus;
    },
  };
}

/**
 * FreeBSD x86 as its source does it (round robin, halving): 'vector' is freebsd-src main (the IDT vector
 * is aligned), 'index' the older local_apic.c (the table index is aligned).
 */
export function freebsdPolicy(cpus: number, alignment: 'index' | 'vector' = 'vector'): Policy {
  const f = new FreeBsdVectors(cpus, { alignment });
  return {
    name: alignment === 'vector' ? 'FreeBSD (msi_alloc, main: IDT vector aligned)' : 'FreeBSD legacy (msi_alloc, table index aligned)',
    model: freebsdModel(cpus, alignment),
    alloc: (size) => f.allocMsi(size),
    release: (g) => f.free(g.cpu, g.base, g.count),
    meanLargestFree() {
      let sum = 0;
      for (let c = 0; c < cpus; c++) sum += f.largestFreeAligned(c);
      return sum / cpus;
    },
  };
}

/** The re-packing bound on the Linux geometry: a request is granted iff the live set plus it packs. */
export function repackBound(cpus: number, live: () => SizeCounts): Policy {
  const model = linuxModel(cpus);
  return {
    name: 're-pack bound (blocks may move)',
    model,
    alloc: (size) => (model.fits(live(), size) ? { cpu: -1, base: -1, count: size } : null),
    release() {},
    meanLargestFree: () => null,
  };
}
