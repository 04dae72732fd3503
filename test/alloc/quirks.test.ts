// Kernel quirks of kernel/irq/matrix.c that irqslice reproduces on purpose (x86 boot facts: docs/DESIGN.md F8),
// each built from a small state. Plain per-operation behaviour is in ops.test.ts.

import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../src/alloc/matrix.js';
import {
  ENGINES, LEGACY_VECTORS as LEGACY, X86_ALLOC_SIZE, expectRefused, range, smallMatrix, x86Online, x86WithLegacy,
} from './helpers.js';

describe.each(ENGINES)('%s engine: kernel quirks', (engine) => {
  it('fresh x86 preset, 4 CPUs: alloc 0-3 spreads 0x20 over CPUs 0..3, the fifth is CPU 0 0x21', async () => {
    const m = await x86Online(engine, 4);
    const got = range(0, 5).map(() => m.alloc('0-3'));
    // All CPUs start at 201 available: ties go to the lowest CPU, and each alloc lowers that CPU by one.
    expect(got).toEqual([
      { cpu: 0, vector: 0x20 },
      { cpu: 1, vector: 0x20 },
      { cpu: 2, vector: 0x20 },
      { cpu: 3, vector: 0x20 },
      { cpu: 0, vector: 0x21 },
    ]);
  });

  it('with the 15 legacy vectors on CPU 0 (186 available), the first allocs go to CPUs 1, 2, 3', async () => {
    const m = await x86WithLegacy(engine, 4);
    expect(m.cpu(0)).toMatchObject({ available: 201 - 15, allocated: 15 });
    expect(m.vectors(0)).toEqual(LEGACY);
    expect(m.stats()).toMatchObject({ globalAvailable: 186 + 3 * 201, totalAllocated: 15 });
    const got = range(0, 4).map(() => m.alloc('0-3'));
    expect(got).toEqual([
      { cpu: 1, vector: 0x20 },
      { cpu: 2, vector: 0x20 },
      { cpu: 3, vector: 0x20 },
      { cpu: 1, vector: 0x21 }, // CPUs 1..3 at 200 still beat CPU 0 at 186
    ]);
  });

  it('a CPU with 0 available is never chosen, even with a free bit left', async () => {
    // managed_map changes while offline do not touch available: reserve (offline), online (2 − 1 = 1),
    // offline, remove: available stays 1 although both bits are free again.
    const m = await smallMatrix(engine, 2, 0x20, 0x22);
    m.reserveManaged('0');
    m.online(0);
    m.offline(0);
    m.removeManaged('0');
    m.online(0);
    expect(m.cpu(0)).toMatchObject({ available: 1, managed: 0 });
    expect(m.alloc('0')).toEqual({ cpu: 0, vector: 0x20 });
    expect(m.cpu(0).available).toBe(0);
    expect(m.isAllocated(0, 0x21)).toBe(false); // 0x21 is free ...
    expectRefused(m, () => m.alloc('0'), 'ENOSPC'); // ... but matrix_find_best_cpu wants available > 0
    m.online(1);
    expect(m.alloc('0-1')).toEqual({ cpu: 1, vector: 0x20 });
  });

  it('managed bits reserved while an initialised CPU is offline are not subtracted at its next online', async () => {
    const m = await x86Online(engine, 1, { cpus: 2 });
    m.offline(0);
    m.reserveManaged('0'); // offline: managed++ only
    m.online(0); // initialised: available stays 201, though only 200 bits are free
    expect(m.cpu(0)).toMatchObject({ available: 201, managed: 1 });
    expect(m.globalAvailable).toBe(201);
    m.online(1); // first online of CPU 1: 203 − 0 − 2
    expect(m.cpu(1).available).toBe(201);
  });

  it('alloc does not retry another CPU when the chosen CPU has available but no free bit', async () => {
    // CPU 0 was initialised before the system bit 0x21 existed: available 2 with one usable bit.
    const m = await smallMatrix(engine, 2, 0x20, 0x22);
    m.online(0);
    m.offline(0);
    m.assignSystem(0x21); // legal: online_maps is 0
    m.online(0);
    m.online(1); // initialised now: 2 − 0 − 1 = 1
    expect([m.cpu(0).available, m.cpu(1).available]).toEqual([2, 1]);
    expect(m.alloc('0-1')).toEqual({ cpu: 0, vector: 0x20 });
    // Tie at 1: CPU 0 wins, matrix_alloc_area finds nothing, and the kernel returns -ENOSPC.
    expectRefused(m, () => m.alloc('0-1'), 'ENOSPC');
    expect(m.alloc('1')).toEqual({ cpu: 1, vector: 0x20 });
  });

  it('a second online keeps available even when systembits_inalloc changed while offline', async () => {
    const m = await x86Online(engine, 1, { cpus: 2 });
    for (let i = 0; i < 3; i++) m.alloc('0'); // CPU 0: 198
    m.offline(0);
    m.assignSystem(0x40); // online_maps 0: allowed; systembits_inalloc 3
    m.online(0);
    m.online(1);
    expect(m.cpu(0).available).toBe(198); // initialised once, never recomputed
    expect(m.cpu(1).available).toBe(X86_ALLOC_SIZE - 3);
  });

  it('assignSystem of the same bit twice counts it twice in systembits_inalloc', async () => {
    // set_bit() is idempotent, systembits_inalloc++ is not.
    const m = await createMatrix({ cpus: 1, engine, bits: 256, start: 0x20, end: 0xeb });
    m.assignSystem(0x80);
    m.assignSystem(0x80);
    expect(m.systemVectors()).toEqual([0x80]);
    expect(m.systembitsInalloc).toBe(2);
    m.online(0);
    expect(m.cpu(0).available).toBe(203 - 2);
  });

  it('reserveManaged may reserve different bits on different CPUs', async () => {
    const m = await x86Online(engine, 2);
    m.alloc('0'); // CPU 0 holds 0x20
    m.reserveManaged('0-1');
    expect(m.managedVectors(0)).toEqual([0x21]);
    expect(m.managedVectors(1)).toEqual([0x20]);
  });

  it('reserveManaged rollback removes the FIRST unallocated managed bit, not the one just reserved', async () => {
    const m = await smallMatrix(engine, 2, 0x20, 0x24); // four bits per CPU
    m.online(0);
    for (let i = 0; i < 4; i++) m.reserveManaged('1'); // offline CPU 1: every bit managed
    m.reserveManaged('0'); // CPU 0: managed 0x20
    expect(m.cpu(0)).toMatchObject({ managed: 1, available: 3 });
    // CPU 0 gets 0x21, CPU 1 fails; irq_matrix_remove_managed(CPU 0) then clears 0x20, the first one.
    const before = m.stats();
    expect(() => m.reserveManaged('0-1')).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(m.managedVectors(0)).toEqual([0x21]);
    expect(m.cpu(0)).toMatchObject({ managed: 1, available: 3 });
    expect(m.stats()).toEqual(before);
    expect(m.alloc('0')).toEqual({ cpu: 0, vector: 0x20 });
    expect(m.allocManaged('0')).toEqual({ cpu: 0, vector: 0x21 });
  });

  it('allocManaged breaks ties toward the LAST CPU of the mask', async () => {
    const m = await x86Online(engine, 4);
    m.reserveManaged('0-3');
    m.reserveManaged('0-3');
    expect(m.allocManaged('0-3')).toEqual({ cpu: 3, vector: 0x20 });
    expect(m.allocManaged('0-3')).toEqual({ cpu: 2, vector: 0x20 });
    expect(m.allocManaged('0-2')).toEqual({ cpu: 1, vector: 0x20 });
  });

  it('allocManaged ties go to the last CPU across mask words (CPU 69 of 31, 32, 63, 64, 69)', async () => {
    const m = await createMatrix({ cpus: 70, engine, preset: 'x86' });
    const cpus = [31, 32, 63, 64, 69];
    for (const c of cpus) m.online(c);
    m.reserveManaged(cpus);
    expect(m.allocManaged(cpus)).toEqual({ cpu: 69, vector: 0x20 });
    expect(m.allocManaged(cpus)).toEqual({ cpu: 64, vector: 0x20 });
  });

  it('allocManaged is ENOSPC when the chosen CPU has no unallocated managed bit, even if another has', async () => {
    const m = await x86Online(engine, 2);
    m.reserveManaged('0');
    // Both CPUs have managed_allocated 0: CPU 1 (last) is chosen and has no managed bit.
    expectRefused(m, () => m.allocManaged('0-1'), 'ENOSPC');
    expect(m.allocManaged('0')).toEqual({ cpu: 0, vector: 0x20 });
  });

  it('allocManaged does not look at available (the bit was accounted at reservation)', async () => {
    const m = await smallMatrix(engine, 1, 0x20, 0x22);
    m.online(0);
    m.reserveManaged('0'); // 0x20, available 1
    m.alloc('0'); // 0x21, available 0
    expect(m.cpu(0).available).toBe(0);
    expect(m.allocManaged('0')).toEqual({ cpu: 0, vector: 0x20 });
    expect(m.cpu(0)).toMatchObject({ available: 0, allocated: 2, managedAllocated: 1 });
  });

  it('free on an offline CPU leaves total_allocated and global_available alone (they drift)', async () => {
    const m = await x86Online(engine, 2);
    expect(m.alloc('1')).toEqual({ cpu: 1, vector: 0x20 });
    m.offline(1);
    expect(m.stats()).toMatchObject({ totalAllocated: 1, globalAvailable: 201 });
    m.free(1, 0x20);
    expect(m.cpu(1)).toMatchObject({ allocated: 0, available: 201 });
    expect(m.stats()).toMatchObject({ totalAllocated: 1, globalAvailable: 201 });
    m.online(1);
    expect(m.stats()).toMatchObject({ totalAllocated: 1, globalAvailable: 402 }); // never corrected
  });

  it('free of a managed vector on an offline CPU: managed_allocated−−, total_allocated unchanged', async () => {
    const m = await x86Online(engine, 2);
    m.reserveManaged('1');
    expect(m.allocManaged('1')).toEqual({ cpu: 1, vector: 0x20 });
    m.offline(1);
    m.free(1, 0x20, true);
    expect(m.cpu(1)).toMatchObject({ allocated: 0, managedAllocated: 0, managed: 1, available: 200 });
    expect(m.stats()).toMatchObject({ totalAllocated: 1, globalAvailable: 201 });
  });
});
