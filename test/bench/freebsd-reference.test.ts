// FreeBSD x86 MSI placement (src/alloc/freebsd-reference.ts); expected values derived from
// local_apic.c (la_ioint_irqs, apic_alloc_vector[s]), msi.c (msi_alloc), intr_machdep.c (intr_next_cpu)
// and pci.c (pci_alloc_msi_method). Index i of la_ioint_irqs is IDT vector 0x30 + i (APIC_IO_INTS);
// index 0x50 (IDT_SYSCALL 0x80) and 0x62 (IDT_DTRACE_RET 0x92) are reserved; indices 0..190 are searched.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  APIC_IO_INTS, APIC_NUM_IOINTS, FREEBSD_VECTORS_PER_CPU, FreeBsdVectors, FreeBsdVectorsError, IDT_DTRACE_RET, IDT_SYSCALL,
} from '../../src/alloc/freebsd-reference.js';

// Older local_apic.c: `(vector & (align - 1))` on the la_ioint_irqs index.
const IDX = { alignment: 'index' } as const;

describe('constants from apicvar.h / segments.h', () => {
  it('APIC_IO_INTS is IDT_IO_INTS (32) + 16 = 0x30 and 191 entries are searched, 189 allocatable', () => {
    expect(APIC_IO_INTS).toBe(0x30);
    expect(APIC_NUM_IOINTS).toBe(191);
    expect(IDT_SYSCALL - APIC_IO_INTS).toBe(0x50);
    expect(IDT_DTRACE_RET - APIC_IO_INTS).toBe(0x62);
    expect(FREEBSD_VECTORS_PER_CPU).toBe(189);
  });
});

describe('msi_alloc + intr_next_cpu on fresh tables (index alignment)', () => {
  it('the first 32-message request lands on CPU 0 at index 0, IDT vector 0x30 (not 32-aligned)', () => {
    const f = new FreeBsdVectors(4, IDX);
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x30, count: 32 });
  });

  it('the second request goes to CPU 1 (round robin from CPU 0)', () => {
    const f = new FreeBsdVectors(4, IDX);
    f.allocMsi(32);
    expect(f.allocMsi(32)).toEqual({ cpu: 1, base: 0x30, count: 32 });
    expect(f.allocMsi(1)).toEqual({ cpu: 2, base: 0x30, count: 1 });
    expect(f.cursor).toBe(3);
  });

  it('32-runs on one CPU start at index 0, 0x20, then 0x80 (0x40 holds 0x50 syscall, 0x60 holds 0x62 DTrace)', () => {
    const f = new FreeBsdVectors(1, IDX);
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x30 + 0x00, count: 32 });
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x30 + 0x20, count: 32 });
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x30 + 0x80 /* 0xB0 */, count: 32 });
  });

  it('the fourth 32 does not fit (index 0xA0 + 32 > 191) and halves to 16 at index 0x40, vector 0x70', () => {
    const f = new FreeBsdVectors(1, IDX);
    for (let i = 0; i < 3; i++) f.allocMsi(32);
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x30 + 0x40, count: 16 });
  });

  it('every halving retry asks intr_next_cpu again, so a failed 32 on CPU 0 becomes a 16 on CPU 1', () => {
    const f = new FreeBsdVectors(3, IDX);
    // Three 32-runs per CPU (indices 0, 0x20, 0x80), handed out CPU 0, 1, 2, 0, 1, 2, ...
    for (let i = 0; i < 9; i++) expect(f.allocMsi(32)?.count).toBe(32);
    expect(f.cursor).toBe(0);
    expect(f.allocMsi(32)).toEqual({ cpu: 1, base: 0x70, count: 16 });
    expect(f.cursor).toBe(2);
  });

  it('returns null after trying 4, 2 and 1 when the CPUs are full, having advanced the cursor three times', () => {
    const f = new FreeBsdVectors(4, IDX);
    for (let c = 0; c < 4; c++) while (f.occupy(c));
    expect(f.allocMsi(4)).toBeNull();
    expect(f.cursor).toBe(3);
  });
});

