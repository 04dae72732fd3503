// Part 1 output: results/engines.json, ns/op-vs-CPUs charts, the README section and the targets.

import type { PartContext, PartResult, TargetLine } from '../lib/context';
import type { Point } from '../lib/charts';
import type { MeasureConfig } from '../lib/measure';
import { fmtNs, fmtRatio, geomean, speedup } from '../lib/stats';
import { ENGINE_LABEL, ENGINES, type CaseResult, type OpName } from './engines';

export interface CaseRatios {
  /** kernel median / WASM batch median. */
  batchVsKernel: number | null;
  /** JS median / WASM batch median. */
  batchVsJs: number | null;
  /** JS median / WASM single-call median (> 1: WASM faster). */
  wasmVsJs: number | null;
  /** WASM single-call median / WASM batch median. */
  perCallVsBatch: number | null;
  /** kernel median / JS median. */
  jsVsKernel: number | null;
}

export function ratiosOf(c: CaseResult): CaseRatios {
  const r = c.results;
  return {
    batchVsKernel: speedup(r.kernel, r['wasm-batch']),
    batchVsJs: speedup(r.js, r['wasm-batch']),
    wasmVsJs: speedup(r.js, r.wasm),
    perCallVsBatch: speedup(r.wasm, r['wasm-batch']),
    jsVsKernel: speedup(r.kernel, r.js),
  };
}

const BIG = new Set([1024, 4096, 8192]);
const isBlock = (op: OpName) => op.startsWith('block');

function span(xs: number[]): string {
  if (xs.length === 0) return 'no case';
  const g = geomean(xs)!;
  return `min ${fmtRatio(Math.min(...xs))}, geomean ${fmtRatio(g)}, max ${fmtRatio(Math.max(...xs))} over ${xs.length} case(s)`;
}

