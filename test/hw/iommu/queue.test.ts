// Queued invalidation (VT-d spec §6.5.2: IEC descriptor §6.5.2.7, wait descriptor §6.5.2.8, errors
// §6.5.2.10; registers §10.4.22–29) and the defined IRTE cache: stale until an invalidation covers it.
import { describe, expect, it } from 'vitest';
import { encodeIrte } from '../../../src/hw/iommu/index.js';
import { REMAP_TRANSLATED } from '../../../src/hw/iommu/remapping-unit.js';
import {
  FECTL, FSTS, ICS, IECTL, IEADDR, IEDATA, IM, IP, IQ_BASE, IQA, IQE, IQH, IQT, iecGlobal, iecIndex, makeUnit, STATUS, wait, GCMD, QIE, IRE, GSTS,
} from './helpers.js';

const vectorOf = (b: ReturnType<typeof makeUnit>, index: number, data = 0) => (b.msi(index, data) === REMAP_TRANSLATED ? b.unit.out.data & 0xff : -1);

describe('the interrupt entry cache', () => {
  it('an IRTE rewritten without invalidation keeps delivering the old entry, deterministically', () => {
    const b = makeUnit();
    b.putIrte(8, encodeIrte({ vector: 0x40, destination: 0 }));
    b.enableAll();
    expect(vectorOf(b, 8)).toBe(0x40);
    b.putIrte(8, encodeIrte({ vector: 0x50, destination: 0 }));
    for (let i = 0; i < 3; i++) expect(vectorOf(b, 8)).toBe(0x40);
    b.submit([iecIndex(8)]);
    expect(vectorOf(b, 8)).toBe(0x50);
    expect(b.unit.counters()).toMatchObject({ cacheMisses: 2, cacheHits: 3, iecIndexed: 1, iecEntriesDropped: 1 });
  });
  it('even cleared P: a cached entry keeps translating until invalidated (then 0x22)', () => {
    const b = makeUnit();
    b.putIrte(8, encodeIrte({ vector: 0x40, destination: 0 }));
    b.enableAll();
    vectorOf(b, 8);
    b.putIrte(8, encodeIrte({ present: false, vector: 0, destination: 0 }));
    expect(vectorOf(b, 8)).toBe(0x40);
    b.submit([iecGlobal()]);
    expect(vectorOf(b, 8)).toBe(-1);
    expect(b.unit.out.reason).toBe(0x22);
  });
  it('a not-present entry is not cached: making it present needs no invalidation', () => {
    const b = makeUnit();
    b.enableAll();
    expect(vectorOf(b, 8)).toBe(-1);
    b.putIrte(8, encodeIrte({ vector: 0x44, destination: 0 }));
    expect(vectorOf(b, 8)).toBe(0x44);
  });
  it('index-selective IEC with IM covers the 2^IM entries of the aligned block (IIDX 34, IM 2 → 32..35)', () => {
    const b = makeUnit();
    for (let i = 30; i < 38; i++) b.putIrte(i, encodeIrte({ vector: 0x40 + i, destination: 0 }));
    b.enableAll();
    for (let i = 30; i < 38; i++) vectorOf(b, i);
    b.submit([iecIndex(34, 2)]);
    expect(b.unit.cachedIndices()).toEqual([30, 31, 36, 37]);
  });
  it('global IEC empties the cache', () => {
    const b = makeUnit();
    for (let i = 0; i < 4; i++) b.putIrte(i, encodeIrte({ vector: 0x40, destination: 0 }));
    b.enableAll();
    for (let i = 0; i < 4; i++) vectorOf(b, i);
    b.submit([iecGlobal()]);
    expect(b.unit.cachedIndices()).toEqual([]);
    expect(b.unit.counters().iecGlobal).toBe(2); // the one in enableAll, and this
  });
  it("Linux's modify_irte: low qword, high qword, then IEC of that index — the window before the IEC sees the old entry", () => {
    const b = makeUnit();
    b.putIrte(40, encodeIrte({ vector: 0x30, destination: 0x100 }));
    b.enableAll();
    expect(vectorOf(b, 40)).toBe(0x30);
    const next = encodeIrte({ vector: 0x31, destination: 0x200 });
    b.view.setBigUint64(0x4_0000 + 40 * 16, next.low, true);
    expect(vectorOf(b, 40)).toBe(0x30);
    b.view.setBigUint64(0x4_0000 + 40 * 16 + 8, next.high, true);
    expect(vectorOf(b, 40)).toBe(0x30);
    b.submit([iecIndex(40)]);
    expect(vectorOf(b, 40)).toBe(0x31);
    expect(b.unit.out.dest).toBe(2);
  });
});