describe('vector alignment (freebsd-src main)', () => {
  it('a fresh 32-message request starts at index 0x10, IDT vector 0x40', () => {
    const f = new FreeBsdVectors(1, { alignment: 'vector' });
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x40, count: 32 });
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x60, count: 32 });
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0xa0 /* 0x80 holds syscall 0x80 and DTrace 0x92 */, count: 32 });
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0xc0, count: 32 });
  });

  it('is the default: new FreeBsdVectors(n) tests ((index + APIC_IO_INTS) & (align - 1))', () => {
    const f = new FreeBsdVectors(2);
    expect(f.alignment).toBe('vector');
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x40, count: 32 });
    expect(f.allocMsi(16)).toEqual({ cpu: 1, base: 0x30, count: 16 });
  });

  it('a fifth 32 on one CPU finds no 32-aligned IDT run (0xE0 would need index 0xB0..0xCF > 190) and halves to 16 at 0x30', () => {
    const f = new FreeBsdVectors(1, { alignment: 'vector' });
    for (let i = 0; i < 4; i++) f.allocMsi(32);
    expect(f.largestFreeAligned(0)).toBe(16);
    expect(f.allocMsi(32)).toEqual({ cpu: 0, base: 0x30, count: 16 });
  });

  it('one CPU, requests 32, 16, 8, 4, 2, 1 in turn: 0x40, 0x30, 0x60, 0x68, 0x6C, then the single at the first free entry 0x6E', () => {
    const f = new FreeBsdVectors(1, { alignment: 'vector' });
    expect([32, 16, 8, 4, 2].map((n) => f.allocMsi(n)!.base)).toEqual([0x40, 0x30, 0x60, 0x68, 0x6c]);
    expect(f.allocVector()).toEqual({ cpu: 0, vector: 0x6e });
  });

  it('the same sequence index-aligned: the 32 takes index 0 (IDT 0x30), pushing the 16 to index 0x20 (0x50)', () => {
    const f = new FreeBsdVectors(1, IDX);
    expect([32, 16, 8, 4, 2].map((n) => f.allocMsi(n)!.base)).toEqual([0x30, 0x50, 0x60, 0x68, 0x6c]);
    expect(f.allocVector()).toEqual({ cpu: 0, vector: 0x6e });
  });

  it('allocVectorsOn honours the alignment for align > count: 4 vectors aligned on 32', () => {
    expect(new FreeBsdVectors(1, { alignment: 'vector' }).allocVectorsOn(0, 4, 32)).toBe(0x40);
    expect(new FreeBsdVectors(1, IDX).allocVectorsOn(0, 4, 32)).toBe(0x30);
  });
});

