// Moving a remapped MSI (drivers/iommu/intel/irq_remapping.c intel_ir_set_affinity, Linux 6.1): the
// vector domain gives the interrupt a new vector on the new CPU (apic_update_vector installs the handler
// there), intel_ir_reconfigure_irte → modify_irte rewrites that one IRTE, and send_cleanup_vector frees
// the old vector once the old CPU has no request pending for it. The device's address and data never
// change: message i always names IRTE handle + i. Left out: posted interrupts (IM = 1).
//
// modify_irte for a non-posted entry is two 64-bit stores — the low qword (present, mode, vector,
// destination) then the high qword (SID, SQ, SVT) — then an index-selective interrupt-entry-cache
// invalidation with a wait descriptor. Each is one step here, so a harness can fire the device between
// any two: after the low store a unit that has not cached the entry already sees the new one; a unit
// that cached it keeps the old one until the invalidation (VT-d §6.5.2.7), and the old vector still
// has its handler until the cleanup.

import { MatrixError } from '../src/alloc/errors.js';
import type { CpuContext } from '../src/machine/guest-interface.js';
import { AffinityError, type AffinityContext, type MoveStep, type MsiBlockBinding } from './affinity.js';
import { encodeIrte, IRTE_BYTES, type IrUnit } from './intel-ir.js';
import { apicDest } from './msi.js';
import type { Placement } from './vector-domain.js';

/** A device's MSI behind a remapping unit: its IRTE block and where each entry points. */
export interface RemapBinding {
  unit: IrUnit;
  /** The handle: message i uses IRTE index + i. */
  index: number;
  /** The requester id the IRTEs validate (SVT = 1, SQ = 0). */
  sid: number;
  /** IRTA.EIME: 32-bit destinations. */
  eim: boolean;
  /** Message i → the vector and CPU its IRTE names. */
  places: { cpu: number; vector: number }[];
}

const hex = (v: number) => `0x${v.toString(16)}`;

/** The IRTE of message `i` pointing at `p`, as intel_ir_reconfigure_irte builds it. */
function irteFor(ctx: AffinityContext, r: RemapBinding, p: { cpu: number; vector: number }): [number, number, number, number] {
  return encodeIrte({ vector: p.vector, dest: apicDest(ctx, p.cpu), logical: ctx.destMode === 'logical', sid: r.sid }, r.eim);
}

/**
 * New vectors for every message of `b` (irq_matrix_alloc over `cpus`, one message after another, as
 * Linux moves one irq at a time), or ENOSPC with nothing allocated.
 */
export function allocRemapTargets(ctx: AffinityContext, b: MsiBlockBinding, cpus: readonly number[]): { cpu: number; vector: number }[] {
  const m = ctx.domain.matrix;
  const got: { cpu: number; vector: number }[] = [];
  try {
    for (let i = 0; i < b.count; i++) got.push(m.alloc(cpus));
  } catch (e) {
    for (const g of got) m.free(g.cpu, g.vector);
    if (e instanceof MatrixError && e.code === 'ENOSPC') throw new AffinityError('ENOSPC', `no free vector for message ${got.length} of ${b.dev.bdf} on CPUs ${cpus.join(',')}`);
    throw e;
  }
  return got;
}

/**
 * The steps that re-point every message of `b` to `targets` (already allocated): per message, install
 * the handler at the new vector, store the IRTE's low qword, its high qword, invalidate and wait. The
 * last step records the old vectors as retired (freed by cleanupStep once nothing is pending there).
 */
export function remapMoveSteps(ctx: AffinityContext, b: MsiBlockBinding, targets: readonly { cpu: number; vector: number }[]): MoveStep[] {
  const r = b.remap!;
  const from = r.places.map((p) => ({ ...p }));
  const steps: MoveStep[] = [];
  targets.forEach((t, i) => {
    const index = r.index + i;
    const entry = irteFor(ctx, r, t);
    const at = r.unit.tableBase + index * IRTE_BYTES;
    steps.push(
      { label: `message ${i}: handler at CPU ${t.cpu} ${hex(t.vector)}`, run: () => (ctx.irq.bind(t.cpu, t.vector, b.descs[i]!), 'done') },
      { label: `IRTE ${index}: store the low qword (vector ${hex(t.vector)}, APIC ${ctx.apicIds[t.cpu]})`, run: (c) => (store(c, at, entry[0], entry[1]), 'done') },
      { label: `IRTE ${index}: store the high qword (SID ${hex(r.sid)})`, run: (c) => (store(c, at + 8, entry[2], entry[3]), 'done') },
      {
        label: `IRTE ${index}: invalidate the interrupt-entry cache and wait`,
        run: (c) => {
          r.unit.flushIec(c, index, 0);
          r.places[i] = { cpu: t.cpu, vector: t.vector };
          return 'done';
        },
      },
    );
  });
  const last = steps[steps.length - 1]!;
  const fromCpu = from[0]!.cpu;
  steps[steps.length - 1] = {
    label: last.label,
    run: (c) => {
      const res = last.run(c);
      const blocks: Placement[] = from.map((p) => ({ cpu: p.cpu, base: p.vector, count: 1 }));
      Object.assign(b, { cpu: targets[0]!.cpu, base: targets[0]!.vector, retired: { cpu: fromCpu, blocks } });
      return res;
    },
  };
  return steps;
}

/** A 64-bit store, as one step: the CPU model writes dwords, and nothing can run between the two. */
function store(c: CpuContext, address: number, lo: number, hi: number): void {
  c.write32(address, lo);
  c.write32(address + 4, hi);
}

/** Every message of a remapped binding on one CPU (a move starts from there), or EINVAL. */
export function remapSourceCpu(b: MsiBlockBinding): number {
  const r = b.remap!;
  const cpus = new Set(r.places.map((p) => p.cpu));
  if (cpus.size !== 1) throw new AffinityError('EINVAL', `${b.dev.bdf}: its messages sit on CPUs ${[...cpus].join(',')}; move them from one CPU at a time`);
  return r.places[0]!.cpu;
}
