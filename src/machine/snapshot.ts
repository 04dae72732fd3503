// Whole-board snapshots (Machine.saveState / loadState): every hardware model's state in one versioned,
// JSON-safe object, validated as a whole before any of it is applied. Guest software is not hardware
// and is not in it: guest threads (generators), IDT handlers and installed code are JS the embedder
// brings back; host-side records (events, wire log, console, counters) are not state either.
//
// What is saved, model by model (each in its own format where the model has one):
//   config   the configuration the state belongs to (CPU count, APIC mode, RAM size, MCFG, ACPI faults)
//   clock    virtual time; each local APIC's timer position is in its LAPIC state plus apicClockTicks
//   cpus     per CPU: IF, run state (halted, waiting for SIPI, …), latched NMI/ExtINT, the scheduler's
//            wake-up time, and the local APIC (irqslice.lapic/2, incl. timer and TSC deadline)
//   ioapic   irqslice.ioapic/1 (redirection table, remote IRR, delivery status, pin levels)
//   pic      irqslice.pic8259/1 (both 8259As incl. a half-done initialisation)
//   pci      CONFIG_ADDRESS (CF8) and every function (irqslice.pci-function/1: config space, MSI,
//            MSI-X table and PBA, device registers such as the endpoint's counters)
//   ram      the non-zero 4 KiB pages, base64
//   iommu    the VT-d interrupt-remapping unit (irqslice.vtd/1: registers, latched table, invalidation
//            queue, fault records, IRTE cache), when the machine has one
// Derived and rebuilt rather than saved: the APIC bus's routing tables (re-indexed as each local APIC
// is restored; the bus has no arbitration state of its own), the board's wired-OR INTx counts, the BAR
// decode cache, the scheduler's run sets. The BIOS ROM (ACPI tables) follows from the configuration.
import type { MachineConfig } from './machine.js';
import type { Cpu, CpuInterruptState } from './cpu.js';
import type { Scheduler } from './scheduler.js';
import type { PicPair, PicState } from './pic8259.js';
import type { PciHost } from '../hw/pci/pci-host.js';
import type { PciFunctionState } from '../hw/pci/function-state.js';
import { checkCpuInterruptState } from './cpu.js';
import { IoApic, IoApicStateError, type IoApicState } from '../hw/ioapic.js';
import { ApicStateError } from '../hw/apic/errors.js';
import { validateLapicState, type LocalApicState } from '../hw/apic/lapic-state.js';
import { PciStateError } from '../hw/pci/errors.js';
import type { RemappingUnit } from '../hw/iommu/remapping-unit.js';
import { RemappingStateError } from '../hw/iommu/errors.js';
import type { RemappingUnitState } from '../hw/iommu/unit-state.js';
import { CONFIG_ADDRESS_MASK, CONFIG_ADDRESS_PORT } from '../hw/pci/pci-host.js';
import { describeValue } from '../hw/describe.js';
import { at, int, list, MachineStateError, record } from './state-check.js';
import { checkRam, loadRam, saveRam, type RamImage } from './ram-image.js';
import { BUS_CLOCK_NS, DEFAULT_RAM_SIZE } from './memory-map.js';

export const MACHINE_STATE_FORMAT = 'irqslice.machine/1';

/** The configuration a state belongs to: loadState() refuses a machine built with any other. */
export interface MachineStateConfig {
  cpus: number;
  apic: 'xapic' | 'x2apic';
  ramSize: number;
  mcfg: boolean;
  /** Names of the ACPI faults switched on, sorted. */
  acpiFaults: string[];
  /** Whether the board has an interrupt-remapping unit (its options are checked by the unit's own state). */
  iommu: boolean;
}

export interface MachineCpuState extends CpuInterruptState {
  apicId: number;
  /** Bus-clock ticks (10 ns each) up to which this CPU's local APIC timer has been clocked. */
  apicClockTicks: number;
  lapic: LocalApicState;
}

export interface MachineState {
  format: typeof MACHINE_STATE_FORMAT;
  config: MachineStateConfig;
  clock: { timeNs: number };
  cpus: MachineCpuState[];
  ioapic: IoApicState;
  pic: PicState;
  pci: {
    /** CONFIG_ADDRESS as a 32-bit read of 0xCF8 returns it. */
    configAddress: number;
    /** Every function in BDF order. */
    functions: { bdf: string; state: PciFunctionState }[];
  };
  ram: RamImage;
  /** The interrupt-remapping unit's own state; present exactly when the machine has one (config.iommu). */
  iommu?: RemappingUnitState;
}

/** What the snapshot code needs of a Machine (its private parts included). */
export interface SnapshotBoard {
  readonly config: MachineConfig;
  readonly cpus: readonly Cpu[];
  readonly ioapic: IoApic;
  readonly pic: PicPair;
  readonly pci: PciHost;
  readonly ram: Uint8Array;
  readonly scheduler: Scheduler;
  /** The interrupt-remapping unit (MachineConfig.iommu), or null. */
  readonly iommu: RemappingUnit | null;
  /** Rebuilds board-derived state (INTx wired-OR counts, BAR decode cache) and forgets installed guest code. */
  afterRestore(): void;
}

