// Bounded work: the host's function list is built once per change, BAR decode uses an index rebuilt
// after configuration writes, the debug console is a byte buffer, and the largest scenario the
// validator accepts with every device satisfiable runs to completion and passes (time and memory
// are measured by hand with --cpu-prof and process.memoryUsage(); nothing here is timed).

import { describe, expect, it } from 'vitest';
import { EP_DOORBELL, MsiEndpoint } from '../../src/hw/pci/msi-endpoint.js';
import { PciFunction } from '../../src/hw/pci/pci-function.js';
import { PciHost } from '../../src/hw/pci/pci-host.js';
import type { CpuContext } from '../../src/machine/guest-interface.js';
import { createMachine } from '../../src/machine/machine.js';
import { ECAM_BASE } from '../../src/machine/memory-map.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { validateScenario } from '../../src/scenario/scenario.js';

const plain = (deviceId: number) => new PciFunction({ vendorId: 0xfff0, deviceId, classCode: 0 });

describe('PciHost.functions()', () => {
  it('is one frozen list in BDF order until the next add, then a new one', () => {
    const host = new PciHost();
    host.add('01:00.0', plain(1));
    host.add('00:04.0', plain(2));
    host.add('00:03.1', plain(3));
    const a = host.functions();
    expect(a.map((f) => f.bdf)).toEqual(['00:03.1', '00:04.0', '01:00.0']);
    expect(host.functions()).toBe(a); // not re-sorted on every call
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => (a as unknown as { bdf: string }[]).push({ bdf: 'x' })).toThrow(TypeError);
    host.add('00:03.0', plain(4));
    const b = host.functions();
    expect(b).not.toBe(a);
    expect(b.map((f) => f.bdf)).toEqual(['00:03.0', '00:03.1', '00:04.0', '01:00.0']);
    expect(a.map((f) => f.bdf)).toEqual(['00:03.1', '00:04.0', '01:00.0']); // the old list is unchanged
  });
});

describe('memory BAR decode through the index', () => {
  const ecam = (dev: number, reg: number) => ECAM_BASE + (dev << 15) + reg;

  it('overlapping BARs: the function first in BDF order claims, as before the index', () => {
    const eps = [new MsiEndpoint({ intxPin: 1 }), new MsiEndpoint({ intxPin: 1 })];
    const m = createMachine({ cpus: 1, devices: [{ bdf: '00:04.0', fn: eps[1]! }, { bdf: '00:03.0', fn: eps[0]! }] });
    const r = m.run(function* (cpu: CpuContext) {
      for (const dev of [3, 4]) {
        cpu.write32(ecam(dev, 0x10), 0xc000_0000); // BAR0 at the same address for both
        cpu.write16(ecam(dev, 0x04), 0x2); // memory decode on
      }
      cpu.write32(0xc000_0000 + EP_DOORBELL, 0);
    });
    expect(r.end).toBe('bsp-finished');
    expect([eps[0]!.sent, eps[1]!.sent]).toEqual([1, 0]);
  });

  it('a BAR moved by a config write is found at its new place and no longer at the old one', () => {
    const ep = new MsiEndpoint({ intxPin: 1 });
    const m = createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn: ep }] });
    const seen: number[] = [];
    m.run(function* (cpu: CpuContext) {
      cpu.write32(ecam(3, 0x10), 0xc000_0000);
      cpu.write16(ecam(3, 0x04), 0x2);
      seen.push(cpu.read32(0xc000_0000 + 0x18)); // MODE: 1 = INTx
      cpu.write32(ecam(3, 0x10), 0xc010_0000);
      seen.push(cpu.read32(0xc000_0000 + 0x18), cpu.read32(0xc010_0000 + 0x18));
    });
    expect(seen).toEqual([1, 0xffff_ffff, 1]); // the old address is unclaimed: a master abort reads all ones
  });
});

describe('the debug console', () => {
  it('holds every byte written to port 0xE9 as one Latin-1 character, across buffer growth', () => {
    const m = createMachine({ cpus: 1 });
    const text = `${'irqslice '.repeat(1000)}é\u00ff`;
    m.run(function* (cpu: CpuContext) {
      for (let i = 0; i < text.length; i++) cpu.out8(0xe9, text.charCodeAt(i));
    });
    expect(m.console).toBe(text);
    expect(m.console).toBe(m.console); // decoded once
  });
});

describe('the largest scenario the validator accepts, with every device satisfiable', () => {
  const bdf = (i: number) => `${(i >> 5).toString(16).padStart(2, '0')}:${(i & 31).toString(16).padStart(2, '0')}.0`;

  // 1024 CPUs (x2APIC), 256 devices with 2048-entry MSI-X tables, each asking for 200 vectors: the
  // 255 MSI-addressable CPUs hold 255 × 201 − 15 = 51 240, so all 51 200 fit and every message is rung.
  it('1024 CPUs, 256 devices × 2048-entry MSI-X tables, want 200 each: completes and passes', async () => {
    const sc = validateScenario({ cpus: 1024, devices: Array.from({ length: 256 }, (_, i) => ({ bdf: bdf(i), msix: { vectors: 2048 }, want: 200 })) });
    const r = await runScenario(sc);
    expect(r.machine.end).toBe('bsp-finished');
    expect(r.devices.map((d) => [d.mode, d.vectors])).toEqual(new Array(256).fill(['msix', 200]));
    expect(r.devices.reduce((n, d) => n + d.messages.filter((m) => m.ok).length, 0)).toBe(51_200);
    expect(r.machine.msiWrites).toBe(51_200);
    expect(r.machine.eventsDropped).toBe(0);
    expect(r.ok).toBe(true);
  }, 120_000);
});
