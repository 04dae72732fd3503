import { describe, expect, it } from 'vitest';
import { ApicBus, firstMatchPolicy, lowestPprPolicy, type LowestPriorityPolicy } from '../../../src/hw/apic/apic-bus.js';
import { ApicUsageError } from '../../../src/hw/apic/errors.js';
import { enterX2apic, fixed, makeApic, swEnable, type Rig } from './helpers.js';

// SDM vol. 3A §11.6.2 (destination modes, lowest priority), §11.11 (MSI), §11.12.10 (x2APIC logical).
function system(ids: number[], opts: { policy?: LowestPriorityPolicy; x2apic?: boolean; extendedDestId?: boolean } = {}) {
  const bus = new ApicBus({ lowestPriority: opts.policy, extendedDestId: opts.extendedDestId });
  const cpus: Rig[] = ids.map((id) => {
    const rig = makeApic({ apicId: id, bsp: id === ids[0] });
    if (opts.x2apic) enterX2apic(rig.apic);
    swEnable(rig.apic);
    bus.attach(rig.apic);
    return rig;
  });
  return { bus, cpus };
}

describe('physical and broadcast delivery', () => {
  it('deliver() returns the hardware IDs of the APICs that accepted', () => {
    const { bus } = system([0, 1, 2]);
    expect(bus.deliver({ id: 1, mode: 'physical' }, fixed(0x40))).toEqual([1]);
    expect(bus.deliver({ id: 0xff, mode: 'physical' }, fixed(0x41))).toEqual([0, 1, 2]);
  });

  it('an absent physical ID reaches nobody', () => {
    const { bus } = system([0, 1]);
    expect(bus.deliver({ id: 7, mode: 'physical' }, fixed(0x40))).toEqual([]);
  });

  it('x2APIC-format broadcast is 0xFFFFFFFF, while x2APIC-format 0xFF is just APIC ID 255', () => {
    const { bus } = system([1, 0xff, 0x300], { x2apic: true });
    expect(bus.deliver({ id: 0xffff_ffff, mode: 'physical', x2apic: true }, fixed(0x40))).toEqual([1, 0xff, 0x300]);
    expect(bus.deliver({ id: 0xff, mode: 'physical', x2apic: true }, fixed(0x41))).toEqual([0xff]);
  });

  it('a rewritten xAPIC ID is used for physical matching from then on', () => {
    const { bus, cpus } = system([0, 1]);
    cpus[1]!.apic.write(0x020, 0x0500_0000);
    expect(bus.deliver({ id: 5, mode: 'physical' }, fixed(0x40))).toEqual([1]);
    expect(bus.deliver({ id: 1, mode: 'physical' }, fixed(0x41))).toEqual([]);
  });

  it('a hardware-disabled APIC is not a destination', () => {
    const { bus, cpus } = system([0, 1]);
    cpus[1]!.apic.wrmsr(0x1b, 0xfee0_0000n);
    expect(bus.deliver({ id: 0xff, mode: 'physical' }, fixed(0x40))).toEqual([0]);
  });

  it('shorthands need the source APIC ID of an attached APIC (caller error otherwise)', () => {
    const { bus } = system([0]);
    expect(() => bus.deliver({ id: 0, mode: 'physical', shorthand: 'self' }, fixed(0x40))).toThrow(ApicUsageError);
  });

  it('attaching two APICs with the same ID is a caller error', () => {
    const { bus } = system([3]);
    expect(() => bus.attach(makeApic({ apicId: 3 }).apic)).toThrow(ApicUsageError);
  });

  it('lapics() lists APICs by ascending ID and byId() finds them', () => {
    const { bus } = system([4, 1, 9]);
    expect(bus.lapics().map((l) => l.apicId)).toEqual([1, 4, 9]);
    expect(bus.byId(9)?.apicId).toBe(9);
    expect(bus.byId(2)).toBeUndefined();
  });

  it('an IPI sent from inside a sink callback is routed without disturbing the outer delivery', () => {
    const bus = new ApicBus();
    const cpus: Rig[] = [];
    for (let id = 0; id < 3; id++) {
      const rig = makeApic({ apicId: id, bsp: id === 0 });
      swEnable(rig.apic);
      bus.attach(rig.apic);
      cpus.push(rig);
    }
    const inner = cpus[0]!.sink.intr;
    cpus[0]!.sink.intr = (level) => {
      inner(level);
      if (level) bus.deliver({ id: 2, mode: 'physical' }, fixed(0x70));
    };
    expect(bus.deliver({ id: 0xff, mode: 'physical' }, fixed(0x60))).toEqual([0, 1, 2]);
    expect(cpus[2]!.apic.read(0x230)).toBe((1 << 16) | 1 /* IRR 0x70 (inner) and 0x60 (outer) */);
  });
});

