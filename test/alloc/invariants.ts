// Invariants of the vector matrix, checked from the public API after every operation of a trace.

import type { VectorMatrix } from '../../src/alloc/matrix.js';
import type { Op } from './trace.js';

/** Largest free aligned block (<= 32) computed directly from the maps, independent of the engine's summary. */
export function largestFreeAligned(m: VectorMatrix, cpu: number): number {
  const used = new Set([...m.vectors(cpu), ...m.managedVectors(cpu), ...m.systemVectors()]);
  for (let n = 32; n >= 1; n >>= 1) {
    for (let b = Math.ceil(m.start / n) * n; b + n <= m.end; b += n) {
      let free = true;
      for (let i = b; i < b + n && free; i++) if (used.has(i)) free = false;
      if (free) return n;
    }
  }
  return 0;
}

export interface InvariantContext {
  /** (cpu:bit) pairs that may be both allocated/managed and system: allocated before the system bit was set. */
  allowedSystemOverlap: Set<string>;
  blocks: ReadonlyArray<{ cpu: number; bit: number; count: number }>;
}

/**
 * Throws with a precise message when an invariant is broken. Global counters are always checked;
 * per-CPU map invariants for `only` (the CPUs an op touched) or, without it, for every CPU.
 */
export function checkInvariants(m: VectorMatrix, ctx: InvariantContext, only?: ReadonlySet<number>): void {
  const fail = (msg: string) => {
    throw new Error(`invariant broken (${m.engine}): ${msg}`);
  };
  const s = m.stats();
  const system = new Set(m.systemVectors());
  let sumAvail = 0;
  let online = 0;
  for (let c = 0; c < m.cpus; c++) {
    const st = m.cpu(c);
    if (st.online) {
      online++;
      sumAvail += st.available;
    }
    if (only && !only.has(c)) continue;
    const alloc = m.vectors(c);
    const managed = m.managedVectors(c);
    if (st.allocated !== alloc.length) fail(`CPU ${c} allocated ${st.allocated} != popcount(alloc_map) ${alloc.length}`);
    if (st.managed !== managed.length) fail(`CPU ${c} managed ${st.managed} != popcount(managed_map) ${managed.length}`);
    const allocSet = new Set(alloc);
    const both = managed.filter((b) => allocSet.has(b)).length;
    if (st.managedAllocated !== both) fail(`CPU ${c} managed_allocated ${st.managedAllocated} != |managed & alloc| ${both}`);
    for (const b of alloc) if (b < m.start || b >= m.end) fail(`CPU ${c} bit ${b} allocated outside the range`);
    for (const b of [...alloc, ...managed]) {
      if (system.has(b) && !ctx.allowedSystemOverlap.has(`${c}:${b}`)) fail(`CPU ${c} bit ${b} is both system and allocated/managed`);
    }
    // No upper bound: the kernel lets available drift above the free bits (a managed reservation made
    // while a CPU is offline is never charged, but its removal while online is credited).
    if (st.available < 0) fail(`CPU ${c} available ${st.available} < 0`);
    const lf = largestFreeAligned(m, c);
    if (st.largestFreeBlock !== lf) fail(`CPU ${c} summary ${st.largestFreeBlock} != largest free aligned block ${lf}`);
  }
  if (s.onlineMaps !== online) fail(`online_maps ${s.onlineMaps} != ${online} online CPUs`);
  if (s.globalAvailable !== sumAvail) fail(`global_available ${s.globalAvailable} != sum of online available ${sumAvail}`);
  if (s.globalReserved < 0) fail(`global_reserved ${s.globalReserved} < 0`);
  if (s.totalAllocated < 0) fail(`total_allocated ${s.totalAllocated} < 0`);
  for (const blk of ctx.blocks) {
    if (only && !only.has(blk.cpu)) continue;
    if (blk.bit % blk.count !== 0) fail(`block ${blk.bit}/${blk.count} on CPU ${blk.cpu} is not aligned`);
    if (blk.bit < m.start || blk.bit + blk.count > m.end) fail(`block ${blk.bit}/${blk.count} outside the range`);
    for (let b = blk.bit; b < blk.bit + blk.count; b++) {
      if (!m.isAllocated(blk.cpu, b)) fail(`live block ${blk.bit}/${blk.count} on CPU ${blk.cpu}: bit ${b} not allocated`);
    }
  }
}

/** A system bit that was already allocated or managed on a CPU stays allowed there. */
export function noteSystemOverlap(m: VectorMatrix, o: Op, outcome: unknown, ctx: InvariantContext): void {
  if (o.op !== 'system' || outcome !== 'ok') return;
  for (let c = 0; c < m.cpus; c++) {
    if (m.isAllocated(c, o.bit) || m.managedVectors(c).includes(o.bit)) ctx.allowedSystemOverlap.add(`${c}:${o.bit}`);
  }
}

/** The CPUs whose maps an op may have changed (all of them for system bits). */
export function touchedCpus(o: Op, outcome: unknown): ReadonlySet<number> | undefined {
  if (o.op === 'system') return undefined;
  const set = new Set<number>();
  if ('cpu' in o) set.add(o.cpu);
  if ('mask' in o) for (const c of o.mask) set.add(c);
  if (typeof outcome === 'object' && outcome !== null && 'cpu' in outcome) set.add((outcome as { cpu: number }).cpu);
  return set;
}
