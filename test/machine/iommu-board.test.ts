// The board with a VT-d remapping unit (MachineConfig.iommu): a guest programs the unit through its
// register page at 0xFED90000 the way Linux's intel/irq_remapping.c does (enable order of intel_setup_irq_remapping / intel_enable_irq_remapping), then device
// MSIs and I/O APIC pins are translated through IRTEs in guest RAM (VT-d spec §5.1, §9.10, §10.4).

import { describe, expect, it } from 'vitest';
import type { CpuContext, GuestYield } from '../../src/machine/guest-interface.js';
import { createMachine, MachineConfigError, type Machine, type MachineConfig } from '../../src/machine/machine.js';
import { MsiEndpoint } from '../../src/hw/pci/index.js';
import { encodeIrte, encodeRemappableAddress, irteDestination } from '../../src/hw/iommu/index.js';
import * as MAP from '../../src/machine/memory-map.js';

const U = MAP.DMAR_UNIT_BASE;
const IRT = 0x10_0000; // 1 MiB: the interrupt-remapping table (65536 × 16 bytes would need 1 MiB; S = 7 → 256 entries here)
const IQ = 0x0c_0000; // the invalidation queue, one 4 KiB page (QS = 0: 256 descriptors)
const STATUS = 0x0d_0000;
const GCMD_QIE = 1 << 26;
const GCMD_IRE = 1 << 25;
const GCMD_SIRTP = 1 << 24;

function run(config: MachineConfig, body: (c: CpuContext) => void): Machine {
  const m = createMachine(config);
  let failure: unknown = null;
  m.run(function* (c): Generator<GuestYield, void, void> {
    try {
      body(c);
    } catch (e) {
      failure = e;
    }
  });
  if (failure) throw failure;
  return m;
}

function writeIrte(c: CpuContext, index: number, e: { low: bigint; high: bigint }): void {
  const at = IRT + index * 16;
  c.write32(at, Number(e.low & 0xffff_ffffn));
  c.write32(at + 4, Number(e.low >> 32n));
  c.write32(at + 8, Number(e.high & 0xffff_ffffn));
  c.write32(at + 12, Number(e.high >> 32n));
}

/** Linux's enable sequence: QI on, IRTA + SIRTP, global IEC + wait, IRE. */
function enableRemapping(c: CpuContext, eime: boolean): void {
  c.write32(U + 0x88, 0); // IQT = 0
  c.write32(U + 0x90, IQ); // IQA: base, QS = 0
  c.write32(U + 0x94, 0);
  c.write32(U + 0x18, GCMD_QIE);
  expect(c.read32(U + 0x1c) & GCMD_QIE).toBe(GCMD_QIE);
  c.write32(U + 0xb8, IRT | (eime ? 1 << 11 : 0) | 7); // S = 7: 256 entries
  c.write32(U + 0xbc, 0);
  c.write32(U + 0x18, GCMD_QIE | GCMD_SIRTP);
  expect(c.read32(U + 0x1c) & GCMD_SIRTP).toBe(GCMD_SIRTP);
  // Global IEC (type 4, G = 0), then a wait descriptor with SW (type 5, bit 5) writing 1 to STATUS.
  c.write32(IQ, 4);
  for (const o of [4, 8, 12]) c.write32(IQ + o, 0);
  c.write32(IQ + 16, 5 | (1 << 5));
  c.write32(IQ + 20, 1);
  c.write32(IQ + 24, STATUS);
  c.write32(IQ + 28, 0);
  c.write32(U + 0x88, 0x20);
  expect(c.read32(STATUS)).toBe(1);
  expect(c.read32(U + 0x80)).toBe(0x20); // IQH caught up with IQT
  c.write32(U + 0x18, GCMD_QIE | GCMD_IRE);
  expect(c.read32(U + 0x1c) & GCMD_IRE).toBe(GCMD_IRE);
}

const irr = (m: Machine, cpu: number, v: number) => ((m.cpus[cpu]!.lapic.read(0x200 + 0x10 * (v >> 5)) >>> (v & 31)) & 1) === 1;

