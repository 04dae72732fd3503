// Aligned contiguous blocks (docs/DESIGN.md §3 "The extension") on the x86 geometry of
// docs/DESIGN.md F8, first-fit and best-fit placement; every expected base is derived from the free map by hand.

import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../src/alloc/matrix.js';
import { ENGINES, expectRefused, range, smallMatrix, snapshot, x86Online, x86WithLegacy } from './helpers.js';

/*
 * Free map of an empty non-BSP CPU with the x86 preset, range [0x20, 0xEB), system bits 0x32, 0x80:
 *   0x20-0x31 | 0x32 sys | 0x33-0x7F | 0x80 sys | 0x81-0xEA | 0xEB.. out of range
 * 32-aligned windows: 0x20 (holds 0x32), 0x40, 0x60, 0x80 (holds 0x80), 0xA0, 0xC0, 0xE0 (crosses 0xEB)
 *   → four fit: 0x40, 0x60, 0xA0, 0xC0.
 * 16-aligned windows: 0x20 ok, 0x30 (0x32), 0x40 0x50 0x60 0x70 ok, 0x80 (0x80), 0x90 0xA0 0xB0 0xC0 0xD0 ok,
 *   0xE0 (crosses 0xEB) → ten fit.
 */
const FOUR_32 = [0x40, 0x60, 0xa0, 0xc0];
const TEN_16 = [0x20, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0, 0xd0];

