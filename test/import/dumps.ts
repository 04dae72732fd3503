// The real VECTOR dumps of test/data (provenance in test/data/README.md), and the numbers of a dump
// without the lines they were printed on.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { VectorDump } from '../../src/import/vector-dump.js';

const data = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../data');
export const DUMP_61 = readFileSync(path.join(data, 'vector-6.1-qemu-4cpu.txt'), 'utf8');
export const DUMP_8CPU = readFileSync(path.join(data, 'vector-dump-8cpu-vm.txt'), 'utf8');

export function numbers(d: VectorDump) {
  return {
    onlineMaps: d.onlineMaps,
    globalAvailable: d.globalAvailable,
    globalReserved: d.globalReserved,
    totalAllocated: d.totalAllocated,
    system: d.system,
    end: d.end,
    rows: d.rows.map(({ line: _line, ...r }) => r),
  };
}
