// Every failure mode the guest's checks exist for, demonstrated on a deliberately broken machine:
// the probe must report it precisely, never pass it and never crash.

import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/machine/machine.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { parseScenario, ScenarioError, validateScenario, type Scenario } from '../../src/scenario/scenario.js';

const base: Scenario = validateScenario({
  cpus: 2,
  devices: [{ bdf: '00:03.0', msi: { vectors: 8, is64: true, pvm: true } }],
});

/** Wraps the APIC bus's MSI entry so a test can drop, duplicate or add messages on the wire. */
function tapMsi(m: Machine, tap: (address: bigint, data: number, send: (a: bigint, d: number) => void) => void): void {
  const original = m.bus.msiWrite.bind(m.bus);
  m.bus.msiWrite = (address: bigint, data: number) => {
    let outcome = original(address, data);
    let first = true;
    tap(address, data, (a, d) => {
      const o = original(a, d);
      if (first) outcome = o;
      first = false;
    });
    return outcome;
  };
}

describe('the probe catches broken hardware', () => {
  it('a device that ignores MME sends every message with the base vector: messages 1..7 are misrouted', async () => {
    const r = await runScenario({ ...base, devices: [{ ...base.devices[0]!, quirks: { ignoreMme: true } }] });
    expect(r.ok).toBe(false);
    const d = r.devices[0]!;
    expect(d.messages[0]!.ok).toBe(true); // message 0 really is base + 0
    for (const m of d.messages.slice(1)) {
      expect(m.ok).toBe(false);
      expect(m.vector).toBe(d.base); // arrived on the base vector, not base + i
      expect(m.problem).toMatch(/^misrouted/);
    }
  });

  it('a lost message is reported as lost', async () => {
    const r = await runScenario(base, {
      onMachine: (m) => {
        const orig = m.bus.msiWrite.bind(m.bus);
        m.bus.msiWrite = (a, d) => ((d & 7) === 5 ? { delivered: false, reason: 'no-destination', detail: 'test drop' } : orig(a, d));
      },
    });
    expect(r.ok).toBe(false);
    const m5 = r.devices[0]!.messages[5]!;
    expect(m5).toMatchObject({ index: 5, vector: null, cpu: null, ok: false });
    expect(m5.problem).toMatch(/^lost/);
    expect(r.devices[0]!.messages.filter((m) => !m.ok)).toHaveLength(1);
  });

  it('a duplicate sent before INTA coalesces in the IRR (one bit per vector), so it is not seen', async () => {
    const r = await runScenario(base, { onMachine: (m) => tapMsi(m, (a, d, send) => (d & 7) === 2 && send(a, d)) });
    expect(r.devices[0]!.messages[2]).toMatchObject({ ok: true, vector: r.devices[0]!.base! + 2 });
    expect(r.ok).toBe(true);
  });

  it('a late duplicate (re-sent after the first was handled) is caught as an extra arrival', async () => {
    let held: [bigint, number] | null = null;
    const r = await runScenario(base, {
      onMachine: (m) =>
        tapMsi(m, (a, d, send) => {
          if ((d & 7) === 2) held = [a, d];
          else if ((d & 7) === 3 && held) send(...held);
        }),
    });
    expect(r.ok).toBe(false);
    expect(r.devices[0]!.messages[2]!.ok).toBe(true);
    expect(r.devices[0]!.messages[3]!.problem).toMatch(/^2 interrupts arrived/);
  });

  it('a stray interrupt on a vector nobody owns fails the no-unexpected check', async () => {
    const r = await runScenario(base, { onMachine: (m) => tapMsi(m, (a, d, send) => (d & 7) === 1 && send(a, 0xe0)) });
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.name === 'no-unexpected')).toMatchObject({ ok: false });
  });

  it('an AP that never answers its SIPI fails the smp check', async () => {
    const r = await runScenario({ ...base, cpus: 4 }, { onMachine: (m) => void (m.cpus[2]!.sipi = () => undefined) });
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.name === 'smp')).toEqual({ name: 'smp', ok: false, detail: 'CPUs 2 did not check in' });
  });

  it('a message sent to a CPU the address does not name is misrouted', async () => {
    // Rewrite the destination of message 3 to APIC ID 0 (the block lives on CPU 1); physical mode,
    // since a flat logical destination 0 names no CPU at all.
    const r = await runScenario({ ...base, destMode: 'physical' }, {
      onMachine: (m) => {
        const orig = m.bus.msiWrite.bind(m.bus);
        m.bus.msiWrite = (a, d) => orig((d & 7) === 3 ? a & ~0xff000n : a, d);
      },
    });
    const m3 = r.devices[0]!.messages[3]!;
    expect(r.devices[0]!.cpu).toBe(1);
    expect(m3).toMatchObject({ cpu: 0, ok: false });
  });
});

