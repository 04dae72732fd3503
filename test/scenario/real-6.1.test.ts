// The guest's debugfs matrix after boot against the real Linux 6.1 dump (test/data/README.md):
// every number irqslice can reproduce is compared with the real one; the rest is pinned with why.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run-scenario.js';

interface MatrixDump {
  onlineMaps: number;
  globalAvailable: number;
  globalReserved: number;
  totalAllocated: number;
  system: number[];
  cpus: Map<number, { avl: number; man: number; mac: number; act: number; vectors: number[] }>;
}

function expandList(list: string): number[] {
  if (list === '') return [];
  return list.split(',').flatMap((r) => {
    const [a, b] = r.split('-').map(Number);
    return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
  });
}

/** irq_matrix_debug_show text (inside a domain file or not: lines are trimmed, CRLF accepted). */
function parseDump(text: string): MatrixDump {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const field = (name: string) => {
    const l = lines.find((x) => x.startsWith(`${name}:`));
    if (!l) throw new Error(`no ${name} line`);
    return l.slice(name.length + 1).trim();
  };
  const sys = /^(\d+):\s*(.*)$/.exec(field('System'))!;
  const system = expandList(sys[2]!);
  expect(system.length).toBe(Number(sys[1]));
  const cpus = new Map<number, { avl: number; man: number; mac: number; act: number; vectors: number[] }>();
  for (const l of lines) {
    const m = /^(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S*)$/.exec(l);
    if (m) cpus.set(Number(m[1]), { avl: Number(m[2]), man: Number(m[3]), mac: Number(m[4]), act: Number(m[5]), vectors: expandList(m[6]!) });
  }
  return {
    onlineMaps: Number(field('Online bitmaps')),
    globalAvailable: Number(field('Global available')),
    globalReserved: Number(field('Global reserved')),
    totalAllocated: Number(field('Total allocated')),
    system,
    cpus,
  };
}

/** 6.1's allocation range: [FIRST_EXTERNAL_VECTOR 0x20, FIRST_SYSTEM_VECTOR 0xEC). */
const inRange = (v: number) => v >= 0x20 && v < 0xec;
const ISA_VECTORS = Array.from({ length: 16 }, (_, n) => 0x30 + n);

describe('the guest after boot against real Linux 6.1 on QEMU q35 (test/data/vector-6.1-qemu-4cpu.txt)', async () => {
  const real = parseDump(readFileSync(new URL('../data/vector-6.1-qemu-4cpu.txt', import.meta.url), 'utf8'));
  const report = await runScenario(JSON.parse(readFileSync(new URL('../../examples/scenarios/linux-6.1-qemu.json', import.meta.url), 'utf8')));
  const ours = parseDump(report.vectors);

  it('boots and delivers every granted message', () => {
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('same online maps, same in-range system bits (0x20 move-cleanup, 0x32 cascade, 0x80 syscall)', () => {
    expect(real.onlineMaps).toBe(4);
    expect(ours.onlineMaps).toBe(real.onlineMaps);
    expect(real.system.filter(inRange)).toEqual([32, 50, 128]);
    expect(ours.system.filter(inRange)).toEqual(real.system.filter(inRange));
  });

  it('Global reserved: 14 in both, the ISA IRQs nobody requested (15 taken over by the I/O APIC, the timer activated)', () => {
    expect(real.globalReserved).toBe(14);
    expect(ours.globalReserved).toBe(real.globalReserved);
  });

  it('CPU 0 keeps the timer vector 48 (0x30) and no other ISA vector, in both', () => {
    for (const d of [real, ours]) {
      const v = d.cpus.get(0)!.vectors;
      expect(v).toContain(0x30);
      expect(v.filter((x) => ISA_VECTORS.includes(x))).toEqual([0x30]);
      for (let c = 1; c < 4; c++) expect(d.cpus.get(c)!.vectors.filter((x) => ISA_VECTORS.includes(x))).toEqual([]);
    }
  });

  it('every CPU allocates upwards from 33 (0x21: 0x20 is a system vector on 6.1), in both', () => {
    for (const d of [real, ours]) for (const c of d.cpus.values()) expect(Math.min(...c.vectors)).toBe(33);
  });

  it('per CPU avl = 201 − (act − mac) − man and the globals are the sums, in both', () => {
    for (const d of [real, ours]) {
      expect([...d.cpus.keys()]).toEqual([0, 1, 2, 3]);
      for (const c of d.cpus.values()) expect(c.avl).toBe(201 - (c.act - c.mac) - c.man);
      expect(d.globalAvailable).toBe([...d.cpus.values()].reduce((a, c) => a + c.avl, 0));
      expect(d.totalAllocated).toBe([...d.cpus.values()].reduce((a, c) => a + c.act, 0));
    }
  });

  it('the 16-message MSI device and the 2-message root port get one vector each, as on 6.1 without remapping', () => {
    const dev = (bdf: string) => report.devices.find((d) => d.bdf === bdf)!;
    expect([dev('00:03.0').mode, dev('00:03.0').vectors]).toEqual(['msi', 1]);
    expect([dev('00:07.0').mode, dev('00:07.0').vectors]).toEqual(['msi', 1]);
  });

  it('NVMe with PCI_IRQ_AFFINITY (pre 1) gives man 1 / mac 1 on every CPU, as the real dump shows', () => {
    expect([...ours.cpus.values()].map((c) => [c.man, c.mac])).toEqual([...real.cpus.values()].map((c) => [c.man, c.mac]));
  });

  it('what differs, pinned: 5 vectors of consumers the dump does not name', () => {
    // Real holds 20 vectors (4 of them NVMe's managed queues, which irqslice now reproduces); the
    // declared devices account for 15 with the timer, so 5 belong to consumers the fixture does not
    // list (drivers on ISA IRQs, most likely): one more `act` on CPUs 0-2 and two on CPU 3.
    expect([...real.cpus.values()].map((c) => [c.avl, c.man, c.mac, c.act])).toEqual([[196, 1, 1, 5], [196, 1, 1, 5], [196, 1, 1, 5], [196, 1, 1, 5]]);
    expect([...ours.cpus.values()].map((c) => [c.avl, c.man, c.mac, c.act])).toEqual([[197, 1, 1, 4], [197, 1, 1, 4], [197, 1, 1, 4], [198, 1, 1, 3]]);
    expect([real.globalAvailable, real.totalAllocated]).toEqual([784, 20]);
    expect([ours.globalAvailable, ours.totalAllocated]).toEqual([789, 15]);
    expect(real.totalAllocated - ours.totalAllocated).toBe(5);
  });
});
