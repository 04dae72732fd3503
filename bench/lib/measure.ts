// Side-by-side measurement with tinybench: every task of a case runs in the same Bench, warmed up,
// over several rounds with the task order rotated; samples are pooled and reported as ns/op.

import { Bench } from 'tinybench';
import { summarize, type Summary } from './stats.js';

export interface TaskSpec {
  name: string;
  /** One timed call; it performs `opsPerCall` operations. */
  fn: () => unknown;
  opsPerCall: number;
  /** Runs before each phase (warm-up, timing) of this task, untimed. */
  beforeAll?: () => void;
}

export interface MeasureConfig {
  /** tinybench time budget per task and round (ms). */
  timeMs: number;
  warmupMs: number;
  /** Minimum timed iterations per task and round. */
  iterations: number;
  /** Rounds; the task order rotates by one each round. */
  rounds: number;
}

/** Thrown when a task fails inside tinybench (the task's own error is the cause). */
export class MeasureError extends Error {
  override readonly name = 'MeasureError';
}

export function measure(tasks: readonly TaskSpec[], cfg: MeasureConfig): Record<string, Summary> {
  return measureRounds(tasks, cfg).pooled;
}

export interface RoundsResult {
  /** Every task's samples pooled over the rounds. */
  pooled: Record<string, Summary>;
  /** Each round's median per task (ns/op), for ratios taken within one round. */
  rounds: Array<Record<string, number>>;
}

/** As measure(), also keeping each round's medians. */
export function measureRounds(tasks: readonly TaskSpec[], cfg: MeasureConfig): RoundsResult {
  const pooled = new Map<string, number[]>(tasks.map((t) => [t.name, []]));
  const rounds: Array<Record<string, number>> = [];
  const byName = new Map(tasks.map((t) => [t.name, t]));
  for (let r = 0; r < cfg.rounds; r++) {
    const bench = new Bench({
      time: cfg.timeMs,
      warmupTime: cfg.warmupMs,
      iterations: cfg.iterations,
      warmupIterations: 2,
      retainSamples: true,
      throws: true,
      timestampProvider: 'hrtimeNow',
    });
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[(i + r) % tasks.length]!;
      const before = t.beforeAll;
      bench.add(t.name, t.fn, before ? { beforeAll: () => before() } : {});
    }
    bench.runSync();
    const medians: Record<string, number> = {};
    rounds.push(medians);
    for (const task of bench.tasks) {
      const res = task.result;
      if (res.state !== 'completed') {
        throw new MeasureError(`task ${task.name} ended ${res.state}`, res.state === 'errored' ? { cause: res.error } : undefined);
      }
      const per = byName.get(task.name)!.opsPerCall;
      const out = pooled.get(task.name)!;
      const mine = (res.latency.samples ?? []).map((ms) => (ms * 1e6) / per);
      for (const v of mine) out.push(v);
      if (mine.length) medians[task.name] = summarize(mine).medianNs;
    }
  }
  const result: Record<string, Summary> = {};
  for (const [name, v] of pooled) result[name] = summarize(v);
  return { pooled: result, rounds };
}

/**
 * Rough cost of one call of `fn` in ns, for sizing operation lists (not a reported measurement):
 * calls it until ~2 ms have passed.
 */
export function roughCostNs(fn: () => unknown): number {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 2 && calls < 100_000) {
    fn();
    calls++;
    t = performance.now();
  }
  return ((t - t0) * 1e6) / calls;
}

/** One asynchronous task (e.g. a whole boot), measured alone over `rounds` runs; ns per call. */
export async function measureAsyncTask(fn: () => Promise<unknown>, cfg: MeasureConfig): Promise<Summary> {
  const pooled: number[] = [];
  for (let r = 0; r < cfg.rounds; r++) {
    const bench = new Bench({
      time: cfg.timeMs,
      warmupTime: cfg.warmupMs,
      iterations: cfg.iterations,
      warmupIterations: 1,
      warmup: cfg.warmupMs > 0,
      retainSamples: true,
      throws: true,
      timestampProvider: 'hrtimeNow',
    });
    bench.add('task', fn, { async: true });
    await bench.run();
    const res = bench.tasks[0]!.result;
    if (res.state !== 'completed') throw new MeasureError(`async task ended ${res.state}`, res.state === 'errored' ? { cause: res.error } : undefined);
    for (const ms of res.latency.samples ?? []) pooled.push(ms * 1e6);
  }
  return summarize(pooled);
}