describe('wait descriptors', () => {
  it('SW writes the status data to the status address (dword aligned)', () => {
    const b = makeUnit();
    b.enableQi();
    b.submit([wait({ sw: true, data: 0xc0ffee, address: STATUS + 4 })]);
    expect(b.view.getUint32(STATUS + 4, true)).toBe(0xc0ffee);
    expect(b.unit.read32(IQH)).toBe(0x10);
    expect(b.unit.counters().waits).toBe(1);
  });
  it('IF: ICS.IWC, and the completion event IEDATA → IEADDR when IECTL.IM = 0', () => {
    const b = makeUnit();
    b.unit.write32(IEDATA, 0x4d);
    b.unit.write32(IEADDR, 0xfee0_0000);
    b.unit.write32(IECTL, 0);
    b.enableQi();
    b.submit([wait({ iflag: true })]);
    expect(b.unit.read32(ICS)).toBe(1);
    expect(b.sent).toEqual([{ lo: 0xfee0_0000, hi: 0, data: 0x4d }]);
    expect(b.unit.read32(IECTL)).toBe(0);
    b.submit([wait({ iflag: true })]); // IWC still set: no second event
    expect(b.sent).toHaveLength(1);
    b.unit.write32(ICS, 1); // W1C
    b.submit([wait({ iflag: true })]);
    expect(b.sent).toHaveLength(2);
  });
  it('IF while IECTL.IM = 1: IP set, nothing sent; unmasking sends; clearing IWC withdraws IP', () => {
    const b = makeUnit();
    b.enableQi();
    b.submit([wait({ iflag: true })]);
    expect(b.unit.read32(IECTL)).toBe((IM | IP) >>> 0);
    expect(b.sent).toEqual([]);
    b.unit.write32(IECTL, 0);
    expect(b.sent).toHaveLength(1);
    const c = makeUnit();
    c.enableQi();
    c.submit([wait({ iflag: true })]);
    c.unit.write32(ICS, 1);
    expect(c.unit.read32(IECTL)).toBe(IM >>> 0);
  });
  it('other descriptor types (context cache, IOTLB, device TLB, PASID) are accepted and do nothing', () => {
    const b = makeUnit();
    b.enableQi();
    b.submit([[1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0], [6, 0, 0, 0], [7, 0, 0, 0], [8, 0, 0, 0]]);
    expect(b.unit.read32(FSTS)).toBe(0);
    expect(b.unit.read32(IQH)).toBe(0x60);
    expect(b.unit.counters().otherDescriptors).toBe(6);
  });
});

