// What-if answers on a rebuilt real matrix: free aligned windows per CPU, where allocBlock would
// put each block size (first fit and best fit), whether each CPU could go offline now, and —
// given lspci -vv — what each multi-MSI function has and could have. Offline follows Linux:
// lapic_can_unplug_cpu's count (arch/x86/kernel/apic/vector.c; irq_matrix_allocated excludes
// managed vectors since commit a0b0bad10587, backported to 4.19+), then each regular vector
// re-homed by irq_matrix_alloc on the other online CPUs as migrate_one_irq does; managed vectors
// are shut down, not moved. Blocks (from lspci) are placed first, largest first, as one unit.

import type { Placement } from '../alloc/core.js';
import { formatList } from '../alloc/cpumask.js';
import { MatrixError } from '../alloc/errors.js';
import type { VectorMatrix } from '../alloc/matrix.js';
import { decodeMsiAddressLow } from '../hw/apic/msi-format.js';
import { isRemappedAddress, type LspciFunction } from './lspci.js';
import { rebuildMatrix, type RebuildOptions, type RebuiltMatrix } from './rebuild.js';
import { checkDump, type VectorDump } from './vector-dump.js';

export const BLOCK_SIZES = [1, 2, 4, 8, 16, 32] as const;
export type BlockSize = (typeof BLOCK_SIZES)[number];
type BySize<T> = { [K in `${BlockSize}`]: T };

export interface Spot { cpu: number; base: number }

/** The `irqslice whatif --json` contract (docs/DESIGN.md §4, "whatif"). */
export interface WhatIfJson {
  cpus: Array<{ cpu: number; available: number; allocated: number; managed: number; managedAllocated: number; blocks: BySize<number> }>;
  choice: BySize<{ firstFit: Spot | null; bestFit: Spot | null }>;
  offline: Array<{ cpu: number; possible: boolean; reason: string | null }>;
  devices: Array<{ bdf: string; count: number; max: number; remapped: boolean; block: Spot | null }>;
}

/** A device's multi-message block as its MSI registers place it today. */
export interface DeviceBlock { cpu: number; base: number; count: number }

export interface OfflineDetail {
  cpu: number;
  possible: boolean;
  reason: string | null;
  /** lapic_can_unplug_cpu's numbers: vectors to move (act − mac) and irq_matrix_available(cpudown). */
  toMove: number;
  available: number;
  /** Managed vectors shut down with the CPU. */
  shutDown: number;
  /** Where blocks and single vectors land (when possible). */
  blocks: Array<{ bdf: string; from: DeviceBlock; to: Spot }>;
  singles: Map<number, number>;
}

export interface DeviceDetail {
  fn: LspciFunction;
  remapped: boolean;
  /** Its block today (MSI enabled, more than one message, compatibility format, found in the dump). */
  current: DeviceBlock | null;
  /** Why a multi-message function is not treated as a block. */
  note: string | null;
  block: Spot | null;
}

export interface WhatIfResult {
  json: WhatIfJson;
  rebuilt: RebuiltMatrix;
  offline: OfflineDetail[];
  devices: DeviceDetail[];
}

/** Free bits of a CPU: inside the range, not allocated, not managed-reserved, not system. */
export function freeBits(m: VectorMatrix, cpu: number): boolean[] {
  const free = new Array<boolean>(m.bits).fill(false);
  for (let b = m.start; b < m.end; b++) free[b] = true;
  for (const b of m.vectors(cpu)) free[b] = false;
  for (const b of m.managedVectors(cpu)) free[b] = false;
  for (const b of m.systemVectors()) free[b] = false;
  return free;
}

/** Aligned windows of n bits (base a multiple of n) that are entirely free. */
export function freeWindows(free: readonly boolean[], n: number): number {
  let count = 0;
  for (let base = 0; base + n <= free.length; base += n) {
    let ok = true;
    for (let b = base; b < base + n && ok; b++) ok = free[b]!;
    if (ok) count++;
  }
  return count;
}