export async function enginesReport(ctx: PartContext, cases: CaseResult[], cfg: MeasureConfig): Promise<PartResult> {
  const withRatios = cases.map((c) => ({ ...c, ratios: ratiosOf(c) }));
  ctx.out.json('engines', {
    part: 'engines',
    mode: ctx.mode,
    machine: ctx.machine,
    units: 'ns per operation (median, min, max over pooled tinybench samples)',
    method: {
      measure: cfg,
      harness: 'tinybench (hrtime), warm-up, all engines of a case in one Bench per round, task order rotated each round',
      lists: 'each timed call replays an operation list that restores the matrix (alloc+free pairs or a churn trace ending with all frees); results checked on every engine before and after timing',
      fill: 'load L: round(L * 201) singles per CPU, every CPU online, x86 preset; fill "low": at the lowest free vectors (where irq_matrix_alloc puts them); "scattered": at seeded random vectors except on every 64th CPU (63, 127, ...), filled low, so 16/32-runs survive only there',
      engines: ENGINE_LABEL,
    },
    cases: withRatios,
  });

  const charts: string[] = [];
  const chartOf = async (op: OpName, load: number, file: string, title: string) => {
    const pts: Point[] = [];
    for (const c of cases) {
      if (c.op !== op || c.mask !== 'all' || c.load !== load || c.fill === 'scattered') continue;
      for (const e of ENGINES) pts.push({ x: c.cpus, y: c.results[e].medianNs, series: ENGINE_LABEL[e] });
    }
    const f = await ctx.out.chart(file, { title, xTitle: 'CPUs (log scale)', yTitle: 'ns per operation (median, log scale)', xScale: 'log2', yScale: 'log10', seriesTitle: 'engine', points: pts });
    if (f) charts.push(`![${title}](${f})`);
  };
  await chartOf('alloc', 0.5, 'engines-alloc', 'alloc/free pairs, all-CPU mask, 50 % load');
  await chartOf('block32', 0.5, 'engines-block32', 'allocBlock(32)/freeBlock pairs, all-CPU mask, 50 % load');
  await chartOf('block32', 0, 'engines-block32-empty', 'allocBlock(32)/freeBlock pairs, all-CPU mask, empty matrix');
  await chartOf('churn', 0.5, 'engines-churn', 'mixed churn trace, all-CPU mask, 50 % load');

  // ---- targets ----
  const bigBlocks = withRatios.filter((c) => c.mask === 'all' && BIG.has(c.cpus) && isBlock(c.op));
  const fits = bigBlocks.filter((c) => c.outcome === 'ok');
  const full = bigBlocks.filter((c) => c.outcome !== 'ok');
  const vsKernel = fits.map((c) => c.ratios.batchVsKernel!).filter(Number.isFinite);
  const vsJs = fits.map((c) => c.ratios.batchVsJs!).filter(Number.isFinite);
  const singles = withRatios.map((c) => c.ratios.wasmVsJs!).filter(Number.isFinite);
  const singleAlloc = withRatios.filter((c) => c.op === 'alloc').map((c) => c.ratios.wasmVsJs!);
  const scale = (op: OpName, load: number) => {
    const pick = (cpus: number) => cases.find((c) => c.op === op && c.mask === 'all' && c.load === load && c.cpus === cpus && c.fill !== 'scattered');
    const a = pick(1024);
    const b = pick(8192);
    return a && b ? b.results['wasm-batch'].medianNs / a.results['wasm-batch'].medianNs : null;
  };
  const growth = scale('block32', 0.5) ?? scale('block32', 0);
  const targets: TargetLine[] = [
    { target: 'allocBlock, all-CPU mask, 1024–8192 CPUs: WASM batch ≥ 10× kernel reference', measured: span(vsKernel), met: vsKernel.length ? Math.min(...vsKernel) >= 10 : null },
    { target: 'allocBlock, all-CPU mask, 1024–8192 CPUs: WASM batch ≥ 3× JS twin', measured: span(vsJs), met: vsJs.length ? Math.min(...vsJs) >= 3 : null },
    {
      target: 'allocBlock cost grows at most linearly in CPUs (8× CPUs from 1024 to 8192 → ≤ 8× ns/op)',
      measured: growth === null ? 'not measured' : `WASM batch block32/all: ${growth.toFixed(2)}× from 1024 to 8192 CPUs`,
      met: growth === null ? null : growth <= 8,
    },
    {
      target: 'single-op WASM calls no slower than JS',
      measured: `JS/WASM per-call: alloc pairs ${span(singleAlloc)}; all ops ${span(singles)}`,
      met: singles.length ? Math.min(...singles) >= 1 : null,
    },
  ];

  // ---- markdown ----
  const md: string[] = [];
  md.push('## 1. Allocator engines side by side', '');
  md.push(
    `Median ns per operation; each row was measured in one run, all four engines in the same tinybench Bench (${ctx.rounds} round(s), order rotated). ` +
      '"batch vs kernel" = kernel reference median / WASM runBatch median; "batch vs JS" = JS twin / WASM runBatch; "WASM vs JS" = JS twin / WASM one call per op (> 1: WASM faster). ' +
      'A pair is two operations (allocation and its cheap free), so ns/op of an "ok" row averages the two; "enospc" rows (the request fits nowhere) time failing allocations alone.',
    '',
  );
  md.push('### allocBlock with the all-CPU mask at 1024–8192 CPUs', '');
  md.push('| op | load | CPUs | outcome | kernel ref | JS twin | WASM call | WASM batch | batch vs kernel | batch vs JS | WASM vs JS |');
  md.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of bigBlocks) {
    const r = c.results;
    md.push(
      `| ${c.op} | ${Math.round(c.load * 100)} %${c.fill === 'scattered' ? ' scattered' : ''} | ${c.cpus} | ${c.outcome} | ${fmtNs(r.kernel.medianNs)} | ${fmtNs(r.js.medianNs)} | ${fmtNs(r.wasm.medianNs)} | ${fmtNs(r['wasm-batch'].medianNs)} | ` +
        `${fmtRatio(c.ratios.batchVsKernel)} | ${fmtRatio(c.ratios.batchVsJs)} | ${fmtRatio(c.ratios.wasmVsJs)} |`,
    );
  }
  md.push('', '### Every case', '');
  md.push('| case (op/mask/load/CPUs) | outcome | ops/call | kernel ref | JS twin | WASM call | WASM batch | batch vs kernel | WASM vs JS | call vs batch |');
  md.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of withRatios) {
    const r = c.results;
    md.push(
      `| ${c.id} | ${c.outcome} | ${c.opsPerCall} | ${fmtNs(r.kernel.medianNs)} | ${fmtNs(r.js.medianNs)} | ${fmtNs(r.wasm.medianNs)} | ${fmtNs(r['wasm-batch'].medianNs)} | ` +
        `${fmtRatio(c.ratios.batchVsKernel)} | ${fmtRatio(c.ratios.wasmVsJs)} | ${fmtRatio(c.ratios.perCallVsBatch)} |`,
    );
  }
  if (full.length) md.push('', `${full.length} of the large allocBlock rows are "enospc"/"mixed" (the request fits on no CPU): they are excluded from the target ratios and shown for the cost of a failing search.`);
  md.push('', ...(charts.length ? charts : ['(no charts: see the run log)']), '');
  return { markdown: md.join('\n'), targets };
}
