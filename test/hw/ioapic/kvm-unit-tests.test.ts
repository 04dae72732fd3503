// kvm-unit-tests' x86/ioapic.c re-expressed against the models: an I/O APIC (82093AA §3.2) wired to
// four local APICs on one APIC bus, and a tiny CPU harness that takes interrupts at instruction
// boundaries (IF = 1, INTA at the local APIC, the test's handler, which EOIs as the C handlers do).
// Each case keeps the C test's actions and its report() condition; the run is repeated in xAPIC mode
// (flat logical model, LDR = 1 << id as kvm-unit-tests' x2APIC LDR gives for IDs below 16) and in
// x2APIC mode, where main() runs it. SDM vol. 3A §11.8.4 (TMR), §11.6.2.2 (logical destinations).

import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../../src/hw/apic/apic-bus.js';
import { LocalApic } from '../../../src/hw/apic/local-apic.js';
import { IoApic, IOREGSEL, IOWIN } from '../../../src/hw/ioapic.js';

const LINE = 0x0e;
const TRIGGER_EDGE = 0;
const TRIGGER_LEVEL = 1;
const REG_TMR = 0x180;
const REG_EOI = 0x0b0;

type Handler = (cpu: number) => void;

/** The machine of one test run: what kvm-unit-tests' lib gives the C code. */
class Rig {
  readonly bus = new ApicBus();
  readonly ioapic = new IoApic({ id: 0, pins: 24 });
  readonly lapics: LocalApic[];
  private readonly idt = new Map<number, Handler>();
  private readonly ifFlag: boolean[];
  private depth = 0;

  constructor(
    readonly mode: 'xapic' | 'x2apic',
    cpus = 4,
  ) {
    this.lapics = Array.from({ length: cpus }, (_, i) => {
      const l = new LocalApic({ apicId: i, bsp: i === 0, sink: { intr() {}, nmi() {}, init() {}, sipi() {}, extint() {} } });
      this.bus.attach(l);
      if (mode === 'x2apic') {
        l.wrmsr(0x1b, 0xfee0_0c00n | (i === 0 ? 0x100n : 0n));
        l.wrmsr(0x80f, 0x1ffn);
      } else {
        l.write(0x0e0, 0xffff_ffff); // DFR: flat model
        l.write(0x0d0, (1 << i) << 24); // LDR: one bit per CPU
        l.write(0x0f0, 0x1ff);
      }
      return l;
    });
    this.bus.attachIoApic(this.ioapic);
    this.ifFlag = this.lapics.map(() => true); // irq_enable() in main(); APs idle with IF = 1
  }

  handleIrq(vector: number, h: Handler): void {
    this.idt.set(vector, h);
  }

  regRead(index: number): number {
    this.ioapic.write(IOREGSEL, index);
    return this.ioapic.read(IOWIN) >>> 0;
  }

  regWrite(index: number, value: number): void {
    this.ioapic.write(IOREGSEL, index);
    this.ioapic.write(IOWIN, value >>> 0);
  }

  /** lib/x86/ioapic: ioapic_write_redir writes the high dword first, then the low one. */
  writeRedir(line: number, e: { vector: number; destMode?: number; destId?: number; trigger: number; mask?: number }): void {
    this.regWrite(0x10 + line * 2 + 1, (e.destId ?? 0) << 24);
    this.regWrite(0x10 + line * 2, e.vector | ((e.destMode ?? 0) << 11) | (e.trigger << 15) | ((e.mask ?? 0) << 16));
  }

  setRedir(line: number, vector: number, trigger: number): void {
    this.writeRedir(line, { vector, trigger });
  }

  setMask(line: number, masked: boolean): void {
    const low = this.regRead(0x10 + line * 2);
    this.regWrite(0x10 + line * 2, masked ? low | (1 << 16) : low & ~(1 << 16));
  }

  remoteIrr(line: number): boolean {
    return ((this.regRead(0x10 + line * 2) >>> 14) & 1) === 1;
  }

  /** set_irq_line: the test device's out to port 0x2000 + line drives the pin (active high). */
  setIrqLine(line: number, level: number): void {
    this.ioapic.setIrq(line, level !== 0);
    this.boundary();
  }

  toggleIrqLine(line: number): void {
    this.setIrqLine(line, 1);
    this.setIrqLine(line, 0);
  }

  eoi(cpu: number): void {
    const l = this.lapics[cpu]!;
    if (this.mode === 'x2apic') l.wrmsr(0x80b, 0n);
    else l.write(REG_EOI, 0);
  }

  tmrBit(cpu: number, vector: number): number {
    const l = this.lapics[cpu]!;
    const word = this.mode === 'x2apic' ? Number(l.rdmsr(0x818 + (vector >> 5))) : l.read(REG_TMR + 0x10 * (vector >> 5));
    return (word >>> (vector & 31)) & 1;
  }

