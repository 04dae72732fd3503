// irqslice migrate --trace-file: one process per protocol and setup, the replayed run's guest steps on
// the old CPU's track, handler runs where messages landed, and the device's MSI writes — the same
// writes, in the same order, as the failing interleaving the JSON report prints.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../cli/harness.js';
import { checkTraceFormat, trackName } from './format.js';

const dir = mkdtempSync(path.join(tmpdir(), 'irqslice-mtrace-'));

describe('irqslice migrate --trace-file', () => {
  it('traces one run per protocol; a failing run replays the reported interleaving', async () => {
    const file = path.join(dir, 'm.json');
    const out = await runInProcess({ argv: ['migrate', '--protocol', 'naive,safe', '--mode', 'affinity', '--json', '--trace-file', file] });
    expect(out.status).toBe(0);
    const report = JSON.parse(out.stdout) as { results: { protocol: string; example: string[] | null }[] };
    const events = checkTraceFormat(JSON.parse(readFileSync(file, 'utf8')));
    expect([...new Set(events.map((e) => e.pid))].sort()).toEqual([1, 2]);
    report.results.forEach((r, k) => {
      const pid = k + 1;
      expect(trackName(events, pid)).toContain(r.protocol);
      const mine = events.filter((e) => e.pid === pid && e.ph !== 'M');
      // The guest's steps run on the old CPU (CPU 1).
      const steps = mine.filter((e) => e.cat === 'step');
      expect(steps.length).toBeGreaterThan(0);
      for (const s of steps) expect(trackName(events, pid, s.tid)).toBe('CPU 1 (old)');
      const msi = mine.filter((e) => e.cat === 'msi');
      expect(msi.length).toBeGreaterThan(0);
      for (const m of msi) expect(m.args!.address).toMatch(/^0xfee0[0-9a-f]{4}$/);
      if (r.example) {
        // "device: message 0 → CPU 2 vector 0x20" in the report ↔ "MSI 0x20 → CPU 2" in the trace.
        const wire = r.example.flatMap((l) => {
          const m = /^device: message \d+(?: \(was pending\))? → (.*) vector (0x[0-9a-f]+)$/.exec(l);
          return m ? [`MSI ${m[2]} → ${m[1]}`] : [];
        });
        expect(msi.map((e) => e.name)).toEqual(wire);
      }
    });
    // naive loses the message to the other driver on CPU 2 (nbB): its handler ran there.
    expect(events.some((e) => e.pid === 1 && e.cat === 'handler' && /nbB/.test(e.name) && trackName(events, 1, e.tid) === 'CPU 2 (new)')).toBe(true);
  });

  it('refuses --trace-file with --evacuate, and an unwritable path, with exit 2', async () => {
    const evac = await runInProcess({ argv: ['migrate', '--evacuate', '--trace-file', path.join(dir, 'e.json')] });
    expect(evac.status).toBe(2);
    expect(evac.stderr).toContain('--trace-file does not apply to --evacuate');
    const bad = await runInProcess({ argv: ['migrate', '--trace-file', path.join(dir, 'missing', 'm.json')] });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('no such directory');
  });
});
