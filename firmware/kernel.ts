// The guest kernel: validate ACPI, bring up the BSP's APIC, mask the 8259s, set up the vector
// domain like Linux, start every AP with INIT-SIPI-SIPI, enumerate PCI, allocate interrupt vectors
// for every MSI test endpoint, probe them, and report over the debug console.

import type { VectorMatrix } from '../src/alloc/matrix.js';
import type { CpuContext, GuestProgram, GuestYield } from '../src/machine/guest-interface.js';
import { parseAcpi, type AcpiInfo } from './acpi.js';
import { Console } from './console.js';
import { BootError } from './errors.js';
import { describeValue } from '../src/hw/describe.js';
import { IoApicDriver, legacyIsaIrqs } from './ioapic-driver.js';
import { IrqLayer, type IrqDesc } from './irq.js';
import { ICR_INIT, ICR_LEVEL_ASSERT, ICR_LEVEL_TRIGGER, ICR_STARTUP, LapicDriver } from './lapic.js';
import type { AffinityDesc } from './affinity-masks.js';
import { PCI_IRQ_ALL_TYPES, pciAllocIrqVectors, type DestMode, type DriverContext, type IrqAllocation } from './msi.js';
import { cf8Access, ecamAccess, PCI_CAP_MSI, PCI_CAP_MSIX, PciBusDriver, type PciDevice } from './pci.js';
import { EP_INTX_ACK, lateArrivals, probeDevice, type MessageResult } from './probe.js';
import { VectorDomain, type Policy } from './vector-domain.js';
import { IrqRemapping } from './intel-ir.js';
import { IoApicRemap, type RemappedPin } from './msi-ir.js';
import { PhysPages } from './phys-pages.js';
import { packVectorMap, vectorMap } from './vector-map.js';

/** The endpoint the driver binds to (src/hw/pci/msi-endpoint.ts). */
const EP_VENDOR = 0xfff0;
const EP_DEVICE = 0x0001;
const TRAMPOLINE = 0x8000;
const PCI_MMIO_BASE = 0xc000_0000;
const PCI_MMIO_LIMIT = 0xfebf_ffff;
/** What an idle AP yields: HLT, the same as `yield* cpu.hlt()` without a helper generator per wake-up. */
const HLT: GuestYield = { kind: 'hlt' };

/** The kernel command line, so to speak: what the guest is told at boot. */
export interface BootParams {
  policy: Policy;
  /** The allocator library linked into the kernel: builds the vector matrix for `cpus` CPUs. */
  createMatrix(cpus: number): VectorMatrix;
  /** Per-device driver limits by BDF: pci_alloc_irq_vectors(min, max). Default min 1, max = all. */
  devices: Record<string, { min?: number; max?: number; affinity?: AffinityDesc }>;
  /** Vectors per CPU to occupy before probing (other drivers' interrupts). */
  fillPerCpu?: number;
  /**
   * How MSIs and I/O APIC entries name CPUs (default physical). 'logical' is Linux's flat model
   * (apic_flat_64.c): xAPIC only, at most 8 CPUs, LDR = 1 << cpu.
   */
  destMode?: DestMode;
  /**
   * End of usable RAM, as the boot loader's memory map (E820) reports it; the page allocator hands out
   * memory from 1 MiB up to here (default: the board's 2 MiB).
   */
  ramEnd?: number;
}

/** Default end of RAM when the boot parameters do not say (the board's default RAM size). */
const DEFAULT_RAM_END = 0x20_0000;

/** What the boot did about interrupt remapping, for the report. */
export interface RemappingReport {
  enabled: boolean;
  /** Why it stayed off (policy, DMAR, capabilities), null when enabled. */
  reason: string | null;
  eim: boolean;
  units: Array<{ base: number; gsts: number; fsts: number; table: number; entries: number; used: number; invalidations: number; faults: Array<{ slot: number; reason: number; index: number; sid: number }> }>;
  ioapicPins: RemappedPin[];
}

export interface DeviceReport {
  bdf: string;
  mode: 'msi' | 'msix' | 'intx' | 'none';
  vectors: number;
  cpu: number | null;
  base: number | null;
  requested: number;
  /** The message as the device holds it (MSI, or MSI-X entry 0), read back after the probe; null for INTx. */
  address: number | null;
  data: number | null;
  /** MSI: vectors of the allocated block beyond the grant (reserved, no handler); 0 when none. */
  reservedTail: number;
  /** MSI under interrupt remapping: the IRTE block (count = the rounded-up size). */
  irte?: { index: number; count: number };
  messages: MessageResult[];
}

