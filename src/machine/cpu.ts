// A high-level x86 CPU: no instruction decoder. Guest code is TypeScript run as a generator; every
// CpuContext call is an instruction boundary where pending interrupts are taken (IF=1, via INTA at
// the local APIC, through the guest's IDT, IF cleared on entry and restored on return as by IRET).

import type { LocalApic } from '../hw/apic/local-apic.js';
import type { LapicSink } from '../hw/signals.js';
import type { CpuContext, CpuidInfo, GuestProgram, GuestYield, IdtTable } from './guest-interface.js';
import { at, bool, int, MachineStateError, record } from './state-check.js';
import type { MachineTracer } from './tracer.js';

export type CpuState = 'wait-for-sipi' | 'running' | 'halted' | 'finished' | 'shutdown';

const CPU_STATES: readonly CpuState[] = ['wait-for-sipi', 'running', 'halted', 'finished', 'shutdown'];

/**
 * What a snapshot keeps of a CPU: its architectural interrupt state and where the scheduler stands
 * with it. Not kept: the guest thread and the IDT (guest software: JS generators and handlers).
 */
export interface CpuInterruptState {
  state: CpuState;
  /** RFLAGS.IF. */
  interruptsEnabled: boolean;
  /** An NMI latched and not yet taken. */
  nmiPending: boolean;
  /** An ExtINT delivery waiting for its INTA cycle at the 8259. */
  extintPending: boolean;
  /** Virtual time (ns) before which the CPU's thread does not run. */
  wakeAtNs: number;
  /** Bus time charged to the current stretch of code and not yet to the clock. */
  busyNs: number;
  /** A HLT reached after a busy stretch, taking effect at wakeAtNs. */
  pendingHlt: boolean;
  shutdownReason: string | null;
}

const CPU_STATE_KEYS: readonly string[] = ['state', 'interruptsEnabled', 'nmiPending', 'extintPending', 'wakeAtNs', 'busyNs', 'pendingHlt', 'shutdownReason'];

/** Validates a CpuInterruptState (fields under `path`) for a CPU that is or is not the BSP. */
export function checkCpuInterruptState(v: unknown, path: string, bsp: boolean, keys: readonly string[] = []): CpuInterruptState {
  const s = record(v, path, [...CPU_STATE_KEYS, ...keys]);
  if (!CPU_STATES.includes(s.state as CpuState)) throw new MachineStateError(at(path, 'state'), `expected one of ${CPU_STATES.join(', ')}`);
  if (bsp && s.state === 'wait-for-sipi') throw new MachineStateError(at(path, 'state'), 'the BSP never waits for SIPI (INIT is ignored on it)');
  const reason = s.shutdownReason;
  if (reason !== null && typeof reason !== 'string') throw new MachineStateError(at(path, 'shutdownReason'), 'expected a string or null');
  if (s.state === 'shutdown' && reason === null) throw new MachineStateError(at(path, 'shutdownReason'), 'a CPU that shut down has a reason');
  return {
    state: s.state as CpuState,
    interruptsEnabled: bool(s.interruptsEnabled, at(path, 'interruptsEnabled')),
    nmiPending: bool(s.nmiPending, at(path, 'nmiPending')),
    extintPending: bool(s.extintPending, at(path, 'extintPending')),
    wakeAtNs: int(s.wakeAtNs, at(path, 'wakeAtNs'), 0, Number.MAX_SAFE_INTEGER),
    busyNs: int(s.busyNs, at(path, 'busyNs'), 0, Number.MAX_SAFE_INTEGER),
    pendingHlt: bool(s.pendingHlt, at(path, 'pendingHlt')),
    shutdownReason: reason as string | null,
  };
}

