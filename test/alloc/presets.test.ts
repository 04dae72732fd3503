// Kernel generations as matrix presets: geometry and in-range system bits per generation, from
// arch/x86/include/asm/irq_vectors.h + lapic_assign_system_vectors() (arch/x86/kernel/apic/vector.c).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMatrix, MATRIX_PRESETS, type MatrixPreset } from '../../src/alloc/matrix.js';
import { MatrixError } from '../../src/alloc/errors.js';
import { runMatrixScript } from '../../src/alloc/script.js';
import { ENGINES } from './helpers.js';

/** [end, in-range system bits] per generation: 6.1 keeps IRQ_MOVE_CLEANUP_VECTOR (0x20), 6.6 drops it, 6.10 ends at 0xEB. */
const EXPECTED: Record<MatrixPreset, [number, number[]]> = {
  'x86': [0xeb, [0x32, 0x80]],
  'x86-6.10': [0xeb, [0x32, 0x80]],
  'x86-6.6': [0xec, [0x32, 0x80]],
  'x86-6.1': [0xec, [0x20, 0x32, 0x80]],
};

describe.each(ENGINES)('%s engine: kernel-generation presets', (engine) => {
  it.each([
    ['x86', 201],
    ['x86-6.10', 201],
    ['x86-6.6', 202],
    ['x86-6.1', 201],
  ] as const)('%s: a fresh online CPU has %i available vectors', async (preset, avl) => {
    const m = await createMatrix({ cpus: 2, engine, preset });
    m.online(0);
    m.online(1);
    expect(m.cpu(0).available).toBe(avl);
    expect(m.stats()).toMatchObject({ globalAvailable: 2 * avl, systembitsInalloc: EXPECTED[preset][1].length });
  });

  it('the first vector: 0x20 from 6.6 on, 0x21 on 6.1 (0x20 is the move-cleanup vector)', async () => {
    for (const [preset, v] of [['x86', 0x20], ['x86-6.6', 0x20], ['x86-6.1', 0x21]] as const) {
      const m = await createMatrix({ cpus: 1, engine, preset });
      m.online(0);
      expect(m.alloc([0])).toEqual({ cpu: 0, vector: v });
    }
  });

  it('a 16-block at 0x20 exists on 6.6 and 6.10, not on 6.1 (next aligned free block is 0x40: 0x32 is the cascade)', async () => {
    for (const [preset, base] of [['x86', 0x20], ['x86-6.6', 0x20], ['x86-6.1', 0x40]] as const) {
      const m = await createMatrix({ cpus: 1, engine, preset });
      m.online(0);
      expect(m.allocBlock([0], 16)).toEqual({ cpu: 0, base, count: 16 });
    }
  });

  it('6.6 reaches 0xEB, the others stop below it', async () => {
    for (const [preset, last] of [['x86', 0xea], ['x86-6.6', 0xeb], ['x86-6.1', 0xeb]] as const) {
      const m = await createMatrix({ cpus: 1, engine, preset });
      m.online(0);
      let v = -1;
      for (;;) {
        try {
          v = m.alloc([0]).vector;
        } catch (e) {
          expect((e as MatrixError).code).toBe('ENOSPC');
          break;
        }
      }
      expect(v).toBe(last);
    }
  });

  it('the empty 6.1 dump lists the three in-range system bits the real 6.1 System line has (32, 50, 128)', async () => {
    const m = await createMatrix({ cpus: 1, engine, preset: 'x86-6.1' });
    expect(m.dump()).toContain('System: 3: 32,50,128\n');
  });

  it('property: under every preset no allocation ever returns a system bit or leaves [start, end)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MATRIX_PRESETS), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 400 }), async (preset, cpus, n) => {
        const [end, system] = EXPECTED[preset];
        const m = await createMatrix({ cpus, engine, preset });
        for (let c = 0; c < cpus; c++) m.online(c);
        expect(m.cpu(0).available).toBe(end - 0x20 - system.length);
        for (let i = 0; i < n; i++) {
          let a;
          try {
            a = m.alloc(`0-${cpus - 1}`);
          } catch (e) {
            expect((e as MatrixError).code).toBe('ENOSPC');
            expect(i).toBe(cpus * (end - 0x20 - system.length));
            break;
          }
          expect(a.vector).toBeGreaterThanOrEqual(0x20);
          expect(a.vector).toBeLessThan(end);
          expect(system).not.toContain(a.vector);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a preset fixes its geometry: x86-6.1 with end 0xeb is EINVAL; an unknown name lists the known ones', async () => {
    await expect(createMatrix({ cpus: 1, engine, preset: 'x86-6.1', end: 0xeb })).rejects.toThrow(/preset x86-6.1 fixes the geometry to bits 256, start 0x20, end 0xec/);
    await expect(createMatrix({ cpus: 1, engine, preset: 'x86-5.4' as MatrixPreset })).rejects.toThrow(/preset must be one of "x86", "x86-6.10", "x86-6.6", "x86-6.1", got "x86-5.4"/);
  });

  it('matrix scripts: preset x86-6.1 / x86-6.6 / x86-6.10 lines', async () => {
    const r = await runMatrixScript('preset x86-6.1\ncpus 1\nonline 0\nalloc 0\ncpu 0\n', { engine });
    expect(r.exitCode).toBe(0);
    expect(r.results.map((x) => x.result)).toEqual([{ ok: true }, { ok: true }, { ok: true }, { cpu: 0, vector: 0x21 }, { cpu: 0, online: true, available: 200, allocated: 1, managed: 0, managed_allocated: 0 }]);
    const r66 = await runMatrixScript('preset x86-6.6\ncpus 1\nonline 0\nstats\n', { engine });
    expect(r66.results[3]!.result).toMatchObject({ global_available: 202, systembits_inalloc: 2 });
    const r610 = await runMatrixScript('preset x86-6.10\ncpus 1\nonline 0\nstats\n', { engine });
    expect(r610.results[3]!.result).toMatchObject({ global_available: 201, systembits_inalloc: 2 });
    const bad = await runMatrixScript('preset x86-6.5\ncpus 1\n', { engine });
    expect(bad.exitCode).toBe(2);
    expect(bad.error).toEqual({ line: 1, message: expect.stringMatching(/unknown preset "x86-6.5" \(known: x86, x86-6.10, x86-6.6, x86-6.1\)/) });
  });
});
