// Wiring an I/O APIC to the APIC bus: attach() or attachIoApic() connect both directions — RTE
// messages reach the local APICs and level EOIs come back to clear remote IRR (82093AA §3.2.4).

import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../../src/hw/apic/apic-bus.js';
import { LocalApic } from '../../../src/hw/apic/local-apic.js';
import { IoApic } from '../../../src/hw/ioapic.js';

function wired(how: 'attach' | 'attachIoApic') {
  const bus = new ApicBus();
  const lapic = new LocalApic({ apicId: 1, sink: { intr: () => undefined, nmi: () => undefined, init: () => undefined, sipi: () => undefined, extint: () => undefined } });
  bus.attach(lapic);
  lapic.write(0xf0, 0x1ff); // SVR: software enable, spurious vector 0xFF
  const ioapic = new IoApic({ id: 0, pins: 24 });
  bus[how](ioapic);
  // RTE 5: vector 0x51, fixed, physical, level-triggered, active high, unmasked; destination APIC 1.
  ioapic.write(0x00, 0x10 + 2 * 5 + 1);
  ioapic.write(0x10, 1 << 24);
  ioapic.write(0x00, 0x10 + 2 * 5);
  ioapic.write(0x10, 0x51 | (1 << 15));
  return { ioapic, lapic };
}

describe.each(['attach', 'attachIoApic'] as const)('bus.%s(ioapic)', (how) => {
  it('delivers a level interrupt and clears remote IRR on the EOI broadcast', () => {
    const { ioapic, lapic } = wired(how);
    ioapic.setIrq(5, true);
    expect(lapic.hasInterrupt()).toBe(true);
    expect(lapic.acknowledge()).toBe(0x51);
    const remoteIrr = () => (ioapic.rte(5) as { remoteIrr: boolean }).remoteIrr;
    expect(remoteIrr()).toBe(true);
    ioapic.setIrq(5, false);
    lapic.write(0xb0, 0); // EOI: TMR bit set for 0x51, so it is broadcast to the I/O APIC
    expect(remoteIrr()).toBe(false);
  });
});
