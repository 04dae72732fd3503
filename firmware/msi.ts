// pci_alloc_irq_vectors() for the guest (shape of Linux drivers/pci/msi/api.c): MSI-X, then MSI
// (multi-message as the vector domain allows), then INTx through the I/O APIC. Programs the
// capability registers in the order Linux's msi_capability_init / msix_capability_init use.

import type { CpuContext } from '../src/machine/guest-interface.js';
import type { IoApicDriver } from './ioapic-driver.js';
import type { IrqDesc, IrqLayer } from './irq.js';
import { PCI_CAP_MSI, PCI_CAP_MSIX, type PciBusDriver, type PciDevice } from './pci.js';
import type { MsiPlacement, Placement, VectorDomain } from './vector-domain.js';
import { calcAffinityVectors, createAffinityMasks, type AffinityDesc } from './affinity-masks.js';
import type { IrqRemapping } from './intel-ir.js';
import { programMsixRemapped, setupMsiRemapped, type IoApicRemap } from './msi-ir.js';

export const PCI_IRQ_INTX = 1;
export const PCI_IRQ_MSI = 2;
export const PCI_IRQ_MSIX = 4;
export const PCI_IRQ_ALL_TYPES = 7;

const MSI_CTRL_ENABLE = 1;
const MSI_CTRL_64BIT = 1 << 7;
const MSI_CTRL_PVM = 1 << 8;
const MSIX_CTRL_ENABLE = 1 << 15;
const MSIX_CTRL_MASKALL = 1 << 14;
const CMD_INTX_DISABLE = 1 << 10;

/** x86 MSI address, physical destination mode, no redirection hint (SDM §11.11.1). */
export function msiAddress(apicId: number): number {
  return (0xfee00000 | ((apicId & 0xff) << 12)) >>> 0;
}

export type DestMode = 'physical' | 'logical';

/** The destination a CPU index is named by: its APIC ID, or in flat logical mode 1 << cpu (apic_flat_calc_apicid). */
export function apicDest(ctx: Pick<DriverContext, 'apicIds' | 'destMode'>, cpu: number): number {
  return ctx.destMode === 'logical' ? 1 << cpu : ctx.apicIds[cpu]!;
}

/** The MSI address for CPU index `cpu` as __irq_msi_compose_msg builds it: DM (bit 2) in logical mode, RH 0. */
export function msiAddressFor(ctx: Pick<DriverContext, 'apicIds' | 'destMode'>, cpu: number): number {
  const a = msiAddress(apicDest(ctx, cpu));
  return ctx.destMode === 'logical' ? (a | 4) >>> 0 : a;
}

export interface VectorAssignment {
  /** Message/entry index → where its vector lives. */
  cpu: number;
  vector: number;
  desc: IrqDesc;
  /** Under interrupt remapping: the IRTE this message goes through. */
  irte?: number;
}

export interface IrqAllocation {
  mode: 'msi' | 'msix' | 'intx';
  /** One entry per message (MSI: base + i on one CPU; MSI-X: independent; INTx: one). */
  vectors: VectorAssignment[];
  /** MSI: the block as allocated and programmed (base = data register, count = 2^MME). */
  block?: Placement;
  /** MSI: vectors of `block` beyond the grant, allocated with no handler (0 when none). */
  reservedTail?: number;
  gsi?: number;
  /** MSI under interrupt remapping: the IRTE block (count = the rounded-up size). */
  irte?: { index: number; count: number };
}

export interface DriverContext {
  cpu: CpuContext;
  pci: PciBusDriver;
  domain: VectorDomain;
  irq: IrqLayer;
  ioapic: IoApicDriver;
  apicIds: readonly number[];
  /** How messages and RTEs name a CPU (default physical). */
  destMode?: DestMode;
  /** Interrupt remapping when the boot enabled it (policy linux-ir), else absent or null. */
  ir?: IrqRemapping | null;
  /** The I/O APIC's pins under remapping (with `ir`). */
  ioapicRemap?: IoApicRemap | null;
  log(m: string): void;
}

