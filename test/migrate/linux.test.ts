// Linux's msi_set_affinity dance (new vector with the old destination, then the new destination,
// then the local IRR check and retrigger), adapted to a block and unadapted. Counts derived from
// the step list: install, mark, 4 writes (old CPU, new base), 4 writes (new CPU), IRR check,
// retrigger, then sti and cleanup (affinity) = 14 steps, 15 places to fire.

import { describe, expect, it } from 'vitest';
import { MigrationBench, OLD_CPU } from '../../src/migrate/bench.js';
import { exhaustive } from '../../src/migrate/explore.js';
import { fateOf } from '../../src/migrate/fates.js';
import { opts, WRITE_MSG_64 } from './helpers.js';

const AFFINITY_STEPS = 2 + 2 * WRITE_MSG_64 + 2 + 2;
/** Unplug: allocate, install, mark, 8 writes, check, retrigger, free in the matrix, fixup_irqs, offline. */
const UNPLUG_STEPS = 3 + 2 * WRITE_MSG_64 + 2 + 3;

describe('linux: the single-vector dance applied to every vector of the block', () => {
  it.each([1, 2, 4] as const)('block of %i: the two intermediate places are retriggered, nothing is lost', (n) => {
    const r = exhaustive(opts({ protocol: 'linux', count: n }));
    expect(r.tally.runs).toBe((AFFINITY_STEPS + 1) * n);
    // After the first data write and after the second Message Control write the message lands on
    // (old CPU, new base + i): the IRR check sees it and retriggers it on the new CPU.
    expect(r.tally.forwarded).toBe(2 * n);
    // ...and the old CPU later takes the stale request: the VECTOR_RETRIGGERED marker swallows it.
    expect(r.tally.spurious).toBe(2 * n);
    expect(r.tally.delivered).toBe((AFFINITY_STEPS + 1 - 2) * n);
    expect(r.tally.misrouted + r.tally.lost + r.tally.duplicated).toBe(0);
  });

  it('another driver on the intermediate vectors gets the spurious call instead of the marker', () => {
    const r = exhaustive(opts({ protocol: 'linux', count: 2, stale: 'busy' }));
    expect(r.tally.forwarded).toBe(2 * 2);
    expect(r.tally.spurious).toBe(2 * 2);
    expect(r.example?.some((s) => s.includes('→ nbA#'))).toBe(true);
  });

  it('unplug: fixup_irqs forwards what waited on the old vectors; nothing is lost', () => {
    // 7 places before the first data write leave the message on (CPU 1, old base + i): fixup_irqs
    // retriggers it; 2 intermediate places are retriggered by the dance; 8 places hit the new block.
    const r = exhaustive(opts({ protocol: 'linux', mode: 'unplug', count: 2 }));
    expect(r.tally.runs).toBe((UNPLUG_STEPS + 1) * 2);
    expect(r.tally.forwarded).toBe((7 + 2) * 2);
    expect(r.tally.delivered).toBe(8 * 2);
    expect(r.tally.lost + r.tally.misrouted + r.tally.spurious).toBe(0);
  });

  it('two messages, both schedules: never lost, never misrouted', () => {
    for (const schedule of ['eager', 'lazy'] as const) {
      const r = exhaustive(opts({ protocol: 'linux', count: 2, fires: 2, schedule }));
      expect(r.tally.lost + r.tally.misrouted + r.tally.duplicated).toBe(0);
      expect(r.tally.spurious).toBeGreaterThan(0);
    }
  });
});

describe('linux-single: the dance unadapted (only message 0 marked and IRR-checked)', () => {
  it('block of 4: messages 1..3 in the intermediate places hit an unused vector ("No irq handler")', () => {
    const r = exhaustive(opts({ protocol: 'linux-single', count: 4 }));
    expect(r.tally.forwarded).toBe(2); // message 0 only
    expect(r.tally.misrouted).toBe(2 * 3);
  });

  it('message 1 fired on the intermediate (old CPU, new base + 1) runs no handler at all', () => {
    const b = new MigrationBench(opts({ protocol: 'linux-single', count: 4 }));
    while (!b.step()!.includes('write data')) { /* up to the first data write: (old CPU, new base) */ }
    const f = b.fire(1);
    while (b.step() !== null) { /* to the end */ }
    // Landed on CPU 1 at new base + 1: not marked, not IRR-checked, so common_interrupt finds no irq.
    expect(f.services).toEqual([{ own: false, reraised: false, cpu: OLD_CPU, vector: b.binding.base + 1, owner: null }]);
    expect(fateOf(f)).toBe('misrouted');
  });

  it('block of 4, unplug: the stranded requests die with the CPU', () => {
    const r = exhaustive(opts({ protocol: 'linux-single', mode: 'unplug', count: 4 }));
    expect(r.tally.lost).toBe(2 * 3);
    expect(r.tally.forwarded).toBe(9 * 4 - 2 * 3);
  });

  it('block of 1 is exactly the linux protocol', () => {
    const a = exhaustive(opts({ protocol: 'linux-single' })).tally;
    const b = exhaustive(opts({ protocol: 'linux' })).tally;
    expect(a).toEqual(b);
  });
});

describe('maskable MSI: Linux masks only the moving irq around a direct update', () => {
  it('linux-single with PVM, block of 4: messages 1..3 are torn while message 0 waits masked', () => {
    // install, mask message 0, Message Control, address, upper, data, unmask, sti, cleanup = 9
    // steps, 10 places × 4 messages. After the address and after the upper-address write the
    // registers are torn: messages 1..3 land on (CPU 2, old base + i), message 0 is held pending.
    const r = exhaustive(opts({ protocol: 'linux-single', count: 4, pvm: true }));
    expect(r.tally.runs).toBe(10 * 4);
    expect(r.tally.misrouted).toBe(2 * 3);
    expect(r.tally.delivered).toBe(10 * 4 - 2 * 3);
  });

  it('linux adapted to the block masks every message: nothing is torn', () => {
    const r = exhaustive(opts({ protocol: 'linux', count: 4, pvm: true, fires: 2 }));
    expect(r.tally.misrouted + r.tally.lost + r.tally.spurious + r.tally.duplicated).toBe(0);
  });
});
