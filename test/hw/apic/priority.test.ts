import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../../src/hw/apic/apic-bus.js';
import { fixed, makeApic, swEnable } from './helpers.js';

// SDM vol. 3A §11.8.3 (priority classes, PPR), §11.8.4 (IRR/ISR/TMR), §11.8.5 (EOI), §11.9 (spurious).
function enabled() {
  const rig = makeApic();
  swEnable(rig.apic);
  return rig;
}

describe('task and processor priority', () => {
  it('TPR 0x40 blocks vector 0x45 (class 4 does not exceed class 4)', () => {
    const { apic } = enabled();
    apic.write(0x080, 0x40);
    apic.accept(fixed(0x45));
    expect(apic.hasInterrupt()).toBe(false);
    expect(apic.read(0x200 + 0x20)).toBe(1 << 5 /* IRR bit 0x45 pending */);
  });

  it('TPR 0x3F lets vector 0x45 through (class 4 exceeds class 3)', () => {
    const { apic } = enabled();
    apic.write(0x080, 0x3f);
    apic.accept(fixed(0x45));
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x45);
  });

  it('lowering TPR releases a held interrupt and raises INTR', () => {
    const rig = enabled();
    rig.apic.write(0x080, 0x40);
    rig.apic.accept(fixed(0x45));
    expect(rig.intr()).toBe(false);
    rig.apic.write(0x080, 0x00);
    expect(rig.intr()).toBe(true);
  });

  it('PPR follows the in-service class when it beats the TPR class: TPR 0x21, ISR 0x51 → PPR 0x50', () => {
    const { apic } = enabled();
    apic.write(0x080, 0x21);
    apic.accept(fixed(0x51));
    apic.acknowledge();
    expect(apic.read(0x0a0)).toBe(0x50 /* ISRV[7:4] << 4, sub-class 0 */);
  });

  it('PPR equals TPR when the TPR class is at least the in-service class: TPR 0x57, ISR 0x51 → 0x57', () => {
    const { apic } = enabled();
    apic.accept(fixed(0x51));
    apic.acknowledge();
    apic.write(0x080, 0x57);
    expect(apic.read(0x0a0)).toBe(0x57);
  });

  it('TPR keeps only bits 7:0 on write', () => {
    const { apic } = enabled();
    apic.write(0x080, 0xffff_ff3c);
    expect(apic.read(0x080)).toBe(0x3c);
  });
});

describe('IRR, ISR, INTA and EOI', () => {
  it('a same-class interrupt waits for the EOI of the one in service', () => {
    const { apic } = enabled();
    apic.accept(fixed(0x61));
    expect(apic.acknowledge()).toBe(0x61);
    apic.accept(fixed(0x65));
    expect(apic.hasInterrupt()).toBe(false); // class 6 does not exceed PPR class 6
    apic.write(0x0b0, 0);
    expect(apic.acknowledge()).toBe(0x65);
  });

  it('a higher-class interrupt nests over the one in service', () => {
    const { apic } = enabled();
    apic.accept(fixed(0x61));
    apic.acknowledge();
    apic.accept(fixed(0x71));
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x71);
    expect(apic.read(0x130)).toBe(0x0002_0000 | 0x0000_0002 /* ISR bits 0x71 and 0x61 */);
  });

  it('EOI clears the highest in-service vector first (nested order)', () => {
    const { apic } = enabled();
    apic.accept(fixed(0x61));
    apic.acknowledge();
    apic.accept(fixed(0x71));
    apic.acknowledge();
    apic.write(0x0b0, 0);
    expect(apic.read(0x130)).toBe(0x0000_0002 /* only 0x61 left in service */);
    apic.write(0x0b0, 0);
    expect(apic.read(0x130)).toBe(0);
  });

  it('INTA with nothing deliverable returns the SVR spurious vector and leaves the ISR unchanged', () => {
    const { apic } = makeApic();
    swEnable(apic, 0x0000_01e7 /* enabled, spurious vector 0xE7 */);
    apic.write(0x080, 0xf0);
    apic.accept(fixed(0x45));
    expect(apic.acknowledge()).toBe(0xe7);
    for (let off = 0x100; off < 0x180; off += 0x10) expect(apic.read(off)).toBe(0);
    expect(apic.read(0x220)).toBe(1 << 5 /* 0x45 still pending in IRR */);
  });

  it('the highest pending vector is acknowledged first', () => {
    const { apic } = enabled();
    for (const v of [0x31, 0x92, 0x55]) apic.accept(fixed(v));
    const order: number[] = [];
    for (let i = 0; i < 3; i++) {
      order.push(apic.acknowledge());
      apic.write(0x0b0, 0); // EOI, so the next lower class can be delivered
    }
    expect(order).toEqual([0x92, 0x55, 0x31]);
  });

  it('INTR rises on acceptance and falls when the interrupt is acknowledged', () => {
    const rig = enabled();
    rig.apic.accept(fixed(0x40));
    expect(rig.calls).toEqual(['intr:true']);
    rig.apic.acknowledge();
    expect(rig.calls).toEqual(['intr:true', 'intr:false']);
  });

  it('TMR records the trigger of the accepted interrupt (level sets, edge clears)', () => {
    const { apic } = enabled();
    apic.accept(fixed(0x83, 'level'));
    expect(apic.read(0x180 + 0x40)).toBe(1 << 3);
    apic.accept(fixed(0x83, 'edge'));
    expect(apic.read(0x1c0)).toBe(0);
  });

  it('EOI of a level-triggered vector is broadcast to every I/O APIC', () => {
    const bus = new ApicBus();
    const seen: string[] = [];
    bus.attachIoApic({ eoi: (v) => seen.push(`a:${v}`) });
    bus.attachIoApic({ eoi: (v) => seen.push(`b:${v}`) });
    const { apic } = enabled();
    bus.attach(apic);
    apic.accept(fixed(0x83, 'level'));
    apic.acknowledge();
    apic.write(0x0b0, 0);
    expect(seen).toEqual(['a:131', 'b:131']);
  });

  it('EOI of an edge-triggered vector is not broadcast', () => {
    const bus = new ApicBus();
    const seen: number[] = [];
    bus.attachIoApic({ eoi: (v) => seen.push(v) });
    const { apic } = enabled();
    bus.attach(apic);
    apic.accept(fixed(0x83));
    apic.acknowledge();
    apic.write(0x0b0, 0);
    expect(seen).toEqual([]);
  });

  it('SVR bit 12 suppresses the EOI broadcast when the version advertises it (bit 24)', () => {
    const bus = new ApicBus();
    const seen: number[] = [];
    bus.attachIoApic({ eoi: (v) => seen.push(v) });
    const { apic } = makeApic({ version: 0x0105_0014 /* directed EOI supported */ });
    bus.attach(apic);
    swEnable(apic, 0x0000_11ff /* enable | suppress EOI broadcast */);
    expect(apic.read(0x0f0)).toBe(0x11ff);
    apic.accept(fixed(0x83, 'level'));
    apic.acknowledge();
    apic.write(0x0b0, 0);
    expect(seen).toEqual([]);
  });

  it('SVR bit 12 is reserved (reads 0) without EOI-broadcast suppression support', () => {
    const { apic } = makeApic();
    apic.write(0x0f0, 0x0000_11ff);
    expect(apic.read(0x0f0)).toBe(0x01ff);
  });

  it('EOI with nothing in service changes nothing and is reported', () => {
    const rig = enabled();
    rig.apic.write(0x0b0, 0);
    expect(rig.events.map((e) => e.kind)).toEqual(['eoi-without-isr']);
  });
});