interface ApState {
  checkedIn: boolean[];
}

export function kernelMain(params: BootParams): GuestProgram {
  checkParams(params);
  return function* bsp(cpu: CpuContext): Generator<GuestYield, void, void> {
    const con = new Console(() => cpu);
    con.log('irqslice guest kernel starting on the BSP');
    try {
      yield* boot(cpu, con, params);
    } catch (e) {
      if (e instanceof BootError) {
        con.log(`boot failed: ${e.message}`);
        con.result('boot_error', { stage: e.stage, message: e.message });
        return;
      }
      throw e;
    }
  };
}

function* boot(cpu: CpuContext, con: Console, params: BootParams): Generator<GuestYield, void, void> {
  const acpi: AcpiInfo = parseAcpi(cpu);
  con.log(`ACPI: RSDP at 0x${acpi.rsdpAddress.toString(16)} rev ${acpi.revision}, tables ${acpi.tables.join(' ')}`);
  con.log(`ACPI: MADT ${acpi.cpus.length} CPU(s), ${acpi.ioapics.length} I/O APIC(s), ${acpi.overrides.length} override(s), LAPIC at 0x${acpi.lapicAddress.toString(16)}`);
  const ioa = acpi.ioapics[0];
  if (!ioa) throw new BootError('acpi', 'MADT lists no I/O APIC');

  const lapic = new LapicDriver(acpi.lapicAddress);
  const mode = lapic.mode(cpu);
  const bspId = lapic.id(cpu);
  const order = [acpi.cpus.find((c) => c.apicId === bspId), ...acpi.cpus.filter((c) => c.apicId !== bspId)];
  if (!order[0]) throw new BootError('smp', `the BSP (APIC ID ${bspId}) is not in the MADT`);
  const apicIds = order.map((c) => c!.apicId);
  const indexOf = new Map(apicIds.map((id, i) => [id, i]));
  con.log(`APIC: ${mode} mode, BSP APIC ID ${bspId}`);
  const destMode: DestMode = params.destMode ?? 'physical';
  const logical = destMode === 'logical';
  // flat_probe: one bit per CPU in the 8-bit logical ID, and no DFR in x2APIC mode.
  if (logical && (mode !== 'xapic' || apicIds.length > 8)) throw new BootError('apic', `flat logical destination mode needs xAPIC mode and at most 8 CPUs (${mode}, ${apicIds.length} CPUs)`);
  con.log(`APIC: ${logical ? 'flat logical' : 'physical'} destination mode`);

  // Mask the 8259s after a full re-initialisation (ICW1..4), as Linux's init_8259A(0) does.
  if (acpi.pcatCompat) {
    for (const [cmd, data, base, icw3] of [[0x20, 0x21, 0x30, 0x04], [0xa0, 0xa1, 0x38, 0x02]] as const) {
      cpu.out8(cmd, 0x11);
      cpu.out8(data, base);
      cpu.out8(data, icw3);
      cpu.out8(data, 0x01);
      cpu.out8(data, 0xff);
    }
    con.log('8259: both PICs initialised and fully masked');
  }

  const { ir, irOff } = bringUpRemapping(cpu, con, params, acpi, mode === 'x2apic');

  const irq = new IrqLayer(apicIds.length, indexOf, lapic);
  const domain = new VectorDomain(params.policy, params.createMatrix(apicIds.length), apicIds, { eim: ir?.eim ?? false });
  cpu.lidt(irq.idt);
  if (logical) lapic.initFlatLdr(cpu, 0);
  lapic.enable(cpu);
  domain.online(0);
  const ioapic = new IoApicDriver(ioa.address, ioa.gsiBase);
  ioapic.maskAll(cpu);
  con.log(`IOAPIC: id ${ioa.id} at 0x${ioa.address.toString(16)}, ${ioapic.pins(cpu)} pins, all masked`);
  // timer_init requests IRQ 0 before setup_IO_APIC (x86_late_time_init), so it is activated when the
  // I/O APIC domain takes the ISA IRQs over: it keeps 0x30 on CPU 0, the rest are released into
  // reservation mode. check_timer then routes its pin (edge, active high); no PIT drives it here.
  const legacy = legacyIsaIrqs(acpi.overrides, ioa.gsiBase, ioapic.pins(cpu));
  const kept = domain.takeOverLegacy(legacy.map((l) => l.irq), new Set([0]));
  const timer = legacy.find((l) => l.irq === 0);
  const ioapicRemap = ir ? remapIsaPins(cpu, con, ir, ioapic, ioa.id, acpi.overrides, legacy, kept, { apicIds, destMode }) : null;
  if (!ioapicRemap && timer && kept.includes(0)) ioapic.route(cpu, timer.gsi, 0x30, logical ? 1 : bspId, false, false, logical);
  con.log(`IOAPIC: ${legacy.length} ISA IRQs taken over; ${kept.length ? `IRQ 0 (timer) keeps 0x30 on CPU 0 via GSI ${timer?.gsi}, ` : ''}${legacy.length - kept.length} reserved until requested`);
  cpu.sti();
  // request_irq(0, timer_interrupt, .., "timer"): /proc/interrupts' first row. No PIT or HPET ticks
  // here, so it counts nothing; an interrupt on 0x30 of CPU 0 is the timer's, not unexpected.
  if (timer && kept.includes(0)) irq.bind(0, 0x30, irq.newDesc('timer', timer.gsi - ioa.gsiBase, 'isa', () => undefined, 0));

  // --- SMP bring-up ---
  const aps: ApState = { checkedIn: new Array(apicIds.length).fill(false) };
  aps.checkedIn[0] = true;
  cpu.installCode(TRAMPOLINE, apEntry(lapic, irq, domain, indexOf, aps, logical));
  for (let i = 1; i < apicIds.length; i++) {
    const id = apicIds[i]!;
    yield* lapic.sendIpi(cpu, id, ICR_INIT | ICR_LEVEL_ASSERT | ICR_LEVEL_TRIGGER);
    yield* lapic.sendIpi(cpu, id, ICR_INIT | ICR_LEVEL_TRIGGER); // INIT de-assert (a no-op on modern CPUs)
    yield* cpu.pause(10_000);
    for (let s = 0; s < 2 && !aps.checkedIn[i]; s++) {
      yield* lapic.sendIpi(cpu, id, ICR_STARTUP | (TRAMPOLINE >> 12));
      yield* cpu.pause(10_000);
    }
  }
  for (let waited = 0; aps.checkedIn.includes(false) && waited < 1_000_000; waited += 1_000) yield* cpu.pause(1_000);
  const missing = aps.checkedIn.flatMap((ok, i) => (ok ? [] : [i]));
  con.result('check', { name: 'smp', ok: missing.length === 0, detail: missing.length ? `CPUs ${missing.join(',')} did not check in` : `${apicIds.length} CPU(s) online` });
  con.log(`SMP: ${apicIds.length - missing.length} of ${apicIds.length} CPU(s) online`);

  // --- PCI ---
  const cfg = acpi.ecam ? ecamAccess(acpi.ecam.base) : cf8Access;
  const pci = new PciBusDriver(cfg, PCI_MMIO_BASE, PCI_MMIO_LIMIT);
  con.log(`PCI: configuration access through ${cfg.kind === 'ecam' ? `ECAM at 0x${acpi.ecam!.base.toString(16)}` : 'CF8/CFC (no MCFG)'}`);
  const devs = pci.enumerate(cpu, acpi.ecam?.startBus ?? 0, acpi.ecam?.endBus ?? 255, (m) => con.log(m));

  if (params.fillPerCpu) {
    const n = domain.fill(params.fillPerCpu);
    con.log(`vectors: ${n} single vectors occupied by other drivers (${params.fillPerCpu} per CPU)`);
  }

  const dctx: DriverContext = { cpu, pci, domain, irq, ioapic, apicIds, destMode, ir, ioapicRemap, log: (m) => con.log(m) };
  const bound: Array<{ dev: PciDevice; alloc: IrqAllocation | null; requested: number }> = [];
  for (const dev of devs) {
    if (dev.vendor !== EP_VENDOR || dev.device !== EP_DEVICE) continue;
    const lim = params.devices[dev.bdf] ?? {};
    const max = lim.max ?? 2048;
    const bar0 = dev.bars.find((b) => b.index === 0)?.address ?? 0;
    const handler = (c: CpuContext, desc: IrqDesc) => {
      // INTx is level-triggered: quiet the device before EOI or the line re-asserts at once. MSI and
      // MSI-X are edges: nothing to acknowledge at the device.
      if (desc.kind === 'intx' && bar0) c.write32(bar0 + EP_INTX_ACK, 1);
    };
    const alloc = pciAllocIrqVectors(dctx, dev, lim.min ?? 1, max, PCI_IRQ_ALL_TYPES, handler, lim.affinity);
    if (!alloc) con.log(`driver ${dev.bdf}: no interrupt could be set up`);
    bound.push({ dev, alloc, requested: max });
  }

  // --- probe ---
  con.log('probe: ringing every message of every device');
  irq.recording = true;
  let allOk = missing.length === 0;
  for (const { dev, alloc, requested } of bound) {
    const messages: MessageResult[] = [];
    if (alloc) yield* probeDevice(cpu, irq, dev, alloc, messages);
    const ok = alloc !== null && messages.length === alloc.vectors.length && messages.every((m) => m.ok);
    allOk &&= ok;
    const rep: DeviceReport = {
      bdf: dev.bdf,
      mode: alloc?.mode ?? 'none',
      vectors: alloc?.vectors.length ?? 0,
      cpu: alloc?.block?.cpu ?? alloc?.vectors[0]?.cpu ?? null,
      base: alloc?.block?.base ?? alloc?.vectors[0]?.vector ?? null,
      requested,
      ...programmedMessage(cpu, pci, dev, alloc),
      reservedTail: alloc?.reservedTail ?? 0,
      ...(alloc?.irte ? { irte: alloc.irte } : {}),
      messages,
    };
    con.result('device', rep);
    for (const m of messages) if (!m.ok) con.log(`probe ${dev.bdf} message ${m.index}: ${m.problem}`);
    con.log(`probe ${dev.bdf}: ${messages.filter((m) => m.ok).length}/${messages.length} message(s) delivered as programmed`);
  }
  const late = yield* lateArrivals(cpu, irq);
  irq.recording = false;
  con.result('check', {
    name: 'no-late-arrivals',
    ok: late.length === 0,
    detail: late.length === 0 ? 'nothing arrived after the last probe window' : `${late.length} interrupt(s) after the last probe window: ${late.slice(0, 8).map((o) => `CPU ${o.cpu} 0x${o.vector.toString(16)}${o.owner === null ? '' : ` (${o.owner}#${o.index})`}`).join(', ')}`,
  });
  allOk &&= late.length === 0;
  const spurious = irq.spurious.reduce((a, b) => a + b, 0);
  const unexpected = irq.unexpected.reduce((a, b) => a + b, 0);
  con.result('check', { name: 'no-spurious', ok: spurious === 0, detail: `${spurious} spurious interrupt(s)` });
  con.result('check', { name: 'no-unexpected', ok: unexpected === 0, detail: `${unexpected} interrupt(s) on vectors with no handler` });
  allOk &&= spurious === 0 && unexpected === 0;
  con.result('interrupts', {
    cpus: apicIds.length,
    irqs: [...irq.descs].sort((a, b) => a.irq - b.irq).map((d) => ({ irq: d.irq, owner: d.owner, index: d.index, kind: d.kind, counts: irq.countsOf(d.irq) })),
    spurious: sparse(irq.spurious),
    unexpected: sparse(irq.unexpected),
    nmi: sparse(irq.nmi),
  });
  con.result('vectors', { policy: params.policy, text: domain.describe() });
  const remap = remappingReport(cpu, ir, irOff, ioapicRemap);
  con.result('remapping', remap);
  for (const u of remap.units) if (u.faults.length || u.fsts) con.log(`DMAR: unit 0x${u.base.toString(16)} FSTS 0x${u.fsts.toString(16)}: ${u.faults.map((f) => `fault reason 0x${f.reason.toString(16)} index ${f.index} source ${f.sid.toString(16)}`).join('; ')}`);
  con.result('vectormap', packVectorMap(vectorMap(domain, irq, apicIds.length, bound.map((b) => ({ bdf: b.dev.bdf, alloc: b.alloc })))));
  con.result('done', { ok: allOk });
  con.log(`probe: ${allOk ? 'all checks passed' : 'FAILURES (see above)'}`);
}

