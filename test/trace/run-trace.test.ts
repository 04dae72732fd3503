// irqslice run --trace-file: a valid trace-event file with one process per policy run, a track per CPU
// and per PCI function, and exactly one MSI write event per message the report lists.

import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess, root } from '../cli/harness.js';
import { checkTraceFormat, trackName, type Ev } from './format.js';

interface Msg {
  index: number;
  vector: number | null;
  ok: boolean;
}
interface Dev {
  bdf: string;
  mode: string;
  base: number | null;
  vectors: number;
  messages: Msg[];
}
interface Run {
  policy: string;
  devices: Dev[];
}

const dir = mkdtempSync(path.join(tmpdir(), 'irqslice-trace-'));

async function traced(argv: string[]): Promise<{ status: number | null; events: Ev[]; runs: Run[] }> {
  const file = path.join(dir, `t${Math.random().toString(36).slice(2)}.json`);
  const out = await runInProcess({ argv: [...argv, '--json', '--trace-file', file] });
  expect(out.stderr).toBe('');
  const body = JSON.parse(out.stdout) as Run | { runs: Run[] };
  const runs = 'runs' in body ? body.runs : [body];
  return { status: out.status, events: checkTraceFormat(JSON.parse(readFileSync(file, 'utf8'))), runs };
}

/** Vectors the MSI data carries (bits 7:0), per function track of one process. */
function msiByDevice(events: Ev[], pid: number): Map<string, Ev[]> {
  const out = new Map<string, Ev[]>();
  for (const e of events) {
    if (e.pid !== pid || e.cat !== 'msi') continue;
    const name = trackName(events, pid, e.tid)!;
    out.set(name, [...(out.get(name) ?? []), e]);
  }
  return out;
}

describe('irqslice run --trace-file', () => {
  it('writes one process per policy, named tracks, and one MSI event per probed message', async () => {
    const { status, events, runs } = await traced(['run', '--policy', 'aligned,linux']);
    expect(status).toBe(0);
    const pids = [...new Set(events.map((e) => e.pid))].sort();
    expect(pids).toEqual([1, 2]);
    expect(trackName(events, 1)).toContain('aligned');
    expect(trackName(events, 2)).toContain('linux');
    runs.forEach((run, k) => {
      const pid = k + 1;
      const msi = msiByDevice(events, pid);
      for (const d of run.devices) {
        const got = msi.get(`PCI ${d.bdf}`) ?? [];
        // Exactly one MSI write per message the report lists (the probe rings each once).
        expect(got.length, `${run.policy} ${d.bdf}`).toBe(d.mode === 'msi' || d.mode === 'msix' ? d.messages.length : 0);
        for (const e of got) {
          expect(e.args!.address).toMatch(/^0xfee[0-9a-f]{5}$/);
          expect(e.args!.data).toMatch(/^0x[0-9a-f]+$/);
        }
        // Under aligned, message i carries base + i in its data (the block's contract).
        if (run.policy === 'aligned' && d.mode === 'msi') {
          const vectors = got.map((e) => Number(e.args!.data) & 0xff).sort((a, b) => a - b);
          expect(vectors).toEqual(d.messages.map((m) => d.base! + m.index));
        }
      }
      // Every INTA opens one handler on the same track; each handler that ran issued its EOI.
      const cpuTracks = new Set(events.filter((e) => e.pid === pid && e.cat === 'inta').map((e) => e.tid));
      expect(cpuTracks.size).toBeGreaterThan(0);
      for (const tid of cpuTracks) {
        const on = events.filter((e) => e.pid === pid && e.tid === tid);
        expect(on.filter((e) => e.cat === 'handler').length).toBe(on.filter((e) => e.cat === 'inta').length);
        expect(trackName(events, pid, tid)).toMatch(/^CPU \d+/);
      }
      expect(events.some((e) => e.pid === pid && e.cat === 'eoi')).toBe(true);
      expect(events.some((e) => e.pid === pid && e.cat === 'ipi' && /INIT|init/.test(e.name))).toBe(true);
      expect(events.some((e) => e.pid === pid && e.cat === 'config')).toBe(true);
      expect(events.some((e) => e.pid === pid && e.cat === 'doorbell')).toBe(true);
    });
    // Handlers are complete events with their duration; the default run's handlers all EOI.
    const handlers = events.filter((e) => e.cat === 'handler');
    expect(handlers.every((e) => e.ph === 'X' && e.dur! >= 0)).toBe(true);
    expect(handlers.some((e) => e.dur! > 0)).toBe(true);
  });

  it('counts one MSI event per message under freebsd-legacy too (a misrouted message is still one write)', async () => {
    const file = path.join(root, 'examples/scenarios/freebsd-misroute.json');
    const { events, runs } = await traced(['run', file, '--policy', 'freebsd-legacy']);
    const msi = msiByDevice(events, 1);
    let total = 0;
    for (const d of runs[0]!.devices) {
      const got = msi.get(`PCI ${d.bdf}`) ?? [];
      expect(got.length).toBe(d.mode === 'msi' || d.mode === 'msix' ? d.messages.length : 0);
      total += got.length;
    }
    expect(total).toBeGreaterThan(0);
  });

  it('refuses a path it cannot write with exit 2, before running', async () => {
    const bad = path.join(dir, 'no-such-dir', 'trace.json');
    const out = await runInProcess({ argv: ['run', '--trace-file', bad] });
    expect(out.status).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^irqslice run: --trace-file: cannot write .*no-such-dir.*: no such directory\n$/);
    expect(existsSync(bad)).toBe(false);
    const twice = await runInProcess({ argv: ['run', '--trace-file', path.join(dir, 'a'), '--trace-file', path.join(dir, 'b')] });
    expect(twice.status).toBe(2);
    const empty = await runInProcess({ argv: ['run', '--trace-file='] });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('--trace-file');
    const dirAsFile = await runInProcess({ argv: ['run', '--trace-file', dir] });
    expect(dirAsFile.status).toBe(2);
    expect(dirAsFile.stderr).toContain('is a directory');
  });
});
