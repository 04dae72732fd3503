// Shared knobs of the fuzz tests. Every property runs from a fixed seed, so CI is reproducible;
// FUZZ_SEED=<n> (or FUZZ_SEED=random) picks another, FUZZ_PATH replays a shrunk counterexample that
// fast-check printed, FUZZ_SCALE multiplies the run counts. fast-check prints seed and path on failure;
// loops that are not fast-check properties go through withSeed(), which adds the seed to the error.

import type { Parameters } from 'fast-check';

function envSeed(): number | undefined {
  const s = process.env.FUZZ_SEED;
  if (s === undefined || s === '') return undefined;
  if (s === 'random') return (Date.now() ^ Math.floor(Math.random() * 0x7fff_ffff)) | 0;
  const n = Number(s);
  if (!Number.isInteger(n) || n < -0x8000_0000 || n > 0xffff_ffff) throw new Error(`FUZZ_SEED must be a 32-bit integer or "random", got ${s}`);
  return n | 0;
}

const override = envSeed();

/** The seed of a property: FUZZ_SEED when set, else the test's own fixed seed. */
export function seedFor(defaultSeed: number): number {
  return override ?? defaultSeed;
}

/** Run count scaled by FUZZ_SCALE (default 1). */
export function runs(n: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? 1);
  if (!(scale > 0)) throw new Error(`FUZZ_SCALE must be a positive number, got ${process.env.FUZZ_SCALE}`);
  return Math.max(1, Math.round(n * scale));
}

/** fast-check parameters: seed, scaled run count, and the replay path when FUZZ_PATH is set. */
export function fcParams<T>(defaultSeed: number, numRuns: number): Parameters<T> {
  const path = process.env.FUZZ_PATH;
  return { seed: seedFor(defaultSeed), numRuns: runs(numRuns), ...(path ? { path, endOnFailure: true } : {}) };
}

/** Runs `body(seed)`; a failure is rethrown with the seed to reproduce it. */
export function withSeed<T>(defaultSeed: number, body: (seed: number) => T): T {
  const seed = seedFor(defaultSeed);
  try {
    return body(seed);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${msg}\n(reproduce with FUZZ_SEED=${seed})`, { cause: e });
  }
}

/** mulberry32 as an integer source: next(n) is uniform in 0..n−1. */
export function intRng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