const POLICIES: readonly string[] = ['aligned', 'linux', 'linux-ir', 'freebsd', 'freebsd-legacy'];

/**
 * Interrupt remapping comes up before the I/O APIC is set up and before the APs (enable_IR_x2apic in
 * apic_intr_mode_init); only linux-ir turns it on, every other policy boots as with intremap=off.
 */
function bringUpRemapping(cpu: CpuContext, con: Console, params: BootParams, acpi: AcpiInfo, x2apic: boolean): { ir: IrqRemapping | null; irOff: string | null } {
  if (params.policy !== 'linux-ir') {
    const irOff = `policy ${params.policy} boots with intremap=off`;
    if (acpi.dmar) con.log(`DMAR: table present; interrupt remapping left off (${irOff})`);
    return { ir: null, irOff };
  }
  const r = IrqRemapping.init(cpu, acpi, x2apic, new PhysPages(params.ramEnd ?? DEFAULT_RAM_END), (m) => con.log(m));
  if (typeof r !== 'string') return { ir: r, irOff: null };
  con.log(`DMAR-IR: not enabling interrupt remapping: ${r}`);
  return { ir: null, irOff: r };
}

/**
 * setup_IO_APIC_irqs walks the pins in order and allocates each mapped pin's irq, so under remapping
 * each gets its IRTE now, in pin order: a reserved one points at MANAGED_IRQ_SHUTDOWN_VECTOR, the
 * timer (kept on 0x30) at its vector.
 */
