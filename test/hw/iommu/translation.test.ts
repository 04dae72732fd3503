// Translation of interrupt requests (VT-d spec §5.1.2 formats, §5.1.4 remapping, §9.10 the IRTE): every
// IRTE field reaching the remapped interrupt, the handle/sub-handle arithmetic, and what passes untranslated.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeIrte, decodeRemappableAddress, encodeIrte, encodeRemappableAddress, irteDestination } from '../../../src/hw/iommu/index.js';
import { REMAP_BLOCKED, REMAP_PASSTHROUGH, REMAP_TRANSLATED } from '../../../src/hw/iommu/remapping-unit.js';
import { CFI, GCMD, GSTS, makeUnit, QIE } from './helpers.js';

const DLMS = ['fixed', 'lowest', 'smi', 'nmi', 'init', 'extint'] as const;
const DLM_CODE = { fixed: 0, lowest: 1, smi: 2, nmi: 4, init: 5, extint: 7 } as const;

describe('the remapped interrupt carries the IRTE fields', () => {
  it('xAPIC mode (EIME = 0): the APIC ID is DST[15:8] (Linux irq_remapping.c: IRTE_DEST = dest << 8)', () => {
    const b = makeUnit();
    b.putIrte(5, encodeIrte({ vector: 0x23, destination: 0x0000_0800 /* CPU 3's flat logical bit, as Linux 6.1 wrote it */, destinationMode: 'logical' }));
    b.enableAll();
    expect(b.msi(5)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out).toMatchObject({ dest: 0x08, x2apic: false, logical: true, redirectionHint: false, data: 0x23, index: 5 });
  });
  it('x2APIC mode (EIME = 1): all 32 DST bits are the destination', () => {
    const b = makeUnit();
    b.putIrte(5, encodeIrte({ vector: 0x30, destination: 0x0001_2c01 }));
    b.enableAll(7, true);
    expect(b.msi(5)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out).toMatchObject({ dest: 0x0001_2c01, x2apic: true, logical: false });
  });
  it('RH, TM (a level interrupt is sent asserted: data bits 15 and 14) and every DLM encoding', () => {
    for (const mode of DLMS) {
      const b = makeUnit();
      b.putIrte(0, encodeIrte({ vector: 0x99, destination: 0x100, deliveryMode: mode, trigger: 'level', redirectionHint: true }));
      b.enableAll();
      expect(b.msi(0)).toBe(REMAP_TRANSLATED);
      expect(b.unit.out.data, mode).toBe(0x99 | (DLM_CODE[mode] << 8) | 0xc000);
      expect(b.unit.out.redirectionHint).toBe(true);
    }
  });
  it('handle bit 15 sits in address bit 2: index 0x8001 in a 65536-entry table', () => {
    expect(encodeRemappableAddress(0x8001, false)).toBe(0xfee0_0034); // handle[14:0] = 1 in 19:5, bit 4, bit 2
    expect(decodeRemappableAddress(0xfee0_0034)).toEqual({ handle: 0x8001, shv: false });
    const b = makeUnit();
    const base = 0; // 65536 entries × 16 bytes = the whole 1 MiB of test RAM
    b.putIrte(0x8001, encodeIrte({ vector: 0x77, destination: 0 }), base);
    b.enableQi();
    b.setTable(15, false, base);
    b.enableIr();
    expect(b.msi(0x8001, 0, 0x18, false)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out.data & 0xff).toBe(0x77);
  });
  it('SHV: index = handle + sub-handle, an addition and not an OR (handle 3, sub-handle 1 → 4)', () => {
    const b = makeUnit();
    b.putIrte(3, encodeIrte({ vector: 0x40, destination: 0 }));
    b.putIrte(4, encodeIrte({ vector: 0x41, destination: 0 }));
    b.enableAll();
    expect(b.msi(3, 1)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out).toMatchObject({ index: 4, data: 0x41 });
  });
  it('multi-MSI: the device replaces the data low bits with the message number; handle 32 + i reaches IRTE 32 + i', () => {
    const b = makeUnit();
    for (let i = 0; i < 16; i++) b.putIrte(32 + i, encodeIrte({ vector: 0x23 + (i >> 2), destination: (i & 3) << 8 }));
    b.enableAll();
    for (let i = 0; i < 16; i++) {
      expect(b.unit.interrupt(0xfee0_0418, 0, i, 0x18)).toBe(REMAP_TRANSLATED);
      expect([b.unit.out.index, b.unit.out.dest, b.unit.out.data]).toEqual([32 + i, i & 3, 0x23 + (i >> 2)]);
    }
  });
  it('SHV = 0: the data is not looked at (index = handle)', () => {
    const b = makeUnit();
    b.putIrte(7, encodeIrte({ vector: 0x42, destination: 0 }));
    b.enableAll();
    expect(b.msi(7, 0xffff_ffff, 0x18, false)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out.index).toBe(7);
  });
});

