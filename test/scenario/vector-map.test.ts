// The report's vectorMap: the guest's vector tables per CPU, checked against the layouts the kernels
// define (Linux arch/x86/include/asm/irq_vectors.h, FreeBSD sys/x86/include/apicvar.h and segments.h)
// and against the devices' own reports.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packVectorMap, unpackVectorMap } from '../../firmware/vector-map.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { DEFAULT_SCENARIO, parseScenario } from '../../src/scenario/scenario.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const example = (name: string) => parseScenario(readFileSync(path.join(root, 'examples/scenarios', name), 'utf8'));

describe('ScenarioReport.vectorMap', () => {
  it('aligned: every multi-MSI block is aligned to its size, its vectors marked block, each message an owner', async () => {
    const r = await runScenario(DEFAULT_SCENARIO);
    const map = r.vectorMap!;
    expect(map.cells.length).toBe(4);
    for (const row of map.cells) expect(row.length).toBe(256);
    expect(map.blocks.map((b) => [b.bdf, b.size])).toEqual([
      ['00:03.0', 32],
      ['00:04.0', 16],
      ['00:05.0', 8],
    ]);
    for (const b of map.blocks) {
      expect(b.base % b.size).toBe(0);
      expect(map.cells[b.cpu]!.slice(b.base, b.base + b.size)).toBe('b'.repeat(b.size));
    }
    const owners = new Map(map.owners.map(([c, v, o]) => [`${c}/${v}`, o]));
    for (const d of r.devices) for (const m of d.messages) expect(owners.get(`${m.expected.cpu}/${m.expected.vector}`)).toBe(`${d.bdf}#${m.index}`);
    // IA32_SYSCALL_VECTOR 0x80 is a system vector on every CPU.
    for (const row of map.cells) expect(row[0x80]).toBe('s');
  });

  it('Linux 6.1: system vectors from 0xEC (LOCAL_TIMER_VECTOR), the timer keeps 0x30 on CPU 0, managed vectors one per CPU', async () => {
    const r = await runScenario(example('linux-6.1-qemu.json'));
    const map = r.vectorMap!;
    for (const row of map.cells) {
      expect(row.slice(0xec)).toBe('s'.repeat(0x100 - 0xec));
      expect(row[0xeb]).not.toBe('s');
      // Each CPU holds one managed NVMe queue vector (affinity pre 1: four managed over four CPUs).
      expect(row.split('').filter((c) => c === 'm').length).toBeGreaterThanOrEqual(1);
    }
    expect(map.cells[0]![0x30]).toBe('l');
    // The other ISA IRQs are only reserved until requested: their vectors are free.
    expect(map.cells[0]![0x31]).toBe('.');
  });

  it("freebsd-legacy: FreeBSD's tables — IDT_SYSCALL, IDT_DTRACE_RET, APIC_TIMER_INT system; the 32-block at index 0 = 0x30", async () => {
    const r = await runScenario(example('freebsd-misroute.json'), { policy: 'freebsd-legacy' });
    const map = r.vectorMap!;
    expect(map.policy).toBe('freebsd-legacy');
    for (const row of map.cells) for (const v of [0x80, 0x92, 0xef, 0xff]) expect(row[v]).toBe('s');
    const big = map.blocks.find((b) => b.bdf === '00:03.0')!;
    expect(big).toMatchObject({ base: 0x30, size: 32, count: 32 });
    expect(big.base % big.size).not.toBe(0);
  });

  it('packs for the console and unpacks to the same map', async () => {
    const r = await runScenario(example('linux-6.1-qemu.json'));
    const packed = packVectorMap(r.vectorMap!);
    expect(packed.rows.length).toBeLessThanOrEqual(4);
    // Single vectors are kind '1': a run of them ("1,3" … "13") must not read as a count.
    expect(packed.rows.some((row) => /(^|,)1\d/.test(row))).toBe(true);
    expect(unpackVectorMap(packed)).toEqual(r.vectorMap);
  });
});
