// What became of each message the device fired during a move, and of each handler run, decided from
// the bench's trace (request → IRR bit → INTA → handler). Left out: timing; only causality counts.

import type { FireRecord, MigrationBench } from './bench.js';

/**
 * delivered  its request reached its own handler where it landed (old or new place, while owned)
 * forwarded  its own handler ran it after software re-raised it (retrigger/forward IPI)
 * misrouted  only handlers of other interrupts (or none: "No irq handler for vector") saw it
 * lost       nothing ever ran for it (dropped, or left pending on a CPU that went away)
 */
export type Fate = 'delivered' | 'forwarded' | 'misrouted' | 'lost';
export const FATES: readonly Fate[] = ['delivered', 'forwarded', 'misrouted', 'lost'];

export function fateOf(f: FireRecord): Fate {
  const own = f.services.filter((s) => s.own);
  if (own.some((s) => !s.reraised)) return 'delivered';
  if (own.length > 0) return 'forwarded';
  return f.services.length > 0 ? 'misrouted' : 'lost';
}

export interface Tally {
  /** Interleavings run to completion. */
  runs: number;
  fired: number;
  delivered: number;
  forwarded: number;
  misrouted: number;
  lost: number;
  /** Extra runs of the device's own handler (a message served twice, or a re-raise of nothing new). */
  duplicated: number;
  /** Runs of a handler other than the message's own (another driver's, a marker, none), or APIC spurious vectors. */
  spurious: number;
  /** Runs whose guest program could not finish. */
  stuck: number;
}

export function emptyTally(): Tally {
  return { runs: 0, fired: 0, delivered: 0, forwarded: 0, misrouted: 0, lost: 0, duplicated: 0, spurious: 0, stuck: 0 };
}

/** Adds one finished run of `bench` to `t`. */
export function tallyRun(t: Tally, bench: MigrationBench): void {
  t.runs++;
  if (bench.stuck) t.stuck++;
  for (const f of bench.fires) {
    t.fired++;
    t[fateOf(f)]++;
    t.duplicated += Math.max(0, f.services.filter((s) => s.own).length - 1);
  }
  t.duplicated += bench.extraOwnRuns;
  t.spurious += bench.spuriousRuns;
}

export function addTally(into: Tally, t: Tally): Tally {
  for (const k of Object.keys(into) as (keyof Tally)[]) into[k] += t[k];
  return into;
}

/** The failure counts that a correct protocol must keep at zero. */
export function failures(t: Tally): number {
  return t.misrouted + t.lost + t.duplicated + t.spurious + t.stuck;
}