describe('logical destinations', () => {
  it('x2APIC cluster mode: MDA 31:16 selects the cluster, 15:0 the members', () => {
    const { bus } = system([0x10, 0x11, 0x12, 0x20], { x2apic: true });
    // cluster 1 = IDs 0x10–0x1F; members are bit (ID & 0xF)
    expect(bus.deliver({ id: 0x0001_0005, mode: 'logical', x2apic: true }, fixed(0x40))).toEqual([0x10, 0x12]);
  });

  it('x2APIC logical broadcast 0xFFFFFFFF reaches every APIC', () => {
    const { bus } = system([0x10, 0x20], { x2apic: true });
    expect(bus.deliver({ id: 0xffff_ffff, mode: 'logical', x2apic: true }, fixed(0x40))).toEqual([0x10, 0x20]);
  });

  it('flat logical MDA 0xFF is a broadcast', () => {
    const { bus } = system([0, 1]);
    expect(bus.deliver({ id: 0xff, mode: 'logical' }, fixed(0x40))).toEqual([0, 1]);
  });

  it('an APIC with LDR 0 matches no flat logical destination except broadcast', () => {
    const { cpus } = system([0]);
    expect(cpus[0]!.apic.matchesLogical(0x7f, false)).toBe(false);
  });
});

describe('lowest-priority arbitration', () => {
  function flat(policy: LowestPriorityPolicy) {
    const s = system([0, 1, 2, 3], { policy });
    s.cpus.forEach((c, i) => c.apic.write(0x0d0, (1 << (24 + i)) >>> 0));
    return s;
  }
  const lowest = { vector: 0x50, mode: 'lowest' as const, trigger: 'edge' as const };

  it('lowestPprPolicy picks the destination with the lowest PPR', () => {
    const { bus, cpus } = flat(lowestPprPolicy);
    cpus[0]!.apic.write(0x080, 0x40);
    cpus[1]!.apic.write(0x080, 0x20);
    cpus[2]!.apic.write(0x080, 0x30);
    expect(bus.deliver({ id: 0b0111, mode: 'logical' }, lowest)).toEqual([1]);
  });

  it('lowestPprPolicy breaks PPR ties by the lowest APIC ID', () => {
    const { bus, cpus } = flat(lowestPprPolicy);
    cpus[1]!.apic.write(0x080, 0x10);
    expect(bus.deliver({ id: 0b1110, mode: 'logical' }, lowest)).toEqual([2]);
  });

  it('lowestPprPolicy counts in-service interrupts through the PPR', () => {
    const { bus, cpus } = flat(lowestPprPolicy);
    cpus[0]!.apic.accept(fixed(0x90));
    cpus[0]!.apic.acknowledge(); // PPR of APIC 0 becomes 0x90
    cpus[1]!.apic.write(0x080, 0x20);
    expect(bus.deliver({ id: 0b0011, mode: 'logical' }, lowest)).toEqual([1]);
  });

  it('lowestPprPolicy skips software-disabled APICs', () => {
    const { bus, cpus } = flat(lowestPprPolicy);
    cpus[0]!.apic.write(0x0f0, 0xff);
    cpus[1]!.apic.write(0x080, 0x30);
    expect(bus.deliver({ id: 0b0011, mode: 'logical' }, lowest)).toEqual([1]);
  });

  it('firstMatchPolicy (QEMU) picks the lowest matching APIC ID whatever the priorities', () => {
    const { bus, cpus } = flat(firstMatchPolicy);
    cpus[1]!.apic.write(0x080, 0xf0);
    expect(bus.deliver({ id: 0b0110, mode: 'logical' }, lowest)).toEqual([1]);
  });

  it('a custom policy receives the candidates in ascending ID order', () => {
    const seen: number[][] = [];
    const { bus } = flat((c) => {
      seen.push(c.map((l) => l.apicId));
      return c[c.length - 1];
    });
    expect(bus.deliver({ id: 0xff, mode: 'physical' }, lowest)).toEqual([3]);
    expect(seen).toEqual([[0, 1, 2, 3]]);
  });
});
