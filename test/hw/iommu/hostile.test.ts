// Hostile use of the remapping unit. The embedder's bad arguments are typed errors naming the argument;
// the guest's register traffic, descriptors and IRTEs — however wrong — never throw: they get the
// architected behaviour (VT-d §10.2: dword/qword accesses only; reserved fields) and reports, and every
// request is accounted for (requests = translated + passedThrough + blocked).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { each, expectTyped, type Row } from '../../hostile.js';
import { decodeIrte, encodeIrte, encodeRemappableAddress, RemappingUnit, RemappingUsageError } from '../../../src/index.js';
import { makeUnit, RAM_SIZE } from './helpers.js';

const NOT_A_NUMBER: [string, unknown][] = [
  ['null', null], ['undefined', undefined], ['NaN', NaN], ['1.5', 1.5], ['"1"', '1'], ['true', true], ['10n', 10n], ['{}', {}],
];
const memory = { read: () => false, write: () => false };

describe('embedder misuse: typed errors', () => {
  const u = () => makeUnit().unit;
  const rows: Row[] = [
    ['no options', () => new RemappingUnit(undefined as never), RemappingUsageError],
    ['no memory', () => new RemappingUnit({} as never), RemappingUsageError],
    ['memory without write', () => new RemappingUnit({ memory: { read: () => true } } as never), RemappingUsageError],
    ['an unknown option', () => new RemappingUnit({ memory, eims: true } as never), RemappingUsageError],
    ['mhmv 16', () => new RemappingUnit({ memory, mhmv: 16 }), RemappingUsageError],
    ['faultRecords 0', () => new RemappingUnit({ memory, faultRecords: 0 }), RemappingUsageError],
    ['faultRecords 129', () => new RemappingUnit({ memory, faultRecords: 129 }), RemappingUsageError],
    ['eim "yes"', () => new RemappingUnit({ memory, eim: 'yes' as never }), RemappingUsageError],
    ['onEvent 1', () => new RemappingUnit({ memory, onEvent: 1 as never }), RemappingUsageError],
    ...each('read32 offset', NOT_A_NUMBER, (v) => u().read32(v), RemappingUsageError),
    ['read32 misaligned', () => u().read32(2), RemappingUsageError],
    ['read32 beyond the page', () => u().read32(0x1000), RemappingUsageError],
    ['read64 misaligned', () => u().read64(4), RemappingUsageError],
    ['write64 a number', () => u().write64(0x88, 1 as never), RemappingUsageError],
    ['write64 beyond 64 bits', () => u().write64(0x88, 1n << 64n), RemappingUsageError],
    ...each('write32 value', NOT_A_NUMBER, (v) => u().write32(0x38, v), RemappingUsageError),
    ['mmioRead size 8', () => u().mmioRead(0, 8), RemappingUsageError],
    ['mmioWrite size 3', () => u().mmioWrite(0, 3, 0), RemappingUsageError],
    ['mmioRead offset −1', () => u().mmioRead(-1, 4), RemappingUsageError],
    ...each('interrupt address', NOT_A_NUMBER, (v) => u().interrupt(v, 0, 0, 0), RemappingUsageError),
    ...each('interrupt source-id', NOT_A_NUMBER, (v) => u().interrupt(0xfee0_0000, 0, 0, v), RemappingUsageError),
    ['interrupt source-id 0x10000', () => u().interrupt(0xfee0_0000, 0, 0, 0x10000), RemappingUsageError],
    ['encodeIrte vector 256', () => encodeIrte({ vector: 256, destination: 0 }), RemappingUsageError],
    ['encodeIrte delivery mode sipi', () => encodeIrte({ vector: 1, destination: 0, deliveryMode: 'sipi' }), RemappingUsageError],
    ['encodeIrte an unknown field', () => encodeIrte({ vector: 1, destination: 0, tm: 1 } as never), RemappingUsageError],
    ['decodeIrte a number', () => decodeIrte(1 as never, 0n), RemappingUsageError],
    ['encodeRemappableAddress 0x10000', () => encodeRemappableAddress(0x10000), RemappingUsageError],
  ];
  for (const [name, call, E] of rows) it(name, () => expectTyped(call, E));
});

describe('guest traffic never throws', () => {
  it('random dword, narrow and misaligned accesses over the whole page, then requests: accounted, no exception', () => {
    const access = fc.record({
      offset: fc.oneof(fc.integer({ min: 0, max: 0xfff }), fc.constantFrom(0x18, 0x34, 0x38, 0x88, 0x90, 0x9c, 0xa0, 0xb8, 0xbc, 0x220, 0x22c)),
      size: fc.constantFrom(1, 2, 4, 4, 4),
      value: fc.integer({ min: 0, max: 0xffff_ffff }),
      write: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(access, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 300 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff_ffff })), { maxLength: 20 }), (accesses, ramWords, requests) => {
        const b = makeUnit({ faultRecords: 2 });
        // Fill the table and queue area with noise: IRTEs and descriptors of every shape.
        ramWords.forEach((w, i) => b.view.setUint32(0x4_0000 + i * 4, w, true));
        ramWords.forEach((w, i) => b.view.setUint32(0x8_0000 + i * 4, w, true));
        b.enableAll();
        for (const a of accesses) {
          const size = a.offset + a.size > 0x1000 ? 1 : a.size;
          if (a.write) b.unit.mmioWrite(a.offset, size, size === 4 ? a.value : a.value & ((1 << (size * 8)) - 1));
          else b.unit.mmioRead(a.offset, size);
        }
        for (const [handle, data] of requests) b.msi(handle, data);
        const k = b.unit.counters();
        expect(k.translated + k.passedThrough + k.blocked).toBe(k.requests);
        expect(Object.values(k.faults).reduce((x, y) => x + y, 0)).toBe(k.blocked);
        expect(k.recorded + k.suppressed + k.overflowed + k.lost).toBe(k.blocked);
        // A snapshot of whatever state the guest reached loads back into a fresh unit.
        const c = makeUnit({ faultRecords: 2 });
        c.unit.loadState(JSON.parse(JSON.stringify(b.unit.saveState())));
        expect(c.unit.saveState()).toEqual(b.unit.saveState());
      }),
      { numRuns: 150 },
    );
  });
  it('a queue or table at the top of the 64-bit space reads nothing and faults, no exception', () => {
    const b = makeUnit();
    b.unit.write64(0x90, 0xffff_ffff_ffff_f000n);
    b.unit.write32(0x18, 1 << 26);
    b.unit.write32(0x88, 0x10);
    b.unit.write64(0xb8, 0xffff_ffff_ffff_f00fn);
    b.unit.write32(0x18, (1 << 26) | (1 << 24));
    b.unit.write32(0x18, (1 << 26) | (1 << 25));
    b.msi(5);
    expect(b.unit.out.reason).toBe(0x23);
    expect(RAM_SIZE).toBeGreaterThan(0);
  });
});
