// The guest remapping driver's encodings and allocator, checked against the VT-d spec and Linux
// (docs/DESIGN.md F11): remappable MSI address, IRTE layout, remappable RTE, bitmap_find_free_region, DMAR.

import { describe, expect, it } from 'vitest';
import { encodeIrte, remappableMsiAddress, remappableRte } from '../../firmware/intel-ir.js';
import { IrteBitmap } from '../../firmware/irte-bitmap.js';
import { parseDmar, scopeSourceId, SCOPE_IOAPIC } from '../../firmware/dmar.js';

describe('remappable MSI address (VT-d §5.1.2.2; intel_ir_compose_msi_msg)', () => {
  it('handle 32 is 0xfee00418: 0xFEE in 31:20, handle[14:0] = 32 in 19:5 (0x400), SHV bit 3, IF bit 4', () => {
    expect(remappableMsiAddress(32)).toBe((0xfee00000 | (32 << 5) | 0x08 | 0x10) >>> 0);
    expect(remappableMsiAddress(32)).toBe(0xfee00418);
  });
  it('handle bit 15 goes to address bit 2', () => {
    // 0x8000 → handle[14:0] = 0, handle[15] = 1 → bit 2.
    expect(remappableMsiAddress(0x8000)).toBe((0xfee00000 | 0x04 | 0x08 | 0x10) >>> 0);
    expect(remappableMsiAddress(0xffff)).toBe((0xfee00000 | (0x7fff << 5) | 0x04 | 0x08 | 0x10) >>> 0);
  });
});

describe('IRTE, remapped format (VT-d §9.10; prepare_irte, set_msi_sid)', () => {
  it('xAPIC: flat logical CPU 3 is DST 0x800 (1 << 3 in DST 15:8), DM = 1, RH = 1, TM edge, fixed', () => {
    const [lo0, lo1, hi0, hi1] = encodeIrte({ vector: 35, dest: 1 << 3, logical: true, sid: 0x0018 }, false);
    // P 0, DM 2, RH 3, TM 4 = 0, DLM 7:5 = 0, vector 23:16 = 35.
    expect(lo0).toBe(1 | (1 << 2) | (1 << 3) | (35 << 16));
    expect(lo1).toBe(0x800);
    // SID 15:0 = 00:03.0, SQ 17:16 = 0 (all 16 bits), SVT 19:18 = 1 (verify SID).
    expect(hi0).toBe(0x0018 | (1 << 18));
    expect(hi1).toBe(0);
  });
  it('x2APIC (EIME): DST holds the whole 32-bit APIC ID, physical mode DM = 0', () => {
    const [lo0, lo1] = encodeIrte({ vector: 0x20, dest: 299, logical: false, sid: 0 }, true);
    expect(lo0 & (1 << 2)).toBe(0);
    expect(lo1).toBe(299);
  });
});

describe('remappable I/O APIC RTE (VT-d §5.1.5.1)', () => {
  it('bit 48 set, index[14:0] in 63:49, index[15] in bit 11, vector field = pin, delivery mode 000', () => {
    const { low, high } = remappableRte(5, 19, true, true, false);
    expect(low).toBe(19 | (1 << 13) | (1 << 15));
    expect(high).toBe(((5 << 17) | (1 << 16)) >>> 0);
    const big = remappableRte(0x8001, 2, false, false, true);
    expect(big.low).toBe(2 | (1 << 11) | (1 << 16));
    expect(big.high).toBe(((1 << 17) | (1 << 16)) >>> 0);
  });
});

describe('IRTE allocation (bitmap_find_free_region, lib/bitmap.c)', () => {
  it('a block of 2^order starts on a multiple of its size: after 15 singles (the ISA pins), 16 lands at 16, 32 at 32', () => {
    const b = new IrteBitmap(65536);
    for (let i = 0; i < 15; i++) expect(b.findFreeRegion(0)).toBe(i);
    expect(b.findFreeRegion(4)).toBe(16);
    expect(b.findFreeRegion(5)).toBe(32);
    // A single takes the first free bit (15), a 2-block the first free aligned pair (64: 0..63 are used).
    expect(b.findFreeRegion(0)).toBe(15);
    expect(b.findFreeRegion(1)).toBe(64);
    expect(b.allocated).toBe(15 + 16 + 32 + 1 + 2);
  });
  it('after the ISA pins and a 2-block (pcieport), the first free 16-aligned block is 32', () => {
    const b = new IrteBitmap(65536);
    for (let i = 0; i < 15; i++) b.findFreeRegion(0);
    expect(b.findFreeRegion(1)).toBe(16); // 14..15 is not free: 14 is pin 15's
    expect(b.findFreeRegion(4)).toBe(32);
  });
  it('released regions are found again; a full table answers -1', () => {
    const b = new IrteBitmap(8);
    expect(b.findFreeRegion(3)).toBe(0);
    expect(b.findFreeRegion(0)).toBe(-1);
    b.releaseRegion(0, 3);
    expect(b.findFreeRegion(2)).toBe(0);
    expect(b.findFreeRegion(2)).toBe(4);
  });
});

/** A DMAR table as the ACPI spec lays it out (header checksum is not parseDmar's business). */
function dmar(flags: number, drhds: Array<{ flags: number; base: number; scopes: number[][] }>): Uint8Array {
  const body: number[] = [];
  for (const d of drhds) {
    const scopes = d.scopes.flat();
    const len = 16 + scopes.length;
    const b = [0, 0, len & 0xff, len >> 8, d.flags, 0, 0, 0];
    for (let i = 0; i < 8; i++) b.push(i < 4 ? (d.base >>> (8 * i)) & 0xff : 0);
    body.push(...b, ...scopes);
  }
  const t = new Uint8Array(48 + body.length);
  t.set([...'DMAR'].map((c) => c.charCodeAt(0)), 0);
  t[4] = t.length;
  t[36] = 38; // HAW − 1
  t[37] = flags;
  t.set(body, 48);
  return t;
}

describe('DMAR parsing (VT-d §8.1, §8.3)', () => {
  it('reads HAW, flags, the DRHD base and an IOAPIC scope with its source-id', () => {
    // IOAPIC scope: type 3, length 8, reserved 2, enumeration ID 0, start bus 0, path (0x1f, 0).
    const info = parseDmar(dmar(1, [{ flags: 1, base: 0xfed90000, scopes: [[SCOPE_IOAPIC, 8, 0, 0, 0, 0, 0x1f, 0]] }]));
    if (typeof info === 'string') throw new Error(info);
    expect(info.haw).toBe(39);
    expect(info.flags).toBe(1);
    expect(info.units).toHaveLength(1);
    expect(info.units[0]!.base).toBe(0xfed90000);
    expect(info.units[0]!.scopes[0]).toEqual({ type: 3, enumerationId: 0, startBus: 0, path: [{ dev: 0x1f, fn: 0 }] });
    expect(scopeSourceId(info.units[0]!.scopes[0]!)).toBe(0xf8); // 00:1f.0
  });
  it('a malformed structure is a reason, not an exception', () => {
    const t = dmar(1, [{ flags: 1, base: 0xfed90000, scopes: [[SCOPE_IOAPIC, 5, 0, 0, 0, 0]] }]);
    expect(parseDmar(t)).toMatch(/device scope at offset 64 has bad length 5/);
    expect(parseDmar(new Uint8Array(40))).toMatch(/shorter than its 48-byte header/);
  });
});
