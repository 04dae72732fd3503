// Part 1: the allocator side by side, 2×2 — {matrix.c's algorithm, irqslice's algorithm} × {JS, WASM}
// — plus irqslice's WASM batch entry point and its public API, over CPU counts, masks, loads and
// operations. Every engine replays the same operation list in the same tinybench Bench.

import { createFixture, MASK_NAMES, SLOT, type Fixture, type FillPattern, type MaskName } from '../lib/fixture.js';
import type { PartContext, PartResult } from '../lib/context.js';
import { measureRounds, roughCostNs, type MeasureConfig, type TaskSpec } from '../lib/measure.js';
import { churnList, pairList, runApi, runJs, runKernel, runKernelWasm, runWasm, verifyList, type OpList } from '../lib/oplist.js';
import { createProgress } from '../lib/progress.js';
import { quantileSorted, type Summary } from '../lib/stats.js';
import { enginesReport, type ManagedResult } from './engines-report.js';

export const ENGINES = ['kernel-js', 'kernel-wasm', 'twin-js', 'wasm', 'wasm-batch', 'api'] as const;
export type EngineId = (typeof ENGINES)[number];
export const ENGINE_LABEL: Readonly<Record<EngineId, string>> = {
  'kernel-js': 'matrix.c algorithm, JS',
  'kernel-wasm': 'matrix.c algorithm, WASM',
  'twin-js': 'irqslice algorithm, JS (twin)',
  wasm: 'irqslice algorithm, WASM',
  'wasm-batch': 'irqslice WASM, runBatch',
  api: 'public API (WASM, frozen mask)',
};

/** CPU counts of the headline tables; the full run adds the others for the growth chart. */
export const HEADLINE_CPUS = [64, 1024, 8192] as const;
export const GROWTH_CPUS = [8, 64, 512, 1024, 4096, 8192] as const;
export const BLOCK_SIZES = [1, 2, 4, 8, 16, 32] as const;

/** 'alloc' = irq_matrix_alloc/free pairs; 'blockN' = allocBlock(N)/freeBlock pairs; 'churn' = mixed trace. */
export type OpName = 'alloc' | `block${(typeof BLOCK_SIZES)[number]}` | 'churn';

export interface CaseDef {
  op: OpName;
  mask: MaskName;
  load: number;
  cpus: number;
  /** Placement of the pre-filled singles (default 'low'). */
  fill?: FillPattern;
}

export interface CaseResult extends CaseDef {
  id: string;
  /** Operations per timed call (the length of the replayed list). */
  opsPerCall: number;
  outcome: OpList['outcome'];
  filledPerCpu: number;
  /** Pooled over all rounds; `api` is absent when the list has failing allocations (the API throws). */
  results: Partial<Record<EngineId, Summary>>;
  /** The medians of each round separately, for ratios taken round by round. */
  rounds: Array<Partial<Record<EngineId, number>>>;
}

export function caseId(c: CaseDef): string {
  return `${c.op}/${c.mask}/${Math.round(c.load * 100)}%${c.fill === 'scattered' ? ' scattered' : ''}/${c.cpus}`;
}

/** The grid. Quick: the headline cases only. Full: those at three loads, growth CPUs, masks, fills. */
export function grid(mode: 'quick' | 'full'): CaseDef[] {
  const out: CaseDef[] = [];
  const seen = new Set<string>();
  const add = (c: CaseDef) => {
    if (!seen.has(caseId(c))) {
      seen.add(caseId(c));
      out.push(c);
    }
  };
  const headlineOps: OpName[] = ['alloc', 'block32', 'churn'];
  for (const cpus of HEADLINE_CPUS) for (const op of headlineOps) add({ op, mask: 'all', load: 0.5, cpus });
  if (mode === 'quick') return out;
  for (const cpus of GROWTH_CPUS) for (const op of headlineOps) add({ op, mask: 'all', load: 0.5, cpus });
  for (const cpus of HEADLINE_CPUS) {
    for (const load of [0, 0.9]) for (const op of ['alloc', 'block8', 'block32', 'churn'] as OpName[]) add({ op, mask: 'all', load, cpus });
    for (const op of ['block1', 'block2', 'block4', 'block8', 'block16'] as OpName[]) add({ op, mask: 'all', load: 0.5, cpus });
    for (const mask of ['one', 'node'] as MaskName[]) for (const op of ['alloc', 'block32', 'churn'] as OpName[]) add({ op, mask, load: 0.5, cpus });
  }
  for (const cpus of [1024, 8192]) for (const op of ['block16', 'block32'] as OpName[]) add({ op, mask: 'all', load: 0.5, cpus, fill: 'scattered' });
  return out;
}

const SAMPLE_TARGET_NS = 20_000;
const MAX_PAIRS = 1024;

function blockCount(op: OpName): number {
  return op === 'alloc' || op === 'churn' ? 0 : Number(op.slice(5));
}

/** Builds the list for a case, sized so one replay on the WASM engine takes about 20 µs. */
function listFor(fx: Fixture, c: CaseDef, churnSteps: number): OpList {
  const slot = SLOT[c.mask];
  if (c.op === 'churn') return churnList(fx, slot, churnSteps, 0x5eed ^ c.cpus ^ Math.round(c.load * 100));
  const count = blockCount(c.op);
  const probe = pairList(fx, slot, count, 2);
  const perOp = roughCostNs(() => runWasm(fx.wasm, probe.ops, probe.n)) / probe.n;
  const opsPerPair = probe.n / 2;
  let pairs = 1;
  while (pairs < MAX_PAIRS && pairs * opsPerPair * perOp < SAMPLE_TARGET_NS) pairs <<= 1;
  return pairList(fx, slot, count, pairs);
}

