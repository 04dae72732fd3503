// The safe protocol must lose, misroute, duplicate nothing and run no wrong handler, in every
// interleaving of one or two messages with every guest step, for every bench variant.

import { describe, expect, it } from 'vitest';
import { exhaustive, random } from '../../src/migrate/explore.js';
import { failures, type Tally } from '../../src/migrate/fates.js';
import { opts } from './helpers.js';

const clean = (t: Tally) => ({ misrouted: t.misrouted, lost: t.lost, duplicated: t.duplicated, spurious: t.spurious, stuck: t.stuck });
const ZERO = { misrouted: 0, lost: 0, duplicated: 0, spurious: 0, stuck: 0 };

describe('safe: exhaustive over blocks of 1, 2 and 4 with one and two messages', () => {
  for (const mode of ['affinity', 'unplug'] as const) {
    for (const pvm of [false, true]) {
      for (const count of [1, 2, 4] as const) {
        it(`${mode}, ${pvm ? 'PVM' : 'no PVM'}, block of ${count}: zero failures in every variant`, () => {
          let runs = 0;
          for (const stale of ['free', 'busy'] as const) {
            for (const target of ['other-base', 'same-base'] as const) {
              for (const schedule of ['eager', 'lazy'] as const) {
                for (const fires of [1, 2]) {
                  const r = exhaustive(opts({ protocol: 'safe', mode, pvm, count, stale, target, schedule, fires }));
                  expect(clean(r.tally), `${stale} ${target} ${schedule} ${fires}`).toEqual(ZERO);
                  expect(r.tally.delivered + r.tally.forwarded).toBe(r.tally.fired);
                  runs += r.tally.runs;
                }
              }
            }
          }
          expect(runs).toBeGreaterThan(0);
        });
      }
    }
  }
});

describe('safe: counts by construction', () => {
  it('no PVM: old block → intermediate (old CPU, new base) → new CPU; every place delivers directly', () => {
    // install, 4 writes to (old CPU, new base), 4 writes to (new CPU, new base), sti, cleanup = 11.
    const r = exhaustive(opts({ protocol: 'safe', count: 2 }));
    expect(r.tally.runs).toBe(12 * 2);
    expect(r.tally.delivered).toBe(24);
    expect(r.peakExtra).toEqual({ old: 2 /* the intermediate block */, new: 2 });
  });

  it('PVM: mask, rewrite, unmask; messages fired while masked are sent on unmask to the new place', () => {
    // install, mask, 4 writes, unmask, sti, cleanup = 9 steps, 10 places.
    const r = exhaustive(opts({ protocol: 'safe', count: 2, pvm: true }));
    expect(r.tally.runs).toBe(10 * 2);
    expect(r.tally.delivered).toBe(20);
    expect(r.peakExtra).toEqual({ old: 0, new: 2 });
  });

  it('unplug without PVM: what waited on the old CPU is forwarded, the rest delivered', () => {
    // allocate, install, 4 writes (intermediate), 4 writes (new), forward+free, clear, offline = 13.
    // The 8 places before the final address write leave the message on the old CPU.
    const r = exhaustive(opts({ protocol: 'safe', mode: 'unplug', count: 2 }));
    expect(r.tally.runs).toBe(14 * 2);
    expect(r.tally.forwarded).toBe(8 * 2);
    expect(r.tally.delivered).toBe(6 * 2);
  });
});

describe('safe: larger blocks', () => {
  it.each([8, 16, 32] as const)('block of %i, one message, every interleaving, both modes', (n) => {
    for (const mode of ['affinity', 'unplug'] as const) {
      const r = exhaustive(opts({ protocol: 'safe', count: n, mode, stale: 'busy' }));
      expect(failures(r.tally)).toBe(0);
      expect(r.tally.fired).toBe(r.tally.runs);
    }
  });

  it('block of 32, two messages: 3000 seeded random interleavings per mode and masking', () => {
    for (const mode of ['affinity', 'unplug'] as const) {
      for (const pvm of [false, true]) {
        const r = random(opts({ protocol: 'safe', count: 32, fires: 2, mode, pvm, schedule: 'lazy' }), 3000, 2022);
        expect(r.tally.runs).toBe(3000);
        expect(clean(r.tally)).toEqual(ZERO);
      }
    }
  });

  it('random mode is reproducible from its seed', () => {
    const a = random(opts({ protocol: 'naive', count: 32, fires: 2 }), 200, 7).tally;
    const b = random(opts({ protocol: 'naive', count: 32, fires: 2 }), 200, 7).tally;
    expect(a).toEqual(b);
    expect(a.misrouted).toBeGreaterThan(0);
  });
});