/** "CPU 2" or "CPUs 0-1,3". */
function cpusText(cpus: readonly number[]): string {
  return cpus.length === 1 ? `CPU ${cpus[0]}` : `CPUs ${formatList(cpus)}`;
}

function bySize<T>(f: (n: BlockSize) => T): BySize<T> {
  return Object.fromEntries(BLOCK_SIZES.map((n) => [String(n), f(n)])) as BySize<T>;
}

/** allocBlock on the mask, undone; null on ENOSPC. */
function probeBlock(m: VectorMatrix, cpus: readonly number[], n: number): Spot | null {
  try {
    const a = m.allocBlock(cpus, n);
    m.freeBlock(a.cpu, a.base, n);
    return { cpu: a.cpu, base: a.base };
  } catch (e) {
    if (e instanceof MatrixError && e.code === 'ENOSPC') return null;
    throw e;
  }
}

/** The block a function's MSI registers describe, or why there is none to move as a block. */
function currentBlock(fn: LspciFunction, dump: VectorDump, remapped: boolean): { block: DeviceBlock | null; note: string | null } {
  const msi = fn.msi!;
  if (!msi.enabled || msi.count < 2) return { block: null, note: null };
  if (remapped) return { block: null, note: 'remapped: each message has its own IRTE and vector, no block to keep together' };
  if (msi.address === null || msi.data === null) return { block: null, note: 'no Address/Data line' };
  const a = decodeMsiAddressLow(msi.address);
  if (!a.inWindow || (msi.addressHi ?? 0) !== 0) return { block: null, note: 'the address is not an x86 interrupt message' };
  // Physical mode: APIC ID, taken as the CPU number (as QEMU numbers them). Flat logical: one bit per CPU.
  let cpu = a.destinationId;
  if (a.destinationMode === 'logical') {
    const d = a.destinationId;
    if (d === 0 || (d & (d - 1)) !== 0) return { block: null, note: `logical destination 0x${d.toString(16)} names no single CPU` };
    cpu = 31 - Math.clz32(d);
  }
  const base = msi.data & 0xff;
  const row = dump.rows.find((r) => r.cpu === cpu);
  if (!row) return { block: null, note: `CPU ${cpu} (from the address) is not online in the dump` };
  if (base % msi.count !== 0) return { block: null, note: `vector 0x${base.toString(16)} is not aligned to ${msi.count}` };
  for (let v = base; v < base + msi.count; v++) {
    if (!row.vectors.includes(v)) return { block: null, note: `vector ${v} of its block is not allocated on CPU ${cpu} in the dump` };
  }
  return { block: { cpu, base, count: msi.count }, note: null };
}

