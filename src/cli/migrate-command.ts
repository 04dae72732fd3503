// `irqslice migrate`: move a multi-MSI block under fault injection with each protocol, or unplug CPUs
// under load (--evacuate). Exit 0 when the safe protocol kept every message, 1 when it did not, 2 for
// bad usage: options of the other mode, more runs than --max-runs, values out of range.

import { MOVE_PROTOCOLS, type MoveProtocol } from '../../firmware/affinity.js';
import type { MsiVectors } from '../hw/pci/msi-capability.js';
import type { BenchMode, BenchOptions, Schedule } from '../migrate/bench.js';
import { evacuationGrid } from '../migrate/evacuation.js';
import { exhaustive, exhaustiveRunsAtLeast, random, type ExploreOptions, type ExploreResult } from '../migrate/explore.js';
import { failures } from '../migrate/fates.js';
import { describeSetup, formatEvacuation, formatExample, formatOutcomes, formatPositions, resultJson } from '../migrate/report.js';
import { intValue, listOf, numberList, numberValue, oneOf, type CommandSpec, type ParsedArgs } from './args.js';
import { processIo, UsageError, type CliIo } from './io.js';
import { createProgress } from './progress.js';
import { migrationTrace } from '../migrate/trace-run.js';
import { openTraceFile } from './trace-file.js';

export interface MigrateCommandOptions {
  protocol?: unknown;
  block?: unknown;
  mode?: unknown;
  pvm?: unknown;
  stale?: unknown;
  target?: unknown;
  schedule?: unknown;
  fires?: unknown;
  address?: unknown;
  exhaustive?: unknown;
  random?: unknown;
  seed?: unknown;
  positions?: unknown;
  trace?: unknown;
  traceFile?: unknown;
  json?: unknown;
  evacuate?: unknown;
  cpus?: unknown;
  load?: unknown;
  trials?: unknown;
  pvmShare?: unknown;
  engine?: unknown;
  maxRuns?: unknown;
}

const MOVE_OPTIONS = ['protocol', 'block', 'mode', 'pvm', 'target', 'stale', 'schedule', 'fires', 'address', 'exhaustive', 'random', 'positions', 'trace', 'trace-file'];
const EVACUATE_OPTIONS = ['cpus', 'load', 'trials', 'pvm-share', 'engine'];
export const DEFAULT_MAX_RUNS = 1_000_000;

