// `irqslice run` and destination modes: a flat logical scenario Linux would never boot is bad input
// (exit 2, one line naming destMode); the logical example passes and reports address and data.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectUsageError, root, runBundle } from './harness.js';

describe('irqslice run: destMode', () => {
  it.each([
    [{ cpus: 4, apic: 'x2apic', destMode: 'logical', devices: [] }, /destMode: "logical" \(flat\) needs "apic": "xapic"/],
    [{ cpus: 16, destMode: 'logical', devices: [] }, /destMode: "logical" \(flat\) names at most 8 CPUs/],
  ])('exits 2 for %j', async (sc, msg) => {
    expectUsageError(await runBundle({ argv: ['run', '-'], stdin: JSON.stringify(sc) }), msg);
  });

  it('the logical example passes; --json has address 0xfee08004 and data 0x21 for the device on CPU 3', async () => {
    const r = await runBundle({ argv: ['run', path.join(root, 'examples/scenarios/logical-4cpu.json'), '--json'] });
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { ok: boolean; devices: Array<{ bdf: string; cpu: number; address: number; data: number }> };
    expect(j.ok).toBe(true);
    expect(j.devices.find((d) => d.bdf === '00:05.0')).toMatchObject({ cpu: 3, address: 0xfee08004, data: 0x21 });
  });
});
