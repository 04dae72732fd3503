// The board: physical memory map, port I/O, N CPUs with one local APIC each on one APIC bus, an
// I/O APIC, an 8259 pair, a PCI host with the configured functions, ACPI tables built into the
// BIOS ROM, and one deterministic virtual clock that schedules the CPUs' guest threads.

import { ApicBus, MSI_DELIVERED, type ApicBusOptions } from '../hw/apic/apic-bus.js';
import { LocalApic } from '../hw/apic/local-apic.js';
import { IoApic } from '../hw/ioapic.js';
import { PciHost } from '../hw/pci/pci-host.js';
import { PciFunction } from '../hw/pci/pci-function.js';
import { PciError } from '../hw/pci/errors.js';
import { describeValue } from '../hw/describe.js';
import { BAR_READ, BAR_WRITE, DELIVER_MSI } from '../hw/internal.js';
import { VTD_HOST_ADDRESS_WIDTH, type RemappingUnit } from '../hw/iommu/remapping-unit.js';
import { RemappingPort } from './remapping-port.js';
import { checkInt } from '../hw/check.js';
import { formatBdf, parseBdf } from '../hw/pci/bdf.js';
import { PciUsageError } from '../hw/pci/errors.js';
import type { MsiOutcome } from '../hw/signals.js';
import { buildAcpi, INTI_POLARITY_LOW, INTI_TRIGGER_LEVEL, type AcpiFaults, type AcpiImage } from './acpi/tables.js';
import { Cpu, type CpuBus } from './cpu.js';
import { Scheduler, type RunEnd } from './scheduler.js';
import type { GuestProgram } from './guest-interface.js';
import * as MAP from './memory-map.js';
import { PicPair } from './pic8259.js';
import { BoundedLog } from './bounded-log.js';
import { loadMachineState, saveMachineState, type MachineState, type SnapshotBoard } from './snapshot.js';
import type { MachineTracer } from './tracer.js';

export interface MachineDevice {
  bdf: string;
  fn: PciFunction;
}

export interface MachineConfig {
  cpus: number;
  /** 'x2apic': the BIOS hands over with every local APIC in x2APIC mode (required above APIC ID 254). */
  apic?: 'xapic' | 'x2apic';
  devices?: MachineDevice[];
  ramSize?: number;
  /** false: build no MCFG table (the guest must use CF8/CFC). */
  mcfg?: boolean;
  acpiFaults?: AcpiFaults;
  lowestPriority?: ApicBusOptions['lowestPriority'];
  /** Stop a run after this much virtual time (ns); default 10 s. */
  timeLimitNs?: number;
  /** Keep MSI writes in `wire` (default true); the counters are kept either way. */
  traceWire?: boolean;
  /**
   * How many of the newest entries `events` and `wire` keep (default 10 000); older ones are
   * dropped and counted in `eventsDropped` / `wireDropped`. 0 keeps none, only the counts.
   */
  eventLimit?: number;
  /**
   * A VT-d interrupt-remapping unit (registers at MAP.DMAR_UNIT_BASE, a DMAR table in ACPI) between the
   * PCI functions and I/O APIC and the APIC bus. true = the defaults: EIM, MHMV 15, QI, 8 fault records,
   * no ESIRTPS (EIM is offered whatever `apic` says; the guest chooses xAPIC or x2APIC mode). The I/O APIC
   * is then version 0x20 (with the EOI register) and sends every message through the unit.
   */
  iommu?: boolean | MachineIommuConfig;
}

/** MachineConfig.iommu as an object: ECAP.EIM, ECAP.MHMV, ECAP.QI, CAP.NFR + 1, CAP.ESIRTPS (RemappingUnitOptions). */
export interface MachineIommuConfig {
  eim?: boolean;
  mhmv?: number;
  qi?: boolean;
  faultRecords?: number;
  esirtps?: boolean;
}

export interface MachineEvent {
  timeNs: number;
  cpu: number | null;
  kind: string;
  detail: string;
}

export interface WireRecord {
  timeNs: number;
  address: bigint;
  data: number;
  outcome: MsiOutcome;
}

/** A memory BAR as decodeBar() indexes it: [base, end) of function `fn`, BAR `bar`. */
interface BarHit {
  fn: PciFunction;
  bdf: string;
  bar: number;
  base: number;
  end: number;
  /** Position of the function in BDF order: the first claims overlapping BARs. */
  order: number;
}

export interface RunResult {
  /** How the run ended. */
  end: RunEnd;
  timeNs: number;
  console: string;
  /** The newest events (at most `eventLimit`). */
  events: MachineEvent[];
  /** Events dropped because the log was full. */
  eventsDropped: number;
}

/** Raised for an impossible machine configuration. */
export class MachineConfigError extends Error {
  override readonly name = 'MachineConfigError';
}

/** A machine method called with an impossible argument (a guest program gets it as a guest fault). */
export class MachineUsageError extends Error {
  override readonly name = 'MachineUsageError';
}

/** Not a 32-bit pattern (signed or unsigned integer in range): cheap enough for every access. */
function notPattern(v: unknown): boolean {
  return typeof v !== 'number' || ((v | 0) !== v && v >>> 0 !== v);
}

function badAccess(what: string, cpu: unknown, address: unknown, size: unknown, value?: unknown): MachineUsageError {
  const args = [cpu, address, size, value].slice(cpu === null ? 1 : 0, value === undefined ? 3 : 4).map(describeValue).join(', ');
  return new MachineUsageError(`${what}(${args}): ${cpu === null ? '' : 'a CPU of this machine, '}a 32-bit address or port, size 1, 2 or 4${value === undefined ? '' : ', a 32-bit value'}`);
}