describe('both alignments under random traffic (fast-check)', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('msi' as const), n: fc.constantFrom(1, 2, 4, 8, 16, 32) }),
    fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('single' as const) }),
  );

  it("'vector' places every block on an IDT vector that is a multiple of its size; 'index' on index multiples, so only 32s can be misaligned (0x30 is 16-aligned)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 120 }), (cpus, ops) => {
        for (const alignment of ['vector', 'index'] as const) {
          const f = new FreeBsdVectors(cpus, { alignment });
          const live: { cpu: number; base: number; count: number }[] = [];
          for (const o of ops) {
            if (o.kind === 'msi') {
              const g = f.allocMsi(o.n);
              if (!g) continue;
              live.push(g);
              const index = g.base - APIC_IO_INTS;
              if (alignment === 'vector') expect(g.base % g.count).toBe(0);
              else {
                expect(index % g.count).toBe(0);
                if (g.count < 32) expect(g.base % g.count).toBe(0);
              }
              for (let i = 0; i < g.count; i++) expect(f.isFree(g.cpu, g.base + i)).toBe(false);
            } else if (o.kind === 'free' && live.length > 0) {
              const [g] = live.splice(o.pick % live.length, 1);
              f.free(g!.cpu, g!.base, g!.count);
            } else if (o.kind === 'single') {
              const s1 = f.allocVector();
              if (s1) live.push({ cpu: s1.cpu, base: s1.vector, count: 1 });
            }
          }
          const held = live.reduce((a, g) => a + g.count, 0);
          let used = 0;
          for (let c = 0; c < cpus; c++) used += f.used(c);
          expect(used).toBe(held);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('apic_alloc_vector (first fit on the next CPU)', () => {
  it('hands out 0x30, 0x31, ... and skips IDT_SYSCALL 0x80', () => {
    const f = new FreeBsdVectors(1);
    const got: number[] = [];
    for (let i = 0; i < 81; i++) got.push(f.allocVector()!.vector);
    expect(got[0]).toBe(0x30);
    expect(got[79]).toBe(0x7f);
    expect(got[80]).toBe(0x81 /* 0x80 is the syscall gate */);
  });

  it('grants exactly 189 vectors per CPU (191 entries less syscall and DTrace), then null', () => {
    const f = new FreeBsdVectors(1);
    let n = 0;
    while (f.allocVector()) n++;
    expect(n).toBe(189);
    expect(f.used(0)).toBe(189);
    expect(f.isFree(0, 0xef /* APIC_TIMER_INT is never handed out */)).toBe(false);
  });

  it('alternates CPUs: vector 0x30 on CPU 0, then 0x30 on CPU 1', () => {
    const f = new FreeBsdVectors(2);
    expect(f.allocVector()).toEqual({ cpu: 0, vector: 0x30 });
    expect(f.allocVector()).toEqual({ cpu: 1, vector: 0x30 });
  });
});

describe('free, used, largestFreeAligned', () => {
  it('free returns the run; the same request lands there again', () => {
    const f = new FreeBsdVectors(1);
    const a = f.allocMsi(8)!;
    expect(f.used(0)).toBe(8);
    f.free(a.cpu, a.base, a.count);
    expect(f.used(0)).toBe(0);
    expect(f.allocMsi(8)).toEqual(a);
  });

  it('largestFreeAligned follows index alignment: 32 fresh, 16 after three 32s, 0 when full', () => {
    const f = new FreeBsdVectors(1, IDX);
    expect(f.largestFreeAligned(0)).toBe(32);
    for (let i = 0; i < 3; i++) f.allocMsi(32);
    expect(f.largestFreeAligned(0)).toBe(16 /* index 0x40..0x4F */);
    while (f.occupy(0));
    expect(f.largestFreeAligned(0)).toBe(0);
  });

  it('refuses to free entries that are not allocated (free, syscall, out of range)', () => {
    const f = new FreeBsdVectors(1);
    expect(() => f.free(0, 0x30, 1)).toThrow(FreeBsdVectorsError);
    expect(() => f.free(0, IDT_SYSCALL, 1)).toThrow(/not allocated/);
    expect(() => f.free(0, 0x20, 1)).toThrow(/0x30\.\.0xEE/);
    expect(() => f.free(1, 0x30, 1)).toThrow(/CPU 1/);
  });

  it('refuses MSI counts that are not a power of two in 1..32', () => {
    const f = new FreeBsdVectors(1);
    expect(() => f.allocMsi(3)).toThrow(FreeBsdVectorsError);
    expect(() => f.allocMsi(64)).toThrow(/power of two/);
    expect(() => f.allocVectorsOn(0, 8, 4)).toThrow(/count <= align/);
  });

  it('describe lists the held entries as IDT vector ranges per CPU', () => {
    const f = new FreeBsdVectors(2);
    f.allocMsi(4);
    expect(f.describe()).toBe(
      'APIC_IO_INTS 0x30, 191 entries per CPU; next CPU 1\n' + '  CPU    0: used   4  0x30-0x33\n' + '  CPU    1: used   0  \n',
    );
  });
});