describe('requests that pass untranslated (§5.1)', () => {
  it('IRE clear: everything passes, remappable or not', () => {
    const b = makeUnit();
    expect(b.msi(1)).toBe(REMAP_PASSTHROUGH);
    expect(b.unit.interrupt(0xfee0_1000, 0, 0x41, 0x18)).toBe(REMAP_PASSTHROUGH);
    expect(b.unit.counters()).toMatchObject({ requests: 2, passedThrough: 2, translated: 0, blocked: 0 });
  });
  it('compatibility format with IRE set: passes with CFIS = 1 in xAPIC mode, else fault 0x25', () => {
    const b = makeUnit();
    b.enableAll();
    expect(b.unit.interrupt(0xfee0_1000, 0, 0x41, 0x18)).toBe(REMAP_BLOCKED);
    expect(b.unit.out.reason).toBe(0x25);
    b.unit.write32(GCMD, (b.unit.read32(GSTS) & (QIE | 1 << 25)) | CFI);
    expect(b.unit.interrupt(0xfee0_1000, 0, 0x41, 0x18)).toBe(REMAP_PASSTHROUGH);
  });
  it('compatibility format in x2APIC mode (EIME = 1) is blocked even with CFIS = 1 (as QEMU)', () => {
    const b = makeUnit();
    b.enableAll(7, true);
    b.unit.write32(GCMD, (b.unit.read32(GSTS) & (QIE | 1 << 25)) | CFI);
    expect(b.unit.interrupt(0xfee0_1000, 0, 0x41, 0x18)).toBe(REMAP_BLOCKED);
    expect(b.unit.out.reason).toBe(0x25);
  });
});

describe('IRTE encode/decode', () => {
  const irteArb = fc.record({
    present: fc.boolean(),
    fpd: fc.boolean(),
    destinationMode: fc.constantFrom('physical' as const, 'logical' as const),
    redirectionHint: fc.boolean(),
    trigger: fc.constantFrom('edge' as const, 'level' as const),
    deliveryMode: fc.constantFrom(...DLMS),
    available: fc.integer({ min: 0, max: 15 }),
    vector: fc.integer({ min: 0, max: 255 }),
    destination: fc.integer({ min: 0, max: 0xffff_ffff }),
    sourceId: fc.integer({ min: 0, max: 0xffff }),
    sourceQualifier: fc.integer({ min: 0, max: 3 }),
    sourceValidation: fc.integer({ min: 0, max: 2 }),
  });

  it('round trip: decode(encode(fields)) gives the fields back', () => {
    fc.assert(
      fc.property(irteArb, (f) => {
        const e = encodeIrte(f);
        expect(decodeIrte(e.low, e.high)).toEqual({ ...f, posted: false });
      }),
    );
  });

  it('any present x2APIC-mode IRTE in guest memory translates to its own fields (SVT 0)', () => {
    fc.assert(
      fc.property(irteArb, fc.integer({ min: 0, max: 255 }), (f, index) => {
        const b = makeUnit();
        b.putIrte(index, encodeIrte({ ...f, present: true, sourceValidation: 0 }));
        b.enableAll(7, true);
        expect(b.msi(index, 0)).toBe(REMAP_TRANSLATED);
        expect(b.unit.out).toEqual({
          dest: f.destination, x2apic: true, logical: f.destinationMode === 'logical', redirectionHint: f.redirectionHint,
          data: f.vector | (DLM_CODE[f.deliveryMode] << 8) | (f.trigger === 'level' ? 0xc000 : 0), index, reason: 0,
        });
      }),
      { numRuns: 200 },
    );
  });

  it('irteDestination: xAPIC ID << 8, x2APIC ID as is', () => {
    expect(irteDestination(3, false)).toBe(0x300);
    expect(irteDestination(300, true)).toBe(300);
    expect(() => irteDestination(256, false)).toThrow(/xAPIC ID/);
  });
});
