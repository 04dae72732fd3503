// The guest's vector map for the host: per CPU, what each IDT vector is (system, legacy, managed,
// reserved, a single vector, part of a multi-MSI block, free) and who owns it — the structured form of
// the debugfs dump, which a viewer can draw without parsing text.

import type { IrqLayer } from './irq.js';
import type { IrqAllocation } from './msi.js';
import type { VectorDomain } from './vector-domain.js';

/**
 * One character per vector: '.' free, 's' system, 'l' legacy ISA, 'm' managed, 'r' reserved (a
 * block's tail beyond the grant), '1' a single vector, 'b' part of a multi-MSI block, '-' a CPU the
 * domain cannot target.
 */
export const VECTOR_CELL = { free: '.', system: 's', legacy: 'l', managed: 'm', reserved: 'r', single: '1', block: 'b', unusable: '-' } as const;

export interface VectorMap {
  policy: string;
  /** cells[cpu] is 256 characters, vector 0 first (see VECTOR_CELL). */
  cells: string[];
  /**
   * Vectors with a handler: [cpu, vector, owner ("00:03.0#2", "timer"…)], by CPU and vector. As the
   * guest prints it, without the probed devices' messages (runScenario adds those from the devices).
   */
  owners: [number, number, string][];
  /** Multi-MSI blocks as allocated: `size` vectors from `base` on `cpu`, `count` of them granted. */
  blocks: { bdf: string; cpu: number; base: number; size: number; count: number }[];
}

/**
 * The map as the guest prints it: each distinct row once, run-length coded ("s32,.200,b24": a kind
 * character, then how many vectors; '1' is a kind too), and per CPU the index of its row. Every byte crosses the debug
 * port one OUT at a time, and 1024 CPUs' rows are mostly alike.
 */
export interface PackedVectorMap extends Omit<VectorMap, 'cells'> {
  rows: string[];
  cpuRow: number[];
}

export function packVectorMap(map: VectorMap): PackedVectorMap {
  const index = new Map<string, number>();
  const rows: string[] = [];
  const cpuRow = map.cells.map((row) => {
    let k = index.get(row);
    if (k === undefined) {
      const runs: string[] = [];
      for (let i = 0; i < row.length; ) {
        let j = i;
        while (j < row.length && row[j] === row[i]) j++;
        runs.push(`${row[i]}${j - i}`);
        i = j;
      }
      index.set(row, (k = rows.length));
      rows.push(runs.join(','));
    }
    return k;
  });
  const { cells: _cells, ...rest } = map;
  return { ...rest, rows, cpuRow };
}

export function unpackVectorMap(p: PackedVectorMap): VectorMap {
  const rows = p.rows.map((rle) => {
    let row = '';
    for (const run of rle.split(',')) row += run[0]!.repeat(Number(run.slice(1)));
    return row;
  });
  const { rows: _rows, cpuRow, ...rest } = p;
  return { ...rest, cells: cpuRow.map((k) => rows[k] ?? '') };
}

export function vectorMap(domain: VectorDomain, irq: IrqLayer, cpus: number, bound: readonly { bdf: string; alloc: IrqAllocation | null }[]): VectorMap {
  const rows = Array.from({ length: cpus }, (_, c) => domain.cells(c).split(''));
  const blocks: VectorMap['blocks'] = [];
  for (const { bdf, alloc } of bound) {
    if (!alloc) continue;
    const b = alloc.block;
    if (b && b.count > 1) {
      const granted = alloc.vectors.length;
      blocks.push({ bdf, cpu: b.cpu, base: b.base, size: b.count, count: granted });
      for (let i = 0; i < b.count; i++) if (rows[b.cpu]?.[b.base + i] !== undefined) rows[b.cpu]![b.base + i] = i < granted ? 'b' : 'r';
      continue;
    }
    for (const v of alloc.vectors) {
      const row = rows[v.cpu];
      if (row && row[v.vector] !== 'm') row[v.vector] = '1';
    }
  }
  // Held by something else (another driver, the I/O APIC's pins): one vector each.
  for (const row of rows) for (let v = 0; v < 256; v++) if (row[v] === 'u') row[v] = '1';
  // The probed devices' MSI/MSI-X vectors are in their device reports (message i: its expected CPU
  // and vector), so only the other owners cross the console: the timer, I/O APIC pins, INTx.
  const owners: VectorMap['owners'] = [];
  const probed = new Set(bound.filter((b) => b.alloc && b.alloc.mode !== 'intx').map((b) => b.bdf));
  irq.vectorIrq.forEach((byVector, cpu) => {
    for (const [vector, d] of [...byVector].sort((a, b) => a[0] - b[0])) {
      if ((d.kind === 'msi' || d.kind === 'msix') && probed.has(d.owner)) continue;
      owners.push([cpu, vector, d.kind === 'msi' || d.kind === 'msix' ? `${d.owner}#${d.index}` : d.owner]);
    }
  });
  return { policy: domain.policy, cells: rows.map((r) => r.join('')), owners, blocks };
}
