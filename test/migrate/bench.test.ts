// The bench uses the architected hardware behaviour, not its own: MME data replacement, PVM
// pending bits, IRR coalescing, and the causal trace from a message to the handler it ran.

import { describe, expect, it } from 'vitest';
import { DEVICE_BDF, MigrationBench, NEW_CPU, OLD_CPU } from '../../src/migrate/bench.js';
import { fateOf } from '../../src/migrate/fates.js';
import { opts } from './helpers.js';

const IRR_0x20 = 0x210; // IRR register holding vectors 0x20..0x3F

function run(b: MigrationBench, until?: (label: string) => boolean): void {
  for (let l = b.step(); l !== null; l = b.step()) if (until?.(l)) return;
}

describe('bench layout', () => {
  it('puts the block on CPU 1 at 0x20 and another driver on CPU 2 at the same base (first fit on empty APs)', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4 }));
    expect(b.binding).toMatchObject({ cpu: OLD_CPU, base: 0x20, count: 4, is64: true, pvm: false });
    expect(b.irq.vectorIrq[NEW_CPU]!.get(0x20)!.owner).toBe('nbB');
  });

  it('a block of 32 starts at 0x40 (0x32 is the PIC cascade system bit)', () => {
    expect(new MigrationBench(opts({ protocol: 'naive', count: 32 })).binding.base).toBe(0x40);
  });
});

describe('hardware behaviour through the bench', () => {
  it('message i of a block with MME = log2(n) lands on base + i (the device replaces the low data bits)', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4 }));
    b.fire(2);
    // CPU 1 runs the move with interrupts off: the request waits in its IRR at 0x20 + 2.
    expect(b.lapics[OLD_CPU]!.read(IRR_0x20)).toBe(1 << 2);
  });

  it('a masked message sets its pending bit and is sent on unmask, to wherever the registers point then', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4, pvm: true }));
    run(b, (l) => l.includes('mask message(s) 0xf'));
    const f = b.fire(3);
    expect(f.result).toBe('pended');
    expect(b.endpoint.msi!.pendingBits()).toBe(0b1000);
    run(b, (l) => l.includes('unmask'));
    expect(b.endpoint.msi!.pendingBits()).toBe(0);
    run(b);
    expect(f.services).toEqual([{ own: true, reraised: false, cpu: NEW_CPU, vector: b.binding.base + 3, owner: DEVICE_BDF }]);
  });

  it('two requests for one vector before the CPU takes it coalesce in the IRR: one handler run serves both', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 2 }));
    const f1 = b.fire(1);
    const f2 = b.fire(1);
    run(b);
    expect(f1.services).toEqual(f2.services);
    expect(f1.services).toHaveLength(1);
    expect([fateOf(f1), fateOf(f2)]).toEqual(['delivered', 'delivered']);
  });

  it('a quiet move ends with the block on CPU 2, the old vectors freed and nothing run', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 4 }));
    run(b);
    expect(b.stuck).toBe(false);
    expect(b.binding).toMatchObject({ cpu: NEW_CPU, retired: null });
    expect(b.matrix.isAllocated(OLD_CPU, 0x20)).toBe(false);
    expect(b.irq.observations).toEqual([]);
  });

  it('after unplug the old CPU is offline and its APIC soft-disabled (SVR bit 8 clear)', () => {
    const b = new MigrationBench(opts({ protocol: 'safe', count: 2, mode: 'unplug' }));
    run(b);
    expect(b.matrix.isOnline(OLD_CPU)).toBe(false);
    expect(b.lapics[OLD_CPU]!.read(0xf0) & 0x100).toBe(0 /* software-disabled */);
  });
});
