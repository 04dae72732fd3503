// Register page of the remapping unit: reset values, read-only and reserved behaviour, and the GCMD → GSTS
// handshakes Linux waits for (VT-d spec §10.4.1–§10.4.31; bit positions docs/DESIGN.md F11).
import { describe, expect, it } from 'vitest';
import { encodeIrte } from '../../../src/hw/iommu/index.js';
import { REMAP_BLOCKED, REMAP_TRANSLATED } from '../../../src/hw/iommu/remapping-unit.js';
import {
  CAP, CCMD, CFI, ECAP, FEADDR, FECTL, FSTS, GCMD, GSTS, IECTL, IM, IQA, IQE, IQER, IQH, IQT, IRE, IRTA, IRT_BASE, makeUnit, QIE,
  RTADDR, SIRTP, SRTP, TE, VER, iecGlobal, ICS,
} from './helpers.js';

const bits = (v: bigint, hi: number, lo: number) => Number((v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n));

describe('reset values (§10.4)', () => {
  const { unit } = makeUnit();
  it('VER 0x10: major 1, minor 0', () => expect(unit.read32(VER)).toBe(0x10));
  it('CAP: ND 2, SAGAW 4-level, MGAW 38, FRO 0x22 (records at 0x220), NFR 7 (8 records), no PI, no ESIRTPS', () => {
    const cap = unit.read64(CAP);
    expect(bits(cap, 2, 0)).toBe(2);
    expect(bits(cap, 12, 8)).toBe(0b00100);
    expect(bits(cap, 21, 16)).toBe(38);
    expect(bits(cap, 33, 24)).toBe(0x22);
    expect(bits(cap, 47, 40)).toBe(7);
    expect(bits(cap, 59, 59)).toBe(0);
    expect(bits(cap, 62, 62)).toBe(0);
  });
  it('ECAP: C, QI, IR, EIM, IRO 0xF, MHMV 15 (QEMU)', () => {
    const ecap = unit.read64(ECAP);
    expect([bits(ecap, 0, 0), bits(ecap, 1, 1), bits(ecap, 3, 3), bits(ecap, 4, 4)]).toEqual([1, 1, 1, 1]);
    expect(bits(ecap, 17, 8)).toBe(0xf);
    expect(bits(ecap, 23, 20)).toBe(15);
  });
  it('options reach CAP/ECAP: eim off, qi off, mhmv 4, 1 record, ESIRTPS', () => {
    const u = makeUnit({ eim: false, qi: false, mhmv: 4, faultRecords: 1, esirtps: true }).unit;
    const ecap = u.read64(ECAP);
    expect([bits(ecap, 1, 1), bits(ecap, 4, 4), bits(ecap, 23, 20)]).toEqual([0, 0, 4]);
    expect(bits(u.read64(CAP), 47, 40)).toBe(0);
    expect(bits(u.read64(CAP), 62, 62)).toBe(1);
  });
  it('GSTS, FSTS, IRTA, IQA, IQH, IQT, ICS 0; FECTL and IECTL masked (IM = 1)', () => {
    for (const r of [GSTS, FSTS, IRTA, IRTA + 4, IQA, IQH, IQT, ICS, RTADDR, IQER]) expect(unit.read32(r), `0x${r.toString(16)}`).toBe(0);
    expect(unit.read32(FECTL)).toBe(0x8000_0000);
    expect(unit.read32(IECTL)).toBe(0x8000_0000);
  });
});

describe('read-only, write-only and reserved registers', () => {
  it('writes to VER, CAP, ECAP, GSTS, IQH and IQER are dropped and reported', () => {
    const b = makeUnit();
    const before = [VER, CAP, CAP + 4, ECAP, GSTS, IQH, IQER].map((r) => b.unit.read32(r));
    for (const r of [VER, CAP, CAP + 4, ECAP, GSTS, IQH, IQER]) b.unit.write32(r, 0xffff_ffff);
    expect([VER, CAP, CAP + 4, ECAP, GSTS, IQH, IQER].map((r) => b.unit.read32(r))).toEqual(before);
    expect(b.events.filter((e) => e.kind === 'read-only-register')).toHaveLength(7);
  });
  it('GCMD is write-only: it reads 0 after a command', () => {
    const b = makeUnit();
    b.unit.write32(GCMD, QIE);
    expect(b.unit.read32(GCMD)).toBe(0);
    expect(b.unit.read32(GSTS)).toBe(QIE);
  });
  it('reserved bits read back 0: IRTA 10:4, IQA 10:3, FEADDR 1:0', () => {
    const { unit } = makeUnit();
    unit.write32(IRTA, 0xffff_ffff);
    expect(unit.read32(IRTA)).toBe(0xffff_f80f);
    unit.write32(IQA, 0xffff_ffff);
    expect(unit.read32(IQA)).toBe(0xffff_f807);
    unit.write32(FEADDR, 0xfee0_0003);
    expect(unit.read32(FEADDR)).toBe(0xfee0_0000);
  });
  it('an offset no register occupies reads 0 and drops writes, reported', () => {
    const b = makeUnit();
    b.unit.write32(0x600, 5);
    expect(b.unit.read32(0x600)).toBe(0);
    expect(b.events.filter((e) => e.kind === 'reserved-offset').map((e) => (e as { access: string }).access)).toEqual(['write', 'read']);
  });
  it('CCMD: ICC (bit 63) reads back clear (the invalidation completes at once); RTADDR is stored', () => {
    const { unit } = makeUnit();
    unit.write64(CCMD, (1n << 63n) | (1n << 61n));
    expect(unit.read64(CCMD)).toBe(1n << 61n);
    unit.write64(RTADDR, 0x12_3000n);
    expect(unit.read64(RTADDR)).toBe(0x12_3000n);
  });
});

