// CI-sized MSI storm on a booted machine (test/fuzz/long/msi-storm.ts; `npm run fuzz -- --long` runs
// ≥ 10⁶ deliveries): doorbells under random masking, unmasking and affinity moves, every interrupt
// counted on the CPUs and on the wire against the PCI 3.0 §6.8 reference model.

import { describe, expect, it } from 'vitest';
import { runMsiStorm, stormPassed, type StormCounts } from './long/msi-storm.js';
import { runs, seedFor } from './params.js';

function judge(c: StormCounts): void {
  expect(c.problems).toEqual([]);
  expect({ lost: c.lost, duplicated: c.duplicated, dropped: c.dropped }).toEqual({ lost: 0, duplicated: 0, dropped: 0 });
  expect(c.delivered).toBe(c.expected);
  expect(c.messages).toBe(c.expected);
  expect(stormPassed(c)).toBe(true);
  // Not vacuous: messages were held pending and released, masks flipped, blocks moved.
  expect(c.pended).toBeGreaterThan(100);
  expect(c.flushed).toBeGreaterThan(100);
  expect(c.moves).toBeGreaterThan(100);
  expect(c.functionMasks).toBeGreaterThan(10);
}

describe('MSI storm on a booted machine', () => {
  it('4 CPUs (xAPIC): 20 000 deliveries under masking, unmasking and moves, none lost or duplicated', () => {
    const seed = seedFor(0x5701);
    const c = runMsiStorm({ deliveries: runs(20_000), seed, cpus: 4 });
    judge(c);
  });

  it('6 CPUs in x2APIC mode: 10 000 deliveries', () => {
    const seed = seedFor(0x5702);
    judge(runMsiStorm({ deliveries: runs(10_000), seed, cpus: 6, apic: 'x2apic', batch: 500 }));
  });
});
