// Rebuilds a VectorMatrix from a parsed VECTOR dump through the matrix's own operations, so every
// counter moves as kernel/irq/matrix.c moves it and the rebuilt dump() prints the input's numbers.
// What the dump does not show is assumed, and said so: which allocated vectors are the managed
// ones, and where unallocated managed reservations sit.

import { createMatrixSync, X86_PRESETS, type MatrixPreset, type VectorMatrix } from '../alloc/matrix.js';
import type { EngineName, Placement } from '../alloc/core.js';
import { checkDump, DUMP_MATRIX_BITS, DUMP_RANGE_START, type VectorDump } from './vector-dump.js';

export interface RebuildOptions {
  /** Run placement of allocBlock on the rebuilt matrix (default firstFit). */
  placement?: Placement;
  /** 'js' (default) or 'wasm' with `wasmModule` compiled beforehand. */
  engine?: EngineName;
  wasmModule?: WebAssembly.Module;
}

/** Per dump CPU, the managed bits the dump does not locate. */
export interface AssumedManaged {
  cpu: number;
  /** Allocated vectors taken as the managed allocated ones (the lowest `mac` of the row). */
  allocated: number[];
  /** Managed reservations not allocated (man − mac): the lowest bits free at import. */
  reserved: number[];
}

export interface RebuiltMatrix {
  matrix: VectorMatrix;
  /** The dump's CPUs (online in the matrix), ascending. */
  cpus: number[];
  /** The allocation range [start, end). */
  start: number;
  end: number;
  /** The kernel generation whose layout matches (range and in-range system bits), if any. */
  layout: MatrixPreset | null;
  assumed: AssumedManaged[];
  /** Offline CPUs beyond the dump's that carry Total allocated's surplus over the rows (none usually). */
  hiddenCpus: number[];
}

const SEARCH_CPU = (m: VectorMatrix, cpu: number) => m.mask([cpu]);

/** Kernel layouts by range end and in-range system bits (the newest name of each). */
function matchLayout(end: number, system: readonly number[]): MatrixPreset | null {
  const inRange = system.filter((b) => b >= DUMP_RANGE_START && b < end).join(',');
  for (const name of ['x86', 'x86-6.6', 'x86-6.1'] as const) {
    const p = X86_PRESETS[name];
    if (p.end === end && [...p.system].sort((a, b) => a - b).join(',') === inRange) return name;
  }
  return null;
}

/** The matrix as the dump describes it. Throws MatrixError only on a dump parseVectorDump did not check. */
export function rebuildMatrix(dump: VectorDump, options: RebuildOptions = {}): RebuiltMatrix {
  checkDump(dump);
  const lastCpu = dump.rows[dump.rows.length - 1]!.cpu;
  const capacity = (() => {
    let n = 0;
    for (let b = DUMP_RANGE_START; b < dump.end; b++) if (!dump.system.includes(b)) n++;
    return n;
  })();
  // Total allocated above the rows' act: allocations the kernel still counts on offline CPUs.
  const surplus = dump.totalAllocated - dump.rows.reduce((s, r) => s + r.allocated, 0);
  const hiddenCount = capacity > 0 ? Math.ceil(surplus / capacity) : 0;
  const matrix = createMatrixSync(
    {
      cpus: lastCpu + 1 + hiddenCount,
      bits: DUMP_MATRIX_BITS,
      start: DUMP_RANGE_START,
      end: dump.end,
      engine: options.engine ?? 'js',
      placement: options.placement ?? 'firstFit',
    },
    options.wasmModule,
  );
  for (const b of dump.system) matrix.assignSystem(b, false);
  const assumed: AssumedManaged[] = [];
  for (const row of dump.rows) assumed.push(rebuildCpu(matrix, dump, row));
  for (let i = 0; i < dump.globalReserved; i++) matrix.reserve();
  const hiddenCpus: number[] = [];
  let left = surplus;
  for (let k = 0; k < hiddenCount; k++) {
    const cpu = lastCpu + 1 + k;
    matrix.online(cpu);
    for (let b = DUMP_RANGE_START; b < dump.end && left > 0; b++) {
      if (dump.system.includes(b)) continue;
      matrix.assign(cpu, b);
      left--;
    }
    matrix.offline(cpu);
    hiddenCpus.push(cpu);
  }
  return {
    matrix,
    cpus: dump.rows.map((r) => r.cpu),
    start: DUMP_RANGE_START,
    end: dump.end,
    layout: matchLayout(dump.end, dump.system),
    assumed,
    hiddenCpus,
  };
}

/**
 * One CPU: online, regular vectors assigned (each takes one available, as irq_matrix_assign
 * does), managed reservations steered onto the chosen bits by blocking every other free bit
 * for the moment, allocated with irq_matrix_alloc_managed (which leaves available alone), then
 * the unallocated reservations on the lowest bits still free.
 */
function rebuildCpu(m: VectorMatrix, dump: VectorDump, row: VectorDump['rows'][number]): AssumedManaged {
  const { cpu } = row;
  const managedAllocated = row.vectors.slice(0, row.managedAllocated);
  const taken = new Set(row.vectors);
  const system = new Set(dump.system);
  m.online(cpu);
  for (const v of row.vectors.slice(row.managedAllocated)) m.assign(cpu, v);
  const only = SEARCH_CPU(m, cpu);
  if (managedAllocated.length > 0) {
    const blockers: number[] = [];
    for (let b = DUMP_RANGE_START; b < dump.end; b++) if (!taken.has(b) && !system.has(b)) blockers.push(b);
    for (const b of blockers) m.assign(cpu, b);
    for (let i = 0; i < managedAllocated.length; i++) m.reserveManaged(only);
    for (let i = 0; i < managedAllocated.length; i++) m.allocManaged(only);
    for (const b of blockers) m.free(cpu, b);
  }
  const before = new Set(m.managedVectors(cpu));
  for (let i = row.managedAllocated; i < row.managed; i++) m.reserveManaged(only);
  const reserved = m.managedVectors(cpu).filter((b) => !before.has(b));
  return { cpu, allocated: managedAllocated, reserved };
}
