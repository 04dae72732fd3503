// Guest interrupt layer: one IDT shared by all CPUs whose entries all lead to a common stub that
// looks the vector up in the current CPU's vector_irq table (as Linux's common_interrupt does),
// runs the owner's handler, records what arrived where, and EOIs like real code.

import type { CpuContext, InterruptHandler } from '../src/machine/guest-interface.js';
import { SPURIOUS_VECTOR, type LapicDriver } from './lapic.js';

export interface IrqDesc {
  irq: number;
  /** Who owns it: a device BDF, or a name for platform interrupts. */
  owner: string;
  /** Message / entry index within the owner (0 for INTx; the I/O APIC pin for an ISA irq). */
  index: number;
  /** 'isa': a legacy ISA irq of a platform device (the timer), edge-triggered on an I/O APIC pin. */
  kind: 'msi' | 'msix' | 'intx' | 'isa' | 'ipi';
  handler: (cpu: CpuContext, desc: IrqDesc) => void;
  /** Run after the local APIC EOI (a remapped level pin's EOI at the I/O APIC, ioapic_ir_ack_level). */
  afterEoi?: (cpu: CpuContext) => void;
}

interface IrqCounts {
  /** The first CPU that took the irq, and how often it did; −1 before any. */
  cpu: number;
  n: number;
  others: Map<number, number> | null;
}

export interface Observation {
  cpu: number;
  vector: number;
  irq: number | null;
  owner: string | null;
  index: number | null;
}

export class IrqLayer {
  /** vector_irq: per CPU index, vector → descriptor. */
  readonly vectorIrq: Map<number, IrqDesc>[];
  readonly idt = new Map<number, InterruptHandler>();
  /** What arrived where, kept only while `recording` (the probe turns it on; counts are always kept). */
  readonly observations: Observation[] = [];
  recording = false;
  readonly unexpected: number[];
  readonly spurious: number[];
  /** NMIs taken per CPU index (Linux's __nmi_count, the NMI row of /proc/interrupts). */
  readonly nmi: number[];
  private nextIrq = 24; // GSIs 0..23 are the I/O APIC's
  readonly descs: IrqDesc[] = [];
  /**
   * vector_irq as Linux keeps it, a plain per-CPU array by vector (the Maps above hold the same
   * bindings); made on a CPU's first binding.
   */
  private readonly vectorTable: ((IrqDesc | undefined)[] | undefined)[];
  /**
   * /proc/interrupts by irq number. An interrupt is nearly always taken on one CPU, so each irq counts
   * its first CPU in place and any other in a map made on demand: no per-CPU array per irq (1024 CPUs
   * × tens of thousands of MSI-X irqs would be hundreds of MB).
   */
  private readonly countsByIrq: (IrqCounts | undefined)[] = [];
  /** The CPU that took the last interrupt and its index: a CPU's APIC ID never changes. */
  private lastCpu: CpuContext | null = null;
  private lastIndex = -1;

  constructor(
    cpuCount: number,
    private readonly apicIdToIndex: Map<number, number>,
    private readonly lapic: LapicDriver,
  ) {
    this.vectorIrq = Array.from({ length: cpuCount }, () => new Map());
    this.vectorTable = new Array<(IrqDesc | undefined)[] | undefined>(cpuCount).fill(undefined);
    this.unexpected = new Array(cpuCount).fill(0);
    this.spurious = new Array(cpuCount).fill(0);
    this.nmi = new Array(cpuCount).fill(0);
    const stub: InterruptHandler = (cpu, vector) => this.common(cpu, vector);
    for (let v = 0x20; v <= 0xff; v++) this.idt.set(v, stub);
    // NMI (vector 2): count and return; there is nothing to EOI.
    this.idt.set(2, (cpu) => {
      const idx = this.cpuIndex(cpu);
      if (idx >= 0) this.nmi[idx]!++;
    });
  }

  cpuIndex(cpu: CpuContext): number {
    if (cpu === this.lastCpu) return this.lastIndex;
    const idx = this.apicIdToIndex.get(cpu.cpuid().apicId) ?? -1;
    this.lastCpu = cpu;
    this.lastIndex = idx;
    return idx;
  }

  newDesc(owner: string, index: number, kind: IrqDesc['kind'], handler: IrqDesc['handler'], gsi?: number): IrqDesc {
    const d: IrqDesc = { irq: gsi ?? this.nextIrq++, owner, index, kind, handler };
    this.descs.push(d);
    this.countsByIrq[d.irq] ??= { cpu: -1, n: 0, others: null }; // a shared GSI keeps one count
    return d;
  }

  /** Interrupts taken for `irq` by CPU index, only the CPUs that took any (the report's sparse form). */
  countsOf(irq: number): Record<string, number> {
    const c = this.countsByIrq[irq];
    const out: Record<string, number> = {};
    if (c === undefined) return out;
    const all = new Map(c.others ?? []);
    if (c.n > 0) all.set(c.cpu, c.n);
    for (const cpu of [...all.keys()].sort((a, b) => a - b)) out[cpu] = all.get(cpu)!;
    return out;
  }

  bind(cpuIndex: number, vector: number, desc: IrqDesc): void {
    this.vectorIrq[cpuIndex]!.set(vector, desc);
    (this.vectorTable[cpuIndex] ??= new Array<IrqDesc | undefined>(256).fill(undefined))[vector] = desc;
  }

  unbind(cpuIndex: number, vector: number): void {
    this.vectorIrq[cpuIndex]!.delete(vector);
    const table = this.vectorTable[cpuIndex];
    if (table !== undefined) table[vector] = undefined;
  }

  private common(cpu: CpuContext, vector: number): void {
    const idx = this.cpuIndex(cpu);
    if (vector === SPURIOUS_VECTOR) {
      // The APIC's spurious vector: no ISR bit was set, so no EOI (SDM §11.9).
      if (idx >= 0) this.spurious[idx]!++;
      if (this.recording) this.observations.push({ cpu: idx, vector, irq: null, owner: null, index: null });
      return;
    }
    const desc = idx >= 0 ? this.vectorTable[idx]?.[vector] : undefined;
    if (this.recording) this.observations.push({ cpu: idx, vector, irq: desc?.irq ?? null, owner: desc?.owner ?? null, index: desc?.index ?? null });
    if (desc) {
      const c = this.countsByIrq[desc.irq]!;
      if (c.cpu === idx) c.n++;
      else if (c.cpu < 0) (c.cpu = idx), (c.n = 1);
      else (c.others ??= new Map()).set(idx, (c.others.get(idx) ?? 0) + 1);
      desc.handler(cpu, desc);
    } else if (idx >= 0) {
      this.unexpected[idx]!++;
    }
    this.lapic.eoi(cpu);
    desc?.afterEoi?.(cpu);
  }
}