const ROOT_KEYS: readonly string[] = ['format', 'config', 'clock', 'cpus', 'ioapic', 'pic', 'pci', 'ram', 'iommu'];
const CONFIG_KEYS: readonly string[] = ['cpus', 'apic', 'ramSize', 'mcfg', 'acpiFaults', 'iommu'];

// ---- The interrupt-remapping unit --------------------------------------------------------------
// The VT-d unit (machine.iommu) is saved under `iommu` in its own format (irqslice.vtd/1). Its
// loadState() validates before it applies (the models' convention) and runs first, so a refusal leaves
// everything as it was; nothing in the rest of the restore reaches it (functions restore their INTx
// level without an edge, the I/O APIC and the APICs send nothing), so its restored state stays exact.

function loadUnit(unit: RemappingUnit, state: unknown): void {
  try {
    unit.loadState(state);
  } catch (e) {
    if (!(e instanceof RemappingStateError)) throw e;
    throw new MachineStateError(at('iommu', e.field), e.message.replace(/^RemappingUnit\.loadState: [^:]*: /, ''), { cause: e });
  }
}

// ---- Save ---------------------------------------------------------------------------------------

export function stateConfig(config: MachineConfig): MachineStateConfig {
  const faults = Object.entries(config.acpiFaults ?? {}).filter(([, on]) => on === true).map(([k]) => k).sort();
  return { cpus: config.cpus, apic: config.apic ?? 'xapic', ramSize: config.ramSize ?? DEFAULT_RAM_SIZE, mcfg: config.mcfg !== false, acpiFaults: faults, iommu: Boolean(config.iommu) };
}

export function saveMachineState(board: SnapshotBoard): MachineState {
  const state: MachineState = {
    format: MACHINE_STATE_FORMAT,
    config: stateConfig(board.config),
    clock: { timeNs: board.scheduler.time },
    cpus: board.cpus.map((c) => ({
      apicId: c.apicId,
      ...c.saveInterruptState(),
      apicClockTicks: board.scheduler.apicTicks(c.index),
      lapic: c.lapic.saveState(),
    })),
    ioapic: board.ioapic.saveState(),
    pic: board.pic.saveState(),
    pci: {
      configAddress: board.pci.configAddressRegister,
      functions: board.pci.functions().map(({ bdf, fn }) => ({ bdf, state: fn.saveState() })),
    },
    ram: saveRam(board.ram),
  };
  if (board.iommu !== null) state.iommu = board.iommu.saveState();
  return state;
}

// ---- Check --------------------------------------------------------------------------------------

interface Checked {
  timeNs: number;
  cpus: { cpu: CpuInterruptState; ticks: number; lapic: LocalApicState }[];
  ioapic: unknown;
  pic: PicState;
  configAddress: number;
  functions: unknown[];
  ram: ReturnType<typeof checkRam>;
  iommu: unknown;
}

function checkConfig(v: unknown, board: SnapshotBoard): void {
  const s = record(v, 'config', CONFIG_KEYS);
  const mine = stateConfig(board.config) as unknown as Record<string, unknown>;
  for (const k of CONFIG_KEYS) {
    const same = k === 'acpiFaults' ? JSON.stringify(s[k]) === JSON.stringify(mine[k]) : s[k] === mine[k];
    if (!same) throw new MachineStateError(`config.${k}`, `the state is of a machine with ${JSON.stringify(s[k]) ?? 'nothing'}, this one has ${JSON.stringify(mine[k])}`);
  }
}

function checkCpus(v: unknown, board: SnapshotBoard, timeNs: number): Checked['cpus'] {
  const cpus = list(v, 'cpus', board.cpus.length);
  return board.cpus.map((c, i) => {
    const path = `cpus[${i}]`;
    const cpu = checkCpuInterruptState(cpus[i], path, c.bsp, ['apicId', 'apicClockTicks', 'lapic']);
    const s = cpus[i] as Record<string, unknown>;
    if (s.apicId !== c.apicId) throw new MachineStateError(at(path, 'apicId'), `${describeValue(s.apicId)}; CPU ${i} of this machine has APIC ID ${c.apicId}`);
    const ticks = int(s.apicClockTicks, at(path, 'apicClockTicks'), 0, Math.floor(timeNs / BUS_CLOCK_NS));
    const live = c.lapic.saveState();
    let lapic: LocalApicState;
    try {
      lapic = validateLapicState(s.lapic, { apicId: live.apicId, bsp: live.bsp, tscDeadline: c.lapic.hasTscDeadline, version: live.version });
    } catch (e) {
      if (!(e instanceof ApicStateError)) throw e;
      const field = e.field === '$' ? at(path, 'lapic') : at(at(path, 'lapic'), e.field);
      throw new MachineStateError(field, e.message.replace(/^invalid APIC state at [^:]*: /, ''), { cause: e });
    }
    return { cpu, ticks, lapic };
  });
}

