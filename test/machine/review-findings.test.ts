// Regression tests for the review findings of issue 11: each failed before its fix.

import { describe, expect, it } from 'vitest';
import { isMarker, planSetAffinity } from '../../firmware/affinity.js';
import { createMachine, type Machine } from '../../src/machine/machine.js';
import { MigrationBench, NEW_CPU, OLD_CPU } from '../../src/migrate/bench.js';
import { PciFunction } from '../../src/hw/pci/pci-function.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { validateScenario } from '../../src/scenario/scenario.js';

/** "Global available: N" of the debugfs text (the matrix policies) after the run. */
const globalAvailable = (vectors: string) => Number(/Global available:\s+(\d+)/.exec(vectors)?.[1]);

describe('an MSI-X setup that ends below min gives back every vector it took', () => {
  // 1 CPU: 200 vectors beside the timer's 0x30 (the other ISA vectors go when the I/O APIC takes
  // them over); 194 taken by other drivers leaves 6. MSI-X 16 with min 16 takes those 6, then fails:
  // before the fix they stayed allocated and the matrix had 0 left.
  it.each(['aligned', 'linux'] as const)('%s: the 6 vectors are free again after the refusal', async (policy) => {
    const r = await runScenario({ cpus: 1, fill: 194, policy, devices: [{ bdf: '00:03.0', msix: { vectors: 16 }, min: 16 }] });
    expect(r.devices.map((d) => [d.mode, d.vectors])).toEqual([['none', 0]]);
    expect(globalAvailable(r.vectors)).toBe(6);
    expect(r.vectors).toMatch(/Total allocated:\s+195\b/); // the timer + 194 filled, nothing of the device
    expect(r.vectors).toMatch(/Global reserved:\s+14\b/); // the failed device's reservations are gone too
    expect(r.bootLog.some((l) => l.includes('msix 00:03.0: only 6 of 16 vector(s) free (min 16); released'))).toBe(true);
  });

  it('freebsd: the entries it took are free again (CPU 0 used count is the 180 filled)', async () => {
    const r = await runScenario({ cpus: 1, fill: 180, policy: 'freebsd', devices: [{ bdf: '00:03.0', msix: { vectors: 16 }, min: 16 }] });
    expect(r.devices[0]!.mode).toBe('none');
    expect(r.vectors).toMatch(/CPU\s+0: used 180\b/);
  });

  it('a second device can use the vectors the refused one gave back', async () => {
    const r = await runScenario({
      cpus: 1,
      fill: 194,
      devices: [
        { bdf: '00:03.0', msix: { vectors: 16 }, min: 16, expectError: 'ENOSPC' },
        { bdf: '00:04.0', msix: { vectors: 6 }, min: 6 },
      ],
    });
    expect(r.devices.map((d) => [d.bdf, d.mode, d.vectors])).toEqual([
      ['00:03.0', 'none', 0],
      ['00:04.0', 'msix', 6],
    ]);
    expect(r.devices[1]!.messages.every((m) => m.ok)).toBe(true);
  });
});

