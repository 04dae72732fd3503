// A high-level x86 CPU: no instruction decoder. Guest code is TypeScript run as a generator; every
// CpuContext call is an instruction boundary where pending interrupts are taken (IF=1, via INTA at
// the local APIC, through the guest's IDT, IF cleared on entry and restored on return as by IRET).

import type { LocalApic } from '../hw/apic/local-apic.js';
import type { LapicSink } from '../hw/signals.js';
import type { CpuContext, CpuidInfo, GuestProgram, GuestYield, IdtTable } from './guest-interface.js';

export type CpuState = 'wait-for-sipi' | 'running' | 'halted' | 'finished' | 'shutdown';

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
    try {
      handler(this.ctx, vector);
    } finally {
      this.depth--;
      if ((this.state as CpuState) !== 'shutdown') this.ifFlag = savedIf; // IRET restores RFLAGS.IF
    }
  }

  get nesting(): number {
    return this.depth;
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
    this.lapic.wrmsr(msr, value);
    // A timer (re)armed or stopped through an MSR must be (un)scheduled: x2APIC LVT timer, initial
    // count, divide configuration, TSC deadline, or a mode change through IA32_APIC_BASE.
    if (msr === 0x832 || msr === 0x838 || msr === 0x83e || msr === IA32_TSC_DEADLINE || msr === IA32_APIC_BASE) this.bus.wake(this);
  }
}
