// The 'remap' protocol: moving a multi-MSI device behind a VT-d unit rewrites one IRTE per message as
// Linux's modify_irte does (low qword, high qword, index-selective IEC + wait), while the device's
// address (remappable handle) and data (sub-handle 0) never change. Expected behaviour from the VT-d
// specification (§5.1.2.2 remappable MSI, §9.10 IRTE, §6.5.2.7 IEC) and Linux 6.1 intel_ir_set_affinity.

import { describe, expect, it } from 'vitest';
import { AffinityError, planBlockMove } from '../../firmware/affinity.js';
import { exhaustive } from '../../src/migrate/explore.js';
import { failures } from '../../src/migrate/fates.js';
import { MigrationBench, NEW_CPU, OLD_CPU } from '../../src/migrate/bench.js';
import { opts } from './helpers.js';
import type { MsiVectors } from '../../src/hw/pci/msi-capability.js';

function stepUntil(b: MigrationBench, label: (l: string) => boolean): void {
  for (let l = b.step(); l !== null; l = b.step()) if (label(l)) return;
  throw new Error('step not found');
}

/** The trace line of the last device message: where it landed. */
const landed = (b: MigrationBench) => b.trace.filter((l) => l.startsWith('device:')).at(-1);

describe('remap bench layout', () => {
  it('programs the device with the remappable handle and data 0, one IRTE per message at the old vectors', () => {
    const b = new MigrationBench(opts({ protocol: 'remap', count: 4 }));
    const r = b.binding.remap!;
    // The first aligned block of 4 in an empty table is index 0: address 0xFEE00000 | 0 << 5 | SHV | IF.
    expect(r.index).toBe(0);
    expect(b.endpoint.msi!.address()).toBe(0xfee0_0018n);
    expect(b.endpoint.msi!.data()).toBe(0);
    expect(r.places).toEqual([0, 1, 2, 3].map((i) => ({ cpu: OLD_CPU, vector: 0x20 + i })));
    // The requester id of 00:03.0 (bus 0, device 3, function 0) is validated by every IRTE.
    expect(r.sid).toBe(0x18);
    b.fire(3);
    expect(landed(b)).toBe('device: message 3 → CPU 1 vector 0x23');
  });

  it('the other protocols refuse a remapped binding and remap refuses a plain one', () => {
    const plain = new MigrationBench(opts({ protocol: 'safe', count: 4 }));
    const remapped = new MigrationBench(opts({ protocol: 'remap', count: 4 }));
    expect(() => planBlockMove(plain.ctx, plain.binding, [NEW_CPU], 'remap')).toThrow(AffinityError);
    expect(() => planBlockMove(remapped.ctx, remapped.binding, [NEW_CPU], 'linux')).toThrow(/only the remap protocol/);
  });
});

describe('the windows of modify_irte', () => {
  it('after the low store an uncached entry already routes to the new vector on the new CPU', () => {
    const b = new MigrationBench(opts({ protocol: 'remap', count: 4 }));
    stepUntil(b, (l) => l.includes('IRTE 0: store the low qword'));
    b.fire(0);
    // The new vector for message 0 is the lowest free one on CPU 2: 0x20..0x23 belong to nbB there.
    expect(landed(b)).toBe('device: message 0 → CPU 2 vector 0x24');
  });

  it('a cached entry keeps routing to the old vector until the invalidation, then the new one', () => {
    const b = new MigrationBench(opts({ protocol: 'remap', count: 4 }));
    b.fire(0); // the unit caches IRTE 0 on first use
    stepUntil(b, (l) => l.includes('IRTE 0: store the high qword'));
    b.fire(0);
    expect(landed(b)).toBe('device: message 0 → CPU 1 vector 0x20');
    stepUntil(b, (l) => l.includes('IRTE 0: invalidate'));
    b.fire(0);
    expect(landed(b)).toBe('device: message 0 → CPU 2 vector 0x24');
    for (let l = b.step(); l !== null; l = b.step());
    // Both requests on the old vector ran message 0's handler on CPU 1 before the cleanup freed it.
    expect(b.fires.map((f) => f.services.map((s) => [s.cpu, s.vector, s.own]))).toEqual([[[1, 0x20, true]], [[1, 0x20, true]], [[2, 0x24, true]]]);
    expect(b.matrix.isAllocated(OLD_CPU, 0x20)).toBe(false);
  });
});

describe.each([1, 2, 4, 8])('remap, every interleaving, block of %i', (count) => {
  for (const mode of ['affinity', 'unplug'] as const) {
    it(`${mode}: no message misrouted, lost or duplicated; one invalidation per message moved; no remapping fault`, () => {
      const r = exhaustive({ ...opts({ protocol: 'remap', count: count as MsiVectors, mode, stale: 'busy' }), fires: count <= 2 ? 2 : 1 });
      expect(failures(r.tally)).toBe(0);
      expect(r.tally.fired).toBeGreaterThan(0);
      expect(r.remap!.invalidations).toBe(count * r.remap!.runs);
      expect(r.remap!.faults).toBe(0);
      // Moving affinity leaves the old vectors in place until cleanup: nothing needs a software re-raise.
      if (mode === 'affinity') expect(r.tally.forwarded).toBe(0);
    });
  }
});
