// Part 1: the allocator engines side by side — WASM (single calls and batch), the JS twin and the
// kernel/irq/matrix.c reference — over CPU counts, masks, loads and operations.

import { createFixture, MASK_NAMES, SLOT, type Fixture, type FillPattern, type MaskName } from '../lib/fixture';
import type { PartContext, PartResult } from '../lib/context';
import { measure, roughCostNs, type MeasureConfig } from '../lib/measure';
import { churnList, pairList, runJs, runKernel, runWasm, verifyList, type OpList } from '../lib/oplist';
import { createProgress } from '../lib/progress';
import type { Summary } from '../lib/stats';
import { enginesReport } from './engines-report';

export const ENGINES = ['wasm', 'wasm-batch', 'js', 'kernel'] as const;
export type EngineId = (typeof ENGINES)[number];
export const ENGINE_LABEL: Readonly<Record<EngineId, string>> = {
  wasm: 'WASM, one call per op',
  'wasm-batch': 'WASM, runBatch',
  js: 'JS twin',
  kernel: 'kernel reference',
};

export const CPU_COUNTS = [8, 64, 512, 1024, 4096, 8192] as const;
export const BLOCK_SIZES = [1, 2, 4, 8, 16, 32] as const;
export const LOADS = [0, 0.5, 0.9] as const;

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
  results: Record<EngineId, Summary>;
}

export function caseId(c: CaseDef): string {
  return `${c.op}/${c.mask}/${Math.round(c.load * 100)}%${c.fill === 'scattered' ? ' scattered' : ''}/${c.cpus}`;
}

/** The grid: everything in full mode; in quick mode a spine over all CPU counts plus sweeps at 1024. */
export function grid(mode: 'quick' | 'full'): CaseDef[] {
  const ops: OpName[] = ['alloc', ...BLOCK_SIZES.map((n) => `block${n}` as OpName), 'churn'];
  const out: CaseDef[] = [];
  if (mode === 'full') {
    for (const cpus of CPU_COUNTS) for (const load of LOADS) for (const mask of MASK_NAMES) for (const op of ops) out.push({ op, mask, load, cpus });
    for (const cpus of CPU_COUNTS) for (const op of ['block8', 'block16', 'block32'] as OpName[]) out.push({ op, mask: 'all', load: 0.5, cpus, fill: 'scattered' });
    return out;
  }
  for (const cpus of CPU_COUNTS) {
    for (const op of ['alloc', 'block1', 'block8', 'block32', 'churn'] as OpName[]) out.push({ op, mask: 'all', load: 0.5, cpus });
    out.push({ op: 'block32', mask: 'all', load: 0, cpus });
  }
  for (const cpus of [1024, 8192]) {
    out.push({ op: 'block32', mask: 'all', load: 0.9, cpus }, { op: 'block8', mask: 'all', load: 0.9, cpus });
    out.push({ op: 'block32', mask: 'all', load: 0.5, cpus, fill: 'scattered' }, { op: 'block16', mask: 'all', load: 0.5, cpus, fill: 'scattered' });
  }
  for (const mask of ['one', 'node'] as MaskName[]) for (const op of ['alloc', 'block32'] as OpName[]) out.push({ op, mask, load: 0.5, cpus: 1024 });
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

export function measureCase(fx: Fixture, c: CaseDef, list: OpList, cfg: MeasureConfig): CaseResult {
  verifyList(fx, list);
  const { ops, n } = list;
  const res = new Int32Array(n * 2);
  const results = measure(
    [
      { name: 'wasm', fn: () => runWasm(fx.wasm, ops, n), opsPerCall: n },
      { name: 'wasm-batch', fn: () => fx.wasm.runBatch(ops, res), opsPerCall: n },
      { name: 'js', fn: () => runJs(fx.js, ops, n), opsPerCall: n },
      { name: 'kernel', fn: () => runKernel(fx.kernel, fx.masks, ops, n), opsPerCall: n },
    ],
    cfg,
  ) as Record<EngineId, Summary>;
  // The lists restore the state; check that timing did not disturb it.
  verifyList(fx, list);
  return { ...c, id: caseId(c), opsPerCall: n, outcome: list.outcome, filledPerCpu: fx.filledPerCpu, results };
}

export async function runEngines(ctx: PartContext): Promise<PartResult> {
  const cases = grid(ctx.mode);
  const cfg: MeasureConfig = ctx.mode === 'quick'
    ? { timeMs: 25, warmupMs: 8, iterations: 5, rounds: ctx.rounds }
    : { timeMs: 150, warmupMs: 40, iterations: 10, rounds: ctx.rounds };
  const churnSteps = ctx.mode === 'quick' ? 200 : 400;
  const progress = await createProgress('part 1 engines', cases.length);
  const results: CaseResult[] = [];
  // One fixture per (CPU count, load), reused across masks and operations.
  const fixtureKey = (c: CaseDef) => `${c.cpus}:${c.load}:${c.fill ?? 'low'}`;
  for (const key of [...new Set(cases.map(fixtureKey))]) {
    const [cpus, load, fill] = key.split(':') as [string, string, FillPattern];
    const fx = createFixture(ctx.wasmModule, Number(cpus), Number(load), fill);
    for (const c of cases.filter((x) => fixtureKey(x) === key)) {
      results.push(measureCase(fx, c, listFor(fx, c, churnSteps), cfg));
      progress.tick(caseId(c));
    }
  }
  progress.stop();
  const order = new Map(cases.map((c, i) => [caseId(c), i]));
  results.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return enginesReport(ctx, results, cfg);
}
