// The guest's interrupt-remapping driver, as Linux's drivers/iommu/intel/irq_remapping.c and dmar.c
// (6.1) bring a VT-d unit up: discovery from DMAR, Linux's refusal conditions, the table, queued
// invalidation, IRE; then alloc_irte / modify_irte. Registers and bits: VT-d spec §10.4 (docs/DESIGN.md F11).
// Left out: posted interrupts, DMA translation, hot-added units, HPET scopes, fault interrupts.

import type { CpuContext } from '../src/machine/guest-interface.js';
import type { AcpiInfo } from './acpi.js';
import { DMAR_INTR_REMAP, DMAR_X2APIC_OPT_OUT, DRHD_INCLUDE_PCI_ALL, parseDmar, SCOPE_IOAPIC, SCOPE_PCI_ENDPOINT, scopeSourceId, type DmarUnit } from './dmar.js';
import { BootError } from './errors.js';
import { IrteBitmap } from './irte-bitmap.js';
import type { PhysPages } from './phys-pages.js';

// ---- Registers (VT-d §10.4) ----------------------------------------------------------------
export const DMAR_VER = 0x00;
export const DMAR_CAP = 0x08;
export const DMAR_ECAP = 0x10;
export const DMAR_GCMD = 0x18;
export const DMAR_GSTS = 0x1c;
export const DMAR_FSTS = 0x34;
export const DMAR_IQH = 0x80;
export const DMAR_IQT = 0x88;
export const DMAR_IQA = 0x90;
export const DMAR_IRTA = 0xb8;

/** GCMD / GSTS bits (command and status share positions). */
export const GCMD_TE = 1 << 31;
export const GCMD_QIE = 1 << 26;
export const GCMD_IRE = 1 << 25;
export const GCMD_SIRTP = 1 << 24;
export const GCMD_CFI = 1 << 23;

/** FSTS: PFO 0, PPF 1, IQE 4, ICE 5, ITE 6, FRI 15:8. */
export const FSTS_PFO = 1 << 0;
export const FSTS_PPF = 1 << 1;
export const FSTS_IQE = 1 << 4;
export const FSTS_ICE = 1 << 5;
export const FSTS_ITE = 1 << 6;

/** ECAP (low dword): C 0, QI 1, IR 3, EIM 4, MHMV 23:20. */
const ECAP_QI = 1 << 1;
const ECAP_IR = 1 << 3;
const ECAP_EIM = 1 << 4;
/** CAP (high dword): ESIRTPS is CAP bit 62. */
const CAP_HI_ESIRTPS = 1 << 30;

/**
 * Table size field S: 2^(S+1) entries. Linux uses INTR_REMAP_TABLE_REG_SIZE = 0xF (65536 entries of 16
 * bytes = 1 MiB); so does this guest, and the scenario runner gives iommu machines the RAM for it.
 */
export const IRTA_SIZE_LINUX = 0xf;
export const IRTA_EIME = 1 << 11;
export const IRTE_BYTES = 16;

/** Queued invalidation: QI_LENGTH 256 descriptors of 128 bits (IQA.QS = 0, one 4 KiB page). */
const QI_LENGTH = 256;
const QI_DESC_BYTES = 16;
const QI_IEC_TYPE = 0x4;
const QI_IEC_SELECTIVE = 1 << 4;
const QI_IWD_TYPE = 0x5;
const QI_IWD_STATUS_WRITE = 1 << 5;
const QI_IWD_FENCE = 1 << 6;
/** desc_status values (dmar.c): the wait descriptor writes QI_DONE over QI_IN_USE. */
const QI_IN_USE = 1;
const QI_DONE = 2;

/** IOMMU_WAIT_OP polls the status register; a unit that never answers is "malfunctioning" (Linux panics). */
const WAIT_POLLS = 1000;

/** IRTE source validation (irq_remapping.c): verify the full 16-bit requester id. */
export const SVT_VERIFY_SID_SQ = 1;
export const SQ_ALL_16 = 0;

/** What an IRTE says (remapped format, VT-d §9.10), as prepare_irte + set_*_sid fill it. */
export interface IrteFields {
  vector: number;
  /** The APIC ID, or the flat logical mask when `logical`. */
  dest: number;
  logical: boolean;
  /** Requester id checked against the request (SVT = 1, SQ = 0). */
  sid: number;
}

