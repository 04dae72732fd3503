// Part 1 output: results/engines.json, ns/op-vs-CPUs charts, the README section and the targets.
// Ratios are taken round by round (both medians from the same tinybench Bench) and the median of
// those per-round ratios is reported.

import type { PartContext, PartResult, TargetLine } from '../lib/context.js';
import type { Point } from '../lib/charts.js';
import type { MeasureConfig } from '../lib/measure.js';
import { fmtNs, fmtRatio, quantileSorted, type Summary } from '../lib/stats.js';
import { ENGINE_LABEL, ENGINES, HEADLINE_CPUS, type CaseResult, type EngineId, type OpName } from './engines.js';

export interface ManagedResult {
  cpus: number;
  core: Summary;
  api: Summary;
  ratio: number | null;
}

/** Median over rounds of slow/fast (> 1: `fast` is faster). */
export function roundRatio(c: CaseResult, slow: EngineId, fast: EngineId): number | null {
  const xs = c.rounds.map((r) => (r[slow] !== undefined && r[fast] ? r[slow]! / r[fast]! : NaN)).filter(Number.isFinite).sort((a, b) => a - b);
  return xs.length ? quantileSorted(xs, 0.5) : null;
}

const med = (c: CaseResult, e: EngineId) => c.results[e]?.medianNs;
const ns = (v: number | undefined) => (v === undefined ? '—' : fmtNs(v));

function find(cases: CaseResult[], op: OpName, cpus: number, load = 0.5): CaseResult | undefined {
  return cases.find((c) => c.op === op && c.cpus === cpus && c.mask === 'all' && c.load === load && c.fill !== 'scattered');
}

