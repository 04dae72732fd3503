// The report formatters: refuse what is not a report, carry eventsDropped, and put the verdict,
// the devices and the checks before the detail that only --verbose prints.

import { describe, expect, it } from 'vitest';
import { contractJson, formatReport } from '../../src/scenario/report-text.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { ScenarioError } from '../../src/scenario/scenario.js';

describe('report formatters', () => {
  it.each([[null], [undefined], [42], [{}], [{ scenario: {}, devices: [] }]])('refuse %s with a ScenarioError', (r) => {
    expect(() => formatReport(r as never)).toThrow(ScenarioError);
    expect(() => contractJson(r as never)).toThrow(ScenarioError);
  });

  it('carry the dropped machine events in the JSON and say so in the text', async () => {
    const report = await runScenario({ name: 'one', cpus: 1, devices: [{ bdf: '00:03.0', msi: { vectors: 4 } }] });
    expect(report.ok).toBe(true);
    expect((contractJson(report) as { eventsDropped: number }).eventsDropped).toBe(0);
    expect(formatReport(report)).not.toContain('Event log:');
    const dropped = { ...report, machine: { ...report.machine, eventsDropped: 7 } };
    expect((contractJson(dropped) as { eventsDropped: number }).eventsDropped).toBe(7);
    expect(formatReport(dropped)).toContain('Event log: the oldest 7 machine event(s) were dropped');
  });
});

describe('the text report', () => {
  const sections = (text: string) => text.split('\n').filter((l) => /^(Result: |Devices$|Checks$|Boot log |Interrupts |Vector matrix |8259 pair)/.test(l)).map((l) => l.split(/[ :(]/)[0]);

  it('opens with the verdict, then the devices and the checks; the boot log, interrupt counts, matrix dump and 8259 pair only when verbose, after them', async () => {
    const r = await runScenario({ name: 'one', cpus: 1, devices: [{ bdf: '00:03.0', msi: { vectors: 4 } }] });
    expect(sections(formatReport(r))).toEqual(['Result', 'Devices', 'Checks']);
    expect(formatReport(r)).toBe(formatReport(r, { verbose: false }));
    const verbose = formatReport(r, { verbose: true });
    expect(sections(verbose)).toEqual(['Result', 'Devices', 'Checks', 'Boot', 'Interrupts', 'Vector', '8259']);
    // The debugfs view of irq_matrix_debug_show: one CPU online, the block of 4 at 0x20 on CPU 0.
    expect(verbose).toContain('Vector matrix (debugfs irq_matrix)\n  Online bitmaps:        1\n');
    expect(verbose.startsWith(formatReport(r))).toBe(true);
  });

  it('lists a few failing messages per device unless verbose, and counts the rest', async () => {
    // Older FreeBSD (index alignment): a 32-message block at IDT 0x30 gets data 0x30 with MME 5, so
    // message i arrives on 0x20 + i — all 32 misrouted.
    const r = await runScenario({ cpus: 1, policy: 'freebsd-legacy', devices: [{ bdf: '00:03.0', msi: { vectors: 32 } }] });
    const brief = formatReport(r).split('\n').filter((l) => l.startsWith('  FAIL  00:03.0 message'));
    expect(brief.map((l) => l.slice(0, 26))).toEqual(['  FAIL  00:03.0 message 0:', '  FAIL  00:03.0 message 1:', '  FAIL  00:03.0 message 2:']);
    expect(formatReport(r)).toContain('  FAIL  00:03.0: 29 more failed message(s), listed with --verbose');
    expect(formatReport(r, { verbose: true }).split('\n').filter((l) => l.startsWith('  FAIL  00:03.0 message'))).toHaveLength(32);
  });

  it.each([[null], [{ verbose: 1 }], [{ verbos: true }], ['verbose']])('refuses options %j with a ScenarioError', async (options) => {
    const r = await runScenario({ cpus: 1, devices: [] });
    expect(() => formatReport(r, options as never)).toThrow(ScenarioError);
  });
});

describe('scenario parsing', () => {
  it('a JSON syntax error never carries raw control characters', async () => {
    const { parseScenario } = await import('../../src/scenario/scenario.js');
    let err: unknown;
    try {
      parseScenario('{"cpus": \u0001}');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as Error).message).not.toMatch(/[\u0000-\u001f]/);
  });
  it('fill -0 is returned as 0', async () => {
    const { validateScenario } = await import('../../src/scenario/scenario.js');
    expect(Object.is(validateScenario({ cpus: 1, fill: -0, devices: [] }).fill, 0)).toBe(true);
  });
});
