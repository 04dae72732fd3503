import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../../src/hw/apic/apic-bus.js';
import { makeApic, swEnable } from './helpers.js';

// SDM vol. 3A §11.5.1 (LVT: LINT0/1 delivery modes, polarity, trigger, remote IRR; thermal, PMC, CMCI)
// and §11.4.3 (LINT pins act as INTR/NMI while the APIC is hardware-disabled).
function enabled() {
  const rig = makeApic();
  swEnable(rig.apic);
  return rig;
}

describe('LINT0 and LINT1', () => {
  it('LINT0 in ExtINT mode (virtual wire) signals extint on assertion', () => {
    const rig = enabled();
    rig.apic.write(0x350, 0x0000_0700 /* ExtINT, unmasked */);
    rig.apic.setLint(0, true);
    expect(rig.calls).toEqual(['extint']);
  });

  it('LINT1 in NMI mode signals one NMI per rising edge', () => {
    const rig = enabled();
    rig.apic.write(0x360, 0x0000_0400 /* NMI */);
    rig.apic.setLint(1, true);
    rig.apic.setLint(1, true);
    rig.apic.setLint(1, false);
    rig.apic.setLint(1, true);
    expect(rig.calls).toEqual(['nmi', 'nmi']);
  });

  it('a masked LINT input is ignored', () => {
    const rig = enabled();
    rig.apic.write(0x360, 0x0001_0400);
    rig.apic.setLint(1, true);
    expect(rig.calls).toEqual([]);
  });

  it('active-low polarity (bit 13) asserts the input when the pin goes low', () => {
    const rig = enabled();
    rig.apic.setLint(1, true);
    rig.apic.write(0x360, 0x0000_2400 /* NMI, active low */);
    rig.apic.setLint(1, false);
    expect(rig.calls).toEqual(['nmi']);
  });

  it('level-triggered fixed LINT0 sets remote IRR, and EOI re-delivers while the pin stays high', () => {
    const { apic } = enabled();
    apic.write(0x350, 0x0000_8031 /* fixed, level, vector 0x31 */);
    apic.setLint(0, true);
    expect(apic.read(0x350)).toBe(0x0000_c031 /* remote IRR set */);
    expect(apic.acknowledge()).toBe(0x31);
    apic.write(0x0b0, 0);
    expect(apic.read(0x350)).toBe(0x0000_c031); // asserted again at once
    expect(apic.acknowledge()).toBe(0x31);
    apic.setLint(0, false);
    apic.write(0x0b0, 0);
    expect(apic.read(0x350)).toBe(0x0000_8031 /* remote IRR clear */);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('EOI of a level-triggered LINT0 vector is also broadcast to the I/O APICs (TMR set)', () => {
    const bus = new ApicBus();
    const seen: number[] = [];
    bus.attachIoApic({ eoi: (v) => seen.push(v) });
    const { apic } = enabled();
    bus.attach(apic);
    apic.write(0x350, 0x0000_8031);
    apic.setLint(0, true);
    apic.acknowledge();
    apic.setLint(0, false);
    apic.write(0x0b0, 0);
    expect(seen).toEqual([0x31]);
  });

  it('edge-triggered fixed LINT0 delivers its vector once per rising edge', () => {
    const { apic } = enabled();
    apic.write(0x350, 0x0000_0032);
    apic.setLint(0, true);
    expect(apic.acknowledge()).toBe(0x32);
    apic.write(0x0b0, 0);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('unmasking ExtINT LINT0 while the pin is asserted signals extint', () => {
    const rig = enabled();
    rig.apic.setLint(0, true);
    rig.apic.write(0x350, 0x0001_0700);
    rig.apic.write(0x350, 0x0000_0700);
    expect(rig.calls).toEqual(['extint']);
  });

  it('while hardware-disabled, LINT0 acts as INTR (extint) and LINT1 as NMI', () => {
    const rig = makeApic();
    rig.apic.wrmsr(0x1b, 0xfee0_0100n /* EN = 0 */);
    rig.apic.setLint(0, true);
    rig.apic.setLint(1, true);
    expect(rig.calls).toEqual(['extint', 'nmi']);
  });

  it('LINT LVTs keep vector, mode, polarity, trigger and mask; delivery status and remote IRR are read-only', () => {
    const { apic } = enabled();
    apic.write(0x350, 0xffff_ffff);
    expect(apic.read(0x350)).toBe(0x0001_a7ff /* mask | trigger | polarity | mode | vector */);
  });
});

describe('thermal, performance-counter and CMCI LVTs', () => {
  it('an unmasked thermal LVT in fixed mode raises its vector', () => {
    const { apic } = enabled();
    apic.write(0x330, 0x0000_00fa);
    expect(apic.fireLvt('thermal')).toBe(true);
    expect(apic.acknowledge()).toBe(0xfa);
  });

  it('a PMC interrupt in NMI mode signals NMI and then sets the LVTPC mask bit', () => {
    const rig = enabled();
    rig.apic.write(0x340, 0x0000_0400);
    rig.apic.fireLvt('pmc');
    expect(rig.calls).toEqual(['nmi']);
    expect(rig.apic.read(0x340)).toBe(0x0001_0400);
  });

  it('a CMCI LVT programmed with the unsupported ExtINT mode delivers nothing and is reported', () => {
    const rig = makeApic({ version: 0x0006_0014 /* Max LVT 6: CMCI exists */ });
    swEnable(rig.apic);
    rig.apic.write(0x2f0, 0x0000_0700);
    expect(rig.apic.fireLvt('cmci')).toBe(false);
    expect(rig.events.map((e) => e.kind)).toEqual(['lvt-unsupported-mode']);
  });

  it('timer and error LVTs keep only vector, mask (and timer mode) bits', () => {
    const { apic } = enabled();
    apic.write(0x320, 0xffff_ffff);
    apic.write(0x370, 0xffff_ffff);
    expect([apic.read(0x320), apic.read(0x370)]).toEqual([0x0003_00ff /* no TSC: mode bit 17 only */, 0x0001_00ff]);
  });
});
