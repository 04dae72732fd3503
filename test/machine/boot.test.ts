import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run-scenario';
import { DEFAULT_SCENARIO } from '../../src/scenario/scenario';
import { formatReport } from '../../src/scenario/report-text';

describe('boot and probe', () => {
  it('default scenario passes under aligned', async () => {
    const r = await runScenario(DEFAULT_SCENARIO);
    console.log(formatReport(r));
    expect(r.ok).toBe(true);
  });
});