/** Offline of one CPU tried on `m` and undone before returning (the matrix is left as it was). */
function offlineOne(m: VectorMatrix, dump: VectorDump, cpu: number, blocks: Array<{ bdf: string; from: DeviceBlock }>): OfflineDetail {
  const row = dump.rows.find((r) => r.cpu === cpu)!;
  const others = dump.rows.map((r) => r.cpu).filter((c) => c !== cpu);
  const toMove = row.allocated - row.managedAllocated;
  const available = m.available(true, cpu);
  const detail: OfflineDetail = { cpu, possible: false, reason: null, toMove, available, shutDown: row.managedAllocated, blocks: [], singles: new Map() };
  if (others.length === 0) {
    detail.reason = `CPU ${cpu} is the last online CPU`;
    return detail;
  }
  if (available < toMove) {
    detail.reason = `CPU ${cpu} has ${toMove} vectors to move, ${available} available on ${cpusText(others)} (lapic_can_unplug_cpu)`;
    return detail;
  }
  const placed: Array<{ cpu: number; base: number; count: number }> = [];
  try {
    const mine = blocks.filter((b) => b.from.cpu === cpu).sort((a, b) => b.from.count - a.from.count || a.from.base - b.from.base);
    let inBlocks = 0;
    for (const b of mine) {
      const to = probeBlockKeep(m, others, b.from.count);
      if (!to) {
        detail.reason = `the count passes (${toMove} to move, ${available} available), but the ${b.from.count}-vector MSI block of ${b.bdf} (0x${b.from.base.toString(16)}-0x${(b.from.base + b.from.count - 1).toString(16)}) has no free aligned window of ${b.from.count} on ${cpusText(others)}`;
        return detail;
      }
      placed.push({ ...to, count: b.from.count });
      detail.blocks.push({ ...b, to });
      inBlocks += b.from.count;
    }
    for (let i = inBlocks; i < toMove; i++) {
      try {
        const a = m.alloc(others);
        placed.push({ cpu: a.cpu, base: a.vector, count: 1 });
        detail.singles.set(a.cpu, (detail.singles.get(a.cpu) ?? 0) + 1);
      } catch (e) {
        if (!(e instanceof MatrixError && e.code === 'ENOSPC')) throw e;
        detail.reason = `vector ${i + 1} of ${toMove} finds no room on ${cpusText(others)}`;
        return detail;
      }
    }
    detail.possible = true;
    return detail;
  } finally {
    // Undo in reverse: frees restore available and the totals exactly as the allocations took them.
    for (const p of placed.reverse()) m.freeBlock(p.cpu, p.base, p.count);
  }
}

/** allocBlock kept (the evacuation's placements are visible to the next one); null on ENOSPC. */
function probeBlockKeep(m: VectorMatrix, cpus: readonly number[], n: number): Spot | null {
  try {
    const a = m.allocBlock(cpus, n);
    return { cpu: a.cpu, base: a.base };
  } catch (e) {
    if (e instanceof MatrixError && e.code === 'ENOSPC') return null;
    throw e;
  }
}

/** Every answer for a parsed dump and, optionally, the machine's lspci -vv functions. */
export function whatIf(dump: VectorDump, functions: readonly LspciFunction[] | null = null, options: Omit<RebuildOptions, 'placement'> = {}): WhatIfResult {
  checkDump(dump);
  if (functions !== null && !Array.isArray(functions)) throw new TypeError('whatIf: functions must be the array parseLspci returns, or null');
  const rebuilt = rebuildMatrix(dump, options);
  const m = rebuilt.matrix;
  const all = rebuilt.cpus;
  const cpus = dump.rows.map((r) => {
    const free = freeBits(m, r.cpu);
    return {
      cpu: r.cpu,
      available: r.available,
      allocated: r.allocated,
      managed: r.managed,
      managedAllocated: r.managedAllocated,
      blocks: bySize((n) => freeWindows(free, n)),
    };
  });
  const byPlacement = (p: Placement) => (p === 'firstFit' ? m : rebuildMatrix(dump, { ...options, placement: p }).matrix);
  const best = byPlacement('bestFit');
  const choice = bySize((n) => ({ firstFit: probeBlock(m, all, n), bestFit: probeBlock(best, all, n) }));

  const devices: DeviceDetail[] = [];
  for (const fn of functions ?? []) {
    if (!fn.msi) continue;
    const remapped = isRemappedAddress(fn.msi.address, fn.msi.addressHi);
    const { block: current, note } = currentBlock(fn, dump, remapped);
    devices.push({ fn, remapped, current, note, block: probeBlock(m, all, fn.msi.max) });
  }
  const blocks = devices.filter((d) => d.current).map((d) => ({ bdf: d.fn.bdf, from: d.current! }));
  const offline = all.map((cpu) => offlineOne(m, dump, cpu, blocks));
  return {
    json: {
      cpus,
      choice,
      offline: offline.map((o) => ({ cpu: o.cpu, possible: o.possible, reason: o.reason })),
      devices: devices.map((d) => ({ bdf: d.fn.bdf, count: d.fn.msi!.count, max: d.fn.msi!.max, remapped: d.remapped, block: d.block })),
    },
    rebuilt,
    offline,
    devices,
  };
}