/** The board as a CPU sees it: memory, ports, MSRs beyond the APIC, the INTA of the 8259 pair. */
export interface CpuBus {
  now(): number;
  memRead(cpu: Cpu, address: number, size: 1 | 2 | 4): number;
  memWrite(cpu: Cpu, address: number, size: 1 | 2 | 4, value: number): void;
  ioRead(port: number, size: 1 | 2 | 4): number;
  ioWrite(port: number, size: 1 | 2 | 4, value: number): void;
  picAcknowledge(): number;
  codeAt(address: number): GuestProgram | undefined;
  installCode(address: number, program: GuestProgram): void;
  event(cpu: Cpu, kind: string, detail: string): void;
  /** Something may now let `cpu` run (an interrupt pin rose, NMI, SIPI): the scheduler looks at it again. */
  wake(cpu: Cpu): void;
  /** Brings the CPU's local APIC timer up to the current time before the CPU touches the APIC. */
  syncApic(cpu: Cpu): void;
  /** Observer of interrupts taken and APIC writes, when the board has one. */
  readonly tracer?: MachineTracer | null;
}

/** Raised inside guest code to unwind a CPU that shut down (triple fault, missing IDT entry). */
export class CpuShutdown extends Error {
  override readonly name = 'CpuShutdown';
}

const IA32_APIC_BASE = 0x1b;
/** What hlt() and spin() yield: the scheduler only reads them, so one shared object each. */
const HLT: GuestYield = Object.freeze({ kind: 'hlt' });
const SPIN: GuestYield = Object.freeze({ kind: 'spin' });
const IA32_TSC_DEADLINE = 0x6e0;

export class Cpu implements LapicSink {
  state: CpuState;
  ifFlag = false;
  idt: IdtTable | null = null;
  /** Virtual time (ns) before which a paused thread does not run. */
  wakeAt = 0;
  /**
   * Time (ns) the current stretch of guest code has spent in bus accesses since its last yield: the
   * CPU's clock runs this far ahead of the machine's until the scheduler charges it at the yield.
   */
  busyNs = 0;
  /** A HLT reached after a busy stretch: the CPU halts once that time has passed. */
  pendingHlt = false;
  thread: Generator<GuestYield, void, void> | null = null;
  shutdownReason: string | null = null;
  /** Interrupts taken, indexed by vector (the raw material of a /proc/interrupts table). */
  readonly taken: Uint32Array = new Uint32Array(256);
  private intrLine = false;
  private nmiPending = false;
  private extintPending = false;
  private depth = 0;
  lapic!: LocalApic;
  readonly ctx: CpuContext;

  constructor(
    readonly index: number,
    readonly apicId: number,
    readonly bsp: boolean,
    /** The board this CPU sits on (the board checks it: a CPU of another board is refused). */
    readonly bus: CpuBus,
    private readonly x2apicCapable: boolean,
  ) {
    this.state = bsp ? 'running' : 'wait-for-sipi';
    this.ctx = this.makeContext();
  }

  // ---- LapicSink: the APIC drives these pins ----
  intr(level: boolean): void {
    this.intrLine = level;
    if (level) this.bus.wake(this);
  }
  nmi(): void {
    this.nmiPending = true;
    this.bus.wake(this);
  }
  smi(): void {
    this.bus.event(this, 'smi', 'SMI received (no SMM modelled): ignored');
  }
  init(): void {
    if (this.bsp) {
      this.bus.event(this, 'init', 'INIT received by the BSP: ignored (no reset of the boot processor)');
      return;
    }
    this.state = 'wait-for-sipi';
    this.thread = null;
    this.busyNs = 0;
    this.pendingHlt = false;
    this.ifFlag = false;
    this.idt = null;
  }
  sipi(vector: number): void {
    if (this.state !== 'wait-for-sipi') return;
    const entry = vector << 12;
    const program = this.bus.codeAt(entry);
    if (!program) {
      this.shutdown(`SIPI vector 0x${vector.toString(16)}: no code at 0x${entry.toString(16)}`);
      return;
    }
    this.start(program);
  }
  extint(): void {
    this.extintPending = true;
    this.bus.wake(this);
  }

