// MSI, MSI-X and I/O APIC pins through interrupt remapping, as Linux's IR irq domain stacks on the
// vector domain (drivers/iommu/intel/irq_remapping.c intel_irq_remapping_alloc/activate,
// arch/x86/kernel/apic/vector.c): the IRTE block is allocated first, then every vector on its own
// (no contiguous vectors: remapping makes each message independent), and each IRTE is written with
// modify_irte when its vector is activated. The device holds the remappable handle, data = sub-handle.

import type { CpuContext } from '../src/machine/guest-interface.js';
import { calcAffinityVectors, createAffinityMasks, type AffinityDesc } from './affinity-masks.js';
import { encodeIrte, remappableMsiAddress, remappableRte, type IrqRemapping, type IrUnit } from './intel-ir.js';
import type { IoApicDriver } from './ioapic-driver.js';
import type { IrqDesc } from './irq.js';
import { apicDest, type DriverContext, type IrqAllocation, type VectorAssignment } from './msi.js';
import { PCI_CAP_MSI, type PciDevice } from './pci.js';
import type { Placement } from './vector-domain.js';

/** MANAGED_IRQ_SHUTDOWN_VECTOR: where a reserved but not yet activated irq points (vector_assign_managed_shutdown). */
export const MANAGED_IRQ_SHUTDOWN_VECTOR = 0xef;

const MSI_CTRL_ENABLE = 1;
const MSI_CTRL_64BIT = 1 << 7;
const MSI_CTRL_PVM = 1 << 8;
const CMD_INTX_DISABLE = 1 << 10;

/** The requester id a function's memory writes carry: bus << 8 | dev << 3 | fn (pci_dev_id). */
export function requesterId(d: Pick<PciDevice, 'bus' | 'dev' | 'fn'>): number {
  return ((d.bus << 8) | (d.dev << 3) | d.fn) & 0xffff;
}

/** An I/O APIC pin as remapped: its IRTE, and the vector and CPU that IRTE names. */
export interface RemappedPin {
  pin: number;
  gsi: number;
  irte: number;
  vector: number;
  cpu: number;
  /** Requested by a driver (unmasked) or only reserved (masked, IRTE at MANAGED_IRQ_SHUTDOWN_VECTOR). */
  requested: boolean;
}

/** Writes one IRTE for a vector placement (intel_ir_reconfigure_irte → modify_irte). */
function activate(cpu: CpuContext, ctx: Pick<DriverContext, 'apicIds' | 'destMode'>, ir: IrqRemapping, unit: IrUnit, index: number, p: { cpu: number; vector: number }, sid: number): void {
  unit.modifyIrte(cpu, index, encodeIrte({ vector: p.vector, dest: apicDest(ctx, p.cpu), logical: ctx.destMode === 'logical', sid }, ir.eim));
}

/**
 * Multi-message MSI under remapping (__pci_enable_msi_range → msi_capability_init with the IR domain):
 * nvec = min(max, MMC) (with PCI_IRQ_AFFINITY, irq_calc_affinity_vectors of it), one aligned IRTE block
 * of the rounded-up size, nvec vectors each allocated independently over all online CPUs (or managed
 * on its affinity group), MME = ceil(log2 nvec), address = remappable handle, data = sub-handle 0.
 */
export function setupMsiRemapped(ctx: DriverContext, ir: IrqRemapping, d: PciDevice, min: number, max: number, handler: IrqDesc['handler'], affd?: AffinityDesc): IrqAllocation | null {
  const cap = d.capabilities.get(PCI_CAP_MSI);
  const unit = ir.unitFor(d.bus, d.dev, d.fn);
  if (cap === undefined || !unit) return null;
  const { cpu, pci } = ctx;
  const ctrl = pci.read(cpu, d, cap + 2, 2);
  const mmc = 1 << ((ctrl >> 1) & 7);
  let nvec = Math.min(max, mmc);
  const cpus = ctx.apicIds.map((_, i) => i);
  if (affd) nvec = calcAffinityVectors(min, nvec, affd, cpus.length);
  if (nvec < min || nvec < 1) return null;
  const masks = affd ? createAffinityMasks(nvec, affd, cpus) : null;
  const block = unit.allocIrte(nvec);
  if (!block) {
    ctx.log(`msi ${d.bdf}: no interrupt-remapping block for ${nvec} message(s) (MHMV ${unit.mhmv}: at most ${1 << unit.mhmv})`);
    return null;
  }
  const placed: Placement[] = [];
  for (let i = 0; i < nvec; i++) {
    const mask = masks?.[i];
    const p = mask ? ctx.domain.allocManaged(mask) : ctx.domain.allocSingle();
    if (!p) break;
    placed.push(p);
  }
  if (placed.length < nvec) {
    // msi_capability_init fails as a whole: every vector and the IRTE block go back.
    for (const p of placed) ctx.domain.release(p);
    unit.freeIrte(block.index, block.count);
    ctx.log(`msi ${d.bdf}: only ${placed.length} of ${nvec} vector(s) free; released`);
    return null;
  }
  const sid = requesterId(d);
  placed.forEach((p, i) => activate(cpu, ctx, ir, unit, block.index + i, { cpu: p.cpu, vector: p.base }, sid));
  const is64 = (ctrl & MSI_CTRL_64BIT) !== 0;
  const pvm = (ctrl & MSI_CTRL_PVM) !== 0;
  const dataOff = is64 ? 0x0c : 0x08;
  const maskOff = is64 ? 0x10 : 0x0c;
  const mme = Math.log2(block.count);
  const address = remappableMsiAddress(block.index);
  // msi_capability_init: MSI off, mask all (PVM), write the message and MME, INTx off, MSI on, unmask.
  pci.write(cpu, d, cap + 2, 2, ctrl & ~MSI_CTRL_ENABLE);
  if (pvm) pci.write(cpu, d, cap + maskOff, 4, 0xffffffff);
  pci.write(cpu, d, cap + 4, 4, address);
  if (is64) pci.write(cpu, d, cap + 8, 4, 0);
  pci.write(cpu, d, cap + dataOff, 2, 0);
  const ctrl2 = (ctrl & ~(MSI_CTRL_ENABLE | (7 << 4))) | (mme << 4);
  pci.write(cpu, d, cap + 2, 2, ctrl2);
  pci.write(cpu, d, 0x04, 2, pci.read(cpu, d, 0x04, 2) | CMD_INTX_DISABLE);
  pci.write(cpu, d, cap + 2, 2, ctrl2 | MSI_CTRL_ENABLE);
  const vectors: VectorAssignment[] = placed.map((p, i) => {
    const desc = ctx.irq.newDesc(d.bdf, i, 'msi', handler);
    ctx.irq.bind(p.cpu, p.base, desc);
    return { cpu: p.cpu, vector: p.base, desc, irte: block.index + i };
  });
  const bits = (n: number) => (n >= 32 ? 0xffffffff : (1 << n) - 1);
  if (pvm) pci.write(cpu, d, cap + maskOff, 4, (bits(mmc) & ~bits(nvec)) >>> 0);
  ctx.log(
    `msi ${d.bdf}: ${nvec} of ${mmc} message(s) remapped, IRTE ${block.index}..${block.index + block.count - 1} (block of ${block.count}), MME ${mme}, address 0x${address.toString(16)} data 0; vectors ` +
      vectors.map((v) => `${v.vector}@${v.cpu}`).join(' '),
  );
  return { mode: 'msi', vectors, irte: { index: block.index, count: block.count }, reservedTail: 0 };
}

