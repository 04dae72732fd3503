// Boot-and-probe under both FreeBSD policies with MSI devices of 32, 16, 8, 4, 2 and 1 messages (in that
// order, 00:03.0 .. 00:08.0). Expected placements follow the source's arithmetic:
//   msi_alloc: each grant takes intr_next_cpu(), round robin from CPU 0, so device k lands on CPU k mod N;
//   apic_alloc_vectors: first run of `count` free la_ioint_irqs entries whose start passes the alignment
//   test, returned as IDT vector 0x30 + index (APIC_IO_INTS); a single vector is the first free entry.
//   freebsd (main):        ((index + 0x30) & (count - 1)) == 0, i.e. the IDT vector is aligned;
//   freebsd-legacy (older): (index & (count - 1)) == 0, so a 32-block may start at 0x30.
// A device with MME = log2(count) replaces data bits MME-1:0 with the message number (PCI MSI), so
// message i arrives on (base & ~(count - 1)) | i — for a 32-block at 0x30 that is 0x20 + i.

import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { formatReport } from '../../src/scenario/report-text.js';
import { parseScenario, ScenarioError, type Scenario, type ScenarioInput } from '../../src/scenario/scenario.js';

const SIZES = [32, 16, 8, 4, 2, 1] as const;

function scenario(cpus: number, policy: 'freebsd' | 'freebsd-legacy'): ScenarioInput {
  return {
    cpus,
    policy,
    devices: SIZES.map((n, k) => ({ bdf: `00:0${3 + k}.0`, msi: { vectors: n, is64: true, pvm: false } })) as Scenario['devices'],
  };
}

// [cpu, base] per device, derived by hand from the rules above (indices in the comments).
const CURRENT: Record<number, [number, number][]> = {
  // One CPU: 32 at index 0x10 (0x40); 16 at index 0 (0x30); 8 at index 0x30 (0x60); 4 at 0x68; 2 at 0x6C;
  // the single at the first free entry, index 0x3E (0x6E).
  1: [[0, 0x40], [0, 0x30], [0, 0x60], [0, 0x68], [0, 0x6c], [0, 0x6e]],
  // CPU 0: 32 at 0x40, 8 at index 0 (0x30), 2 at 0x38; CPU 1: 16 at 0x30, 4 at 0x40, the single at 0x44.
  2: [[0, 0x40], [1, 0x30], [0, 0x30], [1, 0x40], [0, 0x38], [1, 0x44]],
  // CPU 0: 32 at 0x40, then the 2 (fifth device) at index 0; CPU 1: 16 at 0x30, the single at 0x40.
  4: [[0, 0x40], [1, 0x30], [2, 0x30], [3, 0x30], [0, 0x30], [1, 0x40]],
  8: [[0, 0x40], [1, 0x30], [2, 0x30], [3, 0x30], [4, 0x30], [5, 0x30]],
  16: [[0, 0x40], [1, 0x30], [2, 0x30], [3, 0x30], [4, 0x30], [5, 0x30]],
};

const LEGACY: Record<number, [number, number][]> = {
  // One CPU: 32 at index 0 (0x30); 16 at index 0x20 (0x50); then as above.
  1: [[0, 0x30], [0, 0x50], [0, 0x60], [0, 0x68], [0, 0x6c], [0, 0x6e]],
  // CPU 0: 32 at index 0, 8 at index 0x20 (0x50), 2 at index 0x28 (0x58); CPU 1 as under main.
  2: [[0, 0x30], [1, 0x30], [0, 0x50], [1, 0x40], [0, 0x58], [1, 0x44]],
  4: [[0, 0x30], [1, 0x30], [2, 0x30], [3, 0x30], [0, 0x50], [1, 0x40]],
  8: [[0, 0x30], [1, 0x30], [2, 0x30], [3, 0x30], [4, 0x30], [5, 0x30]],
};

