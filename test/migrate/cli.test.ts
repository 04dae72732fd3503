// `irqslice migrate` (src/cli/migrate-command.ts): the report, its JSON form, exit codes and usage errors.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/io.js';
import { migrateCommand } from '../../src/cli/migrate-command.js';
import { exhaustive, exhaustiveRunsAtLeast, quietLength, type ExploreOptions } from '../../src/migrate/explore.js';

function capture(): { text: () => string } {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  return { text: () => out };
}

afterEach(() => vi.restoreAllMocks());

describe('irqslice migrate', () => {
  it('--json: naive block of 1 in affinity mode misroutes the 2 messages fired in the torn window', async () => {
    const out = capture();
    const code = await migrateCommand({ protocol: 'naive', block: 1, mode: 'affinity', json: true });
    const body = JSON.parse(out.text()) as { ok: boolean; results: Array<Record<string, unknown>> };
    expect(code).toBe(0); // no safe protocol run, nothing failed that must not
    expect(body.results).toHaveLength(1);
    expect(body.results[0]).toMatchObject({ protocol: 'naive', count: 1, runs: 8, misrouted: 2, lost: 0, method: 'exhaustive' });
  });

  it('text report: one table row per protocol, and the safe protocol verdict; exit 0', async () => {
    const out = capture();
    const code = await migrateCommand({ block: 2, mode: 'unplug', positions: true });
    expect(code).toBe(0);
    const t = out.text();
    for (const p of ['naive', 'linux', 'linux-single', 'safe']) expect(t).toMatch(new RegExp(`^  ${p} +\\d`, 'm'));
    expect(t).toContain('fates by the step the message was fired after');
    expect(t).toContain('safe protocol: every message reached its own handler exactly once');
  });

  it('--random N --seed S samples instead of enumerating, and names the seed', async () => {
    const out = capture();
    await migrateCommand({ protocol: 'safe', block: 32, fires: 2, random: 50, seed: 9 });
    expect(out.text()).toContain('50 random interleavings (seed 9)');
  });

  it('--evacuate --json: one cell per CPU count and load', async () => {
    const out = capture();
    const code = await migrateCommand({ evacuate: true, cpus: '2,4', load: '0.3', trials: 3, json: true });
    expect(code).toBe(0);
    const body = JSON.parse(out.text()) as { cells: Array<{ cpus: number; load: number; trials: number }> };
    expect(body.cells.map((c) => [c.cpus, c.load, c.trials])).toEqual([[2, 0.3, 3], [4, 0.3, 3]]);
  });

  it.each([
    [{ block: 3 }, /power of two/],
    [{ protocol: 'fast' }, /--protocol must be/],
    [{ exhaustive: true, random: 10 }, /exclude each other/],
    [{ evacuate: true, load: '1.5' }, /--load/],
    [{ address: 48 }, /--address must be 32 or 64/],
  ])('bad usage %o is a UsageError', async (o, msg) => {
    await expect(migrateCommand(o)).rejects.toThrow(UsageError);
    await expect(migrateCommand(o)).rejects.toThrow(msg);
  });
});

describe('migrate counts its runs before starting', () => {
  const base: ExploreOptions = { protocol: 'safe', mode: 'unplug', count: 2, pvm: false, is64: true, target: 'other-base', stale: 'free', schedule: 'eager', fires: 1 };
  const C = (n: number, k: number): number => (k === 0 ? 1 : (C(n - 1, k - 1) * n) / k);

  it('one fire: exactly (quiet steps + 1) gaps × block size runs', () => {
    for (const protocol of ['naive', 'linux', 'linux-single', 'safe'] as const) {
      for (const mode of ['affinity', 'unplug'] as const) {
        const o = { ...base, protocol, mode, count: 4 as const };
        expect(exhaustiveRunsAtLeast(o)).toBe((quietLength(o) + 1) * 4);
        expect(exhaustive(o).tally.runs).toBe(exhaustiveRunsAtLeast(o));
      }
    }
  });

  it('two fires: C(L + 2, 2) × block² is a lower bound (fires can add guest steps), within 1.25×', () => {
    for (const protocol of ['naive', 'linux', 'safe'] as const) {
      const o = { ...base, protocol, fires: 2 };
      const bound = exhaustiveRunsAtLeast(o);
      expect(bound).toBe(C(quietLength(o) + 2, 2) * 4);
      const runs = exhaustive(o).tally.runs;
      expect(runs).toBeGreaterThanOrEqual(bound);
      expect(runs).toBeLessThanOrEqual(1.25 * bound);
    }
  });

  it('--max-runs refuses work over the limit with the count, and accepts the exact count', async () => {
    const o = { ...base, protocol: 'naive' as const, mode: 'affinity' as const, count: 1 as const };
    const runs = exhaustiveRunsAtLeast(o);
    const args = { protocol: 'naive', block: 1, mode: 'affinity' };
    await expect(migrateCommand({ ...args, maxRuns: runs - 1 })).rejects.toThrow(`is at least ${runs} runs, more than --max-runs ${runs - 1}`);
    capture();
    expect(await migrateCommand({ ...args, maxRuns: runs, json: true })).toBe(0);
  });

  it('--evacuate refuses more trials than --max-runs', async () => {
    await expect(migrateCommand({ evacuate: true, cpus: '2,4', load: '0.5', trials: 6, maxRuns: 11 })).rejects.toThrow('2 CPU count(s) × 1 load(s) × 6 trials is 12 trials, more than --max-runs 11');
  });

  it.each([
    [{ evacuate: true, block: 4 }, /--block does not apply to --evacuate/],
    [{ cpus: '4' }, /--cpus applies only to --evacuate/],
    [{ engine: 'bogus' }, /--engine applies only to --evacuate/],
    [{ evacuate: true, pvmShare: '0.5,0.9' }, /--pvm-share takes one number/],
    [{ evacuate: true, load: '-0.5' }, /--load: -0.5 is out of range 0..1/],
    [{ seed: 3 }, /--seed has no effect/],
  ])('mode and value checks: %o', async (o, msg) => {
    await expect(migrateCommand(o)).rejects.toThrow(msg);
  });
});