describe('invalidation queue errors (§6.5.2.10)', () => {
  const bad: [string, number[]][] = [
    ['type 0', [0, 0, 0, 0]],
    ['type 9 (page group response: not supported)', [9, 0, 0, 0]],
    ['type bits 11:9 ≠ 0', [4 | 0x200, 0, 0, 0]],
    ['IEC reserved bit 5', [4 | 0x20, 0, 0, 0]],
    ['IEC reserved bits 63:48', [4, 0x1_0000, 0, 0]],
    ['IEC reserved high qword', [4, 0, 1, 0]],
    ['wait reserved bit 7', [5 | 0x80, 0, STATUS, 0]],
    ['wait status address bits 65:64', [5 | 0x20, 0, STATUS | 1, 0]],
  ];
  for (const [name, desc] of bad) {
    it(`${name}: IQE, IQH stays at the bad descriptor, fault event`, () => {
      const b = makeUnit();
      b.unit.write32(FECTL, 0);
      b.enableQi();
      b.submit([iecGlobal(), desc, iecGlobal()]);
      expect(b.unit.read32(FSTS)).toBe(IQE);
      expect(b.unit.read32(IQH)).toBe(0x10);
      expect(b.sent).toHaveLength(1);
      expect(b.unit.counters()).toMatchObject({ queueErrors: 1, iecGlobal: 1 });
    });
  }
  it('IM above ECAP.MHMV is an invalid descriptor', () => {
    const b = makeUnit({ mhmv: 3 });
    b.enableQi();
    b.submit([iecIndex(0, 4)]);
    expect(b.unit.read32(FSTS)).toBe(IQE);
    expect(b.events.find((e) => e.kind === 'queue-error')).toMatchObject({ cause: 'index-mask', head: 0 });
  });
  it('software fixes the descriptor and clears IQE: processing resumes at IQH', () => {
    const b = makeUnit();
    b.enableQi();
    b.submit([[0, 0, 0, 0], wait({ sw: true, data: 7 })]);
    expect(b.view.getUint32(STATUS, true)).toBe(0);
    b.view.setUint32(IQ_BASE, 4, true); // now a global IEC
    b.unit.write32(FSTS, IQE);
    expect(b.unit.read32(FSTS)).toBe(0);
    expect(b.unit.read32(IQH)).toBe(0x20);
    expect(b.view.getUint32(STATUS, true)).toBe(7);
  });
  it('IQT writes while IQE is pending process nothing', () => {
    const b = makeUnit();
    b.enableQi();
    b.submit([[0, 0, 0, 0]]);
    b.submit([wait({ sw: true, data: 9 })]);
    expect(b.unit.read32(IQH)).toBe(0);
  });
  it('a descriptor read or status write outside guest memory is an error', () => {
    const b = makeUnit();
    b.enableQi(0xfff0_0000); // the queue itself is not RAM
    b.unit.write32(IQT, 0x10);
    expect(b.events.find((e) => e.kind === 'queue-error')).toMatchObject({ cause: 'descriptor-read' });
    const c = makeUnit();
    c.enableQi();
    c.submit([wait({ sw: true, data: 1, address: 0xffff_fff0 })]);
    expect(c.events.find((e) => e.kind === 'queue-error')).toMatchObject({ cause: 'status-write' });
  });
  it('IQT beyond the ring (QS 0: 256 descriptors) is an invalid tail', () => {
    const b = makeUnit();
    b.enableQi();
    b.unit.write32(IQT, 256 << 4);
    expect(b.unit.read32(FSTS)).toBe(IQE);
    expect(b.events.find((e) => e.kind === 'queue-error')).toMatchObject({ cause: 'invalid-tail' });
  });
  it('the ring wraps: IQH returns to 0 after the last descriptor', () => {
    const b = makeUnit();
    b.enableQi();
    for (let i = 0; i < 256; i++) b.submit([[2, 0, 0, 0]]);
    expect(b.unit.read32(IQH)).toBe(0);
    expect(b.unit.read32(FSTS)).toBe(0);
  });
});

describe('256-bit descriptors (IQA.DW = 1)', () => {
  it('descriptors are 32 bytes; IQH/IQT count in 18:5; IQT bit 4 set is an invalid tail', () => {
    const b = makeUnit();
    b.unit.write64(IQT, 0n);
    b.unit.write64(IQA, BigInt(IQ_BASE) | (1n << 11n));
    b.unit.write32(GCMD, QIE);
    b.view.setUint32(IQ_BASE, 5 | (1 << 5), true); // wait, SW
    b.view.setUint32(IQ_BASE + 4, 0x55, true);
    b.view.setUint32(IQ_BASE + 8, STATUS, true);
    b.unit.write32(IQT, 0x20);
    expect(b.view.getUint32(STATUS, true)).toBe(0x55);
    expect(b.unit.read32(IQH)).toBe(0x20);
    b.unit.write32(IQT, 0x30);
    expect(b.unit.read32(FSTS)).toBe(IQE);
  });
  it('bits 255:128 set in an IEC descriptor are reserved', () => {
    const b = makeUnit();
    b.unit.write64(IQT, 0n);
    b.unit.write64(IQA, BigInt(IQ_BASE) | (1n << 11n));
    b.unit.write32(GCMD, QIE);
    b.view.setUint32(IQ_BASE, 4, true);
    b.view.setUint32(IQ_BASE + 20, 1, true);
    b.unit.write32(IQT, 0x20);
    expect(b.unit.read32(FSTS)).toBe(IQE);
    expect(b.unit.read32(GSTS) & IRE).toBe(0);
  });
});