describe('a machine with a remapping unit', () => {
  it('translates a multi-MSI block through IRTEs 32..35 (handle 32, SHV, sub-handles 0..3)', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 4, is64: false, pvm: false } });
    const m = run({ cpus: 1, iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] }, (c) => {
      c.write32(0xfee0_00f0, 0x1ff); // SVR: software-enable the BSP's APIC
      for (let i = 0; i < 4; i++) writeIrte(c, 32 + i, encodeIrte({ vector: 0x41 + i, destination: irteDestination(0, false), sourceId: 0x0018, sourceValidation: 1 }));
      enableRemapping(c, false);
    });
    expect(m.iommu).not.toBeNull();
    const address = encodeRemappableAddress(32);
    expect(address).toBe(0xfee0_0418); // docs/DESIGN.md F10: what Linux 6.1 programmed for handle 32
    for (let i = 0; i < 4; i++) ep.sendMessageParts(address, 0, i); // MME replaces the data's low bits
    for (let i = 0; i < 4; i++) expect(irr(m, 0, 0x41 + i)).toBe(true);
    const k = m.iommu!.counters();
    expect([k.translated, k.blocked, k.cacheMisses]).toEqual([4, 0, 4]);
    expect(m.iommu!.cachedIndices()).toEqual([32, 33, 34, 35]);
  });

  it('a request naming a not-present IRTE is blocked, recorded (fault 0x22) and counted as a dropped MSI', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const m = run({ cpus: 1, iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] }, (c) => enableRemapping(c, false));
    ep.sendMessageParts(encodeRemappableAddress(9), 0, 0);
    expect(m.msiDropped).toBe(1);
    expect(m.wire.at(-1)!.outcome).toMatchObject({ delivered: false, reason: 'remapping-fault' });
    const unit = m.iommu!;
    expect(unit.counters().faults['not-present']).toBe(1);
    expect(unit.read32(0x34) & 0x2).toBe(0x2); // FSTS.PPF
    expect(unit.read64(0x220 + 8)).toBe((1n << 63n) | (0x22n << 32n) | 0x0018n); // F, FR 0x22, SID 00:03.0
    expect(unit.read64(0x220)).toBe(9n << 48n); // FI: index in 63:48
  });

  it('config: iommu must be a boolean or known options; DMAR faults need the unit', () => {
    expect(() => createMachine({ cpus: 1, iommu: 'yes' as never })).toThrow(/iommu must be a boolean/);
    expect(() => createMachine({ cpus: 1, iommu: { eims: true } as never })).toThrow(MachineConfigError);
    expect(() => createMachine({ cpus: 1, iommu: { mhmv: 16 } })).toThrow(/iommu.mhmv/);
    expect(() => createMachine({ cpus: 1, acpiFaults: { dmarChecksum: true } })).toThrow(/acpiFaults.dmarChecksum needs iommu/);
    expect(createMachine({ cpus: 1 }).iommu).toBeNull();
  });

  it('an I/O APIC pin in remappable format: the RTE vector is the pin, the CPU gets the IRTE vector (source-id 0xFF00 passes SVT 1)', () => {
    const m = run({ cpus: 1, iommu: true }, (c) => {
      c.write32(0xfee0_00f0, 0x1ff);
      writeIrte(c, 1, encodeIrte({ vector: 0x45, destination: 0, sourceValidation: 1, sourceId: MAP.IOAPIC_SOURCE_ID }));
      enableRemapping(c, false);
      // RTE 5: vector 5 (the pin), edge, unmasked; high: bit 48 format, index 1 in 63:49.
      c.write32(MAP.IOAPIC_BASE, 0x10 + 2 * 5 + 1);
      c.write32(MAP.IOAPIC_BASE + 0x10, (1 << 16) | (1 << 17));
      c.write32(MAP.IOAPIC_BASE, 0x10 + 2 * 5);
      c.write32(MAP.IOAPIC_BASE + 0x10, 5);
    });
    expect(MAP.IOAPIC_SOURCE_ID).toBe(0xff00);
    m.ioapic.setIrq(5, true);
    expect(irr(m, 0, 0x45)).toBe(true);
    expect(irr(m, 0, 5)).toBe(false);
    expect(m.iommu!.counters().translated).toBe(1);
  });

  it('a remapped level pin: remote IRR until the guest writes the pin to the EOI register (version 0x20)', () => {
    const m = run({ cpus: 1, iommu: true }, (c) => {
      c.write32(0xfee0_00f0, 0x1ff);
      writeIrte(c, 2, encodeIrte({ vector: 0x46, destination: 0 })); // Linux: IRTE TM = 0 even for level pins
      enableRemapping(c, false);
      c.write32(MAP.IOAPIC_BASE, 0x10 + 2 * 9 + 1);
      c.write32(MAP.IOAPIC_BASE + 0x10, (1 << 16) | (2 << 17));
      c.write32(MAP.IOAPIC_BASE, 0x10 + 2 * 9);
      c.write32(MAP.IOAPIC_BASE + 0x10, 9 | (1 << 15));
    });
    m.ioapic.setIrq(9, true);
    expect(irr(m, 0, 0x46)).toBe(true);
    expect(m.ioapic.rte(9).remoteIrr).toBe(true);
    m.ioapic.setIrq(9, false);
    m.ioapic.write(0x40, 9);
    expect(m.ioapic.rte(9).remoteIrr).toBe(false);
  });

  it('the I/O APIC source-id is validated: an IRTE naming 00:03.0 blocks the pin with fault 0x26 (SID 0xFF00 recorded)', () => {
    const m = run({ cpus: 1, iommu: true }, (c) => {
      writeIrte(c, 1, encodeIrte({ vector: 0x45, destination: 0, sourceValidation: 1, sourceId: 0x0018 }));
      enableRemapping(c, false);
      c.write32(MAP.IOAPIC_BASE, 0x10 + 2 * 5 + 1);
      c.write32(MAP.IOAPIC_BASE + 0x10, (1 << 16) | (1 << 17));
      c.write32(MAP.IOAPIC_BASE, 0x10 + 2 * 5);
      c.write32(MAP.IOAPIC_BASE + 0x10, 5);
    });
    m.ioapic.setIrq(5, true);
    expect(m.iommu!.read64(0x220 + 8)).toBe((1n << 63n) | (0x26n << 32n) | 0xff00n);
    expect(m.events.some((e) => e.kind === 'iommu:fault' && e.detail.includes('source-id'))).toBe(true);
  });

  it('the requester ID of a function on another bus reaches the unit (02:05.1 → 0x0229)', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const m = run({ cpus: 1, iommu: true, devices: [{ bdf: '02:05.1', fn: ep }] }, (c) => {
      writeIrte(c, 3, encodeIrte({ vector: 0x45, destination: 0, sourceValidation: 1, sourceId: 0x0018 }));
      enableRemapping(c, false);
    });
    ep.sendMessageParts(encodeRemappableAddress(3), 0, 0);
    expect(m.iommu!.read64(0x220 + 8)).toBe((1n << 63n) | (0x26n << 32n) | 0x0229n);
  });

  it('x2APIC with EIME: an IRTE reaches CPU 299 (APIC ID above 254)', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const m = run({ cpus: 300, apic: 'x2apic', iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] }, (c) => {
      writeIrte(c, 4, encodeIrte({ vector: 0x47, destination: irteDestination(299, true) }));
      enableRemapping(c, true);
    });
    m.cpus[299]!.lapic.wrmsr(0x80f, 0x1ffn); // SVR: software-enable that APIC
    ep.sendMessageParts(encodeRemappableAddress(4), 0, 0);
    expect(irr(m, 299, 0x47)).toBe(true);
    expect(m.msiDropped).toBe(0);
  });

  it('the fault event is an MSI on the APIC bus: FEDATA vector 0x4E reaches CPU 0', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const m = run({ cpus: 1, iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] }, (c) => {
      c.write32(0xfee0_00f0, 0x1ff);
      enableRemapping(c, false);
      c.write32(U + 0x3c, 0x4e); // FEDATA
      c.write32(U + 0x40, 0xfee0_0000); // FEADDR: APIC 0
      c.write32(U + 0x38, 0); // FECTL: unmask
    });
    ep.sendMessageParts(encodeRemappableAddress(77), 0, 0);
    expect(irr(m, 0, 0x4e)).toBe(true);
    expect(m.iommu!.counters().faultEvents).toBe(1);
    // On the wire in causal order: the blocked request, then the fault event it raised.
    expect(m.wire.slice(-2).map((w) => [Number(w.address), w.outcome.delivered])).toEqual([[encodeRemappableAddress(77), false], [0xfee0_0000, true]]);
  });

  it('with EIM the fault event can name an x2APIC destination above 255: FEUADDR = ID 31:8, FEADDR 19:12 = ID 7:0', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const m = run({ cpus: 300, apic: 'x2apic', iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] }, (c) => {
      enableRemapping(c, true);
      c.write32(U + 0x3c, 0x4e);
      c.write32(U + 0x40, 0xfee0_0000 | (0x2b << 12)); // 299 = 0x12B
      c.write32(U + 0x44, 0x100);
      c.write32(U + 0x38, 0);
    });
    m.cpus[299]!.lapic.wrmsr(0x80f, 0x1ffn);
    ep.sendMessageParts(encodeRemappableAddress(77), 0, 0);
    expect(irr(m, 299, 0x4e)).toBe(true);
    expect(m.msiDropped).toBe(1); // the faulting request; the event itself was delivered
  });

  it('remapping not enabled: a remappable MSI passes untranslated and the APIC bus drops it as reserved-bits (as without a unit)', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const m = createMachine({ cpus: 1, iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] });
    ep.sendMessageParts(encodeRemappableAddress(1), 0, 0);
    expect(m.wire.at(-1)!.outcome).toMatchObject({ delivered: false, reason: 'reserved-bits' });
    expect(m.iommu!.counters()).toMatchObject({ requests: 1, passedThrough: 1 });
    const plain = createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn: new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } }) }] });
    plain.pci.get('00:03.0')!.sendMessageParts(encodeRemappableAddress(1), 0, 0);
    expect(plain.wire.at(-1)!.outcome).toMatchObject({ delivered: false, reason: 'reserved-bits' });
  });

  it('guest accesses to the register page: narrow reads give byte lanes, narrow writes are dropped, both reported', () => {
    const seen: number[] = [];
    const m = run({ cpus: 1, iommu: true }, (c) => {
      seen.push(c.read32(U), c.read8(U), c.read16(U + 0x10));
      c.write8(U + 0x18, 0xff);
    });
    expect(seen).toEqual([0x10, 0x10, m.iommu!.read32(0x10) & 0xffff]);
    expect(m.iommu!.read32(0x1c)).toBe(0);
    expect(m.events.filter((e) => e.kind === 'iommu:unsupported-access')).toHaveLength(3);
  });

  it('iommu options reach CAP and ECAP as the guest reads them (NFR 47:40, ESIRTPS 62; QI 1, EIM 4, MHMV 23:20)', () => {
    const seen: number[] = [];
    run({ cpus: 1, iommu: { eim: false, qi: false, mhmv: 5, faultRecords: 3, esirtps: true } }, (c) => {
      seen.push(c.read32(U + 0x0c), c.read32(U + 0x10));
    });
    const [capHi, ecap] = seen as [number, number];
    expect([(capHi >>> 8) & 0xff, (capHi >>> 30) & 1]).toEqual([2, 1]);
    expect([(ecap >>> 1) & 1, (ecap >>> 3) & 1, (ecap >>> 4) & 1, (ecap >>> 20) & 0xf]).toEqual([0, 1, 0, 5]);
  });

  it('without iommu nothing decodes at 0xFED90000', () => {
    const seen: number[] = [];
    const m = run({ cpus: 1 }, (c) => seen.push(c.read32(U)));
    expect(seen).toEqual([0xffff_ffff]);
    expect(m.acpi.addresses.DMAR).toBeUndefined();
  });
});

