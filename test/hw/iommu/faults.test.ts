// Interrupt-remapping faults (VT-d spec §5.1.4.1 conditions, §7.1.3 reasons 0x20–0x26, §7.2.1 primary fault
// logging, §7.3.1 the fault event, §10.4.9–14 FSTS/FECTL/records; docs/DESIGN.md F11), source-id validation (§9.10).
import { describe, expect, it } from 'vitest';
import { encodeIrte } from '../../../src/hw/iommu/index.js';
import { REMAP_BLOCKED, REMAP_TRANSLATED } from '../../../src/hw/iommu/remapping-unit.js';
import { FEADDR, FECTL, FEDATA, FRCD, FSTS, IM, IP, makeUnit, PFO, PPF, record, recordHi } from './helpers.js';

const fri = (fsts: number) => (fsts >>> 8) & 0xff;

describe('each fault reason, recorded with FI index, SID and FR', () => {
  const cases: [string, number, (b: ReturnType<typeof makeUnit>) => number, number][] = [
    ['0x20 address upper dword ≠ 0', 0x20, (b) => b.unit.interrupt(0xfee0_0418, 1, 0, 0x18), 0],
    ['0x20 address outside 0xFEExxxxx', 0x20, (b) => b.unit.interrupt(0xfed0_0418, 0, 0, 0x18), 0],
    ['0x20 SHV with data 31:16 ≠ 0', 0x20, (b) => b.msi(32, 0x1_0000), 32],
    ['0x21 index beyond the table (256 entries)', 0x21, (b) => b.msi(255, 1), 256],
    ['0x22 not present', 0x22, (b) => b.msi(9), 9],
    ['0x24 reserved bit 31:24 set', 0x24, (b) => (b.view.setUint32(0x4_0000 + 10 * 16, 0x0100_0001, true), b.msi(10)), 10],
    ['0x24 posted format (IM = 1) with CAP.PI = 0', 0x24, (b) => (b.view.setUint32(0x4_0000 + 11 * 16, 0x8001, true), b.msi(11)), 11],
    ['0x24 xAPIC DST bits 39:32 set', 0x24, (b) => (b.putIrte(12, encodeIrte({ vector: 0x40, destination: 0x101 })), b.msi(12)), 12],
    ['0x24 SVT = 3', 0x24, (b) => (b.putIrte(13, encodeIrte({ vector: 0x40, destination: 0, sourceValidation: 3 })), b.msi(13)), 13],
    ['0x24 DLM 011', 0x24, (b) => (b.view.setUint32(0x4_0000 + 14 * 16, 1 | (3 << 5), true), b.msi(14)), 14],
    ['0x25 compatibility format blocked', 0x25, (b) => b.unit.interrupt(0xfee0_1000, 0, 0x41, 0x18), 0],
    ['0x26 SID mismatch (SVT 1, SQ 0)', 0x26, (b) => (b.putIrte(15, encodeIrte({ vector: 0x40, destination: 0, sourceValidation: 1, sourceId: 0x20 })), b.msi(15)), 15],
  ];
  for (const [name, reason, act, index] of cases) {
    it(name, () => {
      const b = makeUnit();
      b.enableAll();
      expect(act(b)).toBe(REMAP_BLOCKED);
      expect(b.unit.out.reason).toBe(reason);
      expect(record(b.unit, 0)).toEqual({ fi: BigInt(index) << 48n, hi: recordHi(reason, 0x18) });
      expect(b.unit.read32(FSTS)).toBe(PPF); // FRI 0
      const k = b.unit.counters();
      expect([k.blocked, k.recorded, k.requests]).toEqual([1, 1, 1]);
    });
  }
  it('0x23: the IRTE read fails (table beyond guest memory)', () => {
    const b = makeUnit();
    b.enableQi();
    b.unit.write64(0xb8, 0x1_0000_0000n | 7n); // IRTA at 4 GiB: no RAM there
    b.unit.write32(0x18, (1 << 26) | (1 << 24));
    b.enableIr();
    expect(b.msi(2)).toBe(REMAP_BLOCKED);
    expect(b.unit.out.reason).toBe(0x23);
    expect(b.unit.counters().faults['table-read-error']).toBe(1);
  });
});

