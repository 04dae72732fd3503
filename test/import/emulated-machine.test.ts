// whatif reads back what irqslice's own machines print: the guest kernel's matrix dump and
// `run --show lspci` of the same run. Multi-MSI blocks exist only under the aligned policy, so this
// is where "re-homed as blocks" meets a real dump; expected values are worked out from allocBlock's
// rule (most available CPU with a free aligned window, lowest window) and the x86 layout.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { showLspci } from '../../src/formats/show.js';
import { parseLspci } from '../../src/import/lspci.js';
import { parseVectorDump } from '../../src/import/vector-dump.js';
import { whatIf } from '../../src/import/whatif.js';
import type { Machine } from '../../src/machine/machine.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import type { ScenarioInput } from '../../src/scenario/scenario.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

async function machineTexts(scenario: ScenarioInput | string): Promise<{ dump: string; lspci: string }> {
  let machine: Machine | null = null;
  const report = await runScenario(scenario, { onMachine: (m) => void (machine = m) });
  expect(report.ok).toBe(true);
  return { dump: report.vectors, lspci: showLspci(machine!, report) };
}

describe('examples/scenarios/x2apic-8cpu.json read back', () => {
  it('finds each device block where its MSI address and data put it, and moves CPU 1\'s 32-block to an empty CPU', async () => {
    const sc = JSON.parse(readFileSync(path.join(root, 'examples/scenarios/x2apic-8cpu.json'), 'utf8'));
    const { dump, lspci } = await machineTexts(JSON.stringify(sc));
    const r = whatIf(parseVectorDump(dump), parseLspci(lspci));
    // Physical destinations (x2APIC): APIC ID = CPU. Two 32-blocks at 0x40 on CPUs 1 and 2, an 8-block at
    // 0x20 on CPU 3, a 16-block at 0x20 on CPU 4.
    expect(r.devices.map((d) => [d.fn.bdf, d.current])).toEqual([
      ['00:02.0', { cpu: 1, base: 0x40, count: 32 }],
      ['00:03.0', { cpu: 2, base: 0x40, count: 32 }],
      ['00:04.0', { cpu: 3, base: 0x20, count: 8 }],
      ['01:00.0', { cpu: 4, base: 0x20, count: 16 }],
    ]);
    // CPUs 5-7 are empty (201 available): CPU 5, first 32-window 0x40 (0x20-0x3f holds the cascade 0x32).
    const cpu1 = r.offline.find((o) => o.cpu === 1)!;
    expect(cpu1.possible).toBe(true);
    expect(cpu1.blocks).toEqual([{ bdf: '00:02.0', from: { cpu: 1, base: 0x40, count: 32 }, to: { cpu: 5, base: 0x40 } }]);
    expect(r.json.devices.every((d) => !d.remapped)).toBe(true);
  });
});

describe('two CPUs, five 32-message devices: the count says yes, the blocks say no', () => {
  it('neither CPU can go: its blocks outnumber the other CPU\'s free 32-windows', async () => {
    const sc = {
      cpus: 2, apic: 'xapic', engine: 'js', policy: 'aligned',
      devices: [2, 3, 4, 5, 6].map((d) => ({ bdf: `00:0${d}.0`, msi: { vectors: 32, is64: true, pvm: true } })),
    };
    const { dump, lspci } = await machineTexts(JSON.stringify(sc));
    const d = parseVectorDump(dump);
    const r = whatIf(d, parseLspci(lspci));
    // Blocks alternate between the CPUs by available: CPU 1 (201) 0x40, CPU 0 (200, the timer at 0x30)
    // 0x40, CPU 1 0x60, CPU 0 0x60, CPU 1 0xa0. CPU 1: 96 vectors, CPU 0: 64 + the timer.
    expect(d.rows.map((row) => [row.cpu, row.allocated])).toEqual([[0, 65], [1, 96]]);
    const [o0, o1] = r.offline;
    // CPU 1: 96 to move, 136 available on CPU 0, whose free 32-windows are 0xa0 and 0xc0: the third block fails.
    expect(o1).toMatchObject({ possible: false, toMove: 96, available: 136 });
    expect(o1!.reason).toMatch(/the 32-vector MSI block of 00:0\d\.0 \(0x[46a]0-0x[57b]f\) has no free aligned window of 32 on CPU 0/);
    // CPU 0: 65 to move, 105 available on CPU 1, whose only free 32-window is 0xc0.
    expect(o0).toMatchObject({ possible: false, toMove: 65, available: 105 });
    // Without lspci the same dump passes: every vector moves on its own.
    expect(whatIf(d).json.offline.map((o) => o.possible)).toEqual([true, true]);
  });
});