/** The 128-bit entry as four little-endian dwords (dword 0 = bits 31:0). */
export function encodeIrte(f: IrteFields, eim: boolean): [number, number, number, number] {
  // prepare_irte (6.1): present, DM from the APIC driver, TM edge (the I/O APIC RTE holds the real
  // trigger), fixed delivery, redirection hint set, IRTE_DEST(dest) = eim ? dest : dest << 8.
  const lo0 = (1 | (f.logical ? 1 << 2 : 0) | (1 << 3) | ((f.vector & 0xff) << 16)) >>> 0;
  const lo1 = (eim ? f.dest : (f.dest & 0xff) << 8) >>> 0;
  const hi0 = ((f.sid & 0xffff) | (SQ_ALL_16 << 16) | (SVT_VERIFY_SID_SQ << 18)) >>> 0;
  return [lo0, lo1, hi0, 0];
}

/** The remappable-format MSI address for a handle (VT-d §5.1.2.2): SHV = 1, IF = 1 (intel_ir_compose_msi_msg). */
export function remappableMsiAddress(handle: number): number {
  return (0xfee0_0000 | ((handle & 0x7fff) << 5) | (((handle >>> 15) & 1) << 2) | (1 << 3) | (1 << 4)) >>> 0;
}

/** A remappable I/O APIC RTE (VT-d §5.1.5.1): bit 48 format, 63:49 index[14:0], bit 11 index[15]; vector = pin. */
export function remappableRte(index: number, pin: number, level: boolean, activeLow: boolean, masked: boolean): { low: number; high: number } {
  const low = (pin & 0xff) | (((index >>> 15) & 1) << 11) | (activeLow ? 1 << 13 : 0) | (level ? 1 << 15 : 0) | (masked ? 1 << 16 : 0);
  const high = (((index & 0x7fff) << 17) | (1 << 16)) >>> 0;
  return { low: low >>> 0, high };
}

/** One remapping hardware unit (a DRHD) as the driver tracks it: struct intel_iommu + its ir_table. */
export class IrUnit {
  readonly capLo: number;
  readonly capHi: number;
  readonly ecap: number;
  /** GCMD as the driver last wrote it (iommu->gcmd): the lasting enables, without one-shot bits. */
  private gcmd = 0;
  tableBase = 0;
  readonly tableEntries = 1 << (IRTA_SIZE_LINUX + 1);
  readonly bitmap = new IrteBitmap(1 << (IRTA_SIZE_LINUX + 1));
  private queueBase = 0;
  private statusBase = 0;
  private freeHead = 0;
  /** Invalidations sent (each followed by a wait descriptor). */
  invalidations = 0;

  constructor(
    readonly drhd: DmarUnit,
    cpu: CpuContext,
  ) {
    this.capLo = cpu.read32(drhd.base + DMAR_CAP);
    this.capHi = cpu.read32(drhd.base + DMAR_CAP + 4);
    this.ecap = cpu.read32(drhd.base + DMAR_ECAP);
  }

  get base(): number {
    return this.drhd.base;
  }
  get irSupported(): boolean {
    return (this.ecap & ECAP_IR) !== 0;
  }
  get qiSupported(): boolean {
    return (this.ecap & ECAP_QI) !== 0;
  }
  get eimSupported(): boolean {
    return (this.ecap & ECAP_EIM) !== 0;
  }
  /** Handle mask maximum value: the largest block (2^MHMV) one invalidation and one MSI may cover. */
  get mhmv(): number {
    return (this.ecap >>> 20) & 0xf;
  }
  get esirtps(): boolean {
    return (this.capHi & CAP_HI_ESIRTPS) !== 0;
  }

  gsts(cpu: CpuContext): number {
    return cpu.read32(this.base + DMAR_GSTS) >>> 0;
  }

  private writeq(cpu: CpuContext, reg: number, lo: number, hi: number): void {
    // dmar_writeq as two 32-bit accesses, low dword first (the CPU model has no 64-bit MMIO store).
    cpu.write32(this.base + reg, lo >>> 0);
    cpu.write32(this.base + reg + 4, hi >>> 0);
  }

  /** IOMMU_WAIT_OP: poll GSTS until `done`; a unit that never gets there stops the boot. */
  private waitStatus(cpu: CpuContext, what: string, done: (sts: number) => boolean): number {
    for (let i = 0; i < WAIT_POLLS; i++) {
      const sts = this.gsts(cpu);
      if (done(sts)) return sts;
    }
    throw new BootError('dmar', `DMAR hardware at 0x${this.base.toString(16)} is malfunctioning: ${what} not reflected in GSTS 0x${this.gsts(cpu).toString(16)}`);
  }

