import { describe, expect, it } from 'vitest';
import { GeneralProtectionFault } from '../../../src/hw/apic/local-apic.js';
import { enterX2apic, makeApic, swEnable } from './helpers.js';

// SDM vol. 3A §11.5.4 (Figure 11-10 divide configuration, one-shot/periodic), §11.5.4.1 (TSC-deadline).
const DIVIDE_TABLE: [number, number][] = [
  [0b0000, 2], [0b0001, 4], [0b0010, 8], [0b0011, 16],
  [0b1000, 32], [0b1001, 64], [0b1010, 128], [0b1011, 1],
];
const ONE_SHOT = 0x0000_0040; // vector 0x40, unmasked, mode 00
const PERIODIC = 0x0002_0040; // mode 01
const TSC_DEADLINE = 0x0004_0040; // mode 10

function timerRig(tsc?: () => bigint) {
  const rig = makeApic(tsc ? { tsc } : {});
  swEnable(rig.apic);
  return rig;
}

describe('APIC timer one-shot mode', () => {
  const cases = DIVIDE_TABLE.map(([dcr, div]) => ({ bits: dcr.toString(2).padStart(4, '0'), dcr, div }));
  it.each(cases)('divide configuration $bits counts once per $div bus ticks: quiet at n−1, interrupt at n', ({ dcr, div }) => {
    const { apic } = timerRig();
    apic.write(0x3e0, dcr);
    apic.write(0x320, ONE_SHOT);
    apic.write(0x380, 3);
    apic.tick(3 * div - 1);
    expect(apic.hasInterrupt()).toBe(false);
    expect(apic.read(0x390)).toBe(1);
    apic.tick(1);
    expect(apic.acknowledge()).toBe(0x40);
  });

  it('current count reads the initial count right after it is written', () => {
    const { apic } = timerRig();
    apic.write(0x380, 1000);
    expect(apic.read(0x390)).toBe(1000);
  });

  it('current count decrements once per divided clock (divide by 2: 5 ticks → 2 counts)', () => {
    const { apic } = timerRig();
    apic.write(0x380, 1000);
    apic.tick(5);
    expect(apic.read(0x390)).toBe(998);
  });

  it('current count stays 0 after a one-shot expiry and no second interrupt follows', () => {
    const { apic } = timerRig();
    apic.write(0x3e0, 0b1011);
    apic.write(0x320, ONE_SHOT);
    apic.write(0x380, 4);
    apic.tick(4);
    apic.acknowledge();
    apic.write(0x0b0, 0);
    apic.tick(100);
    expect(apic.read(0x390)).toBe(0);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('writing 0 to the initial count stops the timer', () => {
    const { apic } = timerRig();
    apic.write(0x3e0, 0b1011);
    apic.write(0x320, ONE_SHOT);
    apic.write(0x380, 10);
    apic.tick(5);
    apic.write(0x380, 0);
    apic.tick(10);
    expect(apic.read(0x390)).toBe(0);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('a masked timer LVT counts down to 0 without an interrupt', () => {
    const { apic } = timerRig();
    apic.write(0x3e0, 0b1011);
    apic.write(0x320, ONE_SHOT | 0x1_0000);
    apic.write(0x380, 10);
    apic.tick(10);
    expect(apic.read(0x390)).toBe(0);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('the divide configuration keeps only bits 3, 1 and 0', () => {
    const { apic } = timerRig();
    apic.write(0x3e0, 0xffff_ffff);
    expect(apic.read(0x3e0)).toBe(0b1011);
  });
});

describe('APIC timer periodic mode', () => {
  it('reloads the initial count and interrupts every n ticks (n−1 quiet, n fires)', () => {
    const { apic } = timerRig();
    apic.write(0x3e0, 0b0000 /* ÷2 */);
    apic.write(0x320, PERIODIC);
    apic.write(0x380, 5);
    apic.tick(10);
    expect(apic.acknowledge()).toBe(0x40);
    apic.write(0x0b0, 0);
    expect(apic.read(0x390)).toBe(5);
    apic.tick(9);
    expect(apic.hasInterrupt()).toBe(false);
    apic.tick(1);
    expect(apic.hasInterrupt()).toBe(true);
  });

  it('a long step across several periods leaves one pending interrupt and the right phase', () => {
    const { apic } = timerRig();
    apic.write(0x3e0, 0b1011);
    apic.write(0x320, PERIODIC);
    apic.write(0x380, 10);
    apic.tick(35); // expiries at 10, 20, 30; 5 ticks into the fourth period
    expect(apic.read(0x390)).toBe(5);
    expect(apic.acknowledge()).toBe(0x40);
    apic.write(0x0b0, 0);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('ticksUntilNextEvent reports the exact distance to the next expiry', () => {
    const { apic } = timerRig();
    apic.write(0x3e0, 0b0001 /* ÷4 */);
    apic.write(0x320, PERIODIC);
    apic.write(0x380, 3);
    apic.tick(5);
    expect(apic.ticksUntilNextEvent()).toBe(7);
  });

  it('ticksUntilNextEvent is null when the timer is stopped or masked', () => {
    const { apic } = timerRig();
    expect(apic.ticksUntilNextEvent()).toBeNull();
    apic.write(0x320, PERIODIC | 0x1_0000);
    apic.write(0x380, 3);
    expect(apic.ticksUntilNextEvent()).toBeNull();
  });
});

describe('APIC timer TSC-deadline mode', () => {
  it('fires when the TSC reaches IA32_TSC_DEADLINE, then the MSR reads 0', () => {
    let tsc = 1000n;
    const { apic } = timerRig(() => tsc);
    apic.write(0x320, TSC_DEADLINE);
    apic.wrmsr(0x6e0, 1500n);
    tsc = 1499n;
    apic.tick(0);
    expect(apic.hasInterrupt()).toBe(false);
    expect(apic.rdmsr(0x6e0)).toBe(1500n);
    tsc = 1500n;
    apic.tick(0);
    expect(apic.acknowledge()).toBe(0x40);
    expect(apic.rdmsr(0x6e0)).toBe(0n);
  });

  it('a deadline already in the past fires on the WRMSR', () => {
    const { apic } = timerRig(() => 2000n);
    apic.write(0x320, TSC_DEADLINE);
    apic.wrmsr(0x6e0, 100n);
    expect(apic.hasInterrupt()).toBe(true);
  });

  it('writing 0 disarms the deadline', () => {
    let tsc = 0n;
    const { apic } = timerRig(() => tsc);
    apic.write(0x320, TSC_DEADLINE);
    apic.wrmsr(0x6e0, 10n);
    apic.wrmsr(0x6e0, 0n);
    tsc = 20n;
    apic.tick(1);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('outside TSC-deadline mode IA32_TSC_DEADLINE reads 0 and ignores writes', () => {
    const { apic } = timerRig(() => 0n);
    apic.write(0x320, ONE_SHOT);
    apic.wrmsr(0x6e0, 10n);
    expect(apic.rdmsr(0x6e0)).toBe(0n);
  });

  it('in TSC-deadline mode initial-count writes are ignored and the current count reads 0', () => {
    const { apic } = timerRig(() => 0n);
    apic.write(0x320, TSC_DEADLINE);
    apic.write(0x380, 50);
    expect([apic.read(0x380), apic.read(0x390)]).toEqual([0, 0]);
  });

  it('switching out of TSC-deadline mode disarms the deadline', () => {
    let tsc = 0n;
    const { apic } = timerRig(() => tsc);
    apic.write(0x320, TSC_DEADLINE);
    apic.wrmsr(0x6e0, 10n);
    apic.write(0x320, ONE_SHOT);
    apic.write(0x320, TSC_DEADLINE);
    tsc = 20n;
    apic.tick(0);
    expect(apic.hasInterrupt()).toBe(false);
    expect(apic.rdmsr(0x6e0)).toBe(0n);
  });

  it('without an injected TSC the feature is absent: MSR 0x6E0 raises #GP and LVT bit 18 is reserved', () => {
    const { apic } = timerRig();
    expect(() => apic.rdmsr(0x6e0)).toThrow(GeneralProtectionFault);
    apic.write(0x320, TSC_DEADLINE);
    expect(apic.read(0x320)).toBe(0x0000_0040 /* bit 18 dropped */);
  });

  it('works the same through x2APIC MSRs (LVT timer 0x832, initial count 0x838)', () => {
    const { apic } = makeApic();
    enterX2apic(apic);
    swEnable(apic);
    apic.wrmsr(0x83e, 0b1011n);
    apic.wrmsr(0x832, BigInt(ONE_SHOT));
    apic.wrmsr(0x838, 2n);
    apic.tick(1);
    expect(apic.rdmsr(0x839)).toBe(1n);
    apic.tick(1);
    expect(apic.acknowledge()).toBe(0x40);
  });
});