export function msiMessageCount(ctx: DriverContext, d: PciDevice): number {
  const cap = d.capabilities.get(PCI_CAP_MSI);
  if (cap === undefined) return 0;
  return 1 << ((ctx.pci.read(ctx.cpu, d, cap + 2, 2) >> 1) & 7);
}

export function msixTableSize(ctx: DriverContext, d: PciDevice): number {
  const cap = d.capabilities.get(PCI_CAP_MSIX);
  if (cap === undefined) return 0;
  return (ctx.pci.read(ctx.cpu, d, cap + 2, 2) & 0x7ff) + 1;
}

/**
 * Allocates between `min` and `max` vectors of the allowed types; returns null when no type works.
 * `handler(desc)` is the device's interrupt handler.
 */
export function pciAllocIrqVectors(
  ctx: DriverContext,
  d: PciDevice,
  min: number,
  max: number,
  flags: number,
  handler: IrqDesc['handler'],
  /** PCI_IRQ_AFFINITY with its struct irq_affinity (pci_alloc_irq_vectors_affinity); absent: none. */
  affd?: AffinityDesc,
): IrqAllocation | null {
  if (flags & PCI_IRQ_MSIX) {
    const r = setupMsix(ctx, d, min, max, handler, affd);
    if (r) return r;
  }
  if (flags & PCI_IRQ_MSI) {
    const r = setupMsi(ctx, d, min, max, handler, affd);
    if (r) return r;
  }
  if (flags & PCI_IRQ_INTX && min <= 1) return setupIntx(ctx, d, handler);
  return null;
}

function setupMsi(ctx: DriverContext, d: PciDevice, min: number, max: number, handler: IrqDesc['handler'], affd?: AffinityDesc): IrqAllocation | null {
  const cap = d.capabilities.get(PCI_CAP_MSI);
  if (cap === undefined) return null;
  if (ctx.ir) return setupMsiRemapped(ctx, ctx.ir, d, min, max, handler, affd);
  const { cpu, pci } = ctx;
  const ctrl = pci.read(cpu, d, cap + 2, 2);
  const mmc = 1 << ((ctrl >> 1) & 7);
  // __pci_enable_msi_range: nvec = min(max, MMC), exact (MME rounds up, the grant does not round down).
  const want = Math.min(max, mmc);
  if (want < min) return null;
  let block: MsiPlacement | null;
  if (affd) {
    // Without remapping the arch answers 1 for nvec > 1 and the loop retries with one vector, whose
    // mask irq_create_affinity_masks computes (managed unless pre/post take it). A block cannot be
    // spread, so the block policies refuse (the scenario already did).
    if (ctx.domain.policy !== 'linux' && ctx.domain.policy !== 'linux-ir') {
      ctx.log(`msi ${d.bdf}: PCI_IRQ_AFFINITY on multi-message MSI: a block cannot be spread`);
      return null;
    }
    const cpus = ctx.apicIds.map((_, i) => i);
    if (min > 1 || calcAffinityVectors(min, 1, affd, cpus.length) < min) return null;
    const mask = createAffinityMasks(1, affd, cpus)[0];
    const p = mask ? ctx.domain.allocManaged(mask) : ctx.domain.allocSingle();
    block = p && { ...p, size: 1 };
  } else block = ctx.domain.allocMsi(want, min);
  if (!block) {
    ctx.log(`msi ${d.bdf}: no room for ${want} vector(s) (min ${min})`);
    return null;
  }
  const is64 = (ctrl & MSI_CTRL_64BIT) !== 0;
  const pvm = (ctrl & MSI_CTRL_PVM) !== 0;
  const dataOff = is64 ? 0x0c : 0x08;
  const maskOff = is64 ? 0x10 : 0x0c;
  const apicId = ctx.apicIds[block.cpu]!;
  // msi_capability_init: MSI off, mask all (PVM), write the message and MME, INTx off, MSI on, unmask.
  pci.write(cpu, d, cap + 2, 2, ctrl & ~MSI_CTRL_ENABLE);
  if (pvm) pci.write(cpu, d, cap + maskOff, 4, 0xffffffff);
  pci.write(cpu, d, cap + 4, 4, msiAddressFor(ctx, block.cpu));
  if (is64) pci.write(cpu, d, cap + 8, 4, 0);
  pci.write(cpu, d, cap + dataOff, 2, block.base & 0xffff);
  const mme = Math.log2(block.size);
  const ctrl2 = (ctrl & ~(MSI_CTRL_ENABLE | (7 << 4))) | (mme << 4);
  pci.write(cpu, d, cap + 2, 2, ctrl2);
  const cmd = pci.read(cpu, d, 0x04, 2);
  pci.write(cpu, d, 0x04, 2, cmd | CMD_INTX_DISABLE);
  pci.write(cpu, d, cap + 2, 2, ctrl2 | MSI_CTRL_ENABLE);
  const vectors: VectorAssignment[] = [];
  for (let i = 0; i < block.count; i++) {
    const desc = ctx.irq.newDesc(d.bdf, i, 'msi', handler);
    ctx.irq.bind(block.cpu, block.base + i, desc);
    vectors.push({ cpu: block.cpu, vector: block.base + i, desc });
  }
  // Only the granted messages are unmasked (Linux unmasks per requested IRQ); a tail stays masked.
  const bits = (n: number) => (n >= 32 ? 0xffffffff : (1 << n) - 1);
  if (pvm) pci.write(cpu, d, cap + maskOff, 4, (bits(mmc) & ~bits(block.count)) >>> 0);
  const tail = block.size - block.count;
  ctx.log(
    `msi ${d.bdf}: ${block.count} of ${mmc} message(s)${tail ? ` (block of ${block.size}, ${tail} reserved)` : ''}, CPU ${block.cpu} (APIC ${apicId}) vectors 0x${block.base.toString(16)}` +
      `..0x${(block.base + block.count - 1).toString(16)}, address 0x${msiAddressFor(ctx, block.cpu).toString(16)} data 0x${block.base.toString(16)} MME ${mme}`,
  );
  return { mode: 'msi', vectors, block: { cpu: block.cpu, base: block.base, count: block.size }, reservedTail: tail };
}