  private command(cpu: CpuContext, value: number): void {
    cpu.write32(this.base + DMAR_GCMD, value >>> 0);
  }

  /**
   * The unit's memory, taken before any register is touched so that a machine without room leaves the
   * unit as it found it (Linux's intel_setup_irq_remapping allocates first and gives up on failure):
   * the invalidation queue and its wait-status words, and the table, aligned to its size like any buddy
   * block (alloc_pages(INTR_REMAP_PAGE_ORDER)).
   */
  allocMemory(mem: PhysPages): void {
    this.queueBase = mem.alloc(QI_LENGTH * QI_DESC_BYTES, 0x1000, 'invalidation queue');
    this.statusBase = mem.alloc(QI_LENGTH * 4, 0x1000, 'invalidation wait status');
    this.tableBase = mem.alloc(this.tableEntries * IRTE_BYTES, this.tableEntries * IRTE_BYTES, 'interrupt-remapping table');
  }

  /** __dmar_enable_qi: IQT = 0, IQA (QS = 0: 256 descriptors), QIE, wait for QIES. */
  enableQi(cpu: CpuContext): void {
    this.freeHead = 0;
    cpu.write32(this.base + DMAR_IQT, 0); // writel: the tail's upper half is reserved
    this.writeq(cpu, DMAR_IQA, this.queueBase, 0);
    this.gcmd |= GCMD_QIE;
    this.command(cpu, this.gcmd);
    this.waitStatus(cpu, 'QIE', (s) => (s & GCMD_QIE) !== 0);
  }

  /** iommu_set_irq_remapping: IRTA (base | EIME | S), SIRTP (one-shot), wait IRTPS, global IEC unless ESIRTPS. */
  setTable(cpu: CpuContext, eim: boolean): void {
    this.writeq(cpu, DMAR_IRTA, this.tableBase | (eim ? IRTA_EIME : 0) | IRTA_SIZE_LINUX, 0);
    this.command(cpu, this.gcmd | GCMD_SIRTP);
    this.waitStatus(cpu, 'SIRTP', (s) => (s & GCMD_SIRTP) !== 0);
    if (!this.esirtps) this.flushIec(cpu, null);
  }

  /** iommu_enable_irq_remapping: IRE, wait IRES; then block compatibility-format MSIs if CFIS is set. */
  enableIr(cpu: CpuContext): number {
    this.gcmd |= GCMD_IRE;
    this.command(cpu, this.gcmd);
    const sts = this.waitStatus(cpu, 'IRE', (s) => (s & GCMD_IRE) !== 0);
    if (sts & GCMD_CFI) {
      this.gcmd &= ~GCMD_CFI;
      this.command(cpu, this.gcmd);
      return this.waitStatus(cpu, 'CFI cleared', (s) => (s & GCMD_CFI) === 0);
    }
    return sts;
  }

  /**
   * qi_flush_iec / qi_global_iec + qi_submit_sync: an interrupt-entry-cache invalidation (global when
   * `index` is null, else 2^mask entries from index, G = 1) and a wait descriptor whose status write
   * the driver polls.
   */
  flushIec(cpu: CpuContext, index: number | null, mask = 0): void {
    const iec0 = index === null ? QI_IEC_TYPE : QI_IEC_TYPE | QI_IEC_SELECTIVE | ((mask & 0x1f) << 27);
    const iec1 = index === null ? 0 : index & 0xffff;
    const slot = this.freeHead;
    const waitSlot = (slot + 1) % QI_LENGTH;
    const status = this.statusBase + 4 * waitSlot;
    cpu.write32(status, QI_IN_USE);
    this.writeDesc(cpu, slot, [iec0 >>> 0, iec1, 0, 0]);
    this.writeDesc(cpu, waitSlot, [(QI_IWD_TYPE | QI_IWD_STATUS_WRITE | QI_IWD_FENCE) >>> 0, QI_DONE, status >>> 0, 0]);
    this.freeHead = (waitSlot + 1) % QI_LENGTH;
    // The tail register holds the next free descriptor's offset (index << 4 for 128-bit descriptors).
    cpu.write32(this.base + DMAR_IQT, (this.freeHead * QI_DESC_BYTES) >>> 0);
    this.invalidations++;
    for (let i = 0; i < WAIT_POLLS; i++) {
      if (cpu.read32(status) === QI_DONE) return;
      const fsts = cpu.read32(this.base + DMAR_FSTS);
      if (fsts & (FSTS_IQE | FSTS_ITE | FSTS_ICE)) {
        throw new BootError('dmar', `invalidation queue error at 0x${this.base.toString(16)}: FSTS 0x${(fsts >>> 0).toString(16)}`);
      }
    }
    throw new BootError('dmar', `invalidation wait at 0x${this.base.toString(16)} never completed (status 0x${cpu.read32(status).toString(16)})`);
  }

