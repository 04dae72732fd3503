import { describe, expect, it } from 'vitest';
import { ApicBus, firstMatchPolicy } from '../../../src/hw/apic/apic-bus.js';
import { decodeMsiAddress, decodeMsiData, encodeMsiAddress, encodeMsiData } from '../../../src/hw/apic/msi-format.js';
import { enterX2apic, makeApic, swEnable, type Rig } from './helpers.js';

// SDM vol. 3A §11.11.1 (address: 0xFEE, dest 19:12, RH bit 3, DM bit 2) and §11.11.2 (data: vector 7:0,
// delivery mode 10:8, level 14, trigger 15). docs/DESIGN.md F5.
function system(n: number, opts: { extendedDestId?: boolean; ids?: number[]; x2apic?: boolean } = {}) {
  const bus = new ApicBus({ extendedDestId: opts.extendedDestId, lowestPriority: undefined });
  const ids = opts.ids ?? [...Array(n).keys()];
  const cpus: Rig[] = ids.map((id, i) => {
    const rig = makeApic({ apicId: id, bsp: i === 0 });
    if (opts.x2apic) enterX2apic(rig.apic);
    swEnable(rig.apic);
    bus.attach(rig.apic);
    return rig;
  });
  return { bus, cpus };
}

describe('MSI address and data format', () => {
  it('decodes destination 19:12, RH and DM from 0xFEE0_300C', () => {
    expect(decodeMsiAddress(0xfee0_300cn)).toEqual({
      inWindow: true,
      destinationId: 3,
      extendedDestinationId: 0,
      remappableFormat: false,
      redirectionHint: true /* bit 3 */,
      destinationMode: 'logical' /* bit 2 */,
    });
  });

  it('decodes vector, delivery mode, level and trigger from data 0xC141', () => {
    expect(decodeMsiData(0xc141)).toEqual({
      vector: 0x41,
      deliveryModeCode: 1,
      mode: 'lowest',
      level: true /* bit 14 */,
      trigger: 'level' /* bit 15 */,
      reservedBits: 0,
    });
  });

  it('an address with a non-zero upper DWORD is outside the MSI window', () => {
    expect(decodeMsiAddress(0x1_fee0_0000n).inWindow).toBe(false);
  });

  it('reports reserved data bits 13:11 and 31:16', () => {
    expect(decodeMsiData(0x0001_3841).reservedBits).toBe(0x0001_3800);
  });

  it('encodeMsiAddress composes 0xFEE00000 | dest << 12 | RH << 3 | DM << 2', () => {
    expect(encodeMsiAddress({ dest: 0x12 })).toBe(0xfee1_2000n);
    expect(encodeMsiAddress({ dest: 0x12, rh: true, dm: 'logical' })).toBe(0xfee1_200cn);
  });

  it('encodeMsiData composes vector | mode << 8 with level/trigger bits', () => {
    expect(encodeMsiData({ vector: 0x40 })).toBe(0x0040);
    expect(encodeMsiData({ vector: 0x40, mode: 'nmi' })).toBe(0x0440);
    expect(encodeMsiData({ vector: 0x40, trigger: 'level' })).toBe(0xc040 /* trigger | assert */);
  });

  it('encode/decode round-trip for every destination and vector', () => {
    for (let d = 0; d < 256; d += 17) {
      for (let v = 0x20; v < 256; v += 29) {
        expect(decodeMsiAddress(encodeMsiAddress({ dest: d })).destinationId).toBe(d);
        expect(decodeMsiData(encodeMsiData({ vector: v })).vector).toBe(v);
      }
    }
  });

  it('a start-up delivery mode has no MSI encoding (caller error)', () => {
    expect(() => encodeMsiData({ vector: 0x10, mode: 'sipi' })).toThrow();
  });
});