function setupMsix(ctx: DriverContext, d: PciDevice, min: number, max: number, handler: IrqDesc['handler'], affd?: AffinityDesc): IrqAllocation | null {
  const cap = d.capabilities.get(PCI_CAP_MSIX);
  if (cap === undefined) return null;
  const { cpu, pci } = ctx;
  const ctrl = pci.read(cpu, d, cap + 2, 2);
  const size = (ctrl & 0x7ff) + 1;
  let n = Math.min(size, max);
  if (n < min) return null;
  // __pci_enable_msix_range: with affinity, nvec = irq_calc_affinity_vectors(min, nvec); each spread
  // vector is managed on its group's CPUs, pre/post ones are ordinary.
  const cpus = ctx.apicIds.map((_, i) => i);
  if (affd) n = calcAffinityVectors(min, n, affd, cpus.length);
  if (n < min) return null;
  const masks = affd ? createAffinityMasks(n, affd, cpus) : null;
  const table = pci.read(cpu, d, cap + 4, 4);
  const bar = d.bars.find((b) => b.index === (table & 7));
  if (!bar || bar.address === 0) return null;
  const tableAddr = bar.address + (table & ~7);
  const placed: Placement[] = [];
  for (let i = 0; i < n; i++) {
    const mask = masks?.[i];
    const p = mask ? ctx.domain.allocManaged(mask) : ctx.domain.allocSingle();
    if (!p) break;
    placed.push(p);
  }
  // With affinity the masks were computed for n vectors: anything less fails as a whole.
  if (placed.length < (masks ? n : min)) {
    // Below min the request fails as a whole, as Linux's does: give back every vector it took.
    for (const p of placed) ctx.domain.release(p);
    ctx.log(`msix ${d.bdf}: only ${placed.length} of ${n} vector(s) free (min ${min}); released`);
    return null;
  }
  // Under remapping each entry gets its own IRTE (sub-handle 0) before the table is written.
  const remapped = ctx.ir ? programMsixRemapped(ctx, ctx.ir, d, placed) : null;
  if (ctx.ir && !remapped) {
    for (const p of placed) ctx.domain.release(p);
    ctx.log(`msix ${d.bdf}: no interrupt-remapping entries for ${placed.length} vector(s); released`);
    return null;
  }
  // msix_capability_init: enable with function mask, program entries, unmask them, clear the mask.
  pci.write(cpu, d, cap + 2, 2, ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
  const cmd = pci.read(cpu, d, 0x04, 2);
  pci.write(cpu, d, 0x04, 2, cmd | CMD_INTX_DISABLE);
  const vectors: VectorAssignment[] = [];
  placed.forEach((p, i) => {
    const e = tableAddr + 16 * i;
    const r = remapped?.[i];
    cpu.write32(e + 0, r ? r.address : msiAddressFor(ctx, p.cpu));
    cpu.write32(e + 4, 0);
    cpu.write32(e + 8, r ? 0 : p.base);
    cpu.write32(e + 12, 0); // vector control: unmasked
    const desc = ctx.irq.newDesc(d.bdf, i, 'msix', handler);
    ctx.irq.bind(p.cpu, p.base, desc);
    vectors.push({ cpu: p.cpu, vector: p.base, desc, ...(r ? { irte: r.irte } : {}) });
  });
  pci.write(cpu, d, cap + 2, 2, (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASKALL);
  ctx.log(`msix ${d.bdf}: ${placed.length} of ${size} entr${size === 1 ? 'y' : 'ies'}: ${vectors.map((v) => `${v.cpu}/0x${v.vector.toString(16)}${v.irte === undefined ? '' : ` (IRTE ${v.irte})`}`).join(' ')}`);
  return { mode: 'msix', vectors };
}

function setupIntx(ctx: DriverContext, d: PciDevice, handler: IrqDesc['handler']): IrqAllocation | null {
  if (d.interruptPin < 1 || d.interruptPin > 4) return null;
  const gsi = d.interruptLine;
  const p = ctx.domain.allocSingle();
  if (!p) return null;
  const desc = ctx.irq.newDesc(d.bdf, 0, 'intx', handler, gsi);
  ctx.irq.bind(p.cpu, p.base, desc);
  const cmd = ctx.pci.read(ctx.cpu, d, 0x04, 2);
  ctx.pci.write(ctx.cpu, d, 0x04, 2, cmd & ~CMD_INTX_DISABLE);
  let irte: number | undefined;
  if (ctx.ioapicRemap) {
    const index = ctx.ioapicRemap.request(ctx.cpu, ctx, gsi, { cpu: p.cpu, vector: p.base }, true, true);
    if (index === null) {
      ctx.irq.unbind(p.cpu, p.base);
      ctx.domain.release(p);
      ctx.log(`intx ${d.bdf}: no interrupt-remapping entry for GSI ${gsi}`);
      return null;
    }
    irte = index;
    // ioapic_ir_ack_level: the remote IRR is matched on the RTE's vector field, which holds the pin,
    // not the IRTE's vector, so the local APIC's EOI broadcast misses it: EOI the pin at the I/O APIC.
    const pin = gsi - ctx.ioapic.gsiBase;
    desc.afterEoi = (c) => ctx.ioapic.eoiPin(c, pin);
  } else ctx.ioapic.route(ctx.cpu, gsi, p.base, apicDest(ctx, p.cpu), true, true, ctx.destMode === 'logical');
  ctx.log(`intx ${d.bdf}: INT${'ABCD'[d.interruptPin - 1]} → GSI ${gsi} → CPU ${p.cpu} vector 0x${p.base.toString(16)} (level, active low)${irte === undefined ? '' : `, remapped through IRTE ${irte}`}`);
  return { mode: 'intx', vectors: [{ cpu: p.cpu, vector: p.base, desc, ...(irte === undefined ? {} : { irte }) }], gsi };
}