  private writeDesc(cpu: CpuContext, slot: number, dw: readonly number[]): void {
    const a = this.queueBase + slot * QI_DESC_BYTES;
    for (let i = 0; i < 4; i++) cpu.write32(a + 4 * i, dw[i]!);
  }

  /**
   * alloc_irte: `count` entries as one block of 2^ceil(log2 count), aligned to its size; null when the
   * block exceeds 2^MHMV (Linux: "Requested mask %x exceeds the max invalidation handle mask value")
   * or the table is full.
   */
  allocIrte(count: number): { index: number; count: number } | null {
    let order = 0;
    while (1 << order < count) order++;
    if (order > this.mhmv) return null;
    const index = this.bitmap.findFreeRegion(order);
    return index < 0 ? null : { index, count: 1 << order };
  }

  /** Fault recording registers with F set: FRO (CAP 33:24) × 16 bytes, NFR + 1 (CAP 47:40) of them. */
  faultRecords(cpu: CpuContext): FaultRecord[] {
    const fro = ((this.capLo >>> 24) | ((this.capHi & 3) << 8)) * 16;
    const n = ((this.capHi >>> 8) & 0xff) + 1;
    const out: FaultRecord[] = [];
    for (let slot = 0; slot < n; slot++) {
      const a = this.base + fro + 16 * slot;
      const dw3 = cpu.read32(a + 12) >>> 0;
      if (!(dw3 & 0x8000_0000)) continue;
      out.push({ slot, reason: dw3 & 0xff, index: cpu.read32(a + 4) >>> 16, sid: cpu.read32(a + 8) & 0xffff });
    }
    return out;
  }

  freeIrte(index: number, count: number): void {
    this.bitmap.releaseRegion(index, Math.log2(count));
  }

  /**
   * modify_irte for a remapped (non-posted) entry: two 64-bit stores, low half then high half (each as
   * two dwords, with nothing in between that could let a device see a half-written qword), then an
   * index-selective IEC (G = 1, IM = 0) of that one entry and a wait for it.
   */
  modifyIrte(cpu: CpuContext, index: number, irte: readonly [number, number, number, number]): void {
    const a = this.tableBase + index * IRTE_BYTES;
    cpu.write32(a, irte[0]);
    cpu.write32(a + 4, irte[1]);
    cpu.write32(a + 8, irte[2]);
    cpu.write32(a + 12, irte[3]);
    this.flushIec(cpu, index, 0);
  }
}

/** Interrupt remapping as enabled at boot: the units, and which unit and source-id serve whom. */
export class IrqRemapping {
  private constructor(
    readonly units: IrUnit[],
    /** IRTA.EIME: x2APIC destinations (32-bit DST). */
    readonly eim: boolean,
    private readonly ioapics: Map<number, { unit: IrUnit; sid: number }>,
  ) {}

