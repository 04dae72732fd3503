// pci_alloc_irq_vectors() for multi-MSI as Linux computes it (drivers/pci/msi/msi.c,
// __pci_enable_msi_range and msi_capability_init, 4.x .. 6.10): nvec = min(max, MMC) exactly — the
// grant is never rounded down to a power of two — and MME = ceil(log2 nvec) (multi_cap of
// __roundup_pow_of_two(nvec)). The device may then send any message below 2^MME: under 'aligned' the
// whole rounded-up block is allocated and the tail beyond the grant stays reserved (no handler, no
// other owner). Under 'linux' the x86 vector domain without remapping has no multi-MSI, the arch
// answers 1 and the loop retries with one vector, or fails with -ENOSPC when min > 1.
//
// Placements under 'aligned' on 4 CPUs, kernel 6.10 (range [0x20, 0xEB), system 0x32 and 0x80; CPU 0
// keeps the timer's 0x30): allocBlock takes the CPU with most available vectors that has an aligned
// free run of the block's size (lowest CPU on ties), first fit inside it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MsiEndpoint } from '../../src/hw/pci/msi-endpoint.js';
import type { Machine } from '../../src/machine/machine.js';
import { contractJson } from '../../src/scenario/report-text.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import type { DeviceInput } from '../../src/scenario/scenario.js';

const DEVICES: DeviceInput[] = [
  { bdf: '00:03.0', msi: { vectors: 4, is64: true, pvm: false }, want: 3, min: 3 },
  { bdf: '00:04.0', msi: { vectors: 8, is64: true, pvm: true }, want: 5 },
  { bdf: '00:05.0', msi: { vectors: 32, is64: false, pvm: false }, want: 17, min: 9 },
  { bdf: '00:06.0', msi: { vectors: 1, is64: false, pvm: false } },
];

async function run(policy: 'aligned' | 'linux' | 'freebsd', devices: DeviceInput[] = DEVICES) {
  let m: Machine | undefined;
  const r = await runScenario({ cpus: 4, policy, devices }, { onMachine: (x) => (m = x) });
  return { r, m: m!, ep: (bdf: string) => m!.pci.get(bdf) as unknown as MsiEndpoint };
}

function irr(m: Machine, cpu: number): number[] {
  const words = (m.cpus[cpu]!.lapic.saveState() as { irr: number[] }).irr;
  const out: number[] = [];
  words.forEach((w, i) => {
    for (let b = 0; b < 32; b++) if ((w >>> b) & 1) out.push(i * 32 + b);
  });
  return out;
}