  cli(cpu = 0): void {
    this.ifFlag[cpu] = false;
  }

  sti(cpu = 0): void {
    this.ifFlag[cpu] = true;
    this.boundary();
  }

  /** `asm volatile("nop")`: an instruction boundary on every CPU. */
  nop(): void {
    this.boundary();
  }

  /**
   * Every CPU with IF = 1 takes what its local APIC presents: INTA, then the handler with IF = 0
   * (an interrupt gate), which EOIs itself. Handlers re-enter here through their own actions, as
   * their out instructions are boundaries too; those nested boundaries run with IF = 0 on the
   * handler's CPU, so nothing nests on it.
   */
  private boundary(): void {
    if (this.depth > 64) throw new Error('interrupt storm in the harness');
    this.depth++;
    try {
      let progress = true;
      while (progress) {
        progress = false;
        for (let c = 0; c < this.lapics.length; c++) {
          const l = this.lapics[c]!;
          if (!this.ifFlag[c] || !l.hasInterrupt()) continue;
          const vector = l.acknowledge();
          const h = this.idt.get(vector);
          if (h === undefined) throw new Error(`unexpected vector 0x${vector.toString(16)} on CPU ${c}`);
          this.ifFlag[c] = false;
          h(c);
          this.ifFlag[c] = true;
          progress = true;
        }
      }
    } finally {
      this.depth--;
    }
  }
}