describe('MSI delivery on the bus', () => {
  it('a physical fixed MSI reaches the addressed APIC', () => {
    const { bus, cpus } = system(4);
    expect(bus.msiWrite(0xfee0_2000n, 0x0045)).toEqual({ delivered: true, apicIds: [2], vector: 0x45, mode: 'fixed', trigger: 'edge' });
    expect(cpus[2]!.apic.acknowledge()).toBe(0x45);
  });

  it('drops a write whose upper address DWORD is not 0 (not-msi-address)', () => {
    const { bus } = system(1);
    expect(bus.msiWrite(0x1_fee0_0000n, 0x40)).toMatchObject({ delivered: false, reason: 'not-msi-address' });
  });

  it('drops a write outside 0xFEExxxxx (not-msi-address)', () => {
    const { bus } = system(1);
    expect(bus.msiWrite(0xfed0_0000n, 0x40)).toMatchObject({ delivered: false, reason: 'not-msi-address' });
  });

  it('drops a remappable-format address (bit 4) without an IOMMU (reserved-bits)', () => {
    const { bus } = system(1);
    expect(bus.msiWrite(0xfee0_0010n, 0x40)).toMatchObject({ delivered: false, reason: 'reserved-bits' });
  });

  it('drops the reserved delivery modes 011 and 110', () => {
    const { bus } = system(1);
    expect(bus.msiWrite(0xfee0_0000n, 0x0340)).toMatchObject({ delivered: false, reason: 'reserved-delivery-mode' });
    expect(bus.msiWrite(0xfee0_0000n, 0x0640)).toMatchObject({ delivered: false, reason: 'reserved-delivery-mode' });
  });

  it('reports no-destination when no APIC has the destination ID', () => {
    const { bus } = system(2);
    expect(bus.msiWrite(0xfee0_9000n, 0x40)).toMatchObject({ delivered: false, reason: 'no-destination' });
  });

  it('delivers despite reserved data bits (hardware ignores them)', () => {
    const { bus } = system(1);
    expect(bus.msiWrite(0xfee0_0000n, 0xabcd_3841)).toMatchObject({ delivered: true, apicIds: [0], vector: 0x41 });
  });

  it('an MSI with vector < 16 reaches the APIC, latches its receive-illegal-vector error and reports illegal-vector', () => {
    const { bus, cpus } = system(1);
    expect(bus.msiWrite(0xfee0_0000n, 0x0007)).toMatchObject({ delivered: false, reason: 'illegal-vector' });
    cpus[0]!.apic.write(0x280, 0);
    expect(cpus[0]!.apic.read(0x280)).toBe(1 << 6);
  });

  it('decodes DM = logical even with RH = 0 (as chipsets and Linux flat mode rely on)', () => {
    const { bus, cpus } = system(3);
    cpus.forEach((c, i) => c.apic.write(0x0d0, (1 << (24 + i)) >>> 0));
    expect(bus.msiWrite(0xfee0_6004n /* MDA 0b110, DM logical */, 0x41)).toMatchObject({ apicIds: [1, 2] });
  });

  it('RH = 1 with a logical multi-destination delivers to only the lowest-priority one', () => {
    const { bus, cpus } = system(3);
    cpus.forEach((c, i) => c.apic.write(0x0d0, (1 << (24 + i)) >>> 0));
    cpus[1]!.apic.write(0x080, 0x50);
    expect(bus.msiWrite(0xfee0_300cn /* MDA 0b011, RH, logical */, 0x41)).toMatchObject({ apicIds: [0] });
  });

  it('a lowest-priority MSI under firstMatchPolicy goes to the first matching APIC', () => {
    const bus = new ApicBus({ lowestPriority: firstMatchPolicy });
    const rigs = [0, 1].map((id) => makeApic({ apicId: id, bsp: id === 0 }));
    rigs.forEach((r) => {
      swEnable(r.apic);
      r.apic.write(0x0d0, 0x0300_0000);
      bus.attach(r.apic);
    });
    rigs[0]!.apic.write(0x080, 0xe0);
    expect(bus.msiWrite(0xfee0_3004n, 0x0141 /* lowest priority */)).toMatchObject({ apicIds: [0], mode: 'lowest' });
  });

  it('a level-triggered MSI sets the TMR bit at the destination', () => {
    const { bus, cpus } = system(1);
    bus.msiWrite(0xfee0_0000n, 0xc061);
    expect(cpus[0]!.apic.read(0x180 + 0x30)).toBe(1 << 1 /* TMR 0x61 */);
  });

  it('an NMI MSI reaches the CPU as NMI', () => {
    const { bus, cpus } = system(2);
    expect(bus.msiWrite(0xfee0_1000n, 0x0400)).toMatchObject({ delivered: true, apicIds: [1], mode: 'nmi' });
    expect(cpus[1]!.calls).toEqual(['nmi']);
  });

  it('extended destination ID (opt-in) reaches x2APIC ID 0x1FF through address bits 11:5', () => {
    const { bus } = system(2, { ids: [0, 0x1ff], x2apic: true, extendedDestId: true });
    const address = encodeMsiAddress({ dest: 0x1ff, extendedDest: true });
    expect(address).toBe(0xfee_ff020n /* dest 7:0 = 0xFF in 19:12, dest 14:8 = 1 in 11:5 */);
    expect(bus.msiWrite(address, 0x40)).toMatchObject({ apicIds: [0x1ff] });
  });

  it('without the extended destination ID option, address bits 11:5 are ignored', () => {
    const { bus } = system(2, { ids: [0, 0x1ff], x2apic: true });
    expect(bus.msiWrite(0xfee0_0020n /* dest 0, bit 5 set */, 0x40)).toMatchObject({ apicIds: [0] });
  });
});