function remapIsaPins(
  cpu: CpuContext, con: Console, ir: IrqRemapping, ioapic: IoApicDriver, ioapicId: number, overrides: AcpiInfo['overrides'],
  legacy: ReadonlyArray<{ irq: number; gsi: number }>, kept: readonly number[], dctx: Pick<DriverContext, 'apicIds' | 'destMode'>,
): IoApicRemap {
  const io = ir.ioapic(ioapicId)!; // IrqRemapping.init refused any I/O APIC without a scope
  const remap = new IoApicRemap(ir, io.unit, io.sid, ioapic);
  for (const l of [...legacy].sort((a, b) => a.gsi - b.gsi)) {
    const { level, activeLow } = isaTrigger(overrides, l.irq);
    const got = l.irq === 0 && kept.includes(0) ? remap.request(cpu, dctx, l.gsi, { cpu: 0, vector: 0x30 }, level, activeLow) : remap.allocate(cpu, dctx, l.gsi, level, activeLow);
    if (got === null) throw new BootError('dmar', `no interrupt-remapping entry left for GSI ${l.gsi}`);
  }
  con.log(`IOAPIC: ${legacy.length} pins remapped through IRTEs ${[...remap.pins.values()].map((p) => p.irte).join(',')} (RTE vector field = pin)`);
  return remap;
}