function checkAddress(address: unknown): void {
  if (notPattern(address)) throw new MachineUsageError(`a physical address must be a 32-bit integer, got ${describeValue(address)}`);
}

export const MAX_CPUS = 1024;
/** Default of MachineConfig.eventLimit. */
export const DEFAULT_EVENT_LIMIT = 10_000;
/** RAM the board accepts: whole 4 KiB pages up to 1 GiB (the PCI hole starts well above, at ECAM_BASE). */
export const MAX_RAM_SIZE = 0x4000_0000;

const CONFIG_KEYS = new Set(['cpus', 'apic', 'devices', 'ramSize', 'mcfg', 'acpiFaults', 'lowestPriority', 'timeLimitNs', 'traceWire', 'eventLimit', 'iommu']);
const FAULT_KEYS = new Set(['rsdpChecksum', 'rsdpSignature', 'xsdtChecksum', 'madtChecksum', 'madtSignature', 'madtTruncated', 'dmarChecksum', 'dmarTruncated']);
const IOMMU_KEYS = ['eim', 'mhmv', 'qi', 'faultRecords', 'esirtps'] as const;

/** Every field of a MachineConfig, checked before anything is built; errors name the field. */
function checkConfig(config: MachineConfig): void {
  const fail = (field: string, why: string): never => {
    throw new MachineConfigError(`${field} ${why}`);
  };
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail('config', `must be an object, got ${describeValue(config)}`);
  for (const k of Object.keys(config)) if (!CONFIG_KEYS.has(k)) fail(k, 'is not a machine option');
  const intIn = (field: string, v: unknown, lo: number, hi: number): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(field, `must be an integer in ${lo}..${hi}, got ${describeValue(v)}`);
  };
  intIn('cpus', config.cpus, 1, MAX_CPUS);
  const mode = config.apic === undefined ? 'xapic' : config.apic;
  if (mode !== 'xapic' && mode !== 'x2apic') fail('apic', `must be xapic or x2apic, got ${describeValue(mode)}`);
  // xAPIC IDs are 8 bits and 0xFF is the broadcast ID: 255 CPUs at most (IDs 0..254).
  if (mode === 'xapic' && config.cpus > 255) fail('apic', `must be x2apic: ${config.cpus} CPUs need APIC IDs above 254`);
  if (config.ramSize !== undefined) {
    intIn('ramSize', config.ramSize, 0x1000, MAX_RAM_SIZE);
    if (config.ramSize % 0x1000 !== 0) fail('ramSize', `must be a whole number of 4 KiB pages, got ${config.ramSize}`);
  }
  for (const k of ['mcfg', 'traceWire'] as const) {
    if (config[k] !== undefined && typeof config[k] !== 'boolean') fail(k, `must be a boolean, got ${describeValue(config[k])}`);
  }
  if (config.timeLimitNs !== undefined) intIn('timeLimitNs', config.timeLimitNs, 0, Number.MAX_SAFE_INTEGER);
  if (config.eventLimit !== undefined) intIn('eventLimit', config.eventLimit, 0, 0x7fff_ffff);
  if (config.lowestPriority !== undefined && typeof config.lowestPriority !== 'function') {
    fail('lowestPriority', `must be a function (lowestPprPolicy, firstMatchPolicy), got ${describeValue(config.lowestPriority)}`);
  }
  const faults: unknown = config.acpiFaults;
  if (faults !== undefined) {
    if (typeof faults !== 'object' || faults === null || Array.isArray(faults)) fail('acpiFaults', `must be an object, got ${describeValue(faults)}`);
    for (const [k, v] of Object.entries(faults as object)) {
      if (!FAULT_KEYS.has(k)) fail(`acpiFaults.${k}`, 'is not an ACPI fault');
      if (typeof v !== 'boolean') fail(`acpiFaults.${k}`, `must be a boolean, got ${describeValue(v)}`);
      if (k.startsWith('dmar') && !config.iommu) fail(`acpiFaults.${k}`, 'needs iommu: without a remapping unit there is no DMAR table');
    }
  }
  const iommu: unknown = config.iommu;
  if (iommu !== undefined && typeof iommu !== 'boolean') {
    if (typeof iommu !== 'object' || iommu === null || Array.isArray(iommu)) fail('iommu', `must be a boolean or { ${IOMMU_KEYS.join(', ')} }, got ${describeValue(iommu)}`);
    const o = iommu as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!(IOMMU_KEYS as readonly string[]).includes(k)) fail(`iommu.${k}`, `is not a remapping-unit option (${IOMMU_KEYS.join(', ')})`);
    for (const k of ['eim', 'qi', 'esirtps'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'boolean') fail(`iommu.${k}`, `must be a boolean, got ${describeValue(o[k])}`);
    }
    if (o.mhmv !== undefined) intIn('iommu.mhmv', o.mhmv, 0, 15);
    if (o.faultRecords !== undefined) intIn('iommu.faultRecords', o.faultRecords, 1, 128);
  }
  const devices: unknown = config.devices;
  if (devices === undefined) return;
  if (!Array.isArray(devices)) fail('devices', `must be an array, got ${describeValue(devices)}`);
  (devices as unknown[]).forEach((d, i) => {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) fail(`devices[${i}]`, `must be { bdf, fn }, got ${describeValue(d)}`);
    for (const k of Object.keys(d as object)) if (k !== 'bdf' && k !== 'fn') fail(`devices[${i}].${k}`, 'is not a device field');
    const { bdf, fn } = d as { bdf: unknown; fn: unknown };
    if (typeof bdf !== 'string') fail(`devices[${i}].bdf`, `must be a string like "00:03.0", got ${describeValue(bdf)}`);
    if (!(fn instanceof PciFunction)) fail(`devices[${i}].fn`, `must be a PciFunction, got ${describeValue(fn)}`);
  });
}