describe("aligned: exact grants, rounded-up blocks, reserved tails", () => {
  it('grants min(max, MMC) exactly: 3 of 4 (min 3), 5 of 8, 17 of 32 (min 9), 1 of 1', async () => {
    const { r } = await run('aligned');
    expect(r.ok).toBe(true);
    // 3 → block of 4 on CPU 1 at 0x20; 5 → 8 on CPU 2 at 0x20; 17 → 32 on CPU 3 at 0x40 (0x32 is a
    // system bit, so not 0x20); the single on CPU 0 (200 available beats 197, 193, 169) at 0x20.
    expect(r.devices.map((d) => [d.bdf, d.mode, d.vectors, d.cpu, d.base, d.reservedTail])).toEqual([
      ['00:03.0', 'msi', 3, 1, 0x20, 1],
      ['00:04.0', 'msi', 5, 2, 0x20, 3],
      ['00:05.0', 'msi', 17, 3, 0x40, 15],
      ['00:06.0', 'msi', 1, 0, 0x20, 0],
    ]);
    // The probe rings only the granted messages.
    expect(r.devices.map((d) => d.messages.map((m) => [m.vector, m.ok]))).toEqual(
      r.devices.map((d) => Array.from({ length: d.vectors }, (_, i) => [d.base! + i, true])),
    );
    // The whole rounded-up block is allocated: 4 + 8 + 32 + 1 vectors, and the timer's 0x30.
    expect(r.vectors).toMatch(/\n\s+1\s+197\s+0\s+0\s+4\s+32-35\n/);
    expect(r.vectors).toMatch(/\n\s+2\s+193\s+0\s+0\s+8\s+32-39\n/);
    expect(r.vectors).toMatch(/\n\s+3\s+169\s+0\s+0\s+32\s+64-95\n/);
    expect(r.vectors).toMatch(/\n\s+0\s+199\s+0\s+0\s+2\s+32,48\n/);
    expect(r.checks.find((c) => c.name === '00:03.0 msi')?.detail).toBe('3/3 message(s) arrived as programmed (CPU 1 vectors 0x20..0x22, 1 more reserved)');
    expect(r.checks.find((c) => c.name === '00:06.0 msi')?.detail).toBe('1/1 message(s) arrived as programmed (CPU 0 vectors 0x20..0x20)');
    const json = contractJson(r) as { devices: Array<{ bdf: string; reservedTail: number }> };
    expect(json.devices.map((d) => [d.bdf, d.reservedTail])).toEqual([['00:03.0', 1], ['00:04.0', 3], ['00:05.0', 15], ['00:06.0', 0]]);
  });

  it('MME = ceil(log2 nvec): the device may send message 3 of a 3-grant, and it lands on the reserved vector 0x23 of CPU 1', async () => {
    const { r, m, ep } = await run('aligned');
    expect(r.ok).toBe(true);
    expect(irr(m, 1)).toEqual([]);
    expect(ep('00:03.0').ring(3)).toEqual({ result: 'sent', mode: 'msi' });
    expect(ep('00:03.0').ring(4)).toEqual({ result: 'suppressed', mode: 'msi', reason: 'beyond-mme' });
    // The reserved tail: pending on CPU 1, which no other device's block or vector covers.
    expect(irr(m, 1)).toEqual([0x23]);
    for (const d of r.devices) if (d.cpu === 1) expect(d.bdf).toBe('00:03.0');
    // No handler was set up for it: only messages 0..2 have IRQ descriptors.
    expect(r.interrupts!.irqs.filter((i) => i.owner === '00:03.0').map((i) => i.index)).toEqual([0, 1, 2]);
  });

  it('with per-vector masking the tail stays masked (only granted messages are unmasked); MME 3 for a 5-grant', async () => {
    const { ep } = await run('aligned');
    const e = ep('00:04.0');
    expect(e.ring(4)).toEqual({ result: 'sent', mode: 'msi' });
    expect(e.ring(5)).toEqual({ result: 'pended', mode: 'msi' });
    expect(e.ring(7)).toEqual({ result: 'pended', mode: 'msi' });
    expect(e.ring(8)).toEqual({ result: 'suppressed', mode: 'msi', reason: 'beyond-mme' });
  });

  it('property: any MMC, max and min that fit get exactly min(max, MMC) vectors in an aligned block of the next power of two', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 2, 4, 8, 16, 32), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), async (mmc, a, b) => {
        const [min, want] = a <= b ? [a, b] : [b, a];
        const { r } = await run('aligned', [{ bdf: '00:03.0', msi: { vectors: mmc, is64: true, pvm: true }, want, min }]);
        const d = r.devices[0]!;
        const nvec = Math.min(want, mmc);
        if (nvec < min) {
          expect([d.mode, d.error, d.reservedTail]).toEqual(['none', 'ENOSPC', 0]);
          return;
        }
        const size = 2 ** Math.ceil(Math.log2(nvec));
        expect(r.ok).toBe(true);
        expect([d.mode, d.vectors, d.reservedTail]).toEqual(['msi', nvec, size - nvec]);
        expect(d.base! % size).toBe(0);
      }),
      { numRuns: 12 },
    );
  });

  it('a block too big for the room left shrinks by halves while the grant still meets min', async () => {
    // fill 190 leaves 11 free per CPU (201 - 190; CPU 0 10): no aligned 16-run, an aligned 8-run on
    // CPU 1 at the top of the range. A 12-grant (block 16) becomes 8 with min 8, and is refused with min 9.
    const base = { cpus: 2, policy: 'aligned', fill: 190 } as const;
    const ok = await runScenario({ ...base, devices: [{ bdf: '00:03.0', msi: { vectors: 16, is64: true, pvm: false }, want: 12, min: 8 }] });
    expect(ok.devices.map((d) => [d.mode, d.vectors, d.reservedTail])).toEqual([['msi', 8, 0]]);
    expect(ok.ok).toBe(true);
    const no = await runScenario({ ...base, devices: [{ bdf: '00:03.0', msi: { vectors: 16, is64: true, pvm: false }, want: 12, min: 9, expectError: 'ENOSPC' }] });
    expect(no.devices.map((d) => [d.mode, d.error])).toEqual([['none', 'ENOSPC']]);
    expect(no.ok).toBe(true);
  });
});

describe('linux (no multi-MSI without remapping): unchanged', () => {
  it('want 3 min 3 is -ENOSPC; min 1 gets one vector with no reserved tail', async () => {
    const { r } = await run('linux');
    expect(r.devices.map((d) => [d.bdf, d.mode, d.vectors, d.reservedTail, d.error ?? null])).toEqual([
      ['00:03.0', 'none', 0, 0, 'ENOSPC'],
      ['00:04.0', 'msi', 1, 0, null],
      ['00:05.0', 'none', 0, 0, 'ENOSPC'],
      ['00:06.0', 'msi', 1, 0, null],
    ]);
  });
});

describe('freebsd: pci_alloc_msi takes powers of two only', () => {
  it('grants the largest power of two <= min(max, MMC): 5 of 8 → 4, 17 of 32 → 16; 3 with min 3 is refused', async () => {
    const { r } = await run('freebsd');
    expect(r.devices.map((d) => [d.bdf, d.mode, d.vectors, d.reservedTail, d.error ?? null])).toEqual([
      ['00:03.0', 'none', 0, 0, 'ENOSPC'],
      ['00:04.0', 'msi', 4, 0, null],
      ['00:05.0', 'msi', 16, 0, null],
      ['00:06.0', 'msi', 1, 0, null],
    ]);
  });
});