describe('the guest rejects malformed firmware tables with a boot error, not a crash', () => {
  const cases: Array<[string, Record<string, boolean>, RegExp]> = [
    ['bad RSDP checksum', { rsdpChecksum: true }, /RSDP found but its checksum is invalid/],
    ['no RSDP signature', { rsdpSignature: true }, /no RSDP signature/],
    ['bad XSDT checksum', { xsdtChecksum: true }, /XSDT: checksum invalid/],
    ['bad MADT checksum', { madtChecksum: true }, /APIC: checksum invalid/],
    ['MADT signature replaced', { madtSignature: true }, /no MADT/],
    ['MADT length beyond the table', { madtTruncated: true }, /APIC: checksum invalid|bad length/],
  ];
  for (const [name, faults, msg] of cases) {
    it(name, async () => {
      const r = await runScenario(base, { acpiFaults: faults });
      expect(r.ok).toBe(false);
      const boot = r.checks.find((c) => c.name.startsWith('boot'));
      expect(boot?.ok).toBe(false);
      expect(boot?.detail).toMatch(msg);
      expect(r.devices).toEqual([]);
    });
  }
});

describe('scenario validation names the field', () => {
  const bad: Array<[unknown, string]> = [
    [{ devices: [] }, 'cpus'],
    [{ cpus: 0, devices: [] }, 'cpus'],
    [{ cpus: 2000, devices: [] }, 'cpus'],
    [{ cpus: 300, apic: 'xapic', devices: [] }, 'apic'],
    [{ cpus: 2, engine: 'gpu', devices: [] }, 'engine'],
    [{ cpus: 2, policy: 'windows', devices: [] }, 'policy'],
    [{ cpus: 2 }, 'devices'],
    [{ cpus: 2, devices: [{ bdf: '0:3.0' }] }, 'devices[0].bdf'],
    [{ cpus: 2, devices: [{ bdf: '00:20.0' }] }, 'devices[0].bdf'],
    [{ cpus: 2, devices: [{ bdf: '00:03.0', msi: { vectors: 3 } }] }, 'devices[0].msi.vectors'],
    [{ cpus: 2, devices: [{ bdf: '00:03.0', msi: { vectors: 64 } }] }, 'devices[0].msi.vectors'],
    [{ cpus: 2, devices: [{ bdf: '00:03.0' }, { bdf: '00:03.0' }] }, 'devices[1].bdf'],
    [{ cpus: 2, devices: [{ bdf: '00:03.0', want: 0 }] }, 'devices[0].want'],
    [{ cpus: 2, devices: [{ bdf: '00:03.0', want: 2, min: 4 }] }, 'devices[0].min'],
    [{ cpus: 2, devices: [], colour: 'red' }, 'colour'],
    [{ cpus: 2, devices: [{ bdf: '00:03.0', msi: { vectors: 2, is64: 'yes' } }] }, 'devices[0].msi.is64'],
    [[], '(scenario)'],
  ];
  for (const [raw, field] of bad) {
    it(`${JSON.stringify(raw)} → ${field}`, () => {
      try {
        validateScenario(raw);
        expect.unreachable('accepted an invalid scenario');
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        expect((e as ScenarioError).field).toBe(field);
      }
    });
  }
  it('malformed JSON is a ScenarioError naming (json)', () => {
    expect(() => parseScenario('{"cpus": 2,')).toThrow(ScenarioError);
  });
});