describe.each(ENGINES)('%s engine: aligned blocks', (engine) => {
  describe('first-fit placement on an empty preset CPU', () => {
    it('places 32 at 0x40 and 16 at 0x20', async () => {
      const m = await x86Online(engine, 2);
      expect(m.allocBlock('0', 32)).toEqual({ cpu: 0, base: 0x40, count: 32 });
      expect(m.allocBlock('1', 16)).toEqual({ cpu: 1, base: 0x20, count: 16 });
    });

    it.each([1, 2, 4, 8, 16])('places %i first at 0x20', async (count) => {
      const m = await x86Online(engine, 1);
      expect(m.allocBlock('0', count)).toEqual({ cpu: 0, base: 0x20, count });
      expect(m.vectors(0)).toEqual(range(0x20, 0x20 + count));
    });

    it('fits exactly four 32-blocks (0x40, 0x60, 0xA0, 0xC0) on the non-BSP CPU, then ENOSPC', async () => {
      const m = await x86WithLegacy(engine, 2);
      const got = FOUR_32.map(() => m.allocBlock('1', 32));
      expect(got).toEqual(FOUR_32.map((base) => ({ cpu: 1, base, count: 32 })));
      expect(m.cpu(1).available).toBe(201 - 4 * 32);
      expectRefused(m, () => m.allocBlock('1', 32), 'ENOSPC');
    });

    it('fits exactly ten 16-blocks (0x20, 0x40-0x70, 0x90-0xD0) on the non-BSP CPU, then ENOSPC', async () => {
      const m = await x86WithLegacy(engine, 2);
      const got = TEN_16.map(() => m.allocBlock('1', 16));
      expect(got).toEqual(TEN_16.map((base) => ({ cpu: 1, base, count: 16 })));
      expect(m.cpu(1).available).toBe(201 - 10 * 16);
      expectRefused(m, () => m.allocBlock('1', 16), 'ENOSPC');
    });

    it('keeps clear of the BSP legacy vectors: 32 → 0x40, 16 → 0x20 on CPU 0', async () => {
      const m = await x86WithLegacy(engine, 1);
      expect(m.allocBlock('0', 32).base).toBe(0x40);
      expect(m.allocBlock('0', 16).base).toBe(0x20);
      expect(m.allocBlock('0', 8).base).toBe(0x60); // 0x30-0x3F holds legacy vectors
    });
  });

  describe('accounting', () => {
    it('counts like `count` single allocs: allocated, available, total_allocated, global_available', async () => {
      const m = await x86Online(engine, 2);
      expect(m.allocBlock('0', 8)).toEqual({ cpu: 0, base: 0x20, count: 8 });
      expect(m.cpu(0)).toMatchObject({ allocated: 8, available: 201 - 8, managed: 0 });
      expect(m.stats()).toMatchObject({ totalAllocated: 8, globalAvailable: 402 - 8, globalReserved: 0 });
      expect(m.vectors(0)).toEqual(range(0x20, 0x28));
      expect(m.alloc('0-1')).toEqual({ cpu: 1, vector: 0x20 }); // CPU 1 now has more available
    });

    it('with reserved decrements global_reserved by count', async () => {
      const m = await x86Online(engine, 1);
      for (let i = 0; i < 10; i++) m.reserve();
      m.allocBlock('0', 8, true);
      expect(m.stats()).toMatchObject({ globalReserved: 10 - 8, totalAllocated: 8, globalAvailable: 193 });
    });

    it('with reserved beyond global_reserved is refused (the counter would wrap), state unchanged', async () => {
      const m = await x86Online(engine, 1);
      for (let i = 0; i < 4; i++) m.reserve();
      expectRefused(m, () => m.allocBlock('0', 8, true), 'WARN');
    });
  });

  describe('errors', () => {
    it.each([0, 3, 64, 1.5])('count %s is EINVAL, state unchanged', async (count) => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.allocBlock('0', count), 'EINVAL');
    });

    it.each([['an empty cpulist', ''], ['an empty CPU array', []]])('%s is EINVAL, state unchanged', async (_, mask) => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.allocBlock(mask, 4), 'EINVAL');
    });

    it('a mask without an online CPU is ENOSPC, state unchanged', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      expectRefused(m, () => m.allocBlock('1', 4), 'ENOSPC');
    });

    it('no aligned run on any CPU of the mask is ENOSPC even with plenty available, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      for (const b of [0x40, 0x60, 0xa0, 0xc0]) m.assign(0, b); // one bit in every 32-window
      expect(m.cpu(0).available).toBe(197);
      expectRefused(m, () => m.allocBlock('0', 32), 'ENOSPC');
    });
  });

  describe('CPU choice', () => {
    it('most available wins, lowest CPU on ties', async () => {
      const m = await x86Online(engine, 4);
      const got = range(0, 5).map(() => m.allocBlock('0-3', 32));
      expect(got).toEqual([
        { cpu: 0, base: 0x40, count: 32 },
        { cpu: 1, base: 0x40, count: 32 },
        { cpu: 2, base: 0x40, count: 32 },
        { cpu: 3, base: 0x40, count: 32 },
        { cpu: 0, base: 0x60, count: 32 },
      ]);
    });

    it('a CPU with more available but no aligned run is skipped', async () => {
      const m = await x86Online(engine, 2);
      for (const b of [0x40, 0x60, 0xa0, 0xc0]) m.assign(0, b); // CPU 0: 197 available, no free 32-window
      for (let i = 0; i < 8; i++) m.alloc('1'); // CPU 1: 193 available, 0x20-0x27 used
      expect(m.allocBlock('0-1', 32)).toEqual({ cpu: 1, base: 0x40, count: 32 });
      // CPU 0 (197) beats CPU 1 (161) for a 16-block, which it can hold at 0x20.
      expect(m.allocBlock('0-1', 16)).toEqual({ cpu: 0, base: 0x20, count: 16 });
    });

    it('skips a CPU whose available is below count although it has a free aligned run', async () => {
      // available falls behind the free map when managed bits are removed while the CPU is offline:
      // 4 free bits, available 2, so `count` single allocs would stop after two.
      const m = await smallMatrix(engine, 1, 0x20, 0x24);
      m.reserveManaged('0');
      m.reserveManaged('0');
      m.online(0); // 4 − 2 managed = 2
      m.offline(0);
      m.removeManaged('0');
      m.removeManaged('0');
      m.online(0);
      expect(m.cpu(0)).toMatchObject({ available: 2, managed: 0, largestFreeBlock: 4 });
      expectRefused(m, () => m.allocBlock('0', 4), 'ENOSPC');
      expect(m.allocBlock('0', 2)).toEqual({ cpu: 0, base: 0x20, count: 2 });
    });

    it('ignores offline CPUs of the mask', async () => {
      const m = await x86Online(engine, 2);
      m.alloc('0');
      m.offline(1);
      expect(m.allocBlock('0-1', 4)).toEqual({ cpu: 0, base: 0x24, count: 4 });
    });
  });

  describe('freeBlock', () => {
    it('restores every counter and the run, which is then found again', async () => {
      const m = await x86Online(engine, 2);
      m.alloc('0-1');
      const before = snapshot(m);
      const blk = m.allocBlock('0-1', 32);
      expect(blk).toEqual({ cpu: 1, base: 0x40, count: 32 });
      m.freeBlock(1, 0x40, 32);
      expect(snapshot(m)).toEqual(before);
      expect(m.allocBlock('0-1', 32)).toEqual(blk);
    });

    it('on an offline CPU: available += count, total_allocated and global_available unchanged', async () => {
      const m = await x86Online(engine, 2);
      expect(m.allocBlock('1', 4)).toEqual({ cpu: 1, base: 0x20, count: 4 });
      m.offline(1);
      m.freeBlock(1, 0x20, 4);
      expect(m.cpu(1)).toMatchObject({ allocated: 0, available: 201 });
      expect(m.stats()).toMatchObject({ totalAllocated: 4, globalAvailable: 201 });
    });

    it('of a block not fully allocated is a WARN, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      m.allocBlock('0', 8); // 0x20-0x27
      m.free(0, 0x23);
      expectRefused(m, () => m.freeBlock(0, 0x20, 8), 'WARN');
      expectRefused(m, () => m.freeBlock(0, 0x40, 8), 'WARN'); // never allocated
    });

    it.each([
      [0x24, 8],
      [0x21, 2],
      [0x30, 32],
    ])('of a misaligned block (base %i, count %i) is EINVAL, state unchanged', async (base, count) => {
      const m = await x86Online(engine, 1);
      m.allocBlock('0', 32); // 0x40
      m.allocBlock('0', 16); // 0x20
      expectRefused(m, () => m.freeBlock(0, base, count), 'EINVAL');
    });

    it('of a block reaching past alloc_end is a WARN (irq_matrix_free range check), state unchanged', async () => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.freeBlock(0, 0xe0, 16), 'WARN');
    });
  });

  describe('best-fit placement', () => {
    /*
     * Best fit puts the run inside the smallest maximal free aligned block (one whose buddy — the other
     * half of the enclosing aligned block of twice the size — is not entirely free), lowest base on
     * ties. On the empty preset CPU (map above) the maximal free aligned blocks are:
     *   size 1: 0x33, 0x81, 0xEA   size 2: 0x30, 0x82, 0xE8   size 4: 0x34, 0x84
     *   size 8: 0x38, 0x88, 0xE0   size 16: 0x20, 0x90        size 32: 0xA0, 0xC0   size 64: 0x40
     * (0x20-0x3F is not free (0x32); 0x80-0x9F holds 0x80; 0xC0-0xFF crosses 0xEB; 0x00-0x3F is out.)
     */
    it.each([
      [1, '0x20', '0x33'],
      [2, '0x20', '0x30'],
      [4, '0x20', '0x34'],
      [8, '0x20', '0x38'],
      [16, '0x20', '0x20'],
      [32, '0x40', '0xa0'],
    ])('count %i: first-fit %s, best-fit %s', async (count, first, best) => {
      const ff = await x86Online(engine, 1);
      const bf = await x86Online(engine, 1, { placement: 'bestFit' });
      expect(ff.placement).toBe('firstFit');
      expect(bf.placement).toBe('bestFit');
      expect(ff.allocBlock('0', count).base).toBe(Number(first));
      expect(bf.allocBlock('0', count).base).toBe(Number(best));
    });

    it('32-blocks in best-fit order: 0xA0, 0xC0 (size 32), then 0x40, 0x60 (the 64-block), then ENOSPC', async () => {
      const m = await x86Online(engine, 1, { placement: 'bestFit' });
      expect(range(0, 4).map(() => m.allocBlock('0', 32).base)).toEqual([0xa0, 0xc0, 0x40, 0x60]);
      expectRefused(m, () => m.allocBlock('0', 32), 'ENOSPC');
    });

    it('beyond one word: with only 0x7F taken in [0, 256), 32 → 0x40 (best) vs 0x00 (first)', async () => {
      // Maximal free blocks: 0x00-0x3F (64), 0x40-0x5F (32; 0x60-0x7F holds 0x7F), 0x80-0xFF (128).
      const ff = await smallMatrix(engine, 1, 0, 256);
      const bf = await smallMatrix(engine, 1, 0, 256, { placement: 'bestFit' });
      for (const m of [ff, bf]) {
        m.online(0);
        m.assign(0, 0x7f);
      }
      expect(ff.allocBlock('0', 32).base).toBe(0x00);
      expect(bf.allocBlock('0', 32).base).toBe(0x40);
    });

    it('beyond one word: with only 0x80 taken in [0, 256), 32 → 0xA0 and 16 → 0x90 (best) vs 0x00 (first)', async () => {
      // Maximal free blocks: 0x00-0x7F (128), 0x81 (1), 0x82 (2), 0x84 (4), 0x88 (8), 0x90 (16),
      // 0xA0 (32), 0xC0-0xFF (64).
      const ff = await smallMatrix(engine, 1, 0, 256);
      const bf = await smallMatrix(engine, 1, 0, 256, { placement: 'bestFit' });
      const bf16 = await smallMatrix(engine, 1, 0, 256, { placement: 'bestFit' });
      for (const m of [ff, bf, bf16]) {
        m.online(0);
        m.assign(0, 0x80);
      }
      expect(ff.allocBlock('0', 32).base).toBe(0x00);
      expect(bf.allocBlock('0', 32).base).toBe(0xa0);
      expect(bf16.allocBlock('0', 16).base).toBe(0x90);
    });

    it('beyond one word: with 0x80-0xBF taken in [0, 256), 32-blocks go 0xC0, 0xE0 (the 64-block), then 0x00', async () => {
      // Maximal free blocks: 0x00-0x7F (128), 0xC0-0xFF (64); no 32-block is maximal on its own.
      const ff = await smallMatrix(engine, 1, 0, 256);
      const bf = await smallMatrix(engine, 1, 0, 256, { placement: 'bestFit' });
      for (const m of [ff, bf]) {
        m.online(0);
        for (const b of range(0x80, 0xc0)) m.assign(0, b);
      }
      expect(ff.allocBlock('0', 32).base).toBe(0x00);
      expect(range(0, 3).map(() => bf.allocBlock('0', 32).base)).toEqual([0xc0, 0xe0, 0x00]);
    });

    it('on a fully free 256-bit range (one maximal block of 256) both policies start at 0x00', async () => {
      const bf = await smallMatrix(engine, 1, 0, 256, { placement: 'bestFit' });
      bf.online(0);
      expect(bf.allocBlock('0', 32).base).toBe(0x00);
      expect(bf.allocBlock('0', 32).base).toBe(0x20); // 0x20-0x3F is now a maximal 32-block
    });

    it('chooses the CPU exactly as first-fit does (placement only changes the base)', async () => {
      const m = await x86Online(engine, 2, { placement: 'bestFit' });
      m.alloc('0');
      expect(m.allocBlock('0-1', 8)).toEqual({ cpu: 1, base: 0x38, count: 8 });
    });
  });

  it('createMatrix defaults to first-fit', async () => {
    const m = await createMatrix({ cpus: 1, engine, preset: 'x86' });
    m.online(0);
    expect(m.placement).toBe('firstFit');
    expect(m.allocBlock('0', 8).base).toBe(0x20);
  });
});