describe('freebsd (freebsd-src main): every message of 1..32-message devices lands', () => {
  it.each(Object.keys(CURRENT).map(Number))('%i CPU(s)', async (cpus) => {
    const r = await runScenario(scenario(cpus, 'freebsd'));
    expect(r.ok).toBe(true);
    expect(r.devices.map((d) => [d.mode, d.vectors])).toEqual(SIZES.map((n) => ['msi', n]));
    expect(r.devices.map((d) => [d.cpu, d.base])).toEqual(CURRENT[cpus]);
    for (const d of r.devices) {
      expect(d.base! % d.vectors).toBe(0);
      expect(d.messages.map((m) => [m.index, m.vector, m.cpu, m.ok])).toEqual(Array.from({ length: d.vectors }, (_, i) => [i, d.base! + i, d.cpu, true]));
    }
    expect(r.checks.every((c) => c.ok)).toBe(true);
  });
});

describe('freebsd-legacy (index-aligned local_apic.c): the 32-message device is misrouted', () => {
  it.each(Object.keys(LEGACY).map(Number))('%i CPU(s): message i of the 32-block at 0x30 arrives on 0x20 + i; the smaller devices are fine', async (cpus) => {
    const r = await runScenario(scenario(cpus, 'freebsd-legacy'));
    expect(r.ok).toBe(false);
    expect(r.devices.map((d) => [d.cpu, d.base])).toEqual(LEGACY[cpus]);
    const [big, ...rest] = r.devices;
    expect([big!.cpu, big!.base, big!.vectors]).toEqual([0, 0x30, 32]);
    // (0x30 & ~0x1F) | i = 0x20 + i, all on CPU 0 (the address is right, the data is not).
    expect(big!.messages.map((m) => [m.vector, m.cpu, m.ok])).toEqual(Array.from({ length: 32 }, (_, i) => [0x20 + i, 0, false]));
    // 0x30, 0x50, ... are 16-aligned, so index alignment is IDT alignment for every smaller block.
    for (const d of rest) expect(d.messages.every((m, i) => m.ok && m.vector === d.base! + i)).toBe(true);
    // Messages 0..15 hit 0x20-0x2F, where nothing is installed.
    expect(r.checks.find((c) => c.name === 'no-unexpected')).toMatchObject({ ok: false, detail: '16 interrupt(s) on vectors with no handler' });
  });
});

describe('scenario and report', () => {
  it('the report shows the FreeBSD tables and which alignment produced them', async () => {
    const cur = await runScenario(scenario(2, 'freebsd'));
    const old = await runScenario(scenario(2, 'freebsd-legacy'));
    // Six grants on two CPUs bring the round robin back to CPU 0; CPU 0 holds 32 + 8 + 2, CPU 1 16 + 4 + 1.
    expect(cur.vectors).toBe('APIC_IO_INTS 0x30, 191 entries per CPU; next CPU 0\n  CPU    0: used  42  0x30-0x39,0x40-0x5f\n  CPU    1: used  21  0x30-0x44\n');
    expect(old.vectors).toBe('APIC_IO_INTS 0x30, 191 entries per CPU; next CPU 0\n  CPU    0: used  42  0x30-0x59\n  CPU    1: used  21  0x30-0x44\n');
    expect(formatReport(cur, { verbose: true })).toContain('Vector tables (FreeBSD la_ioint_irqs, IDT-vector alignment)');
    expect(formatReport(old, { verbose: true })).toContain('Vector tables (FreeBSD la_ioint_irqs, legacy index alignment)');
  });

  it('parseScenario accepts both policies and names the field for anything else', () => {
    const text = (policy: string) => JSON.stringify({ cpus: 2, policy, devices: [{ bdf: '00:03.0', msi: { vectors: 32 } }] });
    expect(parseScenario(text('freebsd-legacy')).policy).toBe('freebsd-legacy');
    expect(parseScenario(text('freebsd')).policy).toBe('freebsd');
    expect(() => parseScenario(text('freebsd-13'))).toThrow(ScenarioError);
    expect(() => parseScenario(text('freebsd-13'))).toThrow(/^policy: .*freebsd-legacy/);
  });
});