export const MIGRATE_SPEC: CommandSpec = {
  name: 'migrate',
  summary: 'move a multi-MSI block under fault injection, or unplug CPUs under load (--evacuate)',
  usage: [
    'irqslice migrate [--protocol naive,linux,linux-single,safe,remap|all] [--block N] [--mode affinity|unplug|both] [--pvm no|yes|both]',
    '                 [--target …] [--stale …] [--schedule …] [--fires K] [--address 64|32] [--exhaustive | --random N [--seed S]]',
    '                 [--positions] [--trace] [--trace-file FILE] [--json] [--max-runs N]',
    'irqslice migrate --evacuate [--cpus 2,4,8,16] [--load 0.5,0.6,0.7,0.8,0.9] [--trials N] [--seed S] [--pvm-share F] [--engine js|wasm] [--json] [--max-runs N]',
  ],
  options: [
    { name: 'protocol', value: 'LIST', help: 'naive, linux, linux-single, safe, remap (VT-d IRTE rewrite), or all (comma-separated; default all)' },
    { name: 'block', value: 'N', help: 'block size: 1, 2, 4, 8, 16 or 32 (default 4)' },
    { name: 'mode', value: 'M', help: 'affinity | unplug | both (default both)' },
    { name: 'pvm', value: 'P', help: 'per-vector masking: no | yes | both (default no)' },
    { name: 'target', value: 'T', help: 'new block base: other-base | same-base | both (default other-base)' },
    { name: 'stale', value: 'S', help: 'old vectors afterwards: free | busy | both (default free)' },
    { name: 'schedule', value: 'S', help: 'when the old CPU runs: eager | lazy | both (default eager)' },
    { name: 'fires', value: 'K', help: 'messages fired per run, 1..8 (default 1)' },
    { name: 'address', value: 'BITS', help: 'MSI capability address width: 64 | 32 (default 64)' },
    { name: 'exhaustive', help: `enumerate every interleaving (the default while block^fires <= 256)` },
    { name: 'random', value: 'N', help: 'N random interleavings per protocol and setup instead (default 2000 when not exhaustive)' },
    { name: 'seed', value: 'S', help: 'seed (0..4294967295) for random interleavings and for --evacuate (default 1)' },
    { name: 'positions', help: 'show the outcome at each injection point' },
    { name: 'trace', help: 'print the guest steps of the first failing run of each protocol' },
    { name: 'trace-file', value: 'FILE', help: 'write a Chrome trace-event JSON of one run per protocol (the first failing one, if any) to FILE' },
    { name: 'json', help: 'print JSON instead of tables' },
    { name: 'evacuate', help: 'CPU hot-unplug experiment: evacuation success against load and CPU count' },
    { name: 'cpus', value: 'LIST', help: 'CPU counts for --evacuate, 2..255 (default 2,4,8,16)' },
    { name: 'load', value: 'LIST', help: 'loads for --evacuate, 0..1 (default 0.5,0.6,0.7,0.8,0.9)' },
    { name: 'trials', value: 'N', help: 'trials per --evacuate cell, 1..100000 (default 40)' },
    { name: 'pvm-share', value: 'F', help: 'fraction 0..1 of --evacuate devices with per-vector masking (default 0)' },
    { name: 'engine', value: 'E', help: 'vector matrix engine for --evacuate: js | wasm (default js)' },
    { name: 'max-runs', value: 'N', help: `refuse work of more runs (or trials) than this (default ${DEFAULT_MAX_RUNS})` },
  ],
  positionals: { max: 0, name: '' },
  more: 'Examples:\n  irqslice migrate --protocol all --block 4\n  irqslice migrate --evacuate --cpus 8,16,32 --load 0.5,0.8,0.9',
};

/** The command from a parsed command line. */
export function migrateMain(args: ParsedArgs, io: CliIo): Promise<number> {
  return migrateWith(args.options, io);
}

/** The command from an options object (camelCase keys, values as cac gave them); for tests and embedding. */
export function migrateCommand(opts: MigrateCommandOptions, io: CliIo = processIo()): Promise<number> {
  const m = new Map<string, string | true>();
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined || v === false) continue;
    m.set(k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v === true ? true : String(v));
  }
  return migrateWith(m, io);
}

/** A flag as a boolean; a value option given to a flag is refused. */
function flag(o: Map<string, string | true>, name: string): boolean {
  const v = o.get(name);
  if (v === undefined) return false;
  if (v !== true) throw new UsageError(`--${name} takes no value, got "${v}"`);
  return true;
}

