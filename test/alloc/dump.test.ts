// dump() against irq_matrix_debug_show() of kernel/irq/matrix.c with a one-space indent; every expected
// line is written out by hand from the seq_printf formats quoted below (lists are %*pbl, decimal).

import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../src/alloc/matrix.js';
import { ENGINES, LEGACY_VECTORS, range, x86Online, x86WithLegacy } from './helpers.js';

/*
 * seq_printf formats (ind = 1, so "%*s" prints one space):
 *   "Online bitmaps:   %6u\n"  "Global available: %6u\n"  "Global reserved:  %6u\n"
 *   "Total allocated:  %6u\n"  "System: %u: %*pbl\n"
 *   "%*s| CPU | avl | man | mac | act | vectors\n"
 *   "%*s %4d  %4u  %4u  %4u %4u  %*pbl\n"   (cpu, available, managed, managed_allocated, allocated, alloc_map)
 * one row per online CPU (for_each_online_cpu).
 */
const TABLE_HEADER = ' | CPU | avl | man | mac | act | vectors';

describe.each(ENGINES)('%s engine: dump (irq_matrix_debug_show)', (engine) => {
  it('prints the empty preset matrix: zero counters, system bits 50 and 128, no rows', async () => {
    const m = await createMatrix({ cpus: 2, engine, preset: 'x86' });
    expect(m.dump()).toBe(
      [
        'Online bitmaps:        0', // "%6u" of 0: five spaces, "0"
        'Global available:      0',
        'Global reserved:       0',
        'Total allocated:       0',
        'System: 2: 50,128', // 0x32, 0x80 in decimal
        TABLE_HEADER,
        '',
      ].join('\n'),
    );
  });

  it('prints a constructed two-CPU state field by field', async () => {
    const m = await createMatrix({ cpus: 3, engine, preset: 'x86' });
    m.online(0);
    m.online(1); // CPU 2 stays offline: no row
    m.alloc('0-1'); // CPU 0 0x20
    m.alloc('0-1'); // CPU 1 0x20
    m.alloc('0-1'); // CPU 0 0x21
    m.assign(0, 0x40);
    m.reserveManaged('1'); // CPU 1 managed 0x21
    m.allocManaged('1'); // CPU 1 0x21
    m.reserve();
    // CPU 0: avl 201 − 3 = 198, man 0, mac 0, act 3, vectors 32,33,64
    // CPU 1: avl 201 − 1 − 1 (managed reservation) = 199, man 1, mac 1, act 2, vectors 32,33
    expect(m.dump()).toBe(
      [
        'Online bitmaps:        2',
        'Global available:    397', // 198 + 199
        'Global reserved:       1',
        'Total allocated:       5', // 3 + 2
        'System: 2: 50,128',
        TABLE_HEADER,
        //  ind ' ' + ' ' + '%4d'  '  %4u'   '  %4u'  '  %4u'  ' %4u'  '  ' list
        '     0   198     0     0    3  32-33,64',
        '     1   199     1     1    2  32-33',
        '',
      ].join('\n'),
    );
  });

  it('prints an online CPU without allocations with an empty vector list after two spaces', async () => {
    const m = await x86Online(engine, 3);
    m.offline(1);
    expect(m.dump().split('\n').slice(5)).toEqual([
      TABLE_HEADER,
      '     0   201     0     0    0  ',
      '     2   201     0     0    0  ',
      '',
    ]);
  });

  it('prints the BSP after lapic_assign_system_vectors: 15 legacy vectors, 186 available', async () => {
    const m = await x86WithLegacy(engine, 2);
    expect(m.dump()).toBe(
      [
        'Online bitmaps:        2',
        'Global available:    387', // 186 + 201
        'Global reserved:       0',
        'Total allocated:      15',
        'System: 2: 50,128',
        TABLE_HEADER,
        '     0   186     0     0   15  48-49,51-63', // 0x30, 0x31, 0x33-0x3F
        '     1   201     0     0    0  ',
        '',
      ].join('\n'),
    );
  });

  it('prints system bits as ranges over all matrix bits, inside and outside the allocation range', async () => {
    const m = await createMatrix({ cpus: 1, engine, bits: 256, start: 0x20, end: 0xeb });
    for (const b of [0x02, 0x80, 0xec, 0xef, ...range(0xfb, 0x100)]) m.assignSystem(b);
    expect(m.dump().split('\n')[4]).toBe('System: 9: 2,128,236,239,251-255');
  });

  it('prints legacy vectors turned into system bits (replace) as one range', async () => {
    const m = await x86WithLegacy(engine, 1);
    for (const v of LEGACY_VECTORS) m.assignSystem(v, true);
    expect(m.dump()).toBe(
      [
        'Online bitmaps:        1',
        'Global available:    186', // replace does not give the vectors back to available
        'Global reserved:       0',
        'Total allocated:       0',
        'System: 17: 48-63,128',
        TABLE_HEADER,
        '     0   186     0     0    0  ',
        '',
      ].join('\n'),
    );
  });

  it('prints counters wider than six digits in full (%6u is a minimum width)', async () => {
    const m = await createMatrix({ cpus: 5000, engine, preset: 'x86' });
    for (let c = 0; c < 5000; c++) m.online(c);
    const lines = m.dump().split('\n');
    expect(lines[0]).toBe('Online bitmaps:     5000');
    expect(lines[1]).toBe('Global available: 1005000'); // 5000 × 201, seven digits
    expect(lines[6 + 4999]).toBe('  4999   201     0     0    0  ');
  });
});
