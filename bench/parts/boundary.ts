// Part 2: what crossing the JS↔WASM boundary costs — one export call per operation vs runBatch with
// 1, 16 or 256 operations per call (copying the list in and the results out, or filled in place).

import { createFixture, SLOT } from '../lib/fixture.js';
import type { PartContext, PartResult, TargetLine } from '../lib/context.js';
import type { Point } from '../lib/charts.js';
import { measure, type MeasureConfig, type TaskSpec } from '../lib/measure.js';
import { pairList, runJs, runWasm, verifyList } from '../lib/oplist.js';
import { fmtNs, fmtRatio, speedup, type Summary } from '../lib/stats.js';

const LIST_OPS = 256;
const BATCHES = [1, 16, 256] as const;
const VARIANTS = ['js per-call', 'wasm per-call', 'wasm batch 1', 'wasm batch 16', 'wasm batch 256', 'wasm batch 256 in place'] as const;
type Variant = (typeof VARIANTS)[number];

interface BoundaryCase {
  op: 'alloc' | 'block8';
  cpus: number;
  results: Record<Variant, Summary>;
}

export async function runBoundary(ctx: PartContext): Promise<PartResult> {
  const cpuCounts = ctx.mode === 'quick' ? [8, 1024] : [8, 64, 1024, 8192];
  const cfg: MeasureConfig = ctx.mode === 'quick'
    ? { timeMs: 30, warmupMs: 10, iterations: 5, rounds: ctx.rounds }
    : { timeMs: 200, warmupMs: 50, iterations: 10, rounds: ctx.rounds };
  const cases: BoundaryCase[] = [];
  for (const cpus of cpuCounts) {
    const fx = createFixture(ctx.wasmModule, cpus, 0.5);
    for (const op of ['alloc', 'block8'] as const) {
      const list = pairList(fx, SLOT.all, op === 'alloc' ? 0 : 8, LIST_OPS / 2);
      verifyList(fx, list);
      const { ops, n } = list;
      const res = new Int32Array(n * 2);
      const tasks: TaskSpec[] = [
        { name: 'js per-call', fn: () => runJs(fx.js, ops, n), opsPerCall: n },
        { name: 'wasm per-call', fn: () => runWasm(fx.wasm, ops, n), opsPerCall: n },
      ];
      for (const b of BATCHES) {
        const chunks = Array.from({ length: Math.ceil(n / b) }, (_, i) => [ops.subarray(i * b * 4, (i + 1) * b * 4), res.subarray(i * b * 2, (i + 1) * b * 2)] as const);
        tasks.push({
          name: `wasm batch ${b}`,
          fn: () => {
            for (const [o, r] of chunks) fx.wasm.runBatch(o, r);
          },
          opsPerCall: n,
        });
      }
      tasks.push({
        name: 'wasm batch 256 in place',
        fn: () => fx.wasm.runBatchInPlace(n),
        opsPerCall: n,
        beforeAll: () => fx.wasm.batchOpsView.set(ops),
      });
      const results = measure(tasks, cfg) as Record<Variant, Summary>;
      fx.wasm.batchOpsView.set(ops);
      fx.wasm.runBatchInPlace(n);
      const inPlace = fx.wasm.batchResultsView.subarray(0, n * 2);
      if (inPlace.some((v, i) => v !== list.expected[i])) throw new RangeError(`boundary ${op}@${cpus}: in-place batch results differ from the dry run`);
      verifyList(fx, list);
      cases.push({ op, cpus, results });
    }
  }

  ctx.out.json('boundary', {
    part: 'boundary',
    mode: ctx.mode,
    machine: ctx.machine,
    units: 'ns per operation (median, min, max over pooled tinybench samples)',
    method: {
      measure: cfg,
      list: `${LIST_OPS} operations (alloc+free or allocBlock(8)+freeBlock pairs, all-CPU mask, 50 % load) per timed call`,
      variants: {
        'wasm per-call': 'one WASM export call per operation (WasmMatrixCore methods)',
        'wasm batch N': 'MatrixCore.runBatch on chunks of N operations: copy in, run, copy results out',
        'wasm batch 256 in place': 'runBatchInPlace: operations already in WASM memory (zero copy)',
      },
    },
    cases,
  });

  const pts: Point[] = [];
  for (const c of cases) for (const b of BATCHES) pts.push({ x: b, y: c.results[`wasm batch ${b}`].medianNs, series: `${c.op} @ ${c.cpus} CPUs` });
  const chart = await ctx.out.chart('boundary', {
    title: 'WASM runBatch: ns per operation vs operations per call',
    xTitle: 'operations per runBatch call (log scale)',
    yTitle: 'ns per operation (median, log scale)',
    xScale: 'log2',
    yScale: 'log10',
    seriesTitle: 'operation @ machine',
    points: pts,
  });

  const md: string[] = ['## 2. JS↔WASM boundary cost', ''];
  md.push(`Median ns per operation over a ${LIST_OPS}-operation list (50 % load, all-CPU mask). "call vs batch 256" = one export call per op / runBatch of 256; "JS vs WASM call" = JS twin / WASM one call per op.`, '');
  md.push(`| op @ CPUs | ${VARIANTS.join(' | ')} | call vs batch 256 | batch 1 vs call | JS vs WASM call |`);
  md.push(`|---|${VARIANTS.map(() => '---').join('|')}|---|---|---|`);
  for (const c of cases) {
    const r = c.results;
    md.push(
      `| ${c.op} @ ${c.cpus} | ${VARIANTS.map((v) => fmtNs(r[v].medianNs)).join(' | ')} | ${fmtRatio(speedup(r['wasm per-call'], r['wasm batch 256']))} | ` +
        `${fmtRatio(speedup(r['wasm batch 1'], r['wasm per-call']))} | ${fmtRatio(speedup(r['js per-call'], r['wasm per-call']))} |`,
    );
  }
  md.push('', chart ? `![boundary](${chart})` : '(no chart: see the run log)', '');
  const smallest = cases.filter((c) => c.cpus === cpuCounts[0]);
  const targets: TargetLine[] = smallest.map((c) => ({
    target: `boundary (${c.op} @ ${c.cpus} CPUs): batching amortises the crossing`,
    measured: `one call per op ${fmtNs(c.results['wasm per-call'].medianNs)}, batch 256 ${fmtNs(c.results['wasm batch 256'].medianNs)} (${fmtRatio(speedup(c.results['wasm per-call'], c.results['wasm batch 256']))})`,
    met: null,
  }));
  return { markdown: md.join('\n'), targets };
}
