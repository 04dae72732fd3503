// The report formatters: refuse what is not a report, and carry eventsDropped.

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