const STOCK_MSI_WRITE = ApicBus.prototype.msiWrite;
const MSI_LO = BigInt(MAP.MSI_WINDOW_BASE);
const MSI_HI = BigInt(MAP.MSI_WINDOW_BASE + MAP.MSI_WINDOW_SIZE);
const ROM_LO = BigInt(MAP.BIOS_ROM_BASE);
const ROM_HI = BigInt(MAP.BIOS_ROM_BASE + MAP.BIOS_ROM_SIZE);

export class Machine implements CpuBus {
  readonly cpus: Cpu[];
  readonly bus: ApicBus;
  readonly ioapic: IoApic;
  readonly pci: PciHost;
  readonly pic: PicPair;
  readonly acpi: AcpiImage;
  /** The VT-d remapping unit (MachineConfig.iommu), or null. */
  readonly iommu: RemappingUnit | null;
  private readonly eventLog: BoundedLog<MachineEvent>;
  private readonly wireLog: BoundedLog<WireRecord>;
  /** MSI writes seen by the host bridge (and the remapping unit's own event interrupts), and how many were dropped (by the APIC bus, or blocked by the unit). */
  msiWrites = 0;
  msiDropped = 0;
  private readonly ram: Uint8Array;
  private readonly ramView: DataView;
  private readonly rom = new Uint8Array(MAP.BIOS_ROM_SIZE);
  private readonly romView = new DataView(this.rom.buffer);
  private readonly code = new Map<number, GuestProgram>();
  private readonly gsiAsserted = new Map<number, number>();
  /** Debug-console bytes (one OUT each); decoded on demand, so a long log is not a rope of 1-char strings. */
  private consoleBytes = new Uint8Array(4096);
  private consoleLength = 0;
  private consoleCache: string | null = '';
  private readonly scheduler: Scheduler;
  /** Enabled memory BARs sorted by base, rebuilt after configuration writes (null: stale). */
  private barRanges: BarHit[] | null = null;
  private barsOverlap = false;
  /** The last granule decodeBar() answered (a doorbell loop hits the same one every time); −1: none. */
  private lastGranule = -1;
  private lastHit: BarHit | null = null;
  /**
   * Set to observe the board (see MachineTracer); null costs a null check on the slow paths only.
   * An MSI write takes the BigInt path while one is set, so the tracer sees the requester and outcome.
   */
  tracer: MachineTracer | null = null;
  /** While tracing: the function a CPU access is reaching (the sender of any MSI write it causes). */
  private traceSource: string | null = null;

  constructor(readonly config: MachineConfig) {
    checkConfig(config);
    const n = config.cpus;
    const mode = config.apic === undefined ? 'xapic' : config.apic;
    this.eventLog = new BoundedLog(config.eventLimit ?? DEFAULT_EVENT_LIMIT);
    this.wireLog = new BoundedLog(config.eventLimit ?? DEFAULT_EVENT_LIMIT);
    this.ram = new Uint8Array(config.ramSize ?? MAP.DEFAULT_RAM_SIZE);
    this.ramView = new DataView(this.ram.buffer);

    this.bus = new ApicBus(config.lowestPriority ? { lowestPriority: config.lowestPriority } : {});
    // 4-bit ID register, 0 as on QEMU. With a remapping unit the board is an ICH9-era one whose I/O APIC
    // (version 0x20) has the EOI register Linux uses for remapped level interrupts (Linux io_apic.c: the pin is written there).
    this.ioapic = new IoApic({ id: 0, pins: 24, ...(config.iommu ? { version: 0x20 } : {}) });
    this.bus.attachIoApic(this.ioapic);
    this.pic = new PicPair({
      intr: (level) => this.cpus[0]?.lapic.setLint(0, level),
      unsupported: (what) => this.event(null, '8259', what),
    });
    this.cpus = [];
    for (let i = 0; i < n; i++) {
      const cpu = new Cpu(i, i, i === 0, this, true);
      cpu.lapic = new LocalApic({
        apicId: i,
        bsp: i === 0,
        sink: cpu,
        tsc: () => BigInt(this.scheduler.time),
        onEvent: (e) => this.event(cpu, `lapic:${e.kind}`, e.detail),
      });
      this.bus.attach(cpu.lapic);
      this.cpus.push(cpu);
    }
    this.scheduler = new Scheduler(this.cpus, config.timeLimitNs ?? 10_000_000_000);
    const port = config.iommu
      ? new RemappingPort(config.iommu === true ? {} : config.iommu, {
          bus: this.bus,
          ioapic: this.ioapic,
          ram: this.ram,
          rom: this.rom,
          dma: (address, data) => this.deviceWrite(address, data),
          message: (lo, hi, data, outcome) => this.recordMessage(lo, hi, data, outcome),
          event: (kind, detail) => this.event(null, kind, detail),
        })
      : null;
    this.iommu = port === null ? null : port.unit;
    this.pci = new PciHost({
      upstream: port === null
        ? {
            memoryWrite: (address, data) => this.deviceWrite(address, data),
            memoryWriteParts: (lo, hi, data) => this.deviceWriteParts(lo, hi, data),
            intx: (bdf, pin, level) => this.intx(bdf, pin, level),
          }
        : {
            // Behind a remapping unit every write carries its requester ID (the VT-d source-id).
            memoryWrite: (address, data) => this.deviceWrite(address, data),
            memoryWriteFrom: (sid, address, data) => port.deviceWrite(sid, Number(address & 0xffff_ffffn), Number(address >> 32n), data),
            memoryWritePartsFrom: (sid, lo, hi, data) => port.deviceWrite(sid, lo, hi, data),
            intx: (bdf, pin, level) => this.intx(bdf, pin, level),
          },
    });
    (config.devices ?? []).forEach((d, i) => {
      try {
        this.pci.add(d.bdf, d.fn);
      } catch (e) {
        if (e instanceof PciError) throw new MachineConfigError(`devices[${i}]: ${e.message}`, { cause: e });
        throw e;
      }
    });
    // PCI INTx lines are active-low and idle high.
    for (let g = MAP.PCI_INTX_GSI_BASE; g < MAP.PCI_INTX_GSI_BASE + 4; g++) this.ioapic.setIrq(g, true);

    this.acpi = buildAcpi(
      {
        cpus: this.cpus.map((c) => ({ apicId: c.apicId, uid: c.index, enabled: true })),
        ioapic: { id: 0, address: MAP.IOAPIC_BASE, gsiBase: 0 },
        lapicAddress: MAP.LAPIC_BASE,
        overrides: [
          { irq: 0, gsi: 2, flags: 0 },
          { irq: 9, gsi: 9, flags: INTI_POLARITY_LOW | INTI_TRIGGER_LEVEL },
        ],
        ...(config.mcfg === false ? {} : { ecam: { base: MAP.ECAM_BASE, segment: 0, startBus: 0, endBus: 255 } }),
        ...(this.iommu === null
          ? {}
          : {
              dmar: {
                registerBase: MAP.DMAR_UNIT_BASE,
                hostAddressWidth: VTD_HOST_ADDRESS_WIDTH,
                ioapic: { id: 0, bus: MAP.IOAPIC_SOURCE_BUS, dev: MAP.IOAPIC_SOURCE_DEV, fn: MAP.IOAPIC_SOURCE_FN },
              },
            }),
        ...(config.acpiFaults ? { faults: config.acpiFaults } : {}),
      },
      MAP.ACPI_TABLES_ADDRESS,
      MAP.RSDP_ADDRESS,
    );
    this.rom.set(this.acpi.tables, this.acpi.tablesAddress - MAP.BIOS_ROM_BASE);
    this.rom.set(this.acpi.rsdp, this.acpi.rsdpAddress - MAP.BIOS_ROM_BASE);
    this.biosHandover(mode);
  }

