// Part 5: boot-and-probe wall time — runScenario end to end (ACPI, SMP bring-up, PCI enumeration,
// vector allocation, every message rung and checked) for 4..1024 CPUs with 64 devices.

import type { PartContext, PartResult, TargetLine } from '../lib/context.js';
import type { Point } from '../lib/charts.js';
import { measureAsyncTask, type MeasureConfig } from '../lib/measure.js';
import { createProgress } from '../lib/progress.js';
import { fmtNs, type Summary } from '../lib/stats.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import type { DeviceInput } from '../../src/scenario/scenario.js';

const DEVICES = 64;

/** 64 endpoints on buses 0..2 (devices 1..30): MSI 32/8/4/1 and MSI-X 8, in a fixed pattern. */
export function benchDevices(): DeviceInput[] {
  return Array.from({ length: DEVICES }, (_, i) => {
    const bdf = `${Math.floor(i / 30).toString(16).padStart(2, '0')}:${(1 + (i % 30)).toString(16).padStart(2, '0')}.0`;
    const k = i % 8;
    if (k === 3) return { bdf, msix: { vectors: 8 } };
    const vectors = k === 0 ? 32 : k <= 2 ? 8 : k === 4 ? 4 : 1;
    return { bdf, msi: { vectors, is64: true, pvm: true } };
  });
}

interface BootCase {
  cpus: number;
  messages: number;
  virtualTimeNs: number;
  result: Summary;
}

export async function runBoot(ctx: PartContext): Promise<PartResult> {
  const cpuCounts = [4, 64, 256, 1024];
  const cfg: MeasureConfig = ctx.mode === 'quick'
    ? { timeMs: 0, warmupMs: 0, iterations: 2, rounds: 1 }
    : { timeMs: 2000, warmupMs: 300, iterations: 5, rounds: ctx.rounds };
  const progress = await createProgress('part 5 boot', cpuCounts.length);
  const cases: BootCase[] = [];
  for (const cpus of cpuCounts) {
    const scenario = { name: `bench boot ${cpus}`, cpus, devices: benchDevices() };
    const check = await runScenario(scenario);
    if (!check.ok) throw new Error(`boot bench (${cpus} CPUs): ${check.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
    const messages = check.devices.reduce((a, d) => a + d.messages.length, 0);
    // runScenario is async only for the one-time module compile; each timed call awaits a boot.
    const res = await measureAsyncTask(() => runScenario(scenario), cfg);
    cases.push({ cpus, messages, virtualTimeNs: check.machine.timeNs, result: res });
    progress.tick(`${cpus} CPUs`);
  }
  progress.stop();
  ctx.out.json('boot', {
    part: 'boot',
    mode: ctx.mode,
    machine: ctx.machine,
    units: 'ns of wall time per boot-and-probe (median, min, max over tinybench samples)',
    method: { measure: cfg, devices: benchDevices(), scenario: 'runScenario({cpus, devices}) with the default policy (aligned) and engine (wasm)' },
    cases,
  });
  const pts: Point[] = cases.map((c) => ({ x: c.cpus, y: c.result.medianNs / 1e6, series: `${DEVICES} devices` }));
  const chart = await ctx.out.chart('boot', { title: 'Boot-and-probe wall time', xTitle: 'CPUs (log scale)', yTitle: 'ms (median)', xScale: 'log2', yScale: 'log10', seriesTitle: 'machine', points: pts });
  const md = ['## 5. Boot-and-probe wall time', ''];
  md.push(`runScenario end to end with ${DEVICES} devices (every message rung and checked by the guest).`, '');
  md.push('| CPUs | messages probed | virtual time | wall time (median) | min | max | samples |', '|---|---|---|---|---|---|---|');
  for (const c of cases) md.push(`| ${c.cpus} | ${c.messages} | ${fmtNs(c.virtualTimeNs)} | ${fmtNs(c.result.medianNs)} | ${fmtNs(c.result.minNs)} | ${fmtNs(c.result.maxNs)} | ${c.result.samples} |`);
  md.push('', chart ? `![boot](${chart})` : '(no chart: see the run log)', '');
  const targets: TargetLine[] = [
    { target: 'boot-and-probe wall time reported for 4, 64, 256, 1024 CPUs with 64 devices', measured: cases.map((c) => `${c.cpus}: ${fmtNs(c.result.medianNs)}`).join(', '), met: null },
  ];
  return { markdown: md.join('\n'), targets };
}
