// setAffinity for a whole block (firmware/affinity.ts): placement rules, refusals that leave the
// kernel's state untouched, and the steps each protocol emits.

import { describe, expect, it } from 'vitest';
import { AffinityError, planBlockMove, planSetAffinity, setAffinity } from '../../firmware/affinity.js';
import { MatrixError } from '../../src/alloc/errors.js';
import { MigrationBench, NEW_CPU, OLD_CPU } from '../../src/migrate/bench.js';
import { opts } from './helpers.js';

function finish(b: MigrationBench): string[] {
  while (b.step() !== null);
  return b.trace;
}

function fill(b: MigrationBench, cpu: number): void {
  for (;;) {
    try {
      b.matrix.alloc([cpu]);
    } catch (e) {
      if (e instanceof MatrixError && e.code === 'ENOSPC') return;
      throw e;
    }
  }
}

describe('placement', () => {
  it('linux with the old base free on the new CPU is a direct update: no marker, no IRR check', () => {
    const trace = finish(new MigrationBench(opts({ protocol: 'linux', count: 4, target: 'same-base' })));
    expect(trace.some((s) => s.includes('VECTOR_RETRIGGERED') || s.includes('check IRR'))).toBe(false);
    expect(trace.filter((s) => s.includes('write address'))).toHaveLength(1);
  });

  it('safe without PVM keeps the base when the new CPU has it free: one address write, no intermediate', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4, target: 'same-base' }));
    finish(b);
    expect(b.binding).toMatchObject({ cpu: NEW_CPU, base: 0x20 });
    expect(b.trace.filter((s) => s.includes('write address'))).toHaveLength(1);
  });

  it('safe without PVM otherwise hops through a base free on both CPUs: 0x24 for a block of 4', () => {
    // CPU 2 has 0x20..0x23 taken (nbB): its lowest free aligned run of 4 is 0x24, free on CPU 1 too.
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4 }));
    expect(b.trace).toEqual([]);
    finish(b);
    expect(b.trace[0]).toBe('CPU 1: install handlers at CPU 2 0x24 and CPU 1 0x24');
    expect(b.binding.base).toBe(0x24);
  });

  it('safe without PVM skips a base another driver holds on the old CPU: 0x28 when nbA has 0x24', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4, stale: 'busy' }));
    finish(b);
    expect(b.binding.base).toBe(0x28);
  });
});

describe('refusals', () => {
  it('a second move before the first one is cleaned up is EBUSY (Linux: move_in_progress)', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 2 }));
    while (!b.step()!.includes('sti'));
    expect(() => planBlockMove(b.ctx, b.binding, [OLD_CPU], 'safe')).toThrow(expect.objectContaining({ code: 'EBUSY' }));
  });

  it.each(['naive', 'linux', 'safe'] as const)('%s: no room on the target is ENOSPC and changes nothing', (protocol) => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4 }));
    finish(b); // the block now lives on CPU 2; fill CPU 1 completely
    fill(b, OLD_CPU);
    const dump = b.matrix.dump();
    const binding = { ...b.binding };
    const tables = b.irq.vectorIrq.map((t) => [...t]);
    let err: unknown;
    try {
      planBlockMove(b.ctx, b.binding, [OLD_CPU], protocol);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AffinityError);
    expect((err as AffinityError).code).toBe('ENOSPC');
    expect(b.matrix.dump()).toBe(dump);
    expect(b.binding).toEqual(binding);
    expect(b.irq.vectorIrq.map((t) => [...t])).toEqual(tables);
  });

  it('a mask naming only the current CPU, or no online CPU, is EINVAL', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 2 }));
    finish(b);
    expect(() => planBlockMove(b.ctx, b.binding, [NEW_CPU], 'safe')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => planBlockMove(b.ctx, b.binding, [], 'naive')).toThrow(AffinityError);
  });
});

describe('setAffinity as guest code', () => {
  it('a mask that still contains the block\'s CPU moves nothing (Linux: assign_vector_locked)', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 2 }));
    finish(b);
    const dump = b.matrix.dump();
    expect(planSetAffinity(b.ctx, b.binding, [OLD_CPU, NEW_CPU], 'safe').steps).toEqual([]);
    expect(b.matrix.dump()).toBe(dump);
  });

  it('moves the block back from CPU 2 to CPU 1 when run on CPU 2, and frees CPU 2\'s vectors', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 2 }));
    finish(b);
    const from = b.binding.base;
    const g = setAffinity(b.ctx, b.cpus[NEW_CPU]!, b.binding, [OLD_CPU], 'safe');
    const r = g.next();
    expect(r.done).toBe(true); // nothing pending: the cleanup never had to wait
    expect(b.binding).toMatchObject({ cpu: OLD_CPU, retired: null });
    expect(b.matrix.isAllocated(NEW_CPU, from)).toBe(false);
    expect(b.cpus[NEW_CPU]!.interruptsEnabled).toBe(true);
  });

  it('refuses to run a step on another CPU than the block\'s', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 2 }));
    finish(b);
    const g = setAffinity(b.ctx, b.cpus[0]!, b.binding, [OLD_CPU], 'naive');
    expect(() => g.next()).toThrow(/must run on CPU 2/);
  });
});