/** What the boot did about remapping, read back from the units after the probe (faults included). */
function remappingReport(cpu: CpuContext, ir: IrqRemapping | null, irOff: string | null, ioapicRemap: IoApicRemap | null): RemappingReport {
  const faults = ir?.faults(cpu) ?? [];
  return {
    enabled: ir !== null,
    reason: irOff,
    eim: ir?.eim ?? false,
    units: (ir?.units ?? []).map((u, i) => ({
      base: u.base, gsts: u.gsts(cpu), fsts: faults[i]!.fsts, table: u.tableBase, entries: u.tableEntries,
      used: u.bitmap.allocated, invalidations: u.invalidations, faults: faults[i]!.records,
    })),
    ioapicPins: [...(ioapicRemap?.pins.values() ?? [])].sort((a, b) => a.pin - b.pin),
  };
}

/** An ISA IRQ's trigger and polarity: its MADT override's INTI flags, else ISA's edge / active high. */
function isaTrigger(overrides: AcpiInfo['overrides'], irq: number): { level: boolean; activeLow: boolean } {
  const o = overrides.find((x) => x.irq === irq);
  return { level: o !== undefined && ((o.flags >> 2) & 3) === 3, activeLow: o !== undefined && (o.flags & 3) === 3 };
}

/** The command line is checked before anything boots; a bad one is a BootError of stage 'params'. */
function checkParams(params: BootParams): void {
  const bad = (why: string): never => {
    throw new BootError('params', why);
  };
  if (typeof params !== 'object' || params === null || Array.isArray(params)) bad(`boot parameters must be an object, got ${describeValue(params)}`);
  for (const k of Object.keys(params)) if (!['policy', 'createMatrix', 'devices', 'fillPerCpu', 'destMode', 'ramEnd'].includes(k)) bad(`${k} is not a boot parameter`);
  if (params.destMode !== undefined && params.destMode !== 'physical' && params.destMode !== 'logical') bad(`destMode must be 'physical' or 'logical', got ${describeValue(params.destMode)}`);
  if (!POLICIES.includes(params.policy)) bad(`policy must be one of ${POLICIES.join(', ')}, got ${describeValue(params.policy)}`);
  if (typeof params.createMatrix !== 'function') bad(`createMatrix must be a function, got ${describeValue(params.createMatrix)}`);
  const ramEnd: unknown = params.ramEnd;
  if (ramEnd !== undefined && (typeof ramEnd !== 'number' || !Number.isInteger(ramEnd) || ramEnd < 0x10_0000 || ramEnd > 0x4000_0000 || ramEnd % 0x1000 !== 0)) bad(`ramEnd must be a page-aligned address in 1 MiB..1 GiB, got ${describeValue(ramEnd)}`);
  const fill = params.fillPerCpu;
  if (fill !== undefined && (typeof fill !== 'number' || !Number.isInteger(fill) || fill < 0 || fill > 256)) bad(`fillPerCpu must be an integer 0..256, got ${describeValue(fill)}`);
  const devs: unknown = params.devices;
  if (typeof devs !== 'object' || devs === null || Array.isArray(devs)) bad(`devices must be an object keyed by BDF, got ${describeValue(devs)}`);
  for (const [bdf, lim] of Object.entries(devs as object)) {
    if (typeof lim !== 'object' || lim === null || Array.isArray(lim)) bad(`devices["${bdf}"] must be { min?, max?, affinity? }`);
    for (const k of Object.keys(lim)) if (k !== 'min' && k !== 'max' && k !== 'affinity') bad(`devices["${bdf}"].${k} is not min, max or affinity`);
    const aff: unknown = (lim as { affinity?: unknown }).affinity;
    if (aff !== undefined) {
      if (typeof aff !== 'object' || aff === null || Array.isArray(aff) || Object.keys(aff).some((k) => k !== 'pre' && k !== 'post')) bad(`devices["${bdf}"].affinity must be { pre, post }`);
      for (const k of ['pre', 'post'] as const) {
        const v: unknown = (aff as Record<string, unknown>)[k];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2048) bad(`devices["${bdf}"].affinity.${k} must be an integer 0..2048, got ${describeValue(v)}`);
      }
    }
    for (const k of ['min', 'max'] as const) {
      const v: unknown = lim[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2048)) bad(`devices["${bdf}"].${k} must be an integer 1..2048, got ${describeValue(v)}`);
    }
    if (lim.min !== undefined && lim.max !== undefined && lim.min > lim.max) bad(`devices["${bdf}"]: min ${lim.min} exceeds max ${lim.max}`);
  }
}