  /** Counts, traces and reports one message on the interrupt window (the remapping port's path). */
  private recordMessage(lo: number, hi: number, data: number, outcome: MsiOutcome): void {
    this.msiWrites++;
    if (this.config.traceWire !== false) this.wireLog.push({ timeNs: this.scheduler.time, address: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), data: data >>> 0, outcome });
    if (!outcome.delivered) {
      this.msiDropped++;
      this.event(null, 'msi-dropped', `${outcome.reason}: ${outcome.detail}`);
    }
  }

  /** What platform firmware leaves behind before the OS: x2APIC mode if asked, PCI interrupt lines. */
  private biosHandover(mode: 'xapic' | 'x2apic'): void {
    if (mode === 'x2apic') {
      for (const c of this.cpus) {
        const base = c.lapic.rdmsr(0x1b);
        c.lapic.wrmsr(0x1b, base | (1n << 10n)); // EXTD: xAPIC → x2APIC (EN already set)
      }
    }
    // Interrupt Line (0x3C) = the GSI the INTx pin is wired to; stands in for the ACPI _PRT.
    for (const { bdf, fn } of this.pci.functions()) {
      const pin = fn.configRead(0x3d, 1);
      if (pin >= 1 && pin <= 4) fn.configWrite(0x3c, 1, this.gsiFor(bdf, pin));
    }
  }

  /** PIRQ swizzle of a Q35-like board: INTA# of device d → PIRQ[(d + pin − 1) mod 4] → GSI 16 + that. */
  gsiFor(bdf: string, pin: number): number {
    const { dev } = parseBdf(bdf);
    checkInt(PciUsageError, 'INTx pin (1 = INTA# … 4 = INTD#)', pin, 1, 4);
    return MAP.PCI_INTX_GSI_BASE + ((dev + pin - 1) % 4);
  }

  private intx(bdf: string, pin: number, level: boolean): void {
    const gsi = this.gsiFor(bdf, pin);
    // Shared, wired-OR lines: the pin is low while any function asserts it.
    const n = (this.gsiAsserted.get(gsi) ?? 0) + (level ? 1 : -1);
    this.gsiAsserted.set(gsi, Math.max(0, n));
    this.ioapic.setIrq(gsi, n <= 0);
  }

  /** deviceWrite() with the address as 32-bit halves: MSIs go to the bus as numbers, nothing allocated. */
  private deviceWriteParts(lo: number, hi: number, data: number): boolean {
    // 0xFEE00000–0xFEEFFFFF is exactly address bits 31:20 = 0xFEE (halves may be signed patterns).
    // The BigInt path when the write goes elsewhere, when the wire record needs the outcome object,
    // or when msiWrite was replaced or overridden (a tap on the wire must see every MSI).
    if (hi !== 0 || lo >>> 20 !== MAP.MSI_WINDOW_BASE >>> 20 || this.config.traceWire !== false || this.bus.msiWrite !== STOCK_MSI_WRITE || this.tracer !== null) {
      return this.deviceWrite((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), data >>> 0);
    }
    const code = this.bus[DELIVER_MSI](lo, 0, data);
    this.msiWrites++;
    if (code !== MSI_DELIVERED) {
      this.msiDropped++;
      const outcome = this.bus.msiFailure(code, lo, 0, data);
      this.event(null, 'msi-dropped', `${outcome.reason}: ${outcome.detail}`);
    }
    return true;
  }

  /**
   * A DWORD memory write mastered by a device: an MSI in the interrupt window (always claimed by the
   * host bridge, whatever the APIC bus does with it), else DMA. DMA is claimed by one target only when
   * all four bytes fall inside it: RAM, or the BIOS ROM (read-only: the write is ignored). Anything else
   * — a write crossing the end of RAM or a target boundary, or unclaimed space — is a master abort:
   * nothing is written, the event is logged, and false tells the function (status Received Master Abort).
   */
  private deviceWrite(address: bigint, data: number): boolean {
    if (address >= MSI_LO && address < MSI_HI) {
      const outcome = this.bus.msiWrite(address, data);
      this.msiWrites++;
      if (this.tracer !== null) this.tracer.msiWrite(this.traceSource ?? 'unknown', address, data, outcome, this.traceTime());
      if (this.config.traceWire !== false) this.wireLog.push({ timeNs: this.scheduler.time, address, data, outcome });
      if (!outcome.delivered) {
        this.msiDropped++;
        this.event(null, 'msi-dropped', `${outcome.reason}: ${outcome.detail}`);
      }
      return true;
    }
    const end = address + 4n;
    const what = `device write of 0x${(data >>> 0).toString(16)} at 0x${address.toString(16)}`;
    if (address >= ROM_LO && end <= ROM_HI) {
      this.event(null, 'dma-dropped', `${what}: the BIOS ROM is read-only, write ignored`);
      return true;
    }
    const inRam = end <= BigInt(this.ram.length) && (end <= ROM_LO || address >= ROM_HI);
    if (inRam) {
      this.ramView.setUint32(Number(address), data >>> 0, true);
      return true;
    }
    this.event(null, 'dma-dropped', `${what}: no target claims all of [0x${address.toString(16)}, 0x${end.toString(16)}) (master abort)`);
    return false;
  }

  /** Now, on the clock of the CPU whose code is running (its bus accesses since its last yield included). */
  private traceTime(): number {
    return this.scheduler.time + (this.scheduler.running?.busyNs ?? 0);
  }

  /**
   * Runs a CPU access that reaches function `bdf`. MSI writes happen only inside such accesses (a
   * doorbell, an unmask releasing a pending message), so the tracer learns which function sent one.
   */
  private traced<T>(bdf: string | null, access: () => T): T {
    const outer = this.traceSource;
    this.traceSource = bdf;
    try {
      return access();
    } finally {
      this.traceSource = outer;
    }
  }

  /** A configuration write through ECAM, named by function and register for the tracer; returns the function. */
  private traceEcamWrite(tracer: MachineTracer, offset: number, size: number, value: number): string | null {
    const bus = offset >>> 20;
    const dev = (offset >>> 15) & 31;
    const fn = (offset >>> 12) & 7;
    const bdf = this.traceBdf(bus, dev, fn);
    // An access crossing a dword is dropped by the host: nothing reaches the function.
    if (bdf !== null && (offset & 3) + size <= 4) tracer.configWrite(bdf, offset & 0xfff, size, value >>> 0, this.traceTime());
    return bdf;
  }

  /** A write to CONFIG_DATA (0xCFC–0xCFF) at the function CONFIG_ADDRESS selects, if enabled. */
  private traceCf8Write(tracer: MachineTracer, port: number, size: number, value: number): string | null {
    const ca = this.pci.configAddressRegister;
    if ((ca & 0x8000_0000) === 0) return null;
    const bdf = this.traceBdf((ca >>> 16) & 0xff, (ca >>> 11) & 31, (ca >>> 8) & 7);
    if (bdf !== null) tracer.configWrite(bdf, (ca & 0xfc) + (port & 3), size, value >>> 0, this.traceTime());
    return bdf;
  }

  /** The label of a present function, or null (a write nothing claims). */
  private traceBdf(bus: number, dev: number, fn: number): string | null {
    const label = formatBdf({ bus, dev, fn });
    return this.pci.functions().some((f) => f.bdf === label) ? label : null;
  }

  /** The newest `eventLimit` machine events (guest misbehaviour, dropped messages, shutdowns), oldest first. */
  get events(): MachineEvent[] {
    return this.eventLog.entries;
  }

  /** Events no longer kept in `events`. */
  get eventsDropped(): number {
    return this.eventLog.dropped;
  }

  /** The newest `eventLimit` MSI memory writes seen by the host bridge, with what the APIC bus did with each. */
  get wire(): WireRecord[] {
    return this.wireLog.entries;
  }

  /** MSI writes no longer kept in `wire`. */
  get wireDropped(): number {
    return this.wireLog.dropped;
  }

  // ---- CpuBus ----
  now(): number {
    return this.scheduler.time;
  }

  event(cpu: Cpu | null, kind: string, detail: string): void {
    if ((cpu !== null && !this.ownCpu(cpu)) || typeof kind !== 'string' || typeof detail !== 'string') {
      throw new MachineUsageError(`event(cpu of this machine or null, kind, detail strings), got ${[cpu, kind, detail].map(describeValue).join(', ')}`);
    }
    this.eventLog.push({ timeNs: this.scheduler.time, cpu: cpu ? cpu.index : null, kind, detail });
  }

  codeAt(address: number): GuestProgram | undefined {
    checkAddress(address);
    return this.code.get(address);
  }

  installCode(address: number, program: GuestProgram): void {
    checkAddress(address);
    if (typeof program !== 'function') throw new MachineUsageError(`installCode: the program must be a generator function, got ${describeValue(program)}`);
    if (address < 0 || address + 0x1000 > this.ram.length || address % 0x1000 !== 0) {
      this.event(null, 'bad-code-address', `code must go to a RAM page, not 0x${address.toString(16)}`);
      return;
    }
    this.code.set(address, program);
  }

  picAcknowledge(): number {
    return this.pic.acknowledge();
  }

  memRead(cpu: Cpu, address: number, size: 1 | 2 | 4): number {
    // Every guest load comes here: the checks are a property load, typeof and two compares (then one
    // compare against this CPU's APIC window before RAM).
    const a = typeof address === 'number' ? address >>> 0 : -1;
    if (cpu?.bus !== this || (a !== address && (typeof address !== 'number' || (address | 0) !== address)) || (size !== 1 && size !== 2 && size !== 4)) throw badAccess('memRead', cpu, address, size);
    // This CPU's xAPIC page, wherever IA32_APIC_BASE puts it, ahead of RAM; -1 while not decoded.
    const w = cpu.lapic.mmioBase;
    if (a >= w && w >= 0 && a < w + MAP.LAPIC_SIZE) {
      this.scheduler.syncApic(cpu);
      return this.lane(cpu.lapic.read((a - w) & 0xff0), a, size);
    }
    if (a + size <= this.ram.length && a < MAP.BIOS_ROM_BASE) return this.ramRead(this.ramView, a, size);
    if (a >= MAP.BIOS_ROM_BASE && a + size <= MAP.BIOS_ROM_BASE + MAP.BIOS_ROM_SIZE) {
      return this.ramRead(this.romView, a - MAP.BIOS_ROM_BASE, size);
    }
    if (a + size <= this.ram.length) return this.ramRead(this.ramView, a, size);
    if (a >= MAP.IOAPIC_BASE && a < MAP.IOAPIC_BASE + MAP.IOAPIC_SIZE) return this.lane(this.ioapic.read(a & 0xffc), a, size);
    if (this.iommu !== null && a >= MAP.DMAR_UNIT_BASE && a < MAP.DMAR_UNIT_BASE + MAP.DMAR_UNIT_SIZE) return this.iommu.mmioRead(a - MAP.DMAR_UNIT_BASE, size);
    if (a >= MAP.ECAM_BASE && a < MAP.ECAM_BASE + MAP.ECAM_SIZE) return this.pci.ecamRead(a - MAP.ECAM_BASE, size);
    const hit = this.decodeBar(a | 0, size);
    if (hit) return hit.fn[BAR_READ](hit.bar, a - hit.base, size);
    this.event(cpu, 'unassigned-read', `${size}-byte read of unclaimed 0x${a.toString(16)}`);
    return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff; // master abort
  }

  memWrite(cpu: Cpu, address: number, size: 1 | 2 | 4, value: number): void {
    // Every guest store comes here: the checks are a property load, typeof and a few compares.
    const a = typeof address === 'number' ? address >>> 0 : -1;
    if (cpu?.bus !== this || (a !== address && (typeof address !== 'number' || (address | 0) !== address)) || (size !== 1 && size !== 2 && size !== 4) || notPattern(value)) {
      throw badAccess('memWrite', cpu, address, size, value);
    }
    const w = cpu.lapic.mmioBase;
    if (a >= w && w >= 0 && a < w + MAP.LAPIC_SIZE) {
      this.lapicWrite(cpu, a, (a - w) & 0xff0, size, value);
      return;
    }
    if (a >= MAP.BIOS_ROM_BASE && a < MAP.BIOS_ROM_BASE + MAP.BIOS_ROM_SIZE) {
      this.writeEvent(cpu, 'rom-write', a, size, value);
      return;
    }
    if (a + size <= this.ram.length) {
      if (size === 1) this.ram[a] = value;
      else if (size === 2) this.ramView.setUint16(a, value, true);
      else this.ramView.setUint32(a, value >>> 0, true);
      return;
    }
    this.mmioWrite(cpu, a, size, value);
  }

  /**
   * memWrite() beyond RAM: the board's fixed windows, then the enabled BARs. Its own method so that
   * memWrite() stays small enough for V8 to inline into the guest's store path (a doorbell loop
   * measured ~10 % slower with these branches inline).
   */
  private mmioWrite(cpu: Cpu, a: number, size: 1 | 2 | 4, value: number): void {
    if (a >= MAP.IOAPIC_BASE && a < MAP.IOAPIC_BASE + MAP.IOAPIC_SIZE) {
      this.ioapic.write(a & 0xffc, value >>> 0);
      return;
    }
    if (this.iommu !== null && a >= MAP.DMAR_UNIT_BASE && a < MAP.DMAR_UNIT_BASE + MAP.DMAR_UNIT_SIZE) {
      this.iommu.mmioWrite(a - MAP.DMAR_UNIT_BASE, size, value & (size === 4 ? -1 : size === 2 ? 0xffff : 0xff));
      return;
    }
    if (a >= MAP.ECAM_BASE && a < MAP.ECAM_BASE + MAP.ECAM_SIZE) {
      this.clearBarCache();
      if (this.tracer !== null) this.traced(this.traceEcamWrite(this.tracer, a - MAP.ECAM_BASE, size, value), () => this.pci.ecamWrite(a - MAP.ECAM_BASE, size, value));
      else this.pci.ecamWrite(a - MAP.ECAM_BASE, size, value);
      return;
    }
    const hit = this.decodeBar(a | 0, size);
    if (hit) {
      const v = value >>> 0 & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
      if (this.tracer !== null) this.tracedBarWrite(this.tracer, hit, a - hit.base, size, v);
      else hit.fn[BAR_WRITE](hit.bar, a - hit.base, size, v);
      return;
    }
    this.writeEvent(cpu, 'unassigned-write', a, size, value);
  }

  /** A store to this CPU's decoded xAPIC page (register offset `reg`). */
  private lapicWrite(cpu: Cpu, a: number, reg: number, size: number, value: number): void {
    if (size !== 4 || (a & 15) !== 0) this.writeEvent(cpu, 'lapic-partial-write', a, size, value);
    this.scheduler.syncApic(cpu);
    if (this.tracer !== null) this.traceLapicWrite(this.tracer, cpu, reg, value);
    cpu.lapic.write(reg, value >>> 0);
    // LVT timer, initial count or divide configuration: the timer may now be armed or stopped.
    // (An interrupt made deliverable raises INTR, which wakes the CPU by itself.)
    if (reg === 0x320 || reg === 0x380 || reg === 0x3e0) this.scheduler.wake(cpu);
  }

  /** A BAR write (a doorbell) seen by the tracer, with the function named as the source of its MSIs. */
  private tracedBarWrite(tracer: MachineTracer, hit: BarHit, offset: number, size: 1 | 2 | 4, v: number): void {
    tracer.barWrite(hit.bdf, hit.bar, offset, size, v, this.traceTime());
    this.traced(hit.bdf, () => hit.fn[BAR_WRITE](hit.bar, offset, size, v));
  }

  /** EOI and ICR writes for the tracer; out of lapicWrite so the untraced store path stays small. */
  private traceLapicWrite(tracer: MachineTracer, cpu: Cpu, reg: number, value: number): void {
    const t = this.now() + cpu.busyNs;
    if (reg === 0xb0) tracer.eoi(cpu.index, t);
    else if (reg === 0x300) tracer.ipi(cpu.index, value >>> 0, cpu.lapic.read(0x310) >>> 24, t);
  }

  /**
   * The rare outcomes of a guest store, as events. Kept out of memWrite so that the hot function
   * stays small enough for V8 to inline it and its callees (message text is built only here).
   */
  private writeEvent(cpu: Cpu, kind: 'rom-write' | 'lapic-partial-write' | 'unassigned-write', a: number, size: number, value: number): void {
    const at = `0x${a.toString(16)}`;
    if (kind === 'rom-write') this.event(cpu, kind, `write to BIOS ROM at ${at} ignored`);
    else if (kind === 'lapic-partial-write') this.event(cpu, kind, `${size}-byte write at ${at}`);
    else this.event(cpu, kind, `${size}-byte write of 0x${(value >>> 0).toString(16)} to unclaimed ${at}`);
  }

  /**
   * The memory BAR claiming [a, a + size). BAR bases and decode enables change only through
   * configuration writes, which drop the index; it is rebuilt on the next decode, so a run of MMIO
   * accesses costs a binary search each (and the last 16-byte granule answers repeats at once).
   * `a32` is the address as an int32 pattern, so calling here never boxes a number.
   */
  private decodeBar(a32: number, size: 1 | 2 | 4): BarHit | null {
    const key = a32 >>> 4;
    if (key === this.lastGranule && (a32 & 15) + size <= 16) return this.lastHit;
    const a = a32 >>> 0;
    const ranges = (this.barRanges ??= this.indexBars());
    let hit: BarHit | null = null;
    if (this.barsOverlap) {
      // Overlapping BARs (a guest misprogramming): the first function in BDF order claims, as before.
      for (const r of ranges) if (a >= r.base && a + size <= r.end && (hit === null || r.order < hit.order)) hit = r;
    } else {
      let lo = 0;
      let hi = ranges.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (ranges[mid]!.base <= a) lo = mid + 1;
        else hi = mid - 1;
      }
      const r = hi >= 0 ? ranges[hi]! : null;
      if (r !== null && a + size <= r.end) hit = r;
    }
    if ((a & 15) + size <= 16) {
      this.lastGranule = key;
      this.lastHit = hit;
    }
    return hit;
  }

  /** Every enabled memory BAR below 4 GiB, sorted by base; notes whether any two overlap. */
  private indexBars(): BarHit[] {
    const out: BarHit[] = [];
    let order = 0;
    for (const { bdf, fn } of this.pci.functions()) {
      order++;
      if (!fn.memoryEnabled()) continue;
      for (let i = 0; i < 6; i++) {
        const bar = fn.bar(i);
        if (bar === null || bar.index !== i || !bar.isMemory) continue;
        const base = bar.base();
        const end = base + bar.size;
        if (end > 0x1_0000_0000n) continue; // the CPUs issue 32-bit physical addresses only
        out.push({ fn, bdf, bar: i, base: Number(base), end: Number(end), order });
      }
    }
    out.sort((x, y) => x.base - y.base || x.order - y.order);
    this.barsOverlap = out.some((r, k) => k > 0 && r.base < out[k - 1]!.end);
    return out;
  }

  private clearBarCache(): void {
    this.barRanges = null;
    this.lastGranule = -1;
    this.lastHit = null;
  }

  private ramRead(view: DataView, off: number, size: 1 | 2 | 4): number {
    return size === 1 ? view.getUint8(off) : size === 2 ? view.getUint16(off, true) : view.getUint32(off, true);
  }

  /** Narrow access to a 32-bit register: the byte lane(s) of the dword. */
  private lane(dword: number, address: number, size: 1 | 2 | 4): number {
    if (size === 4) return dword >>> 0;
    const shift = (address & 3) * 8;
    return (dword >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  ioRead(port: number, size: 1 | 2 | 4): number {
    if (notPattern(port) || (size !== 1 && size !== 2 && size !== 4)) throw badAccess('ioRead', null, port, size);
    const p = port & 0xffff; // DX is 16 bits wide
    if (p >= MAP.PORT_PCI_CONFIG_ADDRESS && p < MAP.PORT_PCI_CONFIG_ADDRESS + 8) {
      const v = this.pci.ioRead(p, size);
      if (v !== null) return v;
    }
    if (p === 0x20 || p === 0x21 || p === 0xa0 || p === 0xa1) return this.pic.ioRead(p);
    return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
  }

  ioWrite(port: number, size: 1 | 2 | 4, value: number): void {
    if (notPattern(port) || (size !== 1 && size !== 2 && size !== 4) || notPattern(value)) throw badAccess('ioWrite', null, port, size, value);
    const p = port & 0xffff; // DX is 16 bits wide
    if (p >= MAP.PORT_PCI_CONFIG_ADDRESS && p < MAP.PORT_PCI_CONFIG_ADDRESS + 8) {
      this.clearBarCache();
      if (this.tracer !== null && p >= MAP.PORT_PCI_CONFIG_ADDRESS + 4) {
        if (this.traced(this.traceCf8Write(this.tracer, p, size, value), () => this.pci.ioWrite(p, size, value))) return;
      } else if (this.pci.ioWrite(p, size, value)) return;
    }
    if (p === 0x20 || p === 0x21 || p === 0xa0 || p === 0xa1) {
      this.pic.ioWrite(p, value & 0xff);
      return;
    }
    if (p === MAP.PORT_DEBUG_CONSOLE) {
      if (this.consoleLength === this.consoleBytes.length) {
        const grown = new Uint8Array(this.consoleBytes.length * 2);
        grown.set(this.consoleBytes);
        this.consoleBytes = grown;
      }
      this.consoleBytes[this.consoleLength++] = value & 0xff;
      this.consoleCache = null;
      return;
    }
    if (p === MAP.PORT_POST) return;
  }

  /** Everything the guest wrote to the debug console, one Latin-1 character per byte. */
  get console(): string {
    if (this.consoleCache === null) {
      let text = '';
      for (let at = 0; at < this.consoleLength; at += 0x2000) {
        text += String.fromCharCode(...this.consoleBytes.subarray(at, Math.min(at + 0x2000, this.consoleLength)));
      }
      this.consoleCache = text;
    }
    return this.consoleCache;
  }

  // ---- the clock and the scheduler (scheduler.ts) ----

  wake(cpu: Cpu): void {
    if (!this.ownCpu(cpu)) throw new MachineUsageError(`wake() takes a CPU of this machine, got ${describeValue(cpu)}`);
    this.scheduler.wake(cpu);
  }

  syncApic(cpu: Cpu): void {
    if (!this.ownCpu(cpu)) throw new MachineUsageError(`syncApic() takes a CPU of this machine, got ${describeValue(cpu)}`);
    this.scheduler.syncApic(cpu);
  }

  private ownCpu(cpu: unknown): cpu is Cpu {
    return (cpu as Cpu | null | undefined)?.bus === this;
  }

  /** Starts `program` on the BSP and runs until it returns (APs keep whatever state they reach). */
  run(program: GuestProgram): RunResult {
    if (typeof program !== 'function') throw new MachineUsageError(`run() takes a guest program (a generator function), got ${describeValue(program)}`);
    const end = this.scheduler.run(program);
    return { end, timeNs: this.scheduler.time, console: this.console, events: this.events, eventsDropped: this.eventsDropped };
  }

  // ---- Snapshots (snapshot.ts) ----

  /**
   * The whole board's hardware state (format 'irqslice.machine/1'): plain JSON-safe data (no bigint),
   * for JSON.stringify. Covers every CPU's interrupt state and local APIC, the I/O APIC, the 8259 pair,
   * the PCI host and every function (config space, MSI, MSI-X, device registers), guest RAM, the clock
   * and the interrupt-remapping unit if there is one. Not covered: guest software — the guest threads,
   * IDT handlers and installed code are JavaScript, so after loadState() the embedder starts its own
   * guest code or drives the hardware from the host — and host-side records (events, wire, console,
   * msiWrites/msiDropped, per-vector and spurious interrupt counts), which a loaded machine keeps as
   * they were. Call it between runs.
   */
  saveState(): MachineState {
    if (this.scheduler.inRun) throw new MachineUsageError('saveState() cannot be called while the machine runs guest code (call it between runs)');
    return saveMachineState(this.snapshotBoard());
  }

  /**
   * Restores a saveState() result (also after a JSON round trip) into this machine, which must have
   * been created from the same configuration: CPU count, APIC mode, RAM size, MCFG, ACPI faults and
   * the same functions at the same BDFs (the lowestPriority policy and the host options are the
   * caller's). The whole state is validated before anything is applied: a MachineStateError naming
   * the offending field leaves the machine exactly as it was. Guest software is not restored (see saveState()).
   */
  loadState(state: unknown): void {
    if (this.scheduler.inRun) throw new MachineUsageError('loadState() cannot be called while the machine runs guest code (call it between runs)');
    loadMachineState(this.snapshotBoard(), state);
  }

  private snapshotBoard(): SnapshotBoard {
    return {
      config: this.config,
      cpus: this.cpus,
      ioapic: this.ioapic,
      pic: this.pic,
      pci: this.pci,
      ram: this.ram,
      scheduler: this.scheduler,
      iommu: this.iommu,
      afterRestore: () => this.afterRestore(),
    };
  }

  /** What the board derives from the restored models: wired-OR INTx counts, BAR decode; guest code is gone. */
  private afterRestore(): void {
    this.gsiAsserted.clear();
    for (const { bdf, fn } of this.pci.functions()) {
      if (!fn.intxAsserted) continue;
      const gsi = this.gsiFor(bdf, fn.interruptPin);
      this.gsiAsserted.set(gsi, (this.gsiAsserted.get(gsi) ?? 0) + 1);
    }
    this.code.clear();
    this.clearBarCache();
  }
}
/** Builds a machine from a configuration (see MachineConfig). */
export function createMachine(config: MachineConfig): Machine {
  return new Machine(config);
}
