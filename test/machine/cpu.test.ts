// The high-level CPU and the scheduler: interrupts only with IF=1, through INTA and the IDT, nested
// by priority class, HLT wake-up, INIT-SIPI-SIPI start-up, shutdown on a missing IDT entry.

import { describe, expect, it } from 'vitest';
import type { CpuContext, GuestYield, InterruptHandler } from '../../src/machine/guest-interface.js';
import { createMachine, MachineConfigError } from '../../src/machine/machine.js';

const LAPIC = 0xfee00000;
const enableApic = (c: CpuContext) => c.write32(LAPIC + 0xf0, 0x1ff);
/** A self IPI through the xAPIC ICR (shorthand 01 = self, fixed). */
const selfIpi = (c: CpuContext, vector: number) => c.write32(LAPIC + 0x300, (1 << 18) | vector);
const eoi = (c: CpuContext) => c.write32(LAPIC + 0xb0, 0);

describe('interrupt delivery on a CPU', () => {
  it('with IF=0 nothing is taken; STI takes the pending interrupt at once', () => {
    const m = createMachine({ cpus: 1 });
    const log: string[] = [];
    m.run(function* (c): Generator<GuestYield, void, void> {
      c.lidt(new Map<number, InterruptHandler>([[0x40, (cc, v) => { log.push(`irq ${v.toString(16)}`); eoi(cc); }]]));
      enableApic(c);
      selfIpi(c, 0x40);
      log.push('after send');
      c.sti();
      log.push('after sti');
    });
    expect(log).toEqual(['after send', 'irq 40', 'after sti']);
  });

  it('a higher priority class nests inside a handler that re-enabled interrupts; same class waits for EOI', () => {
    const m = createMachine({ cpus: 1 });
    const log: string[] = [];
    const idt = new Map<number, InterruptHandler>([
      [0x41, (c) => {
        log.push('enter 41');
        selfIpi(c, 0x45); // same class 4: must wait until 0x41 is EOI'd
        selfIpi(c, 0x61); // class 6 beats PPR 0x40: nests as soon as IF=1
        c.sti();
        log.push('leave 41');
        c.cli();
        eoi(c);
      }],
      [0x45, (c) => { log.push('45'); eoi(c); }],
      [0x61, (c) => { log.push('61'); eoi(c); }],
    ]);
    m.run(function* (c): Generator<GuestYield, void, void> {
      c.lidt(idt);
      enableApic(c);
      selfIpi(c, 0x41);
      c.sti();
      yield* c.pause(100);
    });
    expect(log).toEqual(['enter 41', '61', 'leave 41', '45']);
  });

  it('HLT sleeps until an interrupt arrives from another CPU', () => {
    const m = createMachine({ cpus: 2 });
    const log: string[] = [];
    const idt = new Map<number, InterruptHandler>([[0x50, (c) => { log.push(`cpu ${c.cpuid().apicId} got 0x50`); eoi(c); }]]);
    m.run(function* (c): Generator<GuestYield, void, void> {
      c.lidt(idt);
      enableApic(c);
      c.installCode(0x8000, function* (ap): Generator<GuestYield, void, void> {
        ap.lidt(idt);
        enableApic(ap);
        ap.sti();
        for (;;) yield* ap.hlt();
      });
      c.write32(LAPIC + 0x310, 1 << 24);
      c.write32(LAPIC + 0x300, 0x4500); // INIT, assert
      yield* c.pause(10_000);
      c.write32(LAPIC + 0x300, 0x4608); // SIPI to page 0x8000
      yield* c.pause(10_000);
      c.write32(LAPIC + 0x300, 0x50); // fixed IPI, vector 0x50, to APIC 1
      yield* c.pause(1_000);
    });
    expect(log).toEqual(['cpu 1 got 0x50']);
    expect(m.cpus[1]!.state).toBe('halted');
  });

  it('an interrupt with no IDT entry shuts the CPU down (triple fault) and the run ends', () => {
    const m = createMachine({ cpus: 1 });
    const r = m.run(function* (c): Generator<GuestYield, void, void> {
      c.lidt(new Map());
      enableApic(c);
      selfIpi(c, 0x70);
      c.sti();
    });
    expect(r.end).toBe('bsp-shutdown');
    expect(m.cpus[0]!.shutdownReason).toMatch(/vector 0x70 has no IDT entry/);
  });

  it('a SIPI to a page with no code shuts the AP down instead of crashing', () => {
    const m = createMachine({ cpus: 2 });
    m.run(function* (c): Generator<GuestYield, void, void> {
      c.write32(LAPIC + 0x310, 1 << 24);
      c.write32(LAPIC + 0x300, 0x4500);
      c.write32(LAPIC + 0x300, 0x4609); // page 0x9000: nothing installed
      yield* c.pause(100);
    });
    expect(m.cpus[1]!.state).toBe('shutdown');
    expect(m.cpus[1]!.shutdownReason).toMatch(/no code at 0x9000/);
  });

  it('RDMSR of an unknown MSR raises #GP in the guest, which can catch it (rdmsr_safe)', () => {
    const m = createMachine({ cpus: 1 });
    let caught = '';
    m.run(function* (c): Generator<GuestYield, void, void> {
      try {
        c.rdmsr(0x809); // x2APIC MSR range while in xAPIC mode
      } catch (e) {
        caught = (e as Error).name;
      }
    });
    expect(caught).toBe('GeneralProtectionFault');
  });

  it('the BIOS ROM is read-only and an unassigned address reads all ones (master abort)', () => {
    const m = createMachine({ cpus: 1 });
    const seen: number[] = [];
    m.run(function* (c): Generator<GuestYield, void, void> {
      const before = c.read32(0xf0000);
      c.write32(0xf0000, 0);
      seen.push(before, c.read32(0xf0000), c.read32(0x9000_0000));
    });
    expect(seen[0]).toBe(seen[1]);
    expect(seen[2]).toBe(0xffffffff);
    expect(m.events.some((e) => e.kind === 'rom-write')).toBe(true);
  });
});

describe('virtual time', () => {
  it('bus accesses advance the CPU clock (port I/O 500 ns, MMIO 100 ns, RAM 2 ns), charged at the next yield', () => {
    const m = createMachine({ cpus: 1 });
    const stamps: bigint[] = [];
    m.run(function* (c): Generator<GuestYield, void, void> {
      stamps.push(c.rdtsc());
      c.out8(0x80, 0); // POST port
      stamps.push(c.rdtsc());
      c.read32(LAPIC + 0x30); // MMIO
      c.read32(0x1000); // RAM
      stamps.push(c.rdtsc());
      yield* c.pause(1000);
      stamps.push(c.rdtsc());
    });
    expect(stamps.map((t) => Number(t - stamps[0]!))).toEqual([0, 500, 602, 1602]);
  });
});

describe('machine configuration', () => {
  it('rejects more than 255 CPUs in xAPIC mode and accepts them in x2APIC mode', () => {
    expect(() => createMachine({ cpus: 256, apic: 'xapic' })).toThrow(MachineConfigError);
    expect(createMachine({ cpus: 256, apic: 'x2apic' }).cpus).toHaveLength(256);
  });
  it('rejects 0 and 1025 CPUs', () => {
    expect(() => createMachine({ cpus: 0 })).toThrow(MachineConfigError);
    expect(() => createMachine({ cpus: 1025 })).toThrow(MachineConfigError);
  });
});