/** Address and data as the device holds them: the MSI capability's, or MSI-X table entry 0's. */
function programmedMessage(cpu: CpuContext, pci: PciBusDriver, dev: PciDevice, alloc: IrqAllocation | null): { address: number | null; data: number | null } {
  if (alloc?.mode === 'msi') {
    const cap = dev.capabilities.get(PCI_CAP_MSI)!;
    const is64 = (pci.read(cpu, dev, cap + 2, 2) & 0x80) !== 0;
    return { address: pci.read(cpu, dev, cap + 4, 4) >>> 0, data: pci.read(cpu, dev, cap + (is64 ? 0x0c : 0x08), 2) };
  }
  if (alloc?.mode === 'msix') {
    const cap = dev.capabilities.get(PCI_CAP_MSIX)!;
    const table = pci.read(cpu, dev, cap + 4, 4);
    const bar = dev.bars.find((b) => b.index === (table & 7));
    if (bar && bar.address !== 0) {
      const entry = bar.address + (table & ~7);
      return { address: cpu.read32(entry) >>> 0, data: cpu.read32(entry + 8) >>> 0 };
    }
  }
  return { address: null, data: null };
}

function sparse(counts: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  counts.forEach((n, i) => {
    if (n) out[i] = n;
  });
  return out;
}

/** The AP's first code: enable the APIC, load the IDT, come online in the vector domain, idle. */
function apEntry(lapic: LapicDriver, irq: IrqLayer, domain: VectorDomain, indexOf: Map<number, number>, aps: ApState, logical: boolean) {
  return function* ap(cpu: CpuContext): Generator<GuestYield, void, void> {
    const idx = indexOf.get(lapic.id(cpu));
    if (idx === undefined) return; // not in the MADT: stay out of the way
    cpu.lidt(irq.idt);
    if (logical) lapic.initFlatLdr(cpu, idx);
    lapic.enable(cpu);
    domain.online(idx);
    aps.checkedIn[idx] = true;
    cpu.sti();
    for (;;) yield HLT;
  };
}
