// The trace of a migration experiment: for each protocol and setup, one run replayed on a fresh bench
// with a TraceRecorder attached — the first failing interleaving when there is one, else the quiet
// run with the block's last message fired halfway through the move.

import { chromeTrace, TraceRecorder, type ChromeTrace } from '../trace/chrome-trace.js';
import { DEVICE_BDF, MigrationBench, NEW_CPU, OLD_CPU } from './bench.js';
import { quietLength, type ExploreResult } from './explore.js';
import { MigrateUsageError } from './errors.js';

/** Far above any plan's length (as in explore.ts). */
const MAX_STEPS = 10_000;

/** Replays `fires` (each after guest step `after`) on a bench recorded by `recorder`; returns the bench. */
export function replay(r: Pick<ExploreResult, 'options'>, fires: readonly { after: number; index: number }[], recorder: TraceRecorder | null): MigrationBench {
  const bench = new MigrationBench(r.options);
  bench.recorder = recorder;
  const todo = [...fires].sort((a, b) => a.after - b.after);
  let next = 0;
  for (let s = 0; ; s++) {
    while (next < todo.length && todo[next]!.after <= s) bench.fire(todo[next++]!.index);
    if (bench.step() === null) {
      if (next === todo.length) return bench;
      bench.fire(todo[next++]!.index); // the guest went quiet before this fire point
    }
    if (s > MAX_STEPS) throw new MigrateUsageError('a replayed run exceeded the step limit');
  }
}

/** The run traced for `r`: its first failing interleaving, else one message mid-move. */
export function tracedFires(r: ExploreResult): { after: number; index: number }[] {
  if (r.exampleFires) return r.exampleFires;
  return [{ after: Math.floor(quietLength(r.options) / 2), index: r.options.count - 1 }];
}

/** One trace process per result, named by protocol and setup. */
export function migrationTrace(results: readonly ExploreResult[]): ChromeTrace {
  const recorders = results.map((r, k) => {
    const o = r.options;
    const rec = new TraceRecorder(k + 1, `irqslice migrate: ${o.protocol}, ${o.mode}, block of ${o.count}${o.pvm ? ', PVM' : ''}${r.exampleFires ? ' (first failing run)' : ' (one message mid-move)'}`);
    for (let c = 0; c < 3; c++) rec.cpuTrack(c, c === OLD_CPU ? `CPU ${c} (old)` : c === NEW_CPU ? `CPU ${c} (new)` : `CPU ${c}`);
    rec.deviceTrack(DEVICE_BDF);
    replay(r, tracedFires(r), rec);
    return rec;
  });
  return chromeTrace(recorders);
}
