// The block-move protocols with the guest in flat logical destination mode (LDR = 1 << cpu, address
// destination 1 << cpu with DM = 1), as Linux up to 6.11 runs a machine of at most 8 xAPIC CPUs: every
// protocol must do exactly what it does in physical mode — the same fates in every interleaving —
// and the address the move writes must name the new CPU logically.

import { describe, expect, it } from 'vitest';
import { exhaustive } from '../../src/migrate/explore.js';
import { MigrationBench, NEW_CPU } from '../../src/migrate/bench.js';
import { MOVE_PROTOCOLS } from '../../firmware/affinity.js';
import { opts } from './helpers.js';

describe('migration protocols in flat logical mode', () => {
  for (const protocol of MOVE_PROTOCOLS) {
    for (const mode of ['affinity', 'unplug'] as const) {
      it(`${protocol}, ${mode}: the same tally as in physical mode, interleaving for interleaving`, () => {
        for (const [count, fires] of [[1, 2], [4, 1]] as const) {
          for (const pvm of [false, true]) {
            const o = opts({ protocol, mode, count, pvm, fires, stale: 'busy' });
            const phys = exhaustive({ ...o, destMode: 'physical' });
            const logi = exhaustive({ ...o, destMode: 'logical' });
            expect(logi.tally, `${count} ${pvm} ${fires}`).toEqual(phys.tally);
            expect(logi.tally.runs).toBeGreaterThan(0);
          }
        }
      });
    }
  }

  it('the move leaves the address 0xFEE00004 | (1 << new CPU) << 12 in the device (DM = 1, RH = 0)', () => {
    const b = new MigrationBench({ ...opts({ protocol: 'safe', count: 4 }), destMode: 'logical' });
    while (b.step() !== null);
    expect(b.endpoint.msi!.address()).toBe(BigInt((0xfee00004 | ((1 << NEW_CPU) << 12)) >>> 0));
  });
});
