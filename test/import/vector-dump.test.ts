// The debugfs VECTOR reader against two real dumps (test/data/README.md) and against the format of
// irq_domain_debug_show_one + irq_matrix_debug_show: what each line may hold, and the line number
// every malformed dump is reported with.

import { describe, expect, it } from 'vitest';
import { VectorDumpError } from '../../src/import/errors.js';
import { parseVectorDump } from '../../src/import/vector-dump.js';
import { rebuildMatrix } from '../../src/import/rebuild.js';
import { DUMP_61, DUMP_8CPU, numbers } from './dumps.js';

function malformed(text: string): VectorDumpError {
  try {
    parseVectorDump(text);
  } catch (e) {
    if (e instanceof VectorDumpError) return e;
    throw e;
  }
  throw new Error('parsed without an error');
}

describe('the real 6.1 dump (QEMU, 4 CPUs, one-space indented domain file)', () => {
  const d = parseVectorDump(DUMP_61);
  it('reads the domain header, the five global lines and one row per online CPU', () => {
    expect(d.domain).toBe('VECTOR');
    expect([d.onlineMaps, d.globalAvailable, d.globalReserved, d.totalAllocated]).toEqual([4, 784, 14, 20]);
    // System: 39: 0-19,29,32,50,128,236,240-242,244,246-255
    expect(d.system.length).toBe(39);
    expect(d.system.filter((b) => b >= 0x20 && b < 0xec)).toEqual([0x20, 0x32, 0x80]);
    expect(d.rows.map((r) => [r.cpu, r.available, r.managed, r.managedAllocated, r.allocated])).toEqual([
      [0, 196, 1, 1, 5], [1, 196, 1, 1, 5], [2, 196, 1, 1, 5], [3, 196, 1, 1, 5],
    ]);
    expect(d.rows[0]!.vectors).toEqual([33, 34, 35, 36, 48]);
  });
  it('derives the 6.1 range [0x20, 0xEC): 196 + (5 - 1) + 1 = 201 = 204 - 3 system bits (0x20, 0x32, 0x80)', () => {
    expect(d.end).toBe(0xec);
    expect(rebuildMatrix(d).layout).toBe('x86-6.1');
  });
});

describe('the real 8-CPU VM dump (unindented matrix block)', () => {
  const d = parseVectorDump(DUMP_8CPU);
  it('derives [0x20, 0xEC): 197 + 4 = 198 + 3 = 201, the layout of kernels before 6.6', () => {
    expect(d.end).toBe(0xec);
    expect(d.rows.map((r) => r.available)).toEqual([197, 197, 197, 197, 198, 198, 198, 198]);
    expect(rebuildMatrix(d).layout).toBe('x86-6.1');
  });
});

describe('round trip: the rebuilt matrix prints the input numbers', () => {
  for (const [name, text] of [['6.1 QEMU', DUMP_61], ['8-CPU VM', DUMP_8CPU]] as const) {
    it(name, () => {
      const d = parseVectorDump(text);
      const r = rebuildMatrix(d);
      expect(numbers(parseVectorDump(r.matrix.dump()))).toEqual(numbers(d));
      for (const row of d.rows) {
        const s = r.matrix.cpu(row.cpu);
        expect([s.available, s.managed, s.managedAllocated, s.allocated]).toEqual([row.available, row.managed, row.managedAllocated, row.allocated]);
        expect(r.matrix.vectors(row.cpu)).toEqual(row.vectors);
      }
    });
  }
  it('the 6.1 dump: each CPU managed allocation is assumed at its lowest vector (the dump does not say which)', () => {
    const r = rebuildMatrix(parseVectorDump(DUMP_61));
    expect(r.assumed).toEqual([0, 1, 2, 3].map((cpu) => ({ cpu, allocated: [33], reserved: [] })));
    expect(r.matrix.managedVectors(0)).toEqual([33]);
  });
});

