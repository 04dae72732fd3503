// Fault injection: the device fires message i between any two guest steps. Exhaustive enumeration is
// stateless model checking (every run replayed from a fresh bench, choices advanced like an odometer);
// random mode draws fire points and message numbers from a seeded generator. Left out: parallelism.

import { mulberry32 } from '../util/random.js';
import { MigrationBench, type BenchOptions } from './bench.js';
import { MigrateUsageError } from './errors.js';
import { emptyTally, fateOf, FATES, tallyRun, type Fate, type Tally } from './fates.js';

export interface ExploreOptions extends BenchOptions {
  /** Messages the device fires per run (1 or 2 for exhaustive runs of small blocks). */
  fires: number;
}

export interface ExploreResult {
  options: ExploreOptions;
  method: 'exhaustive' | 'random';
  seed: number | null;
  tally: Tally;
  /** Fates by the guest step the message was fired after. */
  byPosition: Map<string, Record<Fate, number>>;
  /** Peak vectors held during the move beyond the starting layout, on the old and the new CPU. */
  peakExtra: { old: number; new: number };
  /** The first run with a failure, as its trace (guest steps and device messages in order). */
  example: string[] | null;
  /** Protocol 'remap': interrupt-entry-cache invalidations (each with a wait) and blocked requests, summed over the runs. */
  remap: { runs: number; invalidations: number; faults: number } | null;
  /** The messages that first failing run fired: each after guest step `after` (0: before the first). */
  exampleFires: { after: number; index: number }[] | null;
}

/** Safety net against a program that never finishes: far above any plan's length. */
const MAX_ACTIONS = 10_000;

function check(o: ExploreOptions): void {
  if (!Number.isInteger(o.fires) || o.fires < 0 || o.fires > 8) throw new MigrateUsageError(`fires must be 0..8, got ${String(o.fires)}`);
}

/** Runs one interleaving; choices[k] at the k-th choice point: 0 = next guest step, 1 + i = fire message i. */
function runPath(o: ExploreOptions, choices: number[], branching: number[]): { bench: MigrationBench; complete: boolean } {
  const bench = new MigrationBench(o);
  let remaining = o.fires;
  for (let k = 0, actions = 0; ; actions++) {
    if (actions > MAX_ACTIONS) throw new MigrateUsageError('a run exceeded the action limit (a protocol that never finishes?)');
    if (remaining === 0) {
      if (bench.step() === null) return { bench, complete: true };
      continue;
    }
    if (k === choices.length) choices.push(0);
    branching[k] = 1 + o.count;
    const c = choices[k++]!;
    if (c > 0) {
      bench.fire(c - 1);
      remaining--;
    } else if (bench.step() === null) {
      return { bench, complete: false }; // "step" while idle: the same as firing now, pruned
    }
  }
}

function finish(o: ExploreOptions, method: 'exhaustive' | 'random', seed: number | null): ExploreResult {
  return { options: o, method, seed, tally: emptyTally(), byPosition: new Map(), peakExtra: { old: 0, new: 0 }, example: null, exampleFires: null, remap: o.protocol === 'remap' ? { runs: 0, invalidations: 0, faults: 0 } : null };
}

function record(r: ExploreResult, bench: MigrationBench): void {
  const before = r.tally.misrouted + r.tally.lost + r.tally.duplicated + r.tally.spurious + r.tally.stuck;
  tallyRun(r.tally, bench);
  for (const f of bench.fires) {
    let row = r.byPosition.get(f.after);
    if (row === undefined) r.byPosition.set(f.after, (row = Object.fromEntries(FATES.map((x) => [x, 0])) as Record<Fate, number>));
    row[fateOf(f)]++;
  }
  r.peakExtra.old = Math.max(r.peakExtra.old, bench.peakExtra.old);
  r.peakExtra.new = Math.max(r.peakExtra.new, bench.peakExtra.new);
  if (r.remap !== null && bench.remapping !== null) {
    const c = bench.remapping.cost();
    r.remap.runs++;
    r.remap.invalidations += c.invalidations;
    r.remap.faults += c.faults;
  }
  const after = r.tally.misrouted + r.tally.lost + r.tally.duplicated + r.tally.spurious + r.tally.stuck;
  if (r.example === null && after > before) {
    r.example = [...bench.trace];
    r.exampleFires = bench.fires.map((f) => ({ after: parseInt(f.after, 10), index: f.index }));
  }
}

/** Every interleaving of `fires` messages (each any message of the block) with the guest's steps. `onRun` is called after each complete run (progress). */
export function exhaustive(o: ExploreOptions, onRun?: () => void): ExploreResult {
  check(o);
  const r = finish(o, 'exhaustive', null);
  const choices: number[] = [];
  for (;;) {
    const branching: number[] = [];
    const { bench, complete } = runPath(o, choices, branching);
    choices.length = branching.length;
    if (complete) {
      record(r, bench);
      onRun?.();
    }
    let k = branching.length - 1;
    while (k >= 0 && choices[k]! + 1 >= branching[k]!) k--;
    if (k < 0) return r;
    choices[k]!++;
    choices.length = k + 1;
  }
}

/** Seeded generator for random interleavings (mulberry32). */
export const seededRandom = mulberry32;

/** Guest steps of a run in which the device stays quiet. */
export function quietLength(o: BenchOptions): number {
  const bench = new MigrationBench(o);
  let n = 0;
  while (bench.step() !== null) if (++n > MAX_ACTIONS) throw new MigrateUsageError('the quiet run never finishes');
  return n;
}

/** `runs` interleavings with fire points uniform over the quiet run's gaps and message numbers uniform. */
export function random(o: ExploreOptions, runs: number, seed: number, onRun?: () => void): ExploreResult {
  check(o);
  if (!Number.isInteger(runs) || runs < 1) throw new MigrateUsageError(`runs must be a positive integer, got ${String(runs)}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new MigrateUsageError(`seed must be a 32-bit unsigned integer, got ${String(seed)}`);
  const rnd = seededRandom(seed);
  const gaps = quietLength(o) + 1;
  const r = finish(o, 'random', seed);
  for (let run = 0; run < runs; run++) {
    const at = Array.from({ length: o.fires }, () => Math.floor(rnd() * gaps)).sort((a, b) => a - b);
    const which = at.map(() => Math.floor(rnd() * o.count));
    const bench = new MigrationBench(o);
    let next = 0;
    for (let s = 0; ; s++) {
      while (next < at.length && at[next]! <= s) bench.fire(which[next++]!);
      if (bench.step() === null) {
        if (next === at.length) break;
        bench.fire(which[next++]!); // the guest went quiet before this fire point came
      }
      if (s > MAX_ACTIONS) throw new MigrateUsageError('a run exceeded the action limit');
    }
    record(r, bench);
    onRun?.();
  }
  return r;
}

/**
 * Runs `exhaustive(o)` will make, counted before making them: at least C(L + fires, fires) ·
 * count^fires, L being the guest's steps in a quiet run (each fire goes into one of L + 1 gaps, in
 * order, and names one of `count` messages). A fire can add guest steps (a handler, a re-raise), so
 * the real number is this or more (up to about 1.25× in the protocols here); exact for fires = 1.
 */
export function exhaustiveRunsAtLeast(o: BenchOptions & { fires: number }): number {
  const gaps = quietLength(o) + 1;
  let runs = 1;
  for (let k = 1; k <= o.fires; k++) runs = (runs * (gaps + k - 1)) / k;
  return Math.round(runs) * o.count ** o.fires;
}
