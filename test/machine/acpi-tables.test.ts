// The platform's ACPI tables against ACPI 6.5 §5.2 layouts, read back byte by byte.

import { describe, expect, it } from 'vitest';
import { buildAcpi, buildMadt, type AcpiPlatform } from '../../src/machine/acpi/tables.js';

const platform = (apicIds: number[]): AcpiPlatform => ({
  cpus: apicIds.map((apicId, uid) => ({ apicId, uid, enabled: true })),
  ioapic: { id: 0, address: 0xfec00000, gsiBase: 0 },
  lapicAddress: 0xfee00000,
  overrides: [
    { irq: 0, gsi: 2, flags: 0 },
    { irq: 9, gsi: 9, flags: 0xf },
  ],
  ecam: { base: 0xb0000000, segment: 0, startBus: 0, endBus: 255 },
});

const sum = (b: Uint8Array, n = b.length) => b.subarray(0, n).reduce((a, x) => a + x, 0) & 0xff;
const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);

describe('ACPI tables built by the platform', () => {
  const img = buildAcpi(platform([0, 1, 2, 3]), 0xe0000, 0xf0000);

  it('RSDP: "RSD PTR ", revision 2, both checksums zero, length 36, XSDT address', () => {
    const r = img.rsdp;
    expect(String.fromCharCode(...r.subarray(0, 8))).toBe('RSD PTR ');
    expect(r[15]).toBe(2);
    expect(sum(r, 20)).toBe(0);
    expect(sum(r, 36)).toBe(0);
    expect(u32(r, 20)).toBe(36);
    expect(u32(r, 24)).toBe(img.addresses.XSDT);
  });

  it('XSDT lists the MADT and the MCFG as 64-bit addresses; every table sums to zero', () => {
    const at = (a: number) => img.tables.subarray(a - 0xe0000);
    const x = at(img.addresses.XSDT!);
    expect(String.fromCharCode(...x.subarray(0, 4))).toBe('XSDT');
    const len = u32(x, 4);
    expect(len).toBe(36 + 2 * 8);
    expect(sum(x, len)).toBe(0);
    expect([u32(x, 36), u32(x, 44)]).toEqual([img.addresses.APIC, img.addresses.MCFG]);
    for (const name of ['APIC', 'MCFG', 'RSDT']) {
      const t = at(img.addresses[name]!);
      expect(sum(t, u32(t, 4)), name).toBe(0);
    }
  });

  it('MADT: local APIC address, PCAT_COMPAT, type-0 entries, I/O APIC, overrides, LAPIC NMI', () => {
    const t = buildMadt(platform([0, 1]));
    expect(u32(t, 36)).toBe(0xfee00000);
    expect(u32(t, 40)).toBe(1);
    // Processor Local APIC: type 0, length 8, UID, APIC ID, flags (Enabled).
    expect([...t.subarray(44, 52)]).toEqual([0, 8, 0, 0, 1, 0, 0, 0]);
    expect([...t.subarray(52, 60)]).toEqual([0, 8, 1, 1, 1, 0, 0, 0]);
    // I/O APIC: type 1, length 12, ID 0, reserved, address 0xFEC00000, GSI base 0.
    expect([...t.subarray(60, 72)]).toEqual([1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0]);
    // Interrupt source overrides: ISA IRQ 0 → GSI 2 conforming; IRQ 9 → GSI 9 level, active low (0x000F).
    expect([...t.subarray(72, 82)]).toEqual([2, 10, 0, 0, 2, 0, 0, 0, 0, 0]);
    expect([...t.subarray(82, 92)]).toEqual([2, 10, 0, 9, 9, 0, 0, 0, 0x0f, 0]);
    // Local APIC NMI: all processors (0xFF), flags 0, LINT1.
    expect([...t.subarray(92, 98)]).toEqual([4, 6, 0xff, 0, 0, 1]);
  });

  it('MADT: APIC IDs of 255 and above use type-9 x2APIC entries', () => {
    const t = buildMadt(platform([254, 255, 300]));
    expect([...t.subarray(44, 52)]).toEqual([0, 8, 0, 254, 1, 0, 0, 0]);
    // Processor Local x2APIC: type 9, length 16, reserved, x2APIC ID, flags, UID.
    expect(t[52]).toBe(9);
    expect(t[53]).toBe(16);
    expect(u32(t, 56)).toBe(255);
    expect(u32(t, 60)).toBe(1);
    expect(u32(t, 64)).toBe(1);
    expect(u32(t, 72)).toBe(300);
  });

  it('MCFG: one 16-byte allocation, ECAM base, segment 0, buses 0-255', () => {
    const t = img.tables.subarray(img.addresses.MCFG! - 0xe0000);
    expect(u32(t, 4)).toBe(60);
    expect(u32(t, 44)).toBe(0xb0000000);
    expect(u32(t, 48)).toBe(0);
    expect([t[52], t[53], t[54], t[55]]).toEqual([0, 0, 0, 255]);
  });
});
