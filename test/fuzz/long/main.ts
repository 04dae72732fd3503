// `npm run fuzz -- --long` (scripts/fuzz.mjs bundles and runs this): ≥ 10⁷ differential matrix
// operations and ≥ 10⁶ MSI deliveries on booted machines under random masking, unmasking and affinity
// moves. Progress goes to stderr; the last stdout line is the summary; the exit status is 1 on any failure.

import { parseArgs } from 'node:util';
import { runMatrixFuzz } from './matrix-differential.js';
import { runMsiStorm, stormPassed, type StormCounts } from './msi-storm.js';

const USAGE = 'usage: fuzz-long [--matrix-ops N] [--msi-deliveries N] [--seed N]';

function count(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`fuzz: --${name} must be a non-negative integer, got "${v}"\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(0);

async function main(): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ options: { 'matrix-ops': { type: 'string' }, 'msi-deliveries': { type: 'string' }, seed: { type: 'string' } }, strict: true }) as { values: Record<string, string | undefined> });
  } catch (e) {
    console.error(`fuzz: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  const matrixOps = count('matrix-ops', values['matrix-ops'], 10_000_000);
  const deliveries = count('msi-deliveries', values['msi-deliveries'], 1_000_000);
  const seed = count('seed', values.seed, 20_110) >>> 0;
  const t0 = performance.now();
  console.error(`fuzz --long: seed ${seed}, ${fmt(matrixOps)} matrix operations, ${fmt(deliveries)} MSI deliveries`);

  // 1. Matrix: WASM engine vs TypeScript twin.
  let last = performance.now();
  const m = await runMatrixFuzz({
    ops: matrixOps,
    seed,
    onProgress: (c) => {
      if (performance.now() - last < 10_000) return;
      last = performance.now();
      console.error(`  matrix ${fmt(c.ops)}/${fmt(matrixOps)} ops (${((100 * c.ops) / Math.max(1, matrixOps)).toFixed(1)} %), ${c.traces} traces, ${secs(t0)} s`);
    },
  });
  const matrixOk = m.failure === null && m.ops >= matrixOps;
  console.error(matrixOk ? `  matrix: ${fmt(m.ops)} ops in ${m.traces} traces agree (${fmt(m.fullChecks)} full invariant checks), ${secs(t0)} s` : `  matrix FAILED: ${m.failure}`);

  // 2. MSI storms: 4 CPUs xAPIC, then 8 CPUs x2APIC, half the deliveries each.
  const tMsi = performance.now();
  const storms: StormCounts[] = [];
  for (const [k, cfg] of ([[0, { cpus: 4, apic: 'xapic' }], [1, { cpus: 8, apic: 'x2apic' }]] as const).entries()) {
    const want = k === 0 ? Math.ceil(deliveries / 2) : deliveries - Math.ceil(deliveries / 2);
    if (want === 0) continue;
    last = performance.now();
    const s = runMsiStorm({
      deliveries: want,
      seed: (seed + 1 + cfg[0]) >>> 0,
      cpus: cfg[1].cpus,
      apic: cfg[1].apic,
      batch: 5000,
      onProgress: (c) => {
        if (performance.now() - last < 10_000) return;
        last = performance.now();
        console.error(`  msi (${c.cpus} CPUs ${cfg[1].apic}) ${fmt(c.expected)}/${fmt(want)} deliveries, ${fmt(c.lost)} lost, ${fmt(c.duplicated)} duplicated, ${secs(t0)} s`);
      },
    });
    storms.push(s);
    console.error(`  msi (${s.cpus} CPUs ${cfg[1].apic}, seed ${s.seed}): ${fmt(s.expected)} expected, ${fmt(s.delivered)} delivered, ${fmt(s.messages)} MSI writes; ${fmt(s.rings)} doorbells, ${fmt(s.pended)} pended, ${fmt(s.flushed)} released by unmask, ${fmt(s.moves)} moves, ${fmt(s.masks)}/${fmt(s.unmasks)} masks/unmasks, ${fmt(s.functionMasks)} function-mask flips; ${fmt(s.lost)} lost, ${fmt(s.duplicated)} duplicated, ${fmt(s.dropped)} dropped`);
    for (const p of s.problems) console.error(`    ${p}`);
  }
  const sum = (k: 'expected' | 'delivered' | 'lost' | 'duplicated' | 'dropped') => storms.reduce((n, s) => n + s[k], 0);
  const msiOk = storms.every(stormPassed) && sum('expected') >= deliveries;
  const ok = matrixOk && msiOk;
  console.log(
    `fuzz --long ${ok ? 'PASS' : 'FAIL'}: matrix ${fmt(m.ops)} ops wasm=js${m.failure ? ' (FAILED)' : ''}; ` +
      `msi ${fmt(sum('delivered'))}/${fmt(sum('expected'))} deliveries, ${fmt(sum('lost'))} lost, ${fmt(sum('duplicated'))} duplicated, ${fmt(sum('dropped'))} dropped ` +
      `(${secs(tMsi)} s); seed ${seed}; ${secs(t0)} s total`,
  );
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`fuzz --long: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