  start(program: GuestProgram): void {
    this.bus.wake(this);
    this.state = 'running';
    this.ifFlag = false;
    this.busyNs = 0;
    this.pendingHlt = false;
    this.wakeAt = this.bus.now();
    this.thread = program(this.ctx);
  }

  shutdown(reason: string): void {
    this.state = 'shutdown';
    this.shutdownReason = reason;
    this.thread = null;
    this.bus.event(this, 'shutdown', reason);
  }

  /** True when something would end a HLT: NMI, or (IF=1) a deliverable interrupt. */
  canWake(): boolean {
    return this.nmiPending || (this.ifFlag && (this.extintPending || (this.intrLine && this.lapic.hasInterrupt())));
  }

  /** Instruction boundary: take NMIs, then maskable interrupts while IF=1 and one is deliverable. */
  boundary(): void {
    if (this.nmiPending) {
      this.nmiPending = false;
      this.dispatch(2);
    }
    while (this.ifFlag && (this.extintPending || (this.intrLine && this.lapic.hasInterrupt()))) {
      let vector: number;
      if (this.extintPending) {
        this.extintPending = false;
        vector = this.bus.picAcknowledge();
      } else {
        vector = this.lapic.acknowledge();
      }
      this.dispatch(vector);
    }
  }

  private dispatch(vector: number): void {
    if (this.state === 'shutdown') return;
    this.taken[vector & 0xff]!++;
    const handler = this.idt?.get(vector);
    if (!handler) {
      this.shutdown(`vector 0x${vector.toString(16)} has no IDT entry (triple fault)`);
      throw new CpuShutdown(this.shutdownReason!);
    }
    const savedIf = this.ifFlag;
    this.ifFlag = false; // interrupt gate
    this.depth++;
    const tracer = this.bus.tracer;
    if (tracer) tracer.interruptEnter(this.index, vector, this.bus.now() + this.busyNs);
    try {
      handler(this.ctx, vector);
    } finally {
      this.depth--;
      if ((this.state as CpuState) !== 'shutdown') this.ifFlag = savedIf; // IRET restores RFLAGS.IF
      if (tracer) tracer.interruptExit(this.index, vector, this.bus.now() + this.busyNs);
    }
  }

  get nesting(): number {
    return this.depth;
  }

  saveInterruptState(): CpuInterruptState {
    return {
      state: this.state,
      interruptsEnabled: this.ifFlag,
      nmiPending: this.nmiPending,
      extintPending: this.extintPending,
      wakeAtNs: this.wakeAt,
      busyNs: this.busyNs,
      pendingHlt: this.pendingHlt,
      shutdownReason: this.shutdownReason,
    };
  }

  /**
   * Takes a checked CpuInterruptState. The guest thread and IDT are dropped (guest software is not
   * in a snapshot); the INTR line is the local APIC's to drive, so restore the APIC first.
   */
  restoreInterruptState(s: CpuInterruptState): void {
    this.state = s.state;
    this.ifFlag = s.interruptsEnabled;
    this.nmiPending = s.nmiPending;
    this.extintPending = s.extintPending;
    this.wakeAt = s.wakeAtNs;
    this.busyNs = s.busyNs;
    this.pendingHlt = s.pendingHlt;
    this.shutdownReason = s.shutdownReason;
    this.thread = null;
    this.idt = null;
    this.depth = 0;
  }