describe.each(['xapic', 'x2apic'] as const)('kvm-unit-tests x86/ioapic.c (%s)', (mode) => {
  it('ioapic_reg_version: the version register is read-only', () => {
    const r = new Rig(mode);
    const before = r.regRead(0x01);
    r.regWrite(0x01, before ^ 0xffff_ffff);
    expect(r.regRead(0x01)).toBe(before);
  });

  it('ioapic_reg_id: only ID bits 27:24 are writable', () => {
    const r = new Rig(mode);
    const before = r.regRead(0x00);
    r.regWrite(0x00, before ^ 0xffff_ffff);
    expect((before ^ r.regRead(0x00)) >>> 0).toBe(0x0f00_0000);
  });

  it('ioapic_arbitration_id: set by an ID write, read-only itself', () => {
    const r = new Rig(mode);
    r.regWrite(0x00, 0x0f00_0000);
    expect(r.regRead(0x02)).toBe(0x0f00_0000);
    r.regWrite(0x02, 0);
    expect(r.regRead(0x02)).toBe(0x0f00_0000);
  });

  it('test_ioapic_edge_intr', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x76, (c) => (n++, r.eoi(c)));
    r.setRedir(LINE, 0x76, TRIGGER_EDGE);
    r.toggleIrqLine(LINE);
    r.nop();
    expect(n).toBe(1);
  });

  it('test_ioapic_level_intr', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x77, (c) => (n++, r.setIrqLine(LINE, 0), r.eoi(c)));
    r.setRedir(LINE, 0x77, TRIGGER_LEVEL);
    r.setIrqLine(LINE, 1);
    r.nop();
    expect(n).toBe(1);
  });

  it('test_ioapic_simultaneous: both edges taken after sti, the higher vector first', () => {
    const r = new Rig(mode);
    const order: number[] = [];
    r.handleIrq(0x78, (c) => (order.push(0x78), r.eoi(c)));
    r.handleIrq(0x66, (c) => (order.push(0x66), r.eoi(c)));
    r.setRedir(0x0e, 0x78, TRIGGER_EDGE);
    r.setRedir(0x0f, 0x66, TRIGGER_EDGE);
    r.cli();
    r.toggleIrqLine(0x0f);
    r.toggleIrqLine(0x0e);
    expect(order).toEqual([]);
    r.sti();
    r.nop();
    // g_66 && g_78 && g_66_after_78 && same rip: both taken at the same boundary, 0x78 first.
    expect(order).toEqual([0x78, 0x66]);
  });

  it('test_ioapic_level_coalesce: a re-assertion while remote IRR is set sends nothing', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x98, (c) => {
      n++;
      if (n === 1) {
        r.setIrqLine(LINE, 0);
        r.setIrqLine(LINE, 1);
      }
      r.setIrqLine(LINE, 0);
      r.eoi(c);
    });
    r.setRedir(LINE, 0x98, TRIGGER_LEVEL);
    r.setIrqLine(LINE, 1);
    r.nop();
    expect(n).toBe(1);
  });

  it('test_ioapic_level_sequential: two assertions after EOI give two interrupts', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x99, (c) => (n++, r.setIrqLine(LINE, 0), r.eoi(c)));
    r.setRedir(LINE, 0x99, TRIGGER_LEVEL);
    r.setIrqLine(LINE, 1);
    r.setIrqLine(LINE, 1);
    r.nop();
    expect(n).toBe(2);
  });

  it('test_ioapic_level_retrigger: EOI with the line still high re-sends', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x9a, (c) => {
      n++;
      if (n === 2) r.setIrqLine(LINE, 0);
      r.eoi(c);
    });
    r.setRedir(LINE, 0x9a, TRIGGER_LEVEL);
    r.cli();
    r.setIrqLine(LINE, 1);
    for (let i = 0; i < 10 && n !== 2; i++) {
      r.sti(); // sti; hlt; cli
      r.cli();
    }
    r.sti();
    expect(n).toBe(2);
  });

  it('test_ioapic_edge_mask: an edge while masked is lost; after unmasking a new edge arrives', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x81, (c) => (n++, r.setIrqLine(LINE, 0), r.eoi(c)));
    r.setRedir(LINE, 0x81, TRIGGER_EDGE);
    r.setMask(LINE, true);
    r.setIrqLine(LINE, 1);
    r.setIrqLine(LINE, 0);
    r.nop();
    expect(n).toBe(0);
    r.setMask(LINE, false);
    r.setIrqLine(LINE, 1);
    r.nop();
    expect(n).toBe(1);
  });

  it('test_ioapic_level_mask: a level held while masked is delivered on unmask', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x82, (c) => (n++, r.setIrqLine(LINE, 0), r.eoi(c)));
    r.setRedir(LINE, 0x82, TRIGGER_LEVEL);
    r.setMask(LINE, true);
    r.setIrqLine(LINE, 1);
    r.nop();
    expect(n).toBe(0);
    r.setMask(LINE, false);
    r.nop();
    expect(n).toBe(1);
  });

  it('test_ioapic_level_retrigger_mask: masked in the handler, re-sent on unmask', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x83, (c) => (n++, r.setMask(LINE, true), r.eoi(c)));
    r.setRedir(LINE, 0x83, TRIGGER_LEVEL);
    r.setIrqLine(LINE, 1);
    r.nop();
    r.setMask(LINE, false);
    r.nop();
    expect(n).toBe(2);
    r.setIrqLine(LINE, 0);
    r.setMask(LINE, false);
  });

  it('TMR: edge acceptance clears the bit, level acceptance sets it, EOI leaves it (the four runs of main())', () => {
    const r = new Rig(mode);
    let seen = -1;
    r.handleIrq(0x79, (c) => ((seen = r.tmrBit(c, 0x79)), r.setIrqLine(LINE, 0), r.eoi(c)));
    const edge = (expectedBefore: number) => {
      seen = -1;
      r.setRedir(LINE, 0x79, TRIGGER_EDGE);
      const before = r.tmrBit(0, 0x79);
      r.toggleIrqLine(LINE);
      r.nop();
      expect([before, seen]).toEqual([expectedBefore, 0]);
    };
    const level = (expectedBefore: number) => {
      seen = -1;
      r.setRedir(LINE, 0x79, TRIGGER_LEVEL);
      const before = r.tmrBit(0, 0x79);
      r.setIrqLine(LINE, 1);
      r.nop();
      expect([before, seen]).toEqual([expectedBefore, 1]);
    };
    edge(0);
    level(0);
    level(1);
    edge(1);
  });

  it('test_ioapic_physical_destination_mode: destination 1 reaches CPU 1 only', () => {
    const r = new Rig(mode);
    const cpus: number[] = [];
    r.handleIrq(0x85, (c) => (cpus.push(c), r.setIrqLine(LINE, 0), r.eoi(c)));
    r.writeRedir(LINE, { vector: 0x85, destMode: 0, destId: 1, trigger: TRIGGER_LEVEL });
    r.setIrqLine(LINE, 1);
    expect(cpus).toEqual([1]);
  });

  it('test_ioapic_logical_destination_mode: logical 0xd reaches CPUs 0, 2 and 3 once each', () => {
    const r = new Rig(mode);
    const cpus: number[] = [];
    r.handleIrq(0x86, (c) => (cpus.push(c), r.setIrqLine(LINE, 0), r.eoi(c)));
    r.writeRedir(LINE, { vector: 0x86, destMode: 1, destId: 0xd, trigger: TRIGGER_LEVEL });
    r.setIrqLine(LINE, 1);
    expect(cpus.sort()).toEqual([0, 2, 3]);
  });

  it('test_ioapic_self_reconfigure: changing the destination in the handler still clears remote IRR on EOI', () => {
    const r = new Rig(mode);
    let n = 0;
    r.handleIrq(0x84, (c) => {
      n++;
      r.setIrqLine(LINE, 0);
      r.regWrite(0x10 + LINE * 2 + 1, 1 << 24); // only the high dword: dest_id = 1
      r.eoi(c);
    });
    r.writeRedir(LINE, { vector: 0x84, destMode: 0, destId: 0, trigger: TRIGGER_LEVEL });
    r.setIrqLine(LINE, 1);
    expect(n).toBe(1);
    expect(r.remoteIrr(LINE)).toBe(false);
  });
});