describe('device DMA is claimed only when a target holds all four bytes (else a master abort)', () => {
  function rig(ramSize?: number): { m: Machine; fn: PciFunction } {
    const fn = new PciFunction({ vendorId: 0xfff0, deviceId: 2, classCode: 0 });
    const m = createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn }], ...(ramSize === undefined ? {} : { ramSize }) });
    return { m, fn };
  }
  const RAM = 0x20_0000; // the default 2 MiB
  const RECEIVED_MASTER_ABORT = 1 << 13; // PCI status bit 13 (RW1C)

  it.each([1, 2, 3])('a DWORD write %i byte(s) short of the end of RAM is dropped, not a RangeError', (short) => {
    const { m, fn } = rig();
    const at = RAM - 4 + short;
    expect(() => fn.sendMessage(BigInt(at), 0xdead_beef)).not.toThrow();
    expect(m.memRead(m.cpus[0]!, RAM - 4, 4)).toBe(0); // nothing written, not even the bytes inside RAM
    expect(m.events.at(-1)).toMatchObject({ kind: 'dma-dropped', detail: expect.stringContaining('master abort') });
    expect(fn.status & RECEIVED_MASTER_ABORT).toBe(RECEIVED_MASTER_ABORT);
    fn.configWrite(0x06, 2, RECEIVED_MASTER_ABORT); // software clears it, RW1C
    expect(fn.status & RECEIVED_MASTER_ABORT).toBe(0);
  });

  it('the last whole DWORD of RAM is written, little-endian, with no abort', () => {
    const { m, fn } = rig();
    fn.sendMessage(BigInt(RAM - 4), 0x1122_3344);
    expect(m.memRead(m.cpus[0]!, RAM - 4, 4)).toBe(0x1122_3344);
    expect(m.memRead(m.cpus[0]!, RAM - 1, 1)).toBe(0x11);
    expect(fn.status & RECEIVED_MASTER_ABORT).toBe(0);
    expect(m.events).toEqual([]);
  });

  it('a write into the BIOS ROM is claimed and ignored (read-only), one straddling RAM and ROM aborts', () => {
    const { m, fn } = rig();
    const rsdp = m.memRead(m.cpus[0]!, 0xf_0000, 4); // "RSD " of the RSDP signature
    expect(rsdp).toBe(0x2044_5352);
    fn.sendMessage(0xf_0000n, 0);
    expect(m.memRead(m.cpus[0]!, 0xf_0000, 4)).toBe(rsdp);
    expect(fn.status & RECEIVED_MASTER_ABORT).toBe(0);
    expect(m.events.at(-1)).toMatchObject({ kind: 'dma-dropped', detail: expect.stringContaining('read-only') });
    fn.sendMessage(0xd_fffen, 0xffff_ffff);
    expect(fn.status & RECEIVED_MASTER_ABORT).toBe(RECEIVED_MASTER_ABORT);
    expect(m.memRead(m.cpus[0]!, 0xd_fffc, 4)).toBe(0);
  });

  it('an address beyond RAM and outside the MSI window aborts; an MSI never does', () => {
    const { m, fn } = rig(0x10_0000);
    fn.sendMessage(0x10_0000n, 1);
    expect(fn.status & RECEIVED_MASTER_ABORT).toBe(RECEIVED_MASTER_ABORT);
    fn.configWrite(0x06, 2, RECEIVED_MASTER_ABORT);
    fn.sendMessage(0xfee0_0000n, 0x41); // the host bridge claims the MSI window whatever the APIC bus does
    expect(fn.status & RECEIVED_MASTER_ABORT).toBe(0);
    expect(m.msiWrites).toBe(1);
  });

  it('RAM sizes that are not whole pages are refused, so the map has no partial DWORD', () => {
    for (const ramSize of [0x20_0001, 0x20_0002, 0, -4096, 2 ** 31]) expect(() => createMachine({ cpus: 1, ramSize })).toThrow(/ramSize/);
  });
});

describe('event logs are bounded: the newest eventLimit events are kept and the rest counted', () => {
  /** A guest that writes the BIOS ROM `n` times: one 'rom-write' event each. */
  const romWriter = (n: number) =>
    function* (cpu: import('../../src/machine/guest-interface.js').CpuContext) {
      for (let i = 0; i < n; i++) cpu.write8(0xe_0000 + i, 1);
    };

  it('eventLimit 3 keeps the last three of ten, in order, and the run result counts seven dropped', () => {
    const m = createMachine({ cpus: 1, eventLimit: 3 });
    const r = m.run(romWriter(10));
    expect(r.events.map((e) => e.detail)).toEqual([7, 8, 9].map((i) => `write to BIOS ROM at 0x${(0xe_0000 + i).toString(16)} ignored`));
    expect(r.eventsDropped).toBe(7);
    expect(m.events).toHaveLength(3);
    expect(m.eventsDropped).toBe(7);
  });

  it('the default keeps 10 000', () => {
    const m = createMachine({ cpus: 1 });
    const r = m.run(romWriter(10_005));
    expect(r.events).toHaveLength(10_000);
    expect(r.eventsDropped).toBe(5);
    expect(r.events[0]!.detail).toBe(`write to BIOS ROM at 0x${(0xe_0000 + 5).toString(16)} ignored`);
  });

  it('eventLimit 0 keeps none and counts all', () => {
    const r = createMachine({ cpus: 1, eventLimit: 0 }).run(romWriter(4));
    expect([r.events.length, r.eventsDropped]).toEqual([0, 4]);
  });

  it.each([-1, 1.5, NaN, '10', null, 2 ** 31])('eventLimit %s is a configuration error', (eventLimit) => {
    expect(() => createMachine({ cpus: 1, eventLimit: eventLimit as number })).toThrow(/eventLimit/);
  });

  it('the MSI wire log is bounded the same way; the counters see every write', () => {
    const fn = new PciFunction({ vendorId: 0xfff0, deviceId: 2, classCode: 0 });
    const m = createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn }], eventLimit: 5 });
    for (let i = 0; i < 12; i++) fn.sendMessage(0xfee0_0000n, 0x40 + i);
    expect(m.wire.map((w) => w.data)).toEqual([0x47, 0x48, 0x49, 0x4a, 0x4b]);
    expect([m.wireDropped, m.msiWrites]).toEqual([7, 12]);
  });

  it('the scenario report carries eventsDropped', async () => {
    const r = await runScenario(validateScenario({ cpus: 2, devices: [{ bdf: '00:03.0', msi: { vectors: 2 } }] }));
    expect(r.machine.eventsDropped).toBe(0);
    expect(r.machine.events).toBeLessThanOrEqual(10_000);
  });
});