/** MSI-X under remapping: each entry its own IRTE (count 1, sub-handle 0) and its own vector. */
export function programMsixRemapped(ctx: DriverContext, ir: IrqRemapping, d: PciDevice, placed: readonly Placement[]): Array<{ irte: number; address: number }> | null {
  const unit = ir.unitFor(d.bus, d.dev, d.fn);
  if (!unit) return null;
  const got: number[] = [];
  for (let i = 0; i < placed.length; i++) {
    const b = unit.allocIrte(1);
    if (!b) {
      for (const x of got) unit.freeIrte(x, 1);
      return null;
    }
    got.push(b.index);
  }
  const sid = requesterId(d);
  return placed.map((p, i) => {
    activate(ctx.cpu, ctx, ir, unit, got[i]!, { cpu: p.cpu, vector: p.base }, sid);
    return { irte: got[i]!, address: remappableMsiAddress(got[i]!) };
  });
}

/**
 * The I/O APIC side of remapping: every pin the boot maps (setup_IO_APIC_irqs, pin order) gets an IRTE
 * when its irq is allocated. A pin whose irq is only reserved points at MANAGED_IRQ_SHUTDOWN_VECTOR on
 * CPU 0 and stays masked; a requested pin gets its vector. The RTE is remappable: vector field = pin.
 */
export class IoApicRemap {
  readonly pins = new Map<number, RemappedPin>();

  constructor(
    private readonly ir: IrqRemapping,
    private readonly unit: IrUnit,
    private readonly sid: number,
    private readonly ioapic: IoApicDriver,
  ) {}

  /** Allocates the pin's IRTE (mp_irqdomain_alloc → intel_irq_remapping_alloc); returns the index or null. */
  allocate(cpu: CpuContext, ctx: Pick<DriverContext, 'apicIds' | 'destMode'>, gsi: number, level: boolean, activeLow: boolean): number | null {
    const known = this.pins.get(gsi);
    if (known) return known.irte;
    const b = this.unit.allocIrte(1);
    if (!b) return null;
    const pin = gsi - this.ioapic.gsiBase;
    this.pins.set(gsi, { pin, gsi, irte: b.index, vector: MANAGED_IRQ_SHUTDOWN_VECTOR, cpu: 0, requested: false });
    activate(cpu, ctx, this.ir, this.unit, b.index, { cpu: 0, vector: MANAGED_IRQ_SHUTDOWN_VECTOR }, this.sid);
    this.writeRte(cpu, pin, b.index, level, activeLow, true);
    return b.index;
  }

  /** A driver requests the pin: its IRTE gets the vector, then the RTE is unmasked. */
  request(cpu: CpuContext, ctx: Pick<DriverContext, 'apicIds' | 'destMode'>, gsi: number, target: { cpu: number; vector: number }, level: boolean, activeLow: boolean): number | null {
    const index = this.allocate(cpu, ctx, gsi, level, activeLow);
    if (index === null) return null;
    const p = this.pins.get(gsi)!;
    Object.assign(p, { vector: target.vector, cpu: target.cpu, requested: true });
    activate(cpu, ctx, this.ir, this.unit, index, target, this.sid);
    this.writeRte(cpu, p.pin, index, level, activeLow, false);
    return index;
  }

  private writeRte(cpu: CpuContext, pin: number, index: number, level: boolean, activeLow: boolean, masked: boolean): void {
    const { low, high } = remappableRte(index, pin, level, activeLow, masked);
    // Masked while the upper half changes, as ioapic_write_entry does (low first with the mask).
    this.ioapic.write(cpu, 0x10 + 2 * pin, low | (1 << 16));
    this.ioapic.write(cpu, 0x11 + 2 * pin, high);
    this.ioapic.write(cpu, 0x10 + 2 * pin, low);
  }
}