function value(o: Map<string, string | true>, name: string): string | undefined {
  const v = o.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

async function migrateWith(o: Map<string, string | true>, io: CliIo): Promise<number> {
  const evac = flag(o, 'evacuate');
  for (const name of evac ? MOVE_OPTIONS : EVACUATE_OPTIONS) {
    if (o.has(name)) throw new UsageError(evac ? `--${name} does not apply to --evacuate` : `--${name} applies only to --evacuate`);
  }
  const v = value(o, 'max-runs');
  const maxRuns = v === undefined ? DEFAULT_MAX_RUNS : intValue('max-runs', v, 1, Number.MAX_SAFE_INTEGER);
  return evac ? evacuate(o, maxRuns, io) : migrate(o, maxRuns, io);
}

function big(n: number): string {
  return n < 1e9 ? String(n) : n.toExponential(2).replace('e+', 'e');
}

async function evacuate(o: Map<string, string | true>, maxRuns: number, io: CliIo): Promise<number> {
  const get = (name: string) => value(o, name);
  const cpus = get('cpus') === undefined ? [2, 4, 8, 16] : numberList('cpus', get('cpus')!, 2, 255, true);
  const loads = get('load') === undefined ? [0.5, 0.6, 0.7, 0.8, 0.9] : numberList('load', get('load')!, 0, 1, false);
  const trials = get('trials') === undefined ? 40 : intValue('trials', get('trials')!, 1, 100_000);
  const seed = get('seed') === undefined ? 1 : intValue('seed', get('seed')!, 0, 0xffff_ffff);
  const pvmShare = get('pvm-share') === undefined ? 0 : numberValue('pvm-share', get('pvm-share')!, 0, 1);
  const engine = get('engine') === undefined ? 'js' : oneOf('engine', get('engine')!, ['js', 'wasm'] as const);
  const json = flag(o, 'json');
  const total = cpus.length * loads.length * trials;
  if (total > maxRuns) {
    throw new UsageError(`${cpus.length} CPU count(s) × ${loads.length} load(s) × ${trials} trials is ${big(total)} trials, more than --max-runs ${maxRuns}`);
  }
  const progress = await createProgress(io, 'irqslice migrate --evacuate', total, 'trials');
  const cells = await evacuationGrid(cpus, loads, { trials, seed, pvmShare, engine, execute: 'safe' }, () => progress.tick());
  progress.done();
  if (json) {
    io.stdout(JSON.stringify({ ok: true, experiment: 'evacuate', seed, trials, pvmShare, cells }, null, 2) + '\n');
  } else {
    io.stdout(
      `== irqslice migrate --evacuate: unplug the last CPU of N, filled to a load with a seeded device mix (seed ${seed}, ${trials} trials a cell, PVM share ${pvmShare})\n` +
        formatEvacuation(cells) + '\n',
    );
  }
  return 0;
}

/** Above this many message choices per run (block^fires) the default is random sampling. */
const EXHAUSTIVE_CHOICES = 256;

/** Random runs per protocol and setup when sampling is the default. */
const RANDOM_RUNS = 2000;

async function migrate(o: Map<string, string | true>, maxRuns: number, io: CliIo): Promise<number> {
  const get = (name: string) => value(o, name);
  const protocols = get('protocol') === undefined ? [...MOVE_PROTOCOLS] : listOf('protocol', get('protocol')!, MOVE_PROTOCOLS);
  const count = get('block') === undefined ? 4 : intValue('block', get('block')!, 1, 32);
  if ((count & (count - 1)) !== 0) throw new UsageError(`--block must be a power of two (1, 2, 4, 8, 16, 32), got ${count}`);
  const modes = get('mode') === undefined ? (['affinity', 'unplug'] as BenchMode[]) : listOf<BenchMode>('mode', get('mode')!, ['affinity', 'unplug'], 'both');
  const pvms = (get('pvm') === undefined ? ['no'] : listOf('pvm', get('pvm')!, ['no', 'yes'] as const, 'both')).map((p) => p === 'yes');
  const stales = get('stale') === undefined ? (['free'] as const) : listOf('stale', get('stale')!, ['free', 'busy'] as const, 'both');
  const targets = get('target') === undefined ? (['other-base'] as const) : listOf('target', get('target')!, ['other-base', 'same-base'] as const, 'both');
  const schedules = get('schedule') === undefined ? (['eager'] as Schedule[]) : listOf<Schedule>('schedule', get('schedule')!, ['eager', 'lazy'], 'both');
  const fires = get('fires') === undefined ? 1 : intValue('fires', get('fires')!, 1, 8);
  const address = get('address') ?? '64';
  if (address !== '32' && address !== '64') throw new UsageError(`--address must be 32 or 64, got "${address}"`);
  const exhaustiveFlag = flag(o, 'exhaustive');
  const json = flag(o, 'json');
  const positions = flag(o, 'positions');
  const trace = flag(o, 'trace');
  if (exhaustiveFlag && o.has('random')) throw new UsageError('--exhaustive and --random exclude each other');
  if (json && (positions || trace)) throw new UsageError(`--${positions ? 'positions' : 'trace'} has no effect with --json (the JSON carries positions and the failing example)`);
  const runs = get('random') === undefined ? null : intValue('random', get('random')!, 1, Number.MAX_SAFE_INTEGER);
  const sample = runs !== null || (!exhaustiveFlag && count ** fires > EXHAUSTIVE_CHOICES);
  if (!sample && o.has('seed')) throw new UsageError(`--seed has no effect: the runs are exhaustive (block ${count}, ${fires} fire(s)); sample with --random N`);
  const seed = get('seed') === undefined ? 1 : intValue('seed', get('seed')!, 0, 0xffff_ffff);
  const setups: ExploreOptions[][] = [];
  for (const mode of modes) for (const pvm of pvms) for (const target of targets) for (const stale of stales) for (const schedule of schedules) {
    setups.push(protocols.map((protocol) => ({ protocol: protocol as MoveProtocol, mode, count: count as MsiVectors, pvm, is64: address === '64', target, stale, schedule, fires })));
  }
  // Count the work before doing it: exhaustive enumeration grows as count^fires.
  let total = 0;
  for (const g of setups) for (const x of g) total += sample ? (runs ?? RANDOM_RUNS) : exhaustiveRunsAtLeast(x as BenchOptions & { fires: number });
  if (total > maxRuns) {
    const how = sample ? `${runs ?? RANDOM_RUNS} random runs` : `at least ${big(count ** fires)} message choices (${count}^${fires}) × the interleavings`;
    throw new UsageError(
      `${setups.length * protocols.length} protocol/setup combination(s) × ${how} is ${sample ? '' : 'at least '}${big(total)} runs, more than --max-runs ${maxRuns}` +
        (sample ? '' : '; use --random N, fewer --fires or a smaller --block'),
    );
  }
  const tf = get('trace-file');
  const traceFile = tf === undefined ? null : openTraceFile(tf);
  const progress = await createProgress(io, 'irqslice migrate', total, 'runs');
  const tick = () => progress.tick();
  const groups: ExploreResult[][] = setups.map((g) => g.map((x) => (sample ? random(x, runs ?? RANDOM_RUNS, seed, tick) : exhaustive(x, tick))));
  progress.done();
  const all = groups.flat();
  traceFile?.write(migrationTrace(all));
  const ok = all.every((r) => r.options.protocol !== 'safe' || failures(r.tally) === 0);
  if (json) {
    io.stdout(JSON.stringify({ ok, experiment: 'migrate', results: all.map(resultJson) }, null, 2) + '\n');
    return ok ? 0 : 1;
  }
  const out: string[] = [];
  for (const g of groups) {
    out.push(`== irqslice migrate: CPU 1 → CPU 2, ${describeSetup(g[0]!)}`, formatOutcomes(g), '');
    if (positions) for (const r of g) out.push(formatPositions(r), '');
    if (trace) for (const r of g) if (r.example) out.push(formatExample(r), '');
  }
  out.push(
    '  delivered   reached its own handler where it landed      forwarded  its own handler ran it after a software re-raise',
    '  misrouted   only other handlers (or none) saw it           lost       nothing ever ran for it',
    '  duplicated  extra runs of the device handler               spurious   handler runs that served none of their requests',
    '  held        peak vectors held beyond the start on the old/new CPU during the move',
  );
  if (protocols.includes('safe')) {
    out.push(`  ${ok ? 'safe protocol: every message reached its own handler exactly once' : 'SAFE PROTOCOL FAILED (see the counts above)'}`);
  }
  io.stdout(out.join('\n') + '\n');
  return ok ? 0 : 1;
}