/** The I/O APIC validates by loading into an unconnected twin (its loadState() checks before it applies). */
function checkIoApic(v: unknown, board: SnapshotBoard): void {
  const live = board.ioapic.saveState();
  try {
    new IoApic({ id: live.id, pins: live.pins, version: live.version }).loadState(v as IoApicState);
  } catch (e) {
    if (!(e instanceof IoApicStateError)) throw e;
    throw new MachineStateError('ioapic', e.message.replace(/^IoApic\.loadState: /, ''), { cause: e });
  }
}

function checkPci(v: unknown, board: SnapshotBoard): { configAddress: number; functions: unknown[] } {
  const s = record(v, 'pci', ['configAddress', 'functions']);
  const configAddress = int(s.configAddress, 'pci.configAddress', 0, 0xffff_ffff);
  if ((configAddress & ~CONFIG_ADDRESS_MASK) !== 0) throw new MachineStateError('pci.configAddress', 'bits 30:24 and 1:0 of CONFIG_ADDRESS read 0');
  const mine = board.pci.functions();
  const theirs = list(s.functions, 'pci.functions');
  const bdfs = theirs.map((f) => (typeof f === 'object' && f !== null ? (f as { bdf?: unknown }).bdf : undefined));
  if (bdfs.length !== mine.length || mine.some((m, i) => m.bdf !== bdfs[i])) {
    throw new MachineStateError('pci.functions', `the state has functions at ${bdfs.map((b) => describeValue(b)).join(', ') || 'no BDF'}; this machine has ${mine.map((m) => m.bdf).join(', ') || 'none'}`);
  }
  const functions = mine.map(({ fn }, i) => {
    const path = `pci.functions[${i}]`;
    const f = record(theirs[i], path, ['bdf', 'state']);
    try {
      fn.checkState(f.state);
    } catch (e) {
      if (!(e instanceof PciStateError)) throw e;
      const field = e.field === undefined || e.field === '$' ? at(path, 'state') : at(at(path, 'state'), e.field);
      throw new MachineStateError(field, e.detail, { cause: e });
    }
    return f.state;
  });
  return { configAddress, functions };
}

function checkMachineState(board: SnapshotBoard, raw: unknown): Checked {
  const s = record(raw, '$', ROOT_KEYS);
  if (s.format !== MACHINE_STATE_FORMAT) throw new MachineStateError('format', `expected '${MACHINE_STATE_FORMAT}', got ${describeValue(s.format)}`);
  checkConfig(s.config, board);
  const clock = record(s.clock, 'clock', ['timeNs']);
  const timeNs = int(clock.timeNs, 'clock.timeNs', 0, Number.MAX_SAFE_INTEGER);
  const cpus = checkCpus(s.cpus, board, timeNs);
  checkIoApic(s.ioapic, board);
  const pic = board.pic.checkState(s.pic, 'pic');
  const pci = checkPci(s.pci, board);
  const ram = checkRam(s.ram, 'ram', board.ram.length);
  if ((board.iommu !== null) !== ('iommu' in s)) {
    throw new MachineStateError('iommu', board.iommu !== null ? 'missing: this machine has an interrupt-remapping unit' : 'this machine has no interrupt-remapping unit');
  }
  return { timeNs, cpus, ioapic: s.ioapic, pic, configAddress: pci.configAddress, functions: pci.functions, ram, iommu: s.iommu };
}

// ---- Load ---------------------------------------------------------------------------------------

/** Validates the whole state, then applies it model by model; a refused state changes nothing. */
export function loadMachineState(board: SnapshotBoard, raw: unknown): void {
  const s = checkMachineState(board, raw);
  if (board.iommu !== null) loadUnit(board.iommu, s.iommu); // validates itself before it applies
  loadRam(board.ram, s.ram);
  // Functions first: their INTx pins take the restored level without an edge (PciFunction.loadState),
  // and no MSI is sent; the I/O APIC then gets its own pin levels and the APICs their IRR/ISR.
  board.pci.ioWrite(CONFIG_ADDRESS_PORT, 4, s.configAddress);
  board.pci.functions().forEach(({ fn }, i) => fn.loadState(s.functions[i]));
  board.ioapic.loadState(s.ioapic as IoApicState);
  board.pic.loadState(s.pic);
  // Each LAPIC re-indexes the bus's routing tables and re-drives its CPU's INTR line as it loads.
  board.cpus.forEach((c, i) => c.lapic.loadState(s.cpus[i]!.lapic));
  board.cpus.forEach((c, i) => c.restoreInterruptState(s.cpus[i]!.cpu));
  board.scheduler.restoreClock(s.timeNs, s.cpus.map((c) => c.ticks));
  board.afterRestore();
}