/** The API replays a list with no failing allocation; check it returns what the dry run did. */
function verifyApi(fx: Fixture, list: OpList): void {
  for (let i = 0; i < list.n; i++) {
    const o = i * 4;
    const [code, a, b, c] = [list.ops[o]!, list.ops[o + 1]!, list.ops[o + 2]!, list.ops[o + 3]!];
    const want = list.expected[i * 2]!;
    const wantCpu = list.expected[i * 2 + 1]!;
    let got: number;
    let cpu = a;
    if (code === 1) ({ vector: got, cpu } = fx.api.alloc(fx.apiMasks[a]!));
    else if (code === 3) ({ base: got, cpu } = fx.api.allocBlock(fx.apiMasks[a]!, b));
    else if (code === 2) (fx.api.free(a, b), (got = 0));
    else (fx.api.freeBlock(a, b, c), (got = 0));
    if (got !== want || cpu !== wantCpu) throw new RangeError(`api: op ${i} gave ${got}@${cpu}, dry run ${want}@${wantCpu}`);
  }
}

export function measureCase(fx: Fixture, c: CaseDef, list: OpList, cfg: MeasureConfig): CaseResult {
  verifyList(fx, list);
  const withApi = list.outcome === 'ok';
  if (withApi) verifyApi(fx, list);
  const { ops, n } = list;
  const res = new Int32Array(n * 2);
  const tasks: TaskSpec[] = [
    { name: 'kernel-js', fn: () => runKernel(fx.kernel, fx.masks, ops, n), opsPerCall: n },
    { name: 'kernel-wasm', fn: () => runKernelWasm(fx.kernelWasm, ops, n), opsPerCall: n },
    { name: 'twin-js', fn: () => runJs(fx.js, ops, n), opsPerCall: n },
    { name: 'wasm', fn: () => runWasm(fx.wasm, ops, n), opsPerCall: n },
    { name: 'wasm-batch', fn: () => fx.wasm.runBatch(ops, res), opsPerCall: n },
  ];
  if (withApi) tasks.push({ name: 'api', fn: () => runApi(fx.api, fx.apiMasks, ops, n), opsPerCall: n });
  const m = measureRounds(tasks, cfg);
  // The lists restore the state; check that timing did not disturb it.
  verifyList(fx, list);
  return {
    ...c, id: caseId(c), opsPerCall: n, outcome: list.outcome, filledPerCpu: fx.filledPerCpu,
    results: m.pooled as Partial<Record<EngineId, Summary>>,
    rounds: m.rounds as Array<Partial<Record<EngineId, number>>>,
  };
}

/**
 * allocManaged is outside the op lists (the kernel ports have no managed API): API vs engine on
 * allocManaged(all)/free(managed) pairs after one managed reservation on every CPU.
 */
function measureManaged(ctx: PartContext, cpus: number, cfg: MeasureConfig): ManagedResult {
  const fx = createFixture(ctx.wasmModule, cpus, 0.5);
  const all = fx.apiMasks[SLOT.all]!;
  fx.api.reserveManaged(all);
  const slot = SLOT.all;
  const core = fx.wasm;
  const pairs = 256;
  const m = measureRounds(
    [
      {
        name: 'core',
        fn: () => {
          let acc = 0;
          for (let i = 0; i < pairs; i++) {
            const bit = core.allocManaged(slot);
            const cpu = core.lastCpu();
            acc += core.free(cpu, bit, 1) + bit;
          }
          return acc;
        },
        opsPerCall: pairs * 2,
      },
      {
        name: 'api',
        fn: () => {
          let acc = 0;
          for (let i = 0; i < pairs; i++) {
            const a = fx.api.allocManaged(all);
            fx.api.free(a.cpu, a.vector, true);
            acc += a.vector;
          }
          return acc;
        },
        opsPerCall: pairs * 2,
      },
    ],
    cfg,
  );
  const rs = m.rounds.map((r) => r.api! / r.core!).filter(Number.isFinite).sort((a, b) => a - b);
  return { cpus, core: m.pooled.core!, api: m.pooled.api!, ratio: rs.length ? quantileSorted(rs, 0.5) : null };
}

export async function runEngines(ctx: PartContext): Promise<PartResult> {
  const cases = grid(ctx.mode);
  const cfg: MeasureConfig = ctx.mode === 'quick'
    ? { timeMs: 25, warmupMs: 8, iterations: 5, rounds: ctx.rounds }
    : { timeMs: 100, warmupMs: 30, iterations: 10, rounds: ctx.rounds };
  const churnSteps = ctx.mode === 'quick' ? 200 : 400;
  const progress = await createProgress('part 1 engines', cases.length);
  const results: CaseResult[] = [];
  // One fixture per (CPU count, load, fill), reused across masks and operations.
  const fixtureKey = (c: CaseDef) => `${c.cpus}:${c.load}:${c.fill ?? 'low'}`;
  for (const key of [...new Set(cases.map(fixtureKey))]) {
    const [cpus, load, fill] = key.split(':') as [string, string, FillPattern];
    const fx = createFixture(ctx.wasmModule, Number(cpus), Number(load), fill);
    for (const c of cases.filter((x) => fixtureKey(x) === key)) {
      results.push(measureCase(fx, c, listFor(fx, c, churnSteps), cfg));
      progress.tick(caseId(c));
    }
  }
  const managed = HEADLINE_CPUS.filter((n) => n !== 1024).map((n) => measureManaged(ctx, n, cfg));
  progress.stop();
  const order = new Map(cases.map((c, i) => [caseId(c), i]));
  results.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return enginesReport(ctx, results, managed, cfg);
}

export { MASK_NAMES };
