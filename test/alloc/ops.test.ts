// One test per irq_matrix operation (kernel/irq/matrix.c): choices and counter updates, on both engines.
// Kernel quirks live in quirks.test.ts, blocks in blocks.test.ts, argument validation in validation.test.ts.

import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../src/alloc/matrix.js';
import {
  ENGINES, IA32_SYSCALL_VECTOR, LEGACY_VECTORS as LEGACY, PIC_CASCADE_VECTOR, X86_ALLOC_SIZE, X86_AVAILABLE,
  expectRefused, range, smallMatrix, x86Online, x86WithLegacy,
} from './helpers.js';

describe.each(ENGINES)('%s engine: irq_matrix operations', (engine) => {
  describe('online', () => {
    it('initialises available to alloc_size − managed − systembits_inalloc (203 − 0 − 2 = 201)', async () => {
      const m = await createMatrix({ cpus: 2, engine, preset: 'x86' });
      m.online(0);
      expect(m.cpu(0)).toMatchObject({ online: true, initialized: true, available: 201, allocated: 0, managed: 0, managedAllocated: 0 });
      expect(m.stats()).toEqual({
        onlineMaps: 1, // one cpumap online
        globalAvailable: 201, // += CPU 0's available
        globalReserved: 0,
        totalAllocated: 0,
        systembitsInalloc: 2, // 0x32, 0x80
      });
      expect(m.cpu(1)).toMatchObject({ online: false, initialized: false, available: 0 });
    });

    it('subtracts managed bits reserved while the CPU was offline (203 − 2 managed − 2 system = 199)', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      m.reserveManaged('1');
      m.reserveManaged('1');
      expect(m.cpu(1)).toMatchObject({ online: false, managed: 2, available: 0 });
      m.online(1);
      expect(m.cpu(1).available).toBe(X86_ALLOC_SIZE - 2 - 2);
      expect(m.globalAvailable).toBe(201 + 199);
    });

    it('initialises only once: a second online after offline keeps the available count', async () => {
      const m = await x86Online(engine, 1);
      for (let i = 0; i < 3; i++) m.alloc('0');
      m.offline(0);
      expect(m.stats()).toMatchObject({ onlineMaps: 0, globalAvailable: 0, totalAllocated: 3 });
      m.online(0);
      expect(m.cpu(0).available).toBe(201 - 3); // not re-initialised to 201
      expect(m.stats()).toMatchObject({ onlineMaps: 1, globalAvailable: 198, totalAllocated: 3 });
    });

    it('refuses an online CPU (BUG_ON(cm->online)), state unchanged', async () => {
      const m = await x86Online(engine, 2);
      expectRefused(m, () => m.online(1), 'BUG');
    });
  });

  describe('offline', () => {
    it('removes the CPU from global_available and online_maps, keeping its own counters', async () => {
      const m = await x86Online(engine, 2);
      expect(m.alloc('1')).toEqual({ cpu: 1, vector: 0x20 });
      expect(m.globalAvailable).toBe(201 + 200);
      m.offline(1);
      expect(m.stats()).toMatchObject({ onlineMaps: 1, globalAvailable: 201, totalAllocated: 1 });
      expect(m.cpu(1)).toMatchObject({ online: false, initialized: true, available: 200, allocated: 1 });
      expect(m.vectors(1)).toEqual([0x20]);
    });

    it('refuses an offline CPU (global_available would be subtracted twice), state unchanged', async () => {
      const m = await x86Online(engine, 2);
      m.offline(1);
      expectRefused(m, () => m.offline(1), 'BUG');
    });
  });

  describe('assignSystem', () => {
    it('counts only bits inside [alloc_start, alloc_end) in systembits_inalloc', async () => {
      const m = await createMatrix({ cpus: 1, engine, bits: 256, start: 0x20, end: 0xeb });
      m.assignSystem(0x80); // IA32_SYSCALL_VECTOR: inside
      expect(m.systembitsInalloc).toBe(1);
      m.assignSystem(0xec); // LOCAL_TIMER_VECTOR: >= FIRST_SYSTEM_VECTOR, outside
      m.assignSystem(0x02); // NMI: below FIRST_EXTERNAL_VECTOR, outside
      expect(m.systembitsInalloc).toBe(1);
      expect(m.systemVectors()).toEqual([0x02, 0x80, 0xec]);
      m.online(0);
      expect(m.cpu(0).available).toBe(203 - 1);
    });

    it('is a BUG once a CPU is online unless replace is set, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.assignSystem(0x40), 'BUG');
    });

    it('is a BUG with more than one CPU online, even with replace, state unchanged', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      expect(m.alloc('0')).toEqual({ cpu: 0, vector: 0x20 });
      m.online(1);
      expectRefused(m, () => m.assignSystem(0x20, true), 'BUG');
    });

    it('with replace takes the bit from CPU 0: allocated−−, total_allocated−−, available unchanged', async () => {
      const m = await x86WithLegacy(engine, 1);
      expect(m.cpu(0)).toMatchObject({ allocated: 15, available: 186 });
      m.assignSystem(0x30, true); // lapic_update_legacy_vectors() without an IOAPIC, IRQ 0
      expect(m.cpu(0)).toMatchObject({ allocated: 14, available: 186 });
      expect(m.stats()).toMatchObject({ totalAllocated: 14, globalAvailable: 186, systembitsInalloc: 3 });
      expect(m.systemVectors()).toEqual([0x30, 0x32, 0x80]);
      expect(m.vectors(0)).toEqual(LEGACY.filter((v) => v !== 0x30));
    });

    it('with replace of a bit CPU 0 has not allocated is a BUG, state unchanged', async () => {
      const m = await x86WithLegacy(engine, 1);
      expectRefused(m, () => m.assignSystem(0x40, true), 'BUG');
    });

    it('after all 15 legacy vectors become system bits, an AP onlines with 203 − 17 = 186 available', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      for (const v of LEGACY) m.assign(0, v);
      for (const v of LEGACY) m.assignSystem(v, true);
      expect(m.systembitsInalloc).toBe(17);
      expect(m.cpu(0)).toMatchObject({ allocated: 0, available: 186 });
      expect(m.totalAllocated).toBe(0);
      m.online(1);
      expect(m.cpu(1).available).toBe(X86_ALLOC_SIZE - 17);
    });
  });

  describe('assign', () => {
    it('marks the bit: allocated++, total_allocated++, available−−, global_available−−', async () => {
      const m = await x86Online(engine, 1);
      m.assign(0, 0x40);
      expect(m.vectors(0)).toEqual([0x40]);
      expect(m.cpu(0)).toMatchObject({ allocated: 1, available: 200 });
      expect(m.stats()).toMatchObject({ totalAllocated: 1, globalAvailable: 200 });
      expect(m.alloc('0').vector).toBe(0x20); // the search still starts at alloc_start
    });

    it.each([0x1f, 0xeb])('of bit %i outside [0x20, 0xEB) is a WARN, state unchanged', async (bit) => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.assign(0, bit), 'WARN');
    });

    it('of a bit already allocated is a WARN, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      m.assign(0, 0x40);
      expectRefused(m, () => m.assign(0, 0x40), 'WARN');
    });

    it('of a system bit inside the range is refused (0x32 is already outside available), state unchanged', async () => {
      // matrix.c only tests alloc_map: it would count 0x32 a second time against available.
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.assign(0, 0x32), 'WARN');
    });

    it('of a bit reserved for managed interrupts is refused (counted at reservation), state unchanged', async () => {
      const m = await x86Online(engine, 1);
      m.reserveManaged('0'); // 0x20
      expectRefused(m, () => m.assign(0, 0x20), 'WARN');
    });

    it('on an offline CPU is refused (the kernel assigns on the running CPU), state unchanged', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      expectRefused(m, () => m.assign(1, 0x40), 'WARN');
    });
  });

  describe('reserve / removeReserved', () => {
    it('only move global_reserved', async () => {
      const m = await x86Online(engine, 1);
      m.reserve();
      m.reserve();
      expect(m.stats()).toEqual({ onlineMaps: 1, globalAvailable: 201, globalReserved: 2, totalAllocated: 0, systembitsInalloc: 2 });
      expect(m.reserved()).toBe(2);
      m.removeReserved();
      expect(m.stats()).toEqual({ onlineMaps: 1, globalAvailable: 201, globalReserved: 1, totalAllocated: 0, systembitsInalloc: 2 });
    });

    it('removeReserved with nothing reserved is refused (the unsigned counter would wrap), state unchanged', async () => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.removeReserved(), 'WARN');
    });
  });

  describe('reserveManaged', () => {
    it('reserves the lowest free bit on each CPU of the mask; online CPUs lose one available each', async () => {
      const m = await x86Online(engine, 2);
      m.reserveManaged('0-1');
      expect(m.managedVectors(0)).toEqual([0x20]);
      expect(m.managedVectors(1)).toEqual([0x20]);
      expect(m.cpu(0)).toMatchObject({ managed: 1, managedAllocated: 0, allocated: 0, available: 200 });
      expect(m.cpu(1)).toMatchObject({ managed: 1, managedAllocated: 0, allocated: 0, available: 200 });
      expect(m.stats()).toMatchObject({ globalAvailable: 400, totalAllocated: 0 });
      expect(m.alloc('0')).toEqual({ cpu: 0, vector: 0x21 }); // a managed bit is excluded from the search
    });

    it('reaches offline CPUs too, changing available only where the CPU is online', async () => {
      const m = await x86Online(engine, 1, { cpus: 3 });
      m.reserveManaged('0-2');
      expect(m.cpu(0)).toMatchObject({ managed: 1, available: 200 });
      expect(m.cpu(1)).toMatchObject({ managed: 1, available: 0, online: false });
      expect(m.cpu(2)).toMatchObject({ managed: 1, available: 0, online: false });
      expect(m.globalAvailable).toBe(200);
    });

    it('is all or nothing: ENOSPC on one CPU undoes the CPUs already reserved, state unchanged', async () => {
      const m = await smallMatrix(engine, 2, 0x20, 0x22); // two bits per CPU
      m.online(0);
      m.online(1);
      m.alloc('1');
      m.alloc('1'); // CPU 1 is full
      // CPU 0 gets 0x20 first, CPU 1 fails, the rollback removes CPU 0's (only) managed bit again.
      expectRefused(m, () => m.reserveManaged('0-1'), 'ENOSPC');
      expect(m.managedVectors(0)).toEqual([]);
    });

    it('over an empty mask reserves nothing and succeeds (for_each_cpu runs zero times)', async () => {
      const m = await x86Online(engine, 1);
      const before = m.dump();
      m.reserveManaged('');
      expect(m.dump()).toBe(before);
    });
  });

  describe('removeManaged', () => {
    it('clears the first managed bit not allocated: managed−−, available++ while online', async () => {
      const m = await x86Online(engine, 2);
      m.reserveManaged('0-1');
      m.reserveManaged('0-1'); // both CPUs: managed 0x20, 0x21
      expect(m.allocManaged('0')).toEqual({ cpu: 0, vector: 0x20 });
      m.removeManaged('0-1');
      expect(m.managedVectors(0)).toEqual([0x20]); // 0x20 is allocated, so 0x21 goes
      expect(m.managedVectors(1)).toEqual([0x21]); // 0x20 is the first unallocated one
      expect(m.cpu(0)).toMatchObject({ managed: 1, managedAllocated: 1, available: 200 });
      expect(m.cpu(1)).toMatchObject({ managed: 1, managedAllocated: 0, available: 200 });
      expect(m.globalAvailable).toBe(400);
    });

    it('on an offline CPU leaves available and global_available alone', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      m.reserveManaged('1');
      m.removeManaged('1');
      expect(m.cpu(1)).toMatchObject({ managed: 0, available: 0 });
      expect(m.managedVectors(1)).toEqual([]);
      expect(m.globalAvailable).toBe(201);
    });

    it('of a CPU without managed bits is a WARN; the whole mask is refused, state unchanged', async () => {
      const m = await x86Online(engine, 2);
      m.reserveManaged('0');
      expectRefused(m, () => m.removeManaged('0-1'), 'WARN');
    });

    it('when every managed bit of the CPU is allocated is a WARN, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      m.reserveManaged('0');
      m.allocManaged('0');
      expectRefused(m, () => m.removeManaged('0'), 'WARN');
    });
  });

  describe('alloc', () => {
    it('takes the lowest free bit: allocated++, available−−, total_allocated++, global_available−−', async () => {
      const m = await x86Online(engine, 1);
      expect(m.alloc('0')).toEqual({ cpu: 0, vector: 0x20 });
      expect(m.cpu(0)).toMatchObject({ allocated: 1, available: 200 });
      expect(m.stats()).toMatchObject({ totalAllocated: 1, globalAvailable: 200, globalReserved: 0 });
      expect(m.isAllocated(0, 0x20)).toBe(true);
    });

    it('picks the online CPU of the mask with the most available', async () => {
      const m = await x86Online(engine, 3);
      m.alloc('0');
      m.alloc('0');
      m.alloc('1'); // available: CPU 0 199, CPU 1 200, CPU 2 201
      expect(m.alloc('0-1')).toEqual({ cpu: 1, vector: 0x21 });
      expect(m.alloc('0-2')).toEqual({ cpu: 2, vector: 0x20 });
    });

    it('skips an offline CPU of the mask even when it has more available', async () => {
      const m = await x86Online(engine, 2);
      for (let i = 0; i < 5; i++) m.alloc('0'); // CPU 0: 196 available
      m.offline(1); // CPU 1 keeps 201 available
      expect(m.alloc('0-1')).toEqual({ cpu: 0, vector: 0x25 });
    });

    it('with reserved consumes one global reservation', async () => {
      const m = await x86Online(engine, 1);
      m.reserve();
      m.reserve();
      expect(m.alloc('0', true)).toEqual({ cpu: 0, vector: 0x20 });
      expect(m.stats()).toMatchObject({ globalReserved: 1, totalAllocated: 1, globalAvailable: 200 });
    });

    it('with reserved while nothing is reserved is refused (global_reserved would wrap), state unchanged', async () => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.alloc('0', true), 'WARN');
    });

    it.each([['an empty cpulist', ''], ['an empty CPU array', []]])('over %s is EINVAL, state unchanged', async (_, mask) => {
      const m = await x86Online(engine, 2);
      expectRefused(m, () => m.alloc(mask), 'EINVAL');
    });

    it('over a mask without an online CPU is ENOSPC, state unchanged', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      expectRefused(m, () => m.alloc('1'), 'ENOSPC');
    });

    it('on one CPU yields 0x20..0xEA minus 0x32 and 0x80: 19th 0x33, 96th 0x81, 201st 0xEA, then ENOSPC', async () => {
      const m = await x86Online(engine, 1);
      const got = range(0, 201).map(() => m.alloc('0').vector);
      expect(got[18]).toBe(0x33); // 0x20..0x31 are the first 18, 0x32 is the PIC cascade
      expect(got[95]).toBe(0x81); // 18 + 0x33..0x7F (77) = 95, 0x80 is the syscall vector
      expect(got[200]).toBe(0xea); // 95 + 0x81..0xEA (106) = 201, the last below FIRST_SYSTEM_VECTOR
      expect(got).toEqual(range(0x20, 0xeb).filter((v) => v !== PIC_CASCADE_VECTOR && v !== IA32_SYSCALL_VECTOR));
      expect(m.cpu(0)).toMatchObject({ available: 0, allocated: X86_AVAILABLE });
      expectRefused(m, () => m.alloc('0'), 'ENOSPC');
    });
  });

  describe('allocManaged', () => {
    it('takes the first managed bit not yet allocated and leaves available alone', async () => {
      const m = await x86Online(engine, 1);
      m.alloc('0'); // 0x20
      m.reserveManaged('0');
      m.reserveManaged('0'); // managed 0x21, 0x22
      expect(m.cpu(0).available).toBe(198);
      expect(m.allocManaged('0')).toEqual({ cpu: 0, vector: 0x21 });
      expect(m.cpu(0)).toMatchObject({ allocated: 2, managedAllocated: 1, managed: 2, available: 198 });
      expect(m.stats()).toMatchObject({ totalAllocated: 2, globalAvailable: 198 });
      expect(m.allocManaged('0')).toEqual({ cpu: 0, vector: 0x22 });
      expectRefused(m, () => m.allocManaged('0'), 'ENOSPC');
    });

    it('picks the online CPU with the fewest managed_allocated', async () => {
      const m = await x86Online(engine, 3);
      m.reserveManaged('0-2');
      m.reserveManaged('0-2');
      m.allocManaged('0');
      m.allocManaged('2'); // managed_allocated: 1, 0, 1
      expect(m.allocManaged('0-2')).toEqual({ cpu: 1, vector: 0x20 });
    });

    it('over an empty mask is EINVAL, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      m.reserveManaged('0');
      expectRefused(m, () => m.allocManaged(''), 'EINVAL');
    });

    it('over a mask without an online CPU is ENOSPC, state unchanged', async () => {
      const m = await x86Online(engine, 1, { cpus: 2 });
      m.reserveManaged('1');
      expectRefused(m, () => m.allocManaged('1'), 'ENOSPC');
    });
  });

  describe('free', () => {
    it('of a regular vector: allocated−−, available++, total_allocated−−, global_available++', async () => {
      const m = await x86Online(engine, 1);
      m.alloc('0');
      m.alloc('0');
      m.alloc('0'); // 0x20, 0x21, 0x22
      m.free(0, 0x21);
      expect(m.vectors(0)).toEqual([0x20, 0x22]);
      expect(m.cpu(0)).toMatchObject({ allocated: 2, available: 199 });
      expect(m.stats()).toMatchObject({ totalAllocated: 2, globalAvailable: 199 });
      expect(m.alloc('0').vector).toBe(0x21);
    });

    it('of a managed vector: managed_allocated−−, the reservation and available stay', async () => {
      const m = await x86Online(engine, 1);
      m.reserveManaged('0');
      expect(m.allocManaged('0').vector).toBe(0x20);
      m.free(0, 0x20, true);
      expect(m.cpu(0)).toMatchObject({ allocated: 0, managedAllocated: 0, managed: 1, available: 200 });
      expect(m.stats()).toMatchObject({ totalAllocated: 0, globalAvailable: 200 });
      expect(m.managedVectors(0)).toEqual([0x20]);
      expect(m.allocManaged('0').vector).toBe(0x20);
    });

    it('of a bit not allocated is a WARN, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      m.alloc('0');
      expectRefused(m, () => m.free(0, 0x21), 'WARN');
    });

    it.each([0x1f, 0xeb])('of bit %i outside [0x20, 0xEB) is a WARN, state unchanged', async (bit) => {
      const m = await x86Online(engine, 1);
      expectRefused(m, () => m.free(0, bit), 'WARN');
    });

    it('with a managed flag that does not match the managed_map is refused, state unchanged', async () => {
      const m = await x86Online(engine, 1);
      m.alloc('0'); // 0x20, regular
      m.reserveManaged('0');
      m.allocManaged('0'); // 0x21, managed
      expectRefused(m, () => m.free(0, 0x20, true), 'WARN');
      expectRefused(m, () => m.free(0, 0x21, false), 'WARN');
    });
  });

  describe('available', () => {
    it('returns global_available, or global_available − available(cpu) when that CPU goes down', async () => {
      const m = await x86Online(engine, 2);
      for (let i = 0; i < 3; i++) m.alloc('0'); // CPU 0: 198, CPU 1: 201
      expect(m.available()).toBe(399);
      expect(m.available(false, 1)).toBe(399);
      expect(m.available(true, 0)).toBe(399 - 198);
      expect(m.available(true, 1)).toBe(399 - 201);
    });
  });

  describe('available for an offline CPU', () => {
    // The kernel only passes cpudown for the local CPU, which is online while it goes down. For an
    // offline CPU global_available − available(cpu) can be negative: that is caller misuse (EINVAL),
    // never an errno or BUG that the subtraction happens to produce.
    it.each([
      [28, -28 /* collides with ENOSPC */],
      [18, -10 /* no status code */],
    ])('after %i allocs on CPU 0 (difference %i) is EINVAL, state unchanged', async (allocs) => {
      const m = await x86Online(engine, 2);
      for (let i = 0; i < allocs; i++) m.alloc('0');
      m.offline(1); // global_available = 201 − allocs, CPU 1 keeps 201
      expectRefused(m, () => m.available(true, 1), 'EINVAL');
    });
  });

  describe('masks beyond one word', () => {
    it('choose among CPUs 31, 32, 63, 64, 69 in order, lowest CPU on ties', async () => {
      const m = await createMatrix({ cpus: 70, engine, preset: 'x86' });
      const cpus = [31, 32, 63, 64, 69];
      for (const c of cpus) m.online(c);
      const got = range(0, 6).map(() => m.alloc(cpus));
      expect(got).toEqual([
        { cpu: 31, vector: 0x20 },
        { cpu: 32, vector: 0x20 },
        { cpu: 63, vector: 0x20 },
        { cpu: 64, vector: 0x20 },
        { cpu: 69, vector: 0x20 },
        { cpu: 31, vector: 0x21 },
      ]);
      expect(m.alloc('64-69')).toEqual({ cpu: 64, vector: 0x21 }); // 65..68 are offline
      expect(m.globalAvailable).toBe(5 * 201 - 7);
    });
  });
});
