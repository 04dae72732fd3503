// The naive protocol (write the address, then the data, as one __pci_write_msi_msg) under every
// single-message interleaving. Expected counts are derived from the step list, not from output:
// a message fired while the address names the new CPU and the data still holds the old base lands
// on (new CPU, old base + i), which belongs to another driver on the bench.

import { describe, expect, it } from 'vitest';
import { exhaustive } from '../../src/migrate/explore.js';
import { opts, WRITE_MSG_32, WRITE_MSG_64 } from './helpers.js';

describe('naive: address then data', () => {
  it('block of 1, 32-bit address: the one message fired between the address and the data write is misrouted', () => {
    // Steps: install handlers, then Message Control, address, data, then sti, cleanup: 1 + 3 + 2 = 6,
    // so 7 places to fire. Only "after the address write" sees (new CPU, old data).
    const r = exhaustive(opts({ protocol: 'naive', is64: false }));
    expect(r.tally.runs).toBe(1 + WRITE_MSG_32 + 2 + 1);
    expect(r.tally.misrouted).toBe(1);
    expect(r.tally.delivered).toBe(6);
    expect(r.tally.lost).toBe(0);
    expect(r.tally.spurious).toBe(1); // the other driver's handler ran for it
    const torn = [...r.byPosition].filter(([, row]) => row.misrouted > 0).map(([after]) => after);
    expect(torn).toEqual(['3. CPU 1: write address (APIC 2, CPU 2)']);
  });

  it('block of 1, 64-bit address: both gaps around the upper-address write are torn', () => {
    // 1 + 4 + 2 = 7 steps, 8 places; torn after the address write and after the upper-address write.
    const r = exhaustive(opts({ protocol: 'naive' }));
    expect(r.tally.runs).toBe(1 + WRITE_MSG_64 + 2 + 1);
    expect(r.tally.misrouted).toBe(2);
    expect(r.tally.delivered).toBe(6);
  });

  it.each([2, 4] as const)('block of %i: each message number is torn in the same two places', (n) => {
    const r = exhaustive(opts({ protocol: 'naive', count: n }));
    expect(r.tally.runs).toBe(8 * n); // 8 places × n message numbers
    expect(r.tally.misrouted).toBe(2 * n);
    expect(r.tally.delivered).toBe(6 * n);
    expect(r.tally.spurious).toBe(2 * n);
    expect(r.tally.duplicated).toBe(0);
  });

  it('unplug: messages pending on the dying CPU are lost, torn ones misrouted', () => {
    // Steps: allocate, install, Message Control, address, upper, data, free old, clear table, offline
    // = 9, 10 places. Before the address write (4 places) the message waits in CPU 1's IRR, and
    // naive never forwards it; 2 places are torn; 4 places reach the new block.
    const r = exhaustive(opts({ protocol: 'naive', mode: 'unplug', count: 2 }));
    expect(r.tally.runs).toBe(10 * 2);
    expect(r.tally.lost).toBe(4 * 2);
    expect(r.tally.misrouted).toBe(2 * 2);
    expect(r.tally.delivered).toBe(4 * 2);
  });

  it('a new CPU with the old base free makes the address write the only change: nothing is torn', () => {
    const r = exhaustive(opts({ protocol: 'naive', count: 4, target: 'same-base', fires: 2 }));
    expect(r.tally.misrouted + r.tally.lost + r.tally.spurious + r.tally.duplicated).toBe(0);
    expect(r.tally.delivered).toBe(r.tally.fired);
  });

  it('two messages: every run fires both, and only the torn windows misroute', () => {
    const r = exhaustive(opts({ protocol: 'naive', count: 2, fires: 2 }));
    expect(r.tally.fired).toBe(2 * r.tally.runs);
    expect(r.tally.misrouted).toBeGreaterThan(0);
    expect(r.tally.lost).toBe(0); // affinity mode: the old CPU handles what landed before the move
    expect(r.tally.delivered + r.tally.misrouted).toBe(r.tally.fired);
  });
});