describe('GCMD → GSTS handshakes (§10.4.4/5)', () => {
  it('QIE sets QIES and resets IQH; clearing it with the ring drained clears QIES', () => {
    const b = makeUnit();
    b.enableQi();
    expect(b.unit.read32(GSTS)).toBe(QIE);
    b.submit([iecGlobal()]);
    expect(b.unit.read32(IQH)).toBe(0x10);
    b.unit.write32(GCMD, 0);
    expect(b.unit.read32(GSTS)).toBe(0);
    expect(b.unit.read32(IQH)).toBe(0);
  });
  it('QIE clear is refused while IQH ≠ IQT (a queue stopped by IQE)', () => {
    const b = makeUnit();
    b.enableQi();
    b.submit([[0, 0, 0, 0]]); // type 0: invalid → IQE, IQH stays at 0
    expect(b.unit.read32(FSTS) & IQE).toBe(IQE);
    b.unit.write32(GCMD, 0);
    expect(b.unit.read32(GSTS) & QIE).toBe(QIE);
    expect(b.events.some((e) => e.kind === 'ignored-command' && e.command === 'QIE clear')).toBe(true);
  });
  it('QIE on a unit without ECAP.QI is ignored and reported', () => {
    const b = makeUnit({ qi: false });
    b.unit.write32(GCMD, QIE);
    expect(b.unit.read32(GSTS)).toBe(0);
    expect(b.events.at(-1)).toMatchObject({ kind: 'ignored-command', command: 'QIE' });
  });
  it('SIRTP latches IRTA and sets IRTPS; a later IRTA write changes nothing until the next SIRTP (and the cache until an IEC)', () => {
    const b = makeUnit();
    b.putIrte(1, encodeIrte({ vector: 0x51, destination: 0x100 }));
    b.putIrte(1, encodeIrte({ vector: 0x52, destination: 0x100 }), IRT_BASE + 0x1000);
    b.enableQi();
    b.setTable(7);
    expect(b.unit.read32(GSTS) & SIRTP).toBe(SIRTP);
    b.enableIr();
    b.unit.write64(IRTA, BigInt(IRT_BASE + 0x1000) | 7n); // written, not latched
    expect(b.msi(1)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out.data & 0xff).toBe(0x51);
    b.setTable(7, false, IRT_BASE + 0x1000); // latched now, but index 1 is cached (no ESIRTPS)
    expect(b.msi(1)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out.data & 0xff).toBe(0x51);
    b.submit([iecGlobal()]); // as Linux does after SIRTP when CAP.ESIRTPS = 0
    expect(b.msi(1)).toBe(REMAP_TRANSLATED);
    expect(b.unit.out.data & 0xff).toBe(0x52);
  });
  it('IRE sets IRES, CFI sets CFIS, each clears independently; Linux writes the shadow with each bit', () => {
    const b = makeUnit();
    b.setTable();
    b.unit.write32(GCMD, IRE);
    expect(b.unit.read32(GSTS)).toBe(IRE | SIRTP);
    b.unit.write32(GCMD, IRE | CFI);
    expect(b.unit.read32(GSTS)).toBe(IRE | CFI | SIRTP);
    b.unit.write32(GCMD, IRE);
    expect(b.unit.read32(GSTS)).toBe(IRE | SIRTP);
    b.unit.write32(GCMD, 0);
    expect(b.unit.read32(GSTS)).toBe(SIRTP);
    expect(b.unit.enabled).toBe(false);
  });
  it('IRE without a latched table: remappable requests fault 0x21 (no entries); reported once', () => {
    const b = makeUnit();
    b.unit.write32(GCMD, IRE);
    expect(b.events.at(-1)).toMatchObject({ kind: 'command-warning', command: 'IRE' });
    expect(b.msi(0)).toBe(REMAP_BLOCKED);
    expect(b.unit.out.reason).toBe(0x21);
  });
  it('TE and SRTP only set their status bits (DMA remapping is not modelled), TE reported', () => {
    const b = makeUnit();
    b.unit.write32(GCMD, SRTP);
    b.unit.write32(GCMD, TE);
    expect(b.unit.read32(GSTS)).toBe((TE | SRTP) >>> 0);
    expect(b.events.some((e) => e.kind === 'command-warning' && e.command === 'TE')).toBe(true);
  });
  it('SIRTP with ESIRTPS empties the interrupt entry cache; without it the cache survives', () => {
    for (const esirtps of [false, true]) {
      const b = makeUnit({ esirtps });
      b.putIrte(3, encodeIrte({ vector: 0x40, destination: 0 }));
      b.setTable();
      b.enableIr();
      b.msi(3);
      b.setTable();
      expect(b.unit.cachedIndices(), `esirtps ${esirtps}`).toEqual(esirtps ? [] : [3]);
    }
  });
  it('IQA writes while QIES = 1 are dropped and reported', () => {
    const b = makeUnit();
    b.enableQi();
    b.unit.write32(IQA, 0x1000);
    expect(b.unit.read32(IQA)).toBe(0x8_0000);
    expect(b.events.at(-1)).toMatchObject({ kind: 'ignored-command', command: 'IQA write' });
  });
  it('FECTL: IM writable, IP read-only', () => {
    const { unit } = makeUnit();
    unit.write32(FECTL, 0x4000_0000);
    expect(unit.read32(FECTL)).toBe(0);
    unit.write32(FECTL, IM);
    expect(unit.read32(FECTL)).toBe(0x8000_0000);
  });
});