describe('fault recording registers (§7.2.1)', () => {
  it('records fill round robin; FRI names the first pending one; F is W1C and PPF follows the F bits', () => {
    const b = makeUnit({ faultRecords: 4 });
    b.enableAll();
    b.msi(1, 0, 0x18);
    b.msi(2, 0, 0x20);
    expect(fri(b.unit.read32(FSTS))).toBe(0);
    expect(record(b.unit, 1)).toEqual({ fi: 2n << 48n, hi: recordHi(0x22, 0x20) });
    b.unit.write32(FRCD + 12, 0x8000_0000); // clear F of record 0
    expect(b.unit.read32(FSTS) & PPF).toBe(PPF); // record 1 still pending
    b.unit.write32(FRCD + 16 + 12, 0x8000_0000);
    expect(b.unit.read32(FSTS) & PPF).toBe(0);
    expect(record(b.unit, 1).hi).toBe(recordHi(0x22, 0x20, false)); // the rest of the record stays
    b.msi(3);
    expect(fri(b.unit.read32(FSTS))).toBe(2); // the next free record, the first pending now
  });
  it('overflow: the next record still pending sets PFO; while PFO is set nothing is recorded', () => {
    const b = makeUnit({ faultRecords: 2 });
    b.enableAll();
    b.msi(1);
    b.msi(2);
    b.msi(3); // record 0 pending → PFO
    expect(b.unit.read32(FSTS) & (PFO | PPF)).toBe(PFO | PPF);
    b.unit.write32(FRCD + 12, 0x8000_0000);
    b.msi(4); // lost: PFO still set
    expect(record(b.unit, 0).hi).toBe(recordHi(0x22, 0x18, false));
    expect(b.faults().map((f) => f.recording)).toEqual(['recorded', 'recorded', 'overflow', 'lost']);
    const k = b.unit.counters();
    expect([k.recorded, k.overflowed, k.lost, k.blocked]).toEqual([2, 1, 1, 4]);
    b.unit.write32(FSTS, PFO); // W1C
    b.msi(5);
    expect(record(b.unit, 0)).toEqual({ fi: 5n << 48n, hi: recordHi(0x22, 0x18) });
  });
  it('record registers other than F are read-only', () => {
    const b = makeUnit();
    b.enableAll();
    b.msi(1);
    b.unit.write32(FRCD, 0xffff_ffff);
    b.unit.write32(FRCD + 4, 0);
    b.unit.write32(FRCD + 8, 0);
    b.unit.write32(FRCD + 12, 0x7fff_ffff);
    expect(record(b.unit, 0)).toEqual({ fi: 1n << 48n, hi: recordHi(0x22, 0x18) });
  });
});

describe('the fault event interrupt (§7.3.1, §10.4.10)', () => {
  it('unmasked: the first fault sends FEDATA to FEUADDR:FEADDR at once; IP stays clear; later ones while PPF is set send nothing', () => {
    const b = makeUnit();
    b.unit.write32(FEDATA, 0x4e);
    b.unit.write32(FEADDR, 0xfee0_1000);
    b.unit.write32(FECTL, 0);
    b.enableAll();
    b.msi(1);
    b.msi(2);
    expect(b.sent).toEqual([{ lo: 0xfee0_1000, hi: 0, data: 0x4e }]);
    expect(b.unit.read32(FECTL)).toBe(0);
    expect(b.unit.counters().faultEvents).toBe(1);
  });
  it('masked: IP is set and nothing is sent; clearing IM sends it and clears IP', () => {
    const b = makeUnit();
    b.unit.write32(FEDATA, 0x4e);
    b.unit.write32(FEADDR, 0xfee0_0000);
    b.enableAll();
    b.msi(1);
    expect(b.unit.read32(FECTL)).toBe((IM | IP) >>> 0);
    expect(b.sent).toEqual([]);
    b.unit.write32(FECTL, 0);
    expect(b.sent).toHaveLength(1);
    expect(b.unit.read32(FECTL)).toBe(0);
  });
  it('masked: servicing every condition (F W1C) withdraws the pending event (IP clears)', () => {
    const b = makeUnit();
    b.enableAll();
    b.msi(1);
    b.unit.write32(FRCD + 12, 0x8000_0000);
    expect(b.unit.read32(FECTL)).toBe(IM >>> 0);
    b.unit.write32(FECTL, 0);
    expect(b.sent).toEqual([]);
  });
  it('a new event after software cleared PPF', () => {
    const b = makeUnit();
    b.unit.write32(FECTL, 0);
    b.enableAll();
    b.msi(1);
    b.unit.write32(FRCD + 12, 0x8000_0000);
    b.msi(2);
    expect(b.sent).toHaveLength(2);
  });
});

