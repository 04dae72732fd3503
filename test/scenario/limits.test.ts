// The largest scenarios the validator accepts run end to end, and every declared device is accounted
// for in the report (wall time and memory are measured by hand, see the commit; nothing timed here).

import { describe, expect, it } from 'vitest';
import { contractJson, formatReport } from '../../src/scenario/report-text.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { validateScenario } from '../../src/scenario/scenario.js';

const bdf = (i: number) => `${(i >> 5).toString(16).padStart(2, '0')}:${(i & 31).toString(16).padStart(2, '0')}.0`;

describe('the largest accepted scenarios', () => {
  it('1024 CPUs, 256 devices × 2048 MSI-X entries: vectors run out, each refused device is ENOSPC, none vanishes', async () => {
    const sc = validateScenario({ cpus: 1024, devices: Array.from({ length: 256 }, (_, i) => ({ bdf: bdf(i), msix: { vectors: 2048 } })) });
    const r = await runScenario(sc);
    expect(r.scenario.devices).toBe(256);
    expect(r.devices).toHaveLength(256);
    // MSI can name APIC IDs 0..254 only: 255 CPUs × 201 allocatable vectors (CPU 0 holds the
    // timer's 0x30) are granted before the rest are refused.
    const granted = r.devices.reduce((n, d) => n + d.vectors, 0);
    expect(granted).toBe(255 * 201 - 1);
    const refused = r.devices.filter((d) => d.mode === 'none');
    expect(refused.length).toBeGreaterThan(0);
    for (const d of refused) expect(d.error).toBe('ENOSPC');
    for (const d of r.devices.filter((x) => x.mode === 'msix')) expect(d.messages.every((m) => m.ok)).toBe(true);
    // One check per declared device, and the refusals fail the run.
    for (const d of sc.devices) expect(r.checks.some((c) => c.name.startsWith(`${d.bdf} `))).toBe(true);
    expect(r.ok).toBe(false);
    const text = formatReport(r, { verbose: true });
    expect(text).toContain('256 of 256 declared device(s) found');
    expect(text.length).toBeLessThan(8 * 1024 * 1024); // the interrupt table lists non-zero counts only
    expect((contractJson(r) as { devices: unknown[] }).devices).toHaveLength(256);
  });

  it('1024 CPUs, 256 devices × 32-message MSI under aligned: every device gets its block and every message arrives', async () => {
    const sc = validateScenario({ cpus: 1024, devices: Array.from({ length: 256 }, (_, i) => ({ bdf: bdf(i), msi: { vectors: 32, pvm: true } })) });
    const r = await runScenario(sc);
    expect(r.devices.map((d) => d.vectors)).toEqual(new Array(256).fill(32));
    expect(r.ok).toBe(true);
    expect(r.checks.find((c) => c.name === 'no-pending')).toEqual({ name: 'no-pending', ok: true, detail: 'no interrupt left pending in any local APIC' });
  });
});