describe('the guest irq tables do not grow with repeated moves', () => {
  it('VECTOR_RETRIGGERED markers are one descriptor per vector, however often they are set and consumed', () => {
    const b = new MigrationBench({ protocol: 'linux', mode: 'affinity', count: 4, pvm: false, is64: true, stale: 'free', target: 'other-base', schedule: 'eager' });
    while (b.step() !== null);
    const sizes: number[] = [];
    for (let round = 0; round < 16; round++) {
      const to = b.binding.cpu === OLD_CPU ? NEW_CPU : OLD_CPU;
      const mv = planSetAffinity(b.ctx, b.binding, [to], 'linux');
      for (const s of mv.steps) expect(s.run(b.cpus[mv.cpu]!)).toBe('done');
      // Each marked vector takes its one interrupt: the marker goes, and the next move sets it again.
      for (const c of [OLD_CPU, NEW_CPU]) for (const [v, d] of [...b.irq.vectorIrq[c]!]) if (isMarker(d)) b.irq.unbind(c, v);
      sizes.push(b.irq.descs.length);
    }
    expect(b.binding.cpu).toBe(NEW_CPU); // 16 moves from NEW_CPU: back where the bench left it
    // Before the fix every dance added 4 descriptors; now the count stops growing once both bases were marked.
    expect(new Set(sizes.slice(2)).size).toBe(1);
  });
});

describe('a late arrival after the last probe window fails the run', () => {
  const base = validateScenario({ cpus: 2, devices: [{ bdf: '00:03.0', msi: { vectors: 8, is64: true, pvm: true } }] });

  it('a clean run has the check, and it passes', async () => {
    const r = await runScenario(base);
    expect(r.checks.find((c) => c.name === 'no-late-arrivals')).toEqual({ name: 'no-late-arrivals', ok: true, detail: 'nothing arrived after the last probe window' });
    expect(r.ok).toBe(true);
  });

  it('a copy of the last message delivered after its window is reported', async () => {
    const r = await runScenario(base, {
      onMachine: (m) => {
        const msi = m.bus.msiWrite.bind(m.bus);
        let last: [bigint, number] | null = null;
        m.bus.msiWrite = (a, d) => {
          if ((d & 7) === 7) last = [a, d];
          return msi(a, d);
        };
        // The next port write after message 7 is the guest's console, after the probe judged message 7.
        const io = m.ioWrite.bind(m);
        m.ioWrite = (port, size, value) => {
          if (last !== null) {
            const [a, d] = last;
            last = null;
            msi(a, d);
          }
          io(port, size, value);
        };
      },
    });
    const d = r.devices[0]!;
    expect(d.messages.every((x) => x.ok)).toBe(true); // every window on its own was fine
    const late = r.checks.find((c) => c.name === 'no-late-arrivals')!;
    expect(late.ok).toBe(false);
    expect(late.detail).toBe(`1 interrupt(s) after the last probe window: CPU ${d.cpu} 0x${(d.base! + 7).toString(16)} (00:03.0#7)`);
    expect(r.ok).toBe(false);
  });
});