  private makeContext(): CpuContext {
    const cpu = this;
    const bus = this.bus;
    const cpuidInfo: CpuidInfo = Object.freeze({ apicId: cpu.apicId, x2apic: cpu.x2apicCapable });
    // Rough costs of an access, so guest time passes while code runs: port I/O is slow (an ISA-era
    // bus cycle), uncached MMIO and MSRs take on the order of 100 ns, RAM and ROM a few ns.
    const PORT_NS = 500;
    const MMIO_NS = 100;
    const RAM_NS = 2;
    const MSR_NS = 50;
    const cost = (ns: number) => {
      cpu.busyNs += ns;
    };
    const memCost = (a: number) => cost((a >>> 0) < 0x100000 ? RAM_NS : MMIO_NS);
    const after = <T>(v: T): T => {
      cpu.boundary();
      return v;
    };
    return {
      in8: (p) => (cost(PORT_NS), after(bus.ioRead(p, 1))),
      in16: (p) => (cost(PORT_NS), after(bus.ioRead(p, 2))),
      in32: (p) => (cost(PORT_NS), after(bus.ioRead(p, 4))),
      out8: (p, v) => (cost(PORT_NS), after(bus.ioWrite(p, 1, v))),
      out16: (p, v) => (cost(PORT_NS), after(bus.ioWrite(p, 2, v))),
      out32: (p, v) => (cost(PORT_NS), after(bus.ioWrite(p, 4, v))),
      read8: (a) => (memCost(a), after(bus.memRead(cpu, a, 1))),
      read16: (a) => (memCost(a), after(bus.memRead(cpu, a, 2))),
      read32: (a) => (memCost(a), after(bus.memRead(cpu, a, 4))),
      write8: (a, v) => (memCost(a), after(bus.memWrite(cpu, a, 1, v))),
      write16: (a, v) => (memCost(a), after(bus.memWrite(cpu, a, 2, v))),
      write32: (a, v) => (memCost(a), after(bus.memWrite(cpu, a, 4, v))),
      rdmsr: (msr) => (cost(MSR_NS), after(cpu.rdmsr(msr))),
      wrmsr: (msr, v) => (cost(MSR_NS), after(cpu.wrmsr(msr, v))),
      cli: () => {
        cpu.ifFlag = false;
      },
      sti: () => {
        cpu.ifFlag = true;
        cpu.boundary();
      },
      get interruptsEnabled() {
        return cpu.ifFlag;
      },
      lidt: (table) => {
        cpu.idt = table;
      },
      cpuid: (): CpuidInfo => cpuidInfo,
      rdtsc: () => cpu.tsc(),
      installCode: (address, program) => bus.installCode(address, program),
      *hlt() {
        yield HLT;
      },
      *pause(ns: number) {
        yield { kind: 'pause', ns };
      },
      *spin() {
        yield SPIN;
      },
    };
  }

  /** This CPU's TSC (1 GHz): machine time plus the bus time its current stretch of code has spent. */
  tsc(): bigint {
    return BigInt(this.bus.now() + this.busyNs);
  }

  private rdmsr(msr: number): bigint {
    this.bus.syncApic(this);
    if (msr === 0x10) return this.tsc(); // IA32_TIME_STAMP_COUNTER reads what RDTSC reads
    // IA32_APIC_BASE, x2APIC MSRs, TSC deadline; the APIC model raises #GP for MSRs it does not know.
    return this.lapic.rdmsr(msr);
  }

  private wrmsr(msr: number, value: bigint): void {
    this.bus.syncApic(this);
    const tracer = this.bus.tracer;
    if (tracer) {
      // x2APIC EOI (0x80B) and ICR (0x830: destination in the high dword), as on the xAPIC page.
      if (msr === 0x80b) tracer.eoi(this.index, this.bus.now() + this.busyNs);
      else if (msr === 0x830) tracer.ipi(this.index, Number(value & 0xffff_ffffn), Number((value >> 32n) & 0xffff_ffffn), this.bus.now() + this.busyNs);
    }
    this.lapic.wrmsr(msr, value);
    // A timer (re)armed or stopped through an MSR must be (un)scheduled: x2APIC LVT timer, initial
    // count, divide configuration, TSC deadline, or a mode change through IA32_APIC_BASE.
    if (msr === 0x832 || msr === 0x838 || msr === 0x83e || msr === IA32_TSC_DEADLINE || msr === IA32_APIC_BASE) this.bus.wake(this);
  }
}
