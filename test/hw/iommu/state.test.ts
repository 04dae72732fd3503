// Snapshots of the remapping unit (format 'irqslice.vtd/1'): a restored unit behaves exactly as the saved
// one, stale cache entries included; impossible states are refused with the path of the field.
import { describe, expect, it } from 'vitest';
import { encodeIrte, RemappingStateError, type RemappingUnitState } from '../../../src/hw/iommu/index.js';
import { FECTL, FSTS, GSTS, IQH, makeUnit, wait } from './helpers.js';

function busyUnit() {
  const b = makeUnit({ faultRecords: 2 });
  b.putIrte(8, encodeIrte({ vector: 0x40, destination: 0x100 }));
  b.enableAll();
  b.msi(8); // cached
  b.putIrte(8, encodeIrte({ vector: 0x50, destination: 0x100 })); // stale now
  b.msi(9); // a recorded fault
  b.submit([wait({ iflag: true })]);
  return b;
}

describe('saveState / loadState', () => {
  it('round trip: registers, fault log, queue, the stale cache entry and the counters', () => {
    const a = busyUnit();
    const s = a.unit.saveState();
    expect(s.format).toBe('irqslice.vtd/1');
    expect(s.cache).toEqual([{ index: 8, low: '0x10000400001', high: '0x0' }]);
    const json = JSON.parse(JSON.stringify(s)) as RemappingUnitState;
    const b = makeUnit({ faultRecords: 2 });
    b.ram.set(a.ram);
    b.unit.loadState(json);
    expect(b.unit.saveState()).toEqual(s);
    for (const r of [GSTS, FSTS, FECTL, IQH, 0x220, 0x22c, 0x9c, 0xa0, 0xb8]) expect(b.unit.read32(r)).toBe(a.unit.read32(r));
    b.msi(8);
    expect(b.unit.out.data & 0xff).toBe(0x40); // still the stale entry
    expect(b.unit.counters().cacheHits).toBe(1);
  });

  const cases: [string, (s: Record<string, unknown>) => void, string][] = [
    ['another format', (s) => (s.format = 'irqslice.vtd/0'), 'format'],
    ['another configuration', (s) => ((s.config as Record<string, unknown>).faultRecords = 8), 'config.faultRecords'],
    ['an unknown field', (s) => (s.extra = 1), 'extra'],
    ['a missing field', (s) => delete s.counters, 'counters'],
    ['GSTS bits no command sets', (s) => (s.gsts = 1), 'gsts'],
    ['IRTA reserved bits', (s) => (s.irta = '0x40017'), 'irta'],
    ['a table size that is no 2^(S+1)', (s) => ((s.table as Record<string, unknown>).entries = 100), 'table.entries'],
    ['an unaligned table base', (s) => ((s.table as Record<string, unknown>).base = '0x40010'), 'table.base'],
    ['a queue head outside the ring', (s) => ((s.queue as Record<string, unknown>).head = 256), 'queue.head'],
    ['a fault record index beyond 16 bits', (s) => (((s.faults as Record<string, unknown>).records as Record<string, unknown>[])[0]!.index = 0x10000), 'faults.records[0].index'],
    ['FRI beyond the records', (s) => ((s.faults as Record<string, unknown>).fri = 2), 'faults.fri'],
    ['a cached entry that is not present', (s) => ((s.cache as Record<string, unknown>[])[0]!.low = '0x10000400000'), 'cache[0]'],
    ['a cached index beyond the table', (s) => ((s.cache as Record<string, unknown>[])[0]!.index = 256), 'cache[0].index'],
    ['a counter that is negative', (s) => ((s.counters as Record<string, unknown>).translated = -1), 'counters.translated'],
    ['a 64-bit register that is not hex', (s) => (s.rtaddr = 12), 'rtaddr'],
  ];
  for (const [name, mutate, field] of cases) {
    it(`refuses ${name} (field ${field}) and leaves the unit as it was`, () => {
      const a = busyUnit();
      const s = JSON.parse(JSON.stringify(a.unit.saveState())) as Record<string, unknown>;
      mutate(s);
      const b = makeUnit({ faultRecords: 2 });
      const before = b.unit.saveState();
      let thrown: unknown;
      try {
        b.unit.loadState(s);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(RemappingStateError);
      expect((thrown as RemappingStateError).field).toBe(field);
      expect(b.unit.saveState()).toEqual(before);
    });
  }
  it('refuses non-objects', () => {
    const { unit } = makeUnit();
    for (const v of [null, 1, 'x', []]) expect(() => unit.loadState(v)).toThrow(RemappingStateError);
  });
});