describe('the DMAR table (VT-d §8.1, §8.3, §8.3.1)', () => {
  const u8 = (b: Uint8Array, o: number) => b[o]!;
  const u16 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint16(o, true);
  const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
  const table = (m: Machine) => m.acpi.tables.subarray(m.acpi.addresses.DMAR! - m.acpi.tablesAddress);

  it('header, HAW − 1, INTR_REMAP, one DRHD with INCLUDE_PCI_ALL at 0xFED90000, the I/O APIC scope at 0xFF:00.0', () => {
    const m = createMachine({ cpus: 2, iommu: true });
    const t = table(m);
    expect(String.fromCharCode(...t.subarray(0, 4))).toBe('DMAR');
    expect(u32(t, 4)).toBe(72); // 36 header + 12 + DRHD 24
    expect(u8(t, 8)).toBe(1); // revision
    expect(t.subarray(0, 72).reduce((a, x) => a + x, 0) & 0xff).toBe(0);
    expect(u8(t, 36)).toBe(38); // host address width 39 − 1
    expect(u8(t, 37)).toBe(0x1); // INTR_REMAP; X2APIC_OPT_OUT clear
    expect([...t.subarray(38, 48)]).toEqual(new Array(10).fill(0));
    // DRHD: type 0, length 24, flags INCLUDE_PCI_ALL, size 0 (one 4 KiB page), segment 0, base.
    expect([u16(t, 48), u16(t, 50), u8(t, 52), u8(t, 53), u16(t, 54)]).toEqual([0, 24, 1, 0, 0]);
    expect(u32(t, 56)).toBe(0xfed9_0000);
    expect(u32(t, 60)).toBe(0);
    // Device scope: type 3 (IOAPIC), length 8, reserved, enumeration ID 0 (the MADT I/O APIC ID), start bus 0xFF, path (0, 0).
    expect([...t.subarray(64, 72)]).toEqual([3, 8, 0, 0, 0, 0xff, 0, 0]);
  });
  it('the XSDT and RSDT list it', () => {
    const m = createMachine({ cpus: 1, iommu: true });
    const x = m.acpi.tables.subarray(m.acpi.addresses.XSDT! - m.acpi.tablesAddress);
    const n = (u32(x, 4) - 36) / 8;
    const listed = Array.from({ length: n }, (_, i) => u32(x, 36 + 8 * i));
    expect(listed).toContain(m.acpi.addresses.DMAR);
  });
  it('faults: dmarChecksum breaks the sum, dmarTruncated claims 64 bytes more (checksum still right)', () => {
    const bad = table(createMachine({ cpus: 1, iommu: true, acpiFaults: { dmarChecksum: true } }));
    expect(bad.subarray(0, 72).reduce((a, x) => a + x, 0) & 0xff).not.toBe(0);
    const long = table(createMachine({ cpus: 1, iommu: true, acpiFaults: { dmarTruncated: true } }));
    expect(u32(long, 4)).toBe(72 + 64);
  });
});
