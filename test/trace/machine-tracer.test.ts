// machine.tracer: what the board reports to an observer — balanced handler entries and exits, one EOI
// per handled fixed interrupt (the guest's handlers all EOI), IPIs through the xAPIC ICR page and the
// x2APIC ICR MSR, MSI writes named by the function that mastered them — and nothing without one.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MachineTracer } from '../../src/machine/tracer.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { DEFAULT_SCENARIO, parseScenario, type ScenarioInput } from '../../src/scenario/scenario.js';
import type { Machine } from '../../src/machine/machine.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

interface Log {
  enter: [number, number, number][];
  exit: [number, number, number][];
  eoi: number[];
  ipi: [number, number, number][];
  config: string[];
  bar: string[];
  msi: [string, number, boolean][];
}

function recorder(): { tracer: MachineTracer; log: Log } {
  const log: Log = { enter: [], exit: [], eoi: [], ipi: [], config: [], bar: [], msi: [] };
  const tracer: MachineTracer = {
    interruptEnter: (cpu, vector, t) => void log.enter.push([cpu, vector, t]),
    interruptExit: (cpu, vector, t) => void log.exit.push([cpu, vector, t]),
    eoi: (cpu) => void log.eoi.push(cpu),
    ipi: (cpu, icr, dest) => void log.ipi.push([cpu, icr, dest]),
    configWrite: (bdf) => void log.config.push(bdf),
    barWrite: (bdf) => void log.bar.push(bdf),
    msiWrite: (bdf, _a, data, outcome) => void log.msi.push([bdf, data, outcome.delivered]),
  };
  return { tracer, log };
}

async function traced(scenario: ScenarioInput | string) {
  const { tracer, log } = recorder();
  let machine: Machine | null = null;
  const report = await runScenario(scenario, { onMachine: (m) => ((machine = m), (m.tracer = tracer)) });
  return { report, log, machine: machine! };
}

describe('MachineTracer', () => {
  it('is null unless set', async () => {
    let seen: unknown = 'unset';
    await runScenario(DEFAULT_SCENARIO, { onMachine: (m) => (seen = m.tracer) });
    expect(seen).toBeNull();
  });

  it('xAPIC: balanced handlers with one EOI each, INIT/SIPI IPIs, MSI writes by their function', async () => {
    const { report, log, machine } = await traced(DEFAULT_SCENARIO);
    expect(report.ok).toBe(true);
    expect(log.exit.length).toBe(log.enter.length);
    // Every taken interrupt is counted in Cpu.taken as well.
    const taken = machine.cpus.reduce((n, c) => n + c.taken.reduce((a, b) => a + b, 0), 0);
    expect(log.enter.length).toBe(taken);
    // Fixed interrupts (not the spurious vector 0xFF, which has no ISR bit) are EOIed once each.
    const fixed = log.enter.filter(([, v]) => v !== 0xff).length;
    expect(log.eoi.length).toBe(fixed);
    // INIT (delivery mode 101b) and STARTUP (110b) to each AP (SDM §10.6.1 ICR).
    const modes = log.ipi.map(([, icr]) => (icr >>> 8) & 7);
    expect(modes.filter((m) => m === 5).length).toBeGreaterThanOrEqual(3);
    expect(modes.filter((m) => m === 6).length).toBeGreaterThanOrEqual(3);
    const bdfs = new Set(DEFAULT_SCENARIO.devices.map((d) => d.bdf));
    for (const [bdf] of log.msi) expect(bdfs.has(bdf)).toBe(true);
    expect(log.msi.length).toBe(report.devices.reduce((n, d) => n + d.messages.length, 0));
    expect(new Set(log.config)).toEqual(bdfs);
    // Handler times: an exit never precedes its entry on the same CPU.
    const open = new Map<number, number[]>();
    for (const [cpu, , t] of log.enter) (open.get(cpu) ?? open.set(cpu, []).get(cpu)!).push(t);
    for (const [cpu, , t] of log.exit) expect(t).toBeGreaterThanOrEqual(Math.min(...open.get(cpu)!));
  });

  it('x2APIC: EOI and ICR through the MSRs (0x80B, 0x830) are seen too', async () => {
    const sc = parseScenario(readFileSync(path.join(root, 'examples/scenarios/x2apic-8cpu.json'), 'utf8'));
    const { report, log } = await traced(sc);
    expect(report.ok).toBe(true);
    expect(log.eoi.length).toBe(log.enter.filter(([, v]) => v !== 0xff).length);
    expect(log.ipi.filter(([, icr]) => ((icr >>> 8) & 7) === 6).length).toBeGreaterThanOrEqual(7);
    expect(log.msi.length).toBe(report.devices.reduce((n, d) => n + (d.mode === 'msi' || d.mode === 'msix' ? d.messages.length : 0), 0));
  });
});