describe('indentation, nesting and newer headers', () => {
  it('reads the matrix nested under a parent domain (ind + 4), as DMAR-MSI shows VECTOR', () => {
    const nested = ['name:   DMAR-MSI', ' size:   0', ' mapped: 1', ' flags:  0x00000013', ' parent: VECTOR',
      ...DUMP_8CPU.trimEnd().split('\n').map((l) => `    ${l}`)].join('\n');
    const d = parseVectorDump(nested);
    expect(d.domain).toBe('VECTOR');
    expect(numbers(d)).toEqual(numbers(parseVectorDump(DUMP_8CPU)));
  });
  it('skips the flag names newer kernels print under flags:', () => {
    const lines = DUMP_8CPU.split('\n');
    lines.splice(4, 0, '            IRQ_DOMAIN_FLAG_HIERARCHY', '            IRQ_DOMAIN_NAME_ALLOCATED');
    expect(parseVectorDump(lines.join('\n')).rows.length).toBe(8);
  });
  it('takes CRLF line ends and a row with no vectors (%*pbl of an empty map)', () => {
    const text = 'Online bitmaps:        1\r\nGlobal available:    201\r\nGlobal reserved:       0\r\nTotal allocated:       0\r\nSystem: 2: 50,128\r\n | CPU | avl | man | mac | act | vectors\r\n     0   201     0     0    0  \r\n';
    const d = parseVectorDump(text);
    expect(d.end).toBe(0xeb);
    expect(d.rows[0]!.vectors).toEqual([]);
  });
  it('derives the 6.10+ end 0xEB when 0xEB itself is a system vector (the smallest end that fits)', () => {
    const text = 'Online bitmaps: 1\nGlobal available: 201\nGlobal reserved: 0\nTotal allocated: 0\nSystem: 3: 50,128,235\n| CPU | avl | man | mac | act | vectors\n 0 201 0 0 0\n';
    expect(parseVectorDump(text).end).toBe(0xeb);
  });
});

describe('malformed dumps name their line', () => {
  const base = DUMP_61.split('\n');
  const edit = (i: number, line: string) => base.map((l, k) => (k === i ? line : l)).join('\n');
  it.each([
    ['an unknown line', edit(5, ' Global availble:    784'), 6, /unrecognised line/],
    ['Global available off the rows', edit(4, ' Online bitmaps:        5'), 5, /Online bitmaps says 5 but the table has 4/],
    ['avl sum', edit(5, ' Global available:    785'), 6, /add up to 784/],
    ['System count', edit(8, ' System: 38: 0-19,29,32,50,128,236,240-242,244,246-255'), 9, /says 38 vectors but lists 39/],
    ['System list', edit(8, ' System: 39: 0-19,x'), 9, /not a bit list/],
    ['act against the list', edit(10, '     0   196     1     1    4  33-36,48'), 11, /act is 4 but the row lists 5/],
    ['mac above man', edit(11, '     1   196     1     2    5  33-37'), 12, /mac 2 exceeds man 1/],
    ['CPUs that disagree on the range', edit(12, '     2   197     1     1    5  33-37'), 13, /implies the range \[0x20, 0xee\) but CPU 0 \(line 11\) implies \[0x20, 0xec\)/],
    ['a vector on a system bit', edit(12, '     2   196     1     1    5  33-36,50'), 13, /vector 50 is also a system vector/],
    ['CPUs out of order', edit(12, '     1   196     1     1    5  33-37'), 13, /CPU 1 after CPU 1/],
    ['a row before the header', edit(9, '     0   196     1     1    5  33-36,48'), 10, /before the "\| CPU/],
  ])('%s', (_what, text, line, message) => {
    const e = malformed(text);
    expect(e.line).toBe(line);
    expect(e.reason).toMatch(message);
  });
  it('a file with no matrix (another domain) fails on its last line', () => {
    const e = malformed('name:   IO-APIC-0\n size:   24\n mapped: 15\n flags:  0x00000003\n');
    expect(e.line).toBe(4);
    expect(e.reason).toMatch(/no "Online bitmaps" line/);
  });
  it('a table without the mac column (older kernels) is refused with the reason', () => {
    const e = malformed('Online bitmaps: 1\nGlobal available: 201\nGlobal reserved: 0\nTotal allocated: 0\nSystem: 2: 50,128\n| CPU | avl | man | act | vectors\n');
    expect([e.line, e.reason]).toEqual([6, expect.stringMatching(/no mac column/)]);
  });
  it('implausible totals are refused, not looped over', () => {
    expect([malformed(edit(6, ' Global reserved:  4000000000')).line]).toEqual([7]);
    expect(malformed(edit(7, ' Total allocated:  4000000000')).reason).toMatch(/more than the offline CPUs up to 8191 could/);
  });
  it('Total allocated below the rows is malformed; above them is kept on hidden offline CPUs', () => {
    expect(malformed(edit(7, ' Total allocated:      19')).line).toBe(8);
    const d = parseVectorDump(edit(7, ' Total allocated:      23'));
    const r = rebuildMatrix(d);
    expect(r.hiddenCpus).toEqual([4]);
    expect(numbers(parseVectorDump(r.matrix.dump()))).toEqual(numbers(d));
  });
});