  /**
   * intel_prepare_irq_remapping + intel_enable_irq_remapping. Returns the enabled remapping, or the
   * reason it stays off, in Linux's order: no or broken DMAR, no INTR_REMAP flag, an I/O APIC no
   * IR-capable DRHD scopes, a unit without IR, then QI (required for IR).
   */
  static init(cpu: CpuContext, acpi: AcpiInfo, x2apic: boolean, mem: PhysPages, log: (m: string) => void): IrqRemapping | string {
    if (acpi.dmarError) return `DMAR table unusable: ${acpi.dmarError}`;
    if (!acpi.dmar) return 'no DMAR table';
    const dmar = parseDmar(acpi.dmar);
    if (typeof dmar === 'string') return dmar;
    if (!(dmar.flags & DMAR_INTR_REMAP)) return 'DMAR flags lack INTR_REMAP (bit 0): the platform does not support interrupt remapping';
    if (dmar.units.length === 0) return 'DMAR lists no DRHD';
    const units = dmar.units.map((d) => new IrUnit(d, cpu));
    for (const u of units) log(`DMAR: DRHD base 0x${u.base.toString(16)} flags 0x${u.drhd.flags.toString(16)}, cap 0x${u.capHi.toString(16).padStart(8, '0')}${u.capLo.toString(16).padStart(8, '0')} ecap 0x${u.ecap.toString(16)}`);
    // parse_ioapics_under_ir: every I/O APIC must sit in an IOAPIC scope of an IR-capable unit.
    const ioapics = new Map<number, { unit: IrUnit; sid: number }>();
    for (const u of units) {
      if (!u.irSupported) continue;
      for (const s of u.drhd.scopes) {
        if (s.type !== SCOPE_IOAPIC) continue;
        const sid = scopeSourceId(s);
        if (sid === null) return `IOAPIC ${s.enumerationId} scope path of ${s.path.length} hops is not one (device, function) on its start bus`;
        ioapics.set(s.enumerationId, { unit: u, sid });
        log(`DMAR-IR: IOAPIC id ${s.enumerationId} under DRHD base 0x${u.base.toString(16)}, source-id ${sidText(sid)}`);
      }
    }
    for (const io of acpi.ioapics) if (!ioapics.has(io.id)) return `ioapic ${io.id} has no mapping iommu (firmware bug): not enabling interrupt remapping`;
    const noIr = units.find((u) => !u.irSupported);
    if (noIr) return `DRHD at 0x${noIr.base.toString(16)} lacks ECAP.IR`;
    let eim = x2apic;
    if (eim && dmar.flags & DMAR_X2APIC_OPT_OUT) {
      log('DMAR-IR: x2apic is disabled because BIOS sets x2apic opt out bit');
      eim = false;
    }
    for (const u of units) {
      if (eim && !u.eimSupported) {
        log(`DMAR-IR: DRHD at 0x${u.base.toString(16)} does not support EIM`);
        eim = false;
      }
    }
    const noQi = units.find((u) => !u.qiSupported);
    if (noQi) return `DRHD at 0x${noQi.base.toString(16)} lacks ECAP.QI: failed to enable queued invalidation`;
    try {
      for (const u of units) u.allocMemory(mem);
    } catch (e) {
      if (e instanceof BootError) return `failed to set up irq remapping: ${e.message}`;
      throw e;
    }
    for (const u of units) {
      u.enableQi(cpu);
      u.setTable(cpu, eim);
    }
    for (const u of units) {
      const sts = u.enableIr(cpu);
      log(`DMAR-IR: unit 0x${u.base.toString(16)}: table at 0x${u.tableBase.toString(16)} (${u.tableEntries} entries), GSTS 0x${sts.toString(16)}`);
    }
    log(`DMAR-IR: Enabled IRQ remapping in ${eim ? 'x2apic' : 'xapic'} mode`);
    return new IrqRemapping(units, eim, ioapics);
  }

  /** map_ioapic_to_ir + its source-id. */
  ioapic(id: number): { unit: IrUnit; sid: number } | undefined {
    return this.ioapics.get(id);
  }

  /** map_dev_to_ir: a unit naming the device in an endpoint scope, else the INCLUDE_PCI_ALL one. */
  unitFor(bus: number, dev: number, fn: number): IrUnit | undefined {
    const named = this.units.find((u) => u.drhd.scopes.some((s) => s.type === SCOPE_PCI_ENDPOINT && s.startBus === bus && s.path.length === 1 && s.path[0]!.dev === dev && s.path[0]!.fn === fn));
    return named ?? this.units.find((u) => (u.drhd.flags & DRHD_INCLUDE_PCI_ALL) !== 0);
  }

  /** Fault status and pending records of every unit, as dmar_fault() reads them (for the report). */
  faults(cpu: CpuContext): Array<{ unit: number; fsts: number; records: FaultRecord[] }> {
    return this.units.map((u) => ({ unit: u.base, fsts: cpu.read32(u.base + DMAR_FSTS) >>> 0, records: u.faultRecords(cpu) }));
  }
}

/** One fault recording register with F = 1 (VT-d §10.4.14). */
export interface FaultRecord {
  /** Fault recording register number. */
  slot: number;
  /** FR: the fault reason (0x20..0x26 for interrupt remapping). */
  reason: number;
  /** FI 63:48: the interrupt index, for an interrupt-remapping fault. */
  index: number;
  sid: number;
}

function sidText(sid: number): string {
  return `${(sid >>> 8).toString(16).padStart(2, '0')}:${((sid >>> 3) & 31).toString(16).padStart(2, '0')}.${sid & 7}`;
}
