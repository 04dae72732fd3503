// The re-packing bound of the fragmentation benchmark (bench/lib/packing.ts): the aligned-slot
// decomposition of the Linux and FreeBSD vector spaces, and exactness against brute-force placement.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignedBlocks, newCounts, PackingModel } from '../../bench/lib/packing.js';
import { freebsdModel, linuxModel } from '../../bench/lib/policies.js';

function countsOf(rec: Record<number, number>) {
  const c = newCounts();
  for (const [s, n] of Object.entries(rec)) c[Number(s)] = n;
  return c;
}

function asRecord(c: Int32Array): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of [32, 16, 8, 4, 2, 1]) if (c[s]) out[s] = c[s]!;
  return out;
}

describe('aligned decomposition of one CPU', () => {
  it('Linux x86: [0x20, 0xEB) less 0x32, 0x80 → four 32s (0x40 0x60 0xA0 0xC0), 16s at 0x20 and 0x90, 201 vectors', () => {
    const c = alignedBlocks(0x20, 0xeb, (v) => v !== 0x32 && v !== 0x80);
    // 0x20/16 0x30/2 0x33/1 0x34/4 0x38/8 0x40/32 0x60/32 0x81/1 0x82/2 0x84/4 0x88/8 0x90/16 0xA0/32 0xC0/32 0xE0/8 0xE8/2 0xEA/1
    expect(asRecord(c)).toEqual({ 32: 4, 16: 2, 8: 3, 4: 2, 2: 3, 1: 3 });
    expect(linuxModel(1).capacity).toBe(201);
  });

  it('FreeBSD, index alignment: 189 entries with three 32-runs (indices 0, 0x20, 0x80)', () => {
    expect(freebsdModel(1, 'index').capacity).toBe(189);
    expect(asRecord(alignedBlocks(0, 191, (i) => i !== 0x50 && i !== 0x62))).toEqual({ 32: 3, 16: 3, 8: 3, 4: 3, 2: 3, 1: 3 });
  });

  it('FreeBSD, vector alignment: four 32-runs (IDT 0x40 0x60 0xA0 0xC0)', () => {
    expect(asRecord(alignedBlocks(0, 191, (i) => i !== 0x50 && i !== 0x62, 0x30))[32]).toBe(4);
    expect(freebsdModel(2, 'vector').capacity).toBe(2 * 189);
  });
});

describe('PackingModel.fits', () => {
  it('refuses a fifth 32-block on one Linux CPU although 160 <= 201 vectors', () => {
    const m = linuxModel(1);
    expect(m.fits(countsOf({ 32: 4 }))).toBe(true);
    expect(m.fits(countsOf({ 32: 4 }), 32)).toBe(false);
    expect(m.fits(countsOf({ 32: 4, 16: 2, 8: 3, 4: 2, 2: 3, 1: 3 }))).toBe(true);
    expect(m.fits(countsOf({ 32: 4, 16: 2, 8: 3, 4: 2, 2: 3, 1: 3 }), 1)).toBe(false);
  });

  it('splits what larger items leave: with three 32s placed, the fourth 32-slot holds two 16s', () => {
    const m = linuxModel(1);
    expect(m.fits(countsOf({ 32: 3, 16: 4 }))).toBe(true /* 2 native 16-slots + the fourth 32 split */);
    expect(m.fits(countsOf({ 32: 3, 16: 5 }))).toBe(false);
  });

  /** Exhaustive placement of power-of-two aligned items into free positions of `cpus` × 32 bits. */
  function bruteForce(free: boolean[][], items: number[]): boolean {
    const used = free.map((row) => row.map((f) => !f));
    const sorted = [...items].sort((a, b) => b - a);
    const place = (i: number): boolean => {
      if (i === sorted.length) return true;
      const s = sorted[i]!;
      for (const row of used) {
        for (let p = 0; p + s <= row.length; p += s) {
          if (row.slice(p, p + s).some(Boolean)) continue;
          for (let q = p; q < p + s; q++) row[q] = true;
          if (place(i + 1)) return true;
          for (let q = p; q < p + s; q++) row[q] = false;
        }
      }
      return false;
    };
    return place(0);
  }

  it('agrees with brute-force placement on random small machines (exactness of the bound)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }).chain((cpus) => fc.tuple(fc.constant(cpus), fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }), fc.array(fc.constantFrom(1, 2, 4, 8, 16), { maxLength: 7 }))),
        ([cpus, blockedPattern, items]) => {
          // Every CPU has the same pattern (as in the model): ~1 in 4 positions blocked.
          const freeRow = blockedPattern.map((b, i) => !(b && i % 4 === 1));
          const model = new PackingModel(alignedBlocks(0, 32, (p) => freeRow[p]!), cpus);
          const live = newCounts();
          for (const s of items) live[s]!++;
          expect(model.fits(live)).toBe(bruteForce(Array.from({ length: cpus }, () => freeRow), items));
        },
      ),
      { numRuns: 300 },
    );
  });
});