export async function enginesReport(ctx: PartContext, cases: CaseResult[], managed: ManagedResult[], cfg: MeasureConfig): Promise<PartResult> {
  const ratios = (c: CaseResult) => ({
    totalVsKernelJs: roundRatio(c, 'kernel-js', 'wasm-batch'),
    languageKernel: roundRatio(c, 'kernel-js', 'kernel-wasm'),
    languageIrqslice: roundRatio(c, 'twin-js', 'wasm'),
    algorithmJs: roundRatio(c, 'kernel-js', 'twin-js'),
    algorithmWasm: roundRatio(c, 'kernel-wasm', 'wasm'),
    batchVsTwin: roundRatio(c, 'twin-js', 'wasm-batch'),
    apiVsCore: roundRatio(c, 'api', 'wasm'),
  });
  ctx.out.json('engines', {
    part: 'engines',
    mode: ctx.mode,
    machine: ctx.machine,
    units: 'ns per operation (median, min, max over pooled tinybench samples); ratios: median over rounds of the per-round ratio of medians',
    method: {
      measure: cfg,
      harness: 'tinybench (hrtime), warm-up, all engines of a case in one Bench per round, task order rotated each round',
      lists: 'each timed call replays an operation list that restores the matrix (alloc+free pairs or a churn trace ending with all frees); results checked on every engine before and after timing; every runner reads the CPU of each allocation',
      fill: 'load L: round(L * 201) singles per CPU, every CPU online, x86 preset; fill "low": at the lowest free vectors (where irq_matrix_alloc puts them); "scattered": at seeded random vectors except on every 64th CPU (63, 127, ...), filled low, so 16/32-runs survive only there',
      engines: ENGINE_LABEL,
    },
    cases: cases.map((c) => ({ ...c, ratios: ratios(c) })),
    managed,
  });

  const charts: string[] = [];
  const chartOf = async (op: OpName, file: string, title: string) => {
    const pts: Point[] = [];
    for (const c of cases) {
      if (c.op !== op || c.mask !== 'all' || c.load !== 0.5 || c.fill === 'scattered') continue;
      for (const e of ENGINES) if (c.results[e]) pts.push({ x: c.cpus, y: c.results[e]!.medianNs, series: ENGINE_LABEL[e] });
    }
    const f = await ctx.out.chart(file, { title, xTitle: 'CPUs (log scale)', yTitle: 'ns per operation (median, log scale)', xScale: 'log2', yScale: 'log10', seriesTitle: 'engine', points: pts });
    if (f) charts.push(`![${title}](${f})`);
  };
  await chartOf('alloc', 'engines-alloc', 'alloc/free pairs, all-CPU mask, 50 % load');
  await chartOf('block32', 'engines-block32', 'allocBlock(32)/freeBlock pairs, all-CPU mask, 50 % load');
  await chartOf('churn', 'engines-churn', 'mixed churn trace, all-CPU mask, 50 % load');

  const md: string[] = [];
  md.push('## 1. The allocator, 2×2: algorithm × language', '');
  md.push(
    `Median ns per operation, all engines of a row measured side by side in one tinybench Bench (${ctx.rounds} round(s), task order rotated); ratios are the median over rounds of the per-round ratio. ` +
      '**matrix.c algorithm**: a scan of every CPU of the mask (`src/alloc/kernel-reference.ts` in JS, `assembly/kernel/` in WASM), tuned (see bench/profiles/baselines.md). ' +
      '**irqslice algorithm**: the selection tree (`src/alloc/js-core.ts`, `assembly/index.ts`). "WASM" is one export call per operation; "batch" is `runBatch`. ' +
      'An allocation followed by its free is a pair; ns/op averages the two. All-CPU mask, 50 % load.',
    '',
  );
  md.push('| op | CPUs | matrix.c JS | matrix.c WASM | irqslice JS | irqslice WASM | irqslice batch | language gain (matrix.c / irqslice) | algorithm gain (JS / WASM) | WASM batch vs matrix.c JS | WASM batch vs irqslice JS |');
  md.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const op of ['alloc', 'block32', 'churn'] as OpName[]) {
    for (const cpus of HEADLINE_CPUS) {
      const c = find(cases, op, cpus);
      if (!c) continue;
      const r = ratios(c);
      md.push(
        `| ${op} | ${cpus} | ${ns(med(c, 'kernel-js'))} | ${ns(med(c, 'kernel-wasm'))} | ${ns(med(c, 'twin-js'))} | ${ns(med(c, 'wasm'))} | ${ns(med(c, 'wasm-batch'))} | ` +
          `${fmtRatio(r.languageKernel)} / ${fmtRatio(r.languageIrqslice)} | ${fmtRatio(r.algorithmJs)} / ${fmtRatio(r.algorithmWasm)} | ${fmtRatio(r.totalVsKernelJs)} | ${fmtRatio(r.batchVsTwin)} |`,
      );
    }
  }

  // ---- growth ----
  md.push('', '### Growth with the number of CPUs (all-CPU mask, 50 % load)', '');
  const growthCpus = [...new Set(cases.filter((c) => c.mask === 'all' && c.load === 0.5 && !c.fill).map((c) => c.cpus))].sort((a, b) => a - b);
  md.push(`| op | engine | ${growthCpus.join(' | ')} | 8192 / 64 |`, `|---|---|${growthCpus.map(() => '---|').join('')}---|`);
  const growth: Record<string, number | null> = {};
  for (const op of ['alloc', 'block32', 'churn'] as OpName[]) {
    for (const e of ['kernel-js', 'kernel-wasm', 'twin-js', 'wasm', 'wasm-batch'] as EngineId[]) {
      const a = find(cases, op, 64);
      const b = find(cases, op, 8192);
      const g = a && b && med(a, e) && med(b, e) ? med(b, e)! / med(a, e)! : null;
      growth[`${op}/${e}`] = g;
      md.push(`| ${op} | ${ENGINE_LABEL[e]} | ${growthCpus.map((n) => ns(find(cases, op, n) && med(find(cases, op, n)!, e))).join(' | ')} | ${fmtRatio(g)} |`);
    }
  }

  // ---- API overhead ----
  md.push('', '### Public API vs the engine it calls', '');
  md.push('`VectorMatrix` methods with a frozen mask (`matrix.mask(...)`) against the WASM engine called directly (one export call per operation, reading `lastCpu()` after each allocation, as the API does). Same list, same Bench.', '');
  md.push('| case | engine | API | API / engine |', '|---|---|---|---|');
  const apiRatios: Array<{ id: string; cpus: number; ratio: number }> = [];
  for (const c of cases) {
    const r = roundRatio(c, 'api', 'wasm');
    if (r === null || (c.cpus !== 64 && c.cpus !== 8192)) continue;
    apiRatios.push({ id: c.id, cpus: c.cpus, ratio: r });
    md.push(`| ${c.id} | ${ns(med(c, 'wasm'))} | ${ns(med(c, 'api'))} | ${fmtRatio(r)} |`);
  }
  for (const m of managed) {
    if (m.ratio !== null) apiRatios.push({ id: `allocManaged+free managed/all/${m.cpus}`, cpus: m.cpus, ratio: m.ratio });
    md.push(`| allocManaged + free(managed) pairs/all/${m.cpus} | ${fmtNs(m.core.medianNs)} | ${fmtNs(m.api.medianNs)} | ${fmtRatio(m.ratio)} |`);
  }

  // ---- every case ----
  md.push('', '### Every case', '');
  md.push('| case (op/mask/load/CPUs) | outcome | ops/call | matrix.c JS | matrix.c WASM | irqslice JS | irqslice WASM | batch | API | batch vs matrix.c JS | batch vs irqslice JS |');
  md.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const r = ratios(c);
    md.push(
      `| ${c.id} | ${c.outcome} | ${c.opsPerCall} | ${ns(med(c, 'kernel-js'))} | ${ns(med(c, 'kernel-wasm'))} | ${ns(med(c, 'twin-js'))} | ${ns(med(c, 'wasm'))} | ${ns(med(c, 'wasm-batch'))} | ${ns(med(c, 'api'))} | ` +
        `${fmtRatio(r.totalVsKernelJs)} | ${fmtRatio(r.batchVsTwin)} |`,
    );
  }
  md.push('', ...(charts.length ? charts : ['(no charts: see the run log)']), '');

  // ---- targets ----
  const targets: TargetLine[] = [];
  const worstApi = apiRatios.length ? apiRatios.reduce((a, b) => (b.ratio > a.ratio ? b : a)) : null;
  targets.push({
    target: '(hard) public API ≤ 1.3× the engine per operation, 64 and 8192 CPUs, frozen mask',
    measured: worstApi ? `worst ${fmtRatio(worstApi.ratio)} (${worstApi.id}) over ${apiRatios.length} case(s)` : 'not measured',
    met: worstApi ? worstApi.ratio <= 1.3 : null,
  });
  for (const op of ['alloc', 'block32', 'churn'] as OpName[]) {
    const g = growth[`${op}/wasm-batch`] ?? null;
    const g1 = growth[`${op}/wasm`] ?? null;
    targets.push({
      target: `(hard) WASM cost grows ≤ 4× from 64 to 8192 CPUs, all-CPU mask, ${op} (aim 2×)`,
      measured: `batch ${fmtRatio(g)}, one call per op ${fmtRatio(g1)}`,
      met: g === null || g1 === null ? null : Math.max(g, g1) <= 4,
    });
  }
  const pairTarget = (op: OpName, cpus: number, vs: EngineId, goal: number, label: string) => {
    const c = find(cases, op, cpus);
    const r = c ? roundRatio(c, vs, 'wasm-batch') : null;
    const r1 = c ? roundRatio(c, vs, 'wasm') : null;
    targets.push({
      target: `${op === 'alloc' ? 'alloc/free' : 'allocBlock(32)/freeBlock'}, all-CPU mask, ${cpus} CPUs: WASM ≥ ${goal}× ${label}`,
      measured: `batch ${fmtRatio(r)}, one call per op ${fmtRatio(r1)}`,
      met: r === null ? null : r >= goal,
    });
  };
  for (const op of ['block32', 'alloc'] as OpName[]) {
    pairTarget(op, 8192, 'kernel-js', 10, 'the matrix.c algorithm in JS');
    pairTarget(op, 8192, 'twin-js', 3, 'the irqslice algorithm in JS');
    pairTarget(op, 64, 'kernel-js', 1.5, 'the matrix.c algorithm in JS');
  }
  return { markdown: md.join('\n'), targets };
}
