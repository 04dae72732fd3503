// Standalone driver for profiling the end-to-end MSI path (bench/profiles/msi.md): boots the bench
// machine through runScenario, then rings doorbells and prints M messages/s per case. Uses only the
// public machine API, so the same file runs on an older tree for a baseline.
//
//   npx esbuild bench/profiles/msi-profile.ts --bundle --platform=node --format=esm --outfile=/tmp/msi-profile.mjs
//   node /tmp/msi-profile.mjs burst 200000 /tmp/burst.cpuprofile   # profile of the doorbell phase only
//   node --cpu-prof --cpu-prof-dir=/tmp/prof /tmp/msi-profile.mjs burst 200000   # whole process, boot included
//   node /tmp/msi-profile.mjs all          # the three bench cases, best of 5 runs each

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { EP_DOORBELL } from '../../src/hw/pci/msi-endpoint.js';
import type { Machine } from '../../src/machine/machine.js';
import type { CpuContext, GuestYield } from '../../src/machine/guest-interface.js';
import { runScenario } from '../../src/scenario/run-scenario.js';

const BDF = '00:02.0';
const MESSAGES = 32;
type Pacing = 'round' | 'burst';

async function boot(cpus: number): Promise<{ machine: Machine; cpu: number; base: number; bar0: number }> {
  let machine: Machine | undefined;
  const report = await runScenario(
    { name: `profile msi ${cpus}`, cpus, destMode: 'physical', devices: [{ bdf: BDF, msi: { vectors: MESSAGES, is64: true, pvm: true } }] },
    { onMachine: (m) => (machine = m) },
  );
  const dev = report.devices[0];
  if (!report.ok || !machine || !dev || dev.cpu === null || dev.base === null) throw new Error(`boot of ${cpus} CPUs failed`);
  const fn = machine.pci.functions().find((f) => f.bdf === BDF)!.fn;
  return { machine, cpu: dev.cpu, base: dev.base, bar0: (fn.configRead(0x10, 4) & ~0xf) >>> 0 };
}

const SPIN: GuestYield = { kind: 'spin' };

/** The guest of bench/parts/msi.ts: the doorbell address as an int32 pattern, polling yields direct. */
function program(bar0: number, n: number, pacing: Pacing) {
  const doorbell = (bar0 + EP_DOORBELL) | 0;
  return function* guest(cpu: CpuContext): Generator<GuestYield, void, void> {
    cpu.sti();
    for (let k = 0; k < n; k++) {
      cpu.write32(doorbell, k % MESSAGES);
      if (pacing === 'round') yield SPIN;
    }
    yield SPIN;
  };
}

/** Runs `n` doorbells in calls of `perCall`; returns M messages/s (checked: every one arrived). */
function run(m: { machine: Machine; cpu: number; base: number; bar0: number }, n: number, pacing: Pacing, perCall = 256): number {
  const count = () => {
    let s = 0;
    for (let v = m.base; v < m.base + MESSAGES; v++) s += m.machine.cpus[m.cpu]!.taken[v]!;
    return s;
  };
  const before = count();
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < n; done += perCall) m.machine.run(program(m.bar0, Math.min(perCall, n - done), pacing));
  const ns = Number(process.hrtime.bigint() - t0);
  const arrived = count() - before;
  if (arrived !== n) throw new Error(`${arrived}/${n} messages arrived`);
  return (n / ns) * 1e3;
}

async function main(): Promise<void> {
  const what = process.argv[2] ?? 'burst';
  const n = Number(process.argv[3] ?? 200_000);
  const profileTo = process.argv[4];
  const cases: Array<[number, Pacing]> = what === 'all' ? [[1, 'round'], [1, 'burst'], [64, 'round']]
    : what === 'round' ? [[1, 'round']] : what === 'round64' ? [[64, 'round']] : [[1, 'burst']];
  for (const [cpus, pacing] of cases) {
    const m = await boot(cpus);
    run(m, 20_000, pacing); // warm-up
    const runs = what === 'all' ? 5 : 1;
    let best = 0;
    // With an output file, the V8 sampling profiler covers the doorbells only (not boot or warm-up).
    const session = profileTo === undefined ? null : new Session();
    if (session !== null) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 50 });
      await session.post('Profiler.start');
    }
    for (let i = 0; i < runs; i++) best = Math.max(best, run(m, n, pacing));
    if (session !== null) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileTo!, JSON.stringify(profile));
      session.disconnect();
    }
    console.log(`${cpus} CPU${cpus > 1 ? 's' : ''} ${pacing}: ${best.toFixed(2)} M msgs/s (${n} messages${runs > 1 ? `, best of ${runs}` : ''})`);
  }
}

await main();