describe('FPD suppresses recording of qualified faults, never the block', () => {
  for (const [name, reason, irte] of [
    ['0x22 not present', 0x22, encodeIrte({ present: false, fpd: true, vector: 0, destination: 0 })],
    ['0x24 reserved DST bits', 0x24, encodeIrte({ fpd: true, vector: 0x40, destination: 0x1 })],
    ['0x26 SID mismatch', 0x26, encodeIrte({ fpd: true, vector: 0x40, destination: 0, sourceValidation: 1, sourceId: 0x99 })],
  ] as const) {
    it(name, () => {
      const b = makeUnit();
      b.unit.write32(FECTL, 0);
      b.putIrte(4, irte);
      b.enableAll();
      expect(b.msi(4)).toBe(REMAP_BLOCKED);
      expect(b.unit.out.reason).toBe(reason);
      expect(b.unit.read32(FSTS)).toBe(0);
      expect(b.sent).toEqual([]);
      expect(b.unit.counters()).toMatchObject({ blocked: 1, suppressed: 1, recorded: 0 });
      expect(b.faults()[0]!.recording).toBe('suppressed');
    });
  }
  it('0x21 (index beyond the table) is not qualified: recorded whatever any entry says', () => {
    const b = makeUnit();
    b.enableAll();
    b.msi(300);
    expect(b.unit.counters().recorded).toBe(1);
  });
});

describe('source-id validation (§9.10 SVT/SQ)', () => {
  const check = (w: { sourceValidation: number; sourceQualifier?: number; sourceId: number }, sid: number) => {
    const b = makeUnit();
    b.putIrte(1, encodeIrte({ vector: 0x40, destination: 0, ...w }));
    b.enableAll();
    return b.msi(1, 0, sid) === REMAP_TRANSLATED;
  };
  it('SVT 0: any requester', () => expect(check({ sourceValidation: 0, sourceId: 0x1234 }, 0xffff)).toBe(true));
  it('SVT 1, SQ 0: all 16 bits compared', () => {
    expect(check({ sourceValidation: 1, sourceId: 0x0018 }, 0x0018)).toBe(true);
    expect(check({ sourceValidation: 1, sourceId: 0x0018 }, 0x0019)).toBe(false);
  });
  it('SVT 1, SQ 1/2/3: SID bit 2 / bits 2:1 / bits 2:0 ignored (functions of one device)', () => {
    expect(check({ sourceValidation: 1, sourceQualifier: 1, sourceId: 0x0018 }, 0x001c)).toBe(true);
    expect(check({ sourceValidation: 1, sourceQualifier: 1, sourceId: 0x0018 }, 0x001a)).toBe(false);
    expect(check({ sourceValidation: 1, sourceQualifier: 2, sourceId: 0x0018 }, 0x001e)).toBe(true);
    expect(check({ sourceValidation: 1, sourceQualifier: 2, sourceId: 0x0018 }, 0x001f)).toBe(false);
    expect(check({ sourceValidation: 1, sourceQualifier: 3, sourceId: 0x0018 }, 0x001f)).toBe(true);
    expect(check({ sourceValidation: 1, sourceQualifier: 3, sourceId: 0x0018 }, 0x0020)).toBe(false);
  });
  it('SVT 2: the requester bus within [start, end] = [SID 15:8, SID 7:0]', () => {
    expect(check({ sourceValidation: 2, sourceId: 0x0204 }, 0x0200)).toBe(true);
    expect(check({ sourceValidation: 2, sourceId: 0x0204 }, 0x04ff)).toBe(true);
    expect(check({ sourceValidation: 2, sourceId: 0x0204 }, 0x01ff)).toBe(false);
    expect(check({ sourceValidation: 2, sourceId: 0x0204 }, 0x0500)).toBe(false);
  });
});
