// `irqslice migrate`: move a multi-MSI block under fault injection with each protocol, or unplug CPUs
// under load (--evacuate). Exit 0 when the safe protocol kept every message, 1 when it did not.

import { MOVE_PROTOCOLS, type MoveProtocol } from '../../firmware/affinity';
import type { MsiVectors } from '../hw/pci/msi-capability';
import type { BenchMode, Schedule } from '../migrate/bench';
import { evacuationGrid } from '../migrate/evacuation';
import { exhaustive, random, type ExploreOptions, type ExploreResult } from '../migrate/explore';
import { failures } from '../migrate/fates';
import { describeSetup, formatEvacuation, formatExample, formatOutcomes, formatPositions, resultJson } from '../migrate/report';
import { UsageError } from './io';

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
  json?: unknown;
  evacuate?: unknown;
  cpus?: unknown;
  load?: unknown;
  trials?: unknown;
  pvmShare?: unknown;
  engine?: unknown;
}

/** Above this many message choices per run (block^fires) the default is random sampling. */
const EXHAUSTIVE_CHOICES = 256;

function list<T extends string>(name: string, v: unknown, allowed: readonly T[], def: readonly T[], both?: string): T[] {
  if (v === undefined) return [...def];
  const items = String(v).split(',').map((s) => s.trim());
  if (items.length === 1 && (items[0] === 'all' || items[0] === both)) return [...allowed];
  for (const s of items) if (!allowed.includes(s as T)) throw new UsageError(`--${name} must be ${allowed.join(', ')}${both ? ` or ${both}` : ''}, got "${s}"`);
  return items as T[];
}

function int(name: string, v: unknown, def: number, lo: number, hi: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} must be an integer in ${lo}..${hi}, got "${String(v)}"`);
  return n;
}

function numbers(name: string, v: unknown, def: number[], lo: number, hi: number, integer: boolean): number[] {
  if (v === undefined) return def;
  return String(v).split(',').map((s) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n))) {
      throw new UsageError(`--${name} takes ${integer ? 'integers' : 'numbers'} in ${lo}..${hi} (comma-separated), got "${s}"`);
    }
    return n;
  });
}

export async function migrateCommand(opts: MigrateCommandOptions): Promise<number> {
  return opts.evacuate ? evacuate(opts) : migrate(opts);
}

async function evacuate(opts: MigrateCommandOptions): Promise<number> {
  const cpus = numbers('cpus', opts.cpus, [2, 4, 8, 16], 2, 255, true);
  const loads = numbers('load', opts.load, [0.5, 0.6, 0.7, 0.8, 0.9], 0, 1, false);
  const trials = int('trials', opts.trials, 40, 1, 100_000);
  const seed = int('seed', opts.seed, 1, 0, 0xffff_ffff);
  const pvmShare = numbers('pvm-share', opts.pvmShare, [0], 0, 1, false)[0]!;
  const engine = list('engine', opts.engine, ['js', 'wasm'] as const, ['js'])[0]!;
  const cells = await evacuationGrid(cpus, loads, { trials, seed, pvmShare, engine, execute: 'safe' });
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ok: true, experiment: 'evacuate', seed, trials, pvmShare, cells }, null, 2) + '\n');
  } else {
    process.stdout.write(
      `== irqslice migrate --evacuate: unplug the last CPU of N, filled to a load with a seeded device mix (seed ${seed}, ${trials} trials a cell, PVM share ${pvmShare})\n` +
        formatEvacuation(cells) + '\n',
    );
  }
  return 0;
}

async function migrate(opts: MigrateCommandOptions): Promise<number> {
  const protocols = list('protocol', opts.protocol, MOVE_PROTOCOLS, MOVE_PROTOCOLS);
  const count = int('block', opts.block, 4, 1, 32);
  if ((count & (count - 1)) !== 0) throw new UsageError(`--block must be a power of two (1..32), got ${count}`);
  const modes = list<BenchMode>('mode', opts.mode, ['affinity', 'unplug'], ['affinity', 'unplug'], 'both');
  const pvms = list('pvm', opts.pvm, ['no', 'yes'] as const, ['no'], 'both').map((p) => p === 'yes');
  const stales = list('stale', opts.stale, ['free', 'busy'] as const, ['free'], 'both');
  const targets = list('target', opts.target, ['other-base', 'same-base'] as const, ['other-base'], 'both');
  const schedules = list<Schedule>('schedule', opts.schedule, ['eager', 'lazy'], ['eager'], 'both');
  const fires = int('fires', opts.fires, 1, 1, 8);
  const address = int('address', opts.address, 64, 32, 64);
  if (address !== 32 && address !== 64) throw new UsageError(`--address must be 32 or 64, got ${address}`);
  if (opts.exhaustive && opts.random !== undefined) throw new UsageError('--exhaustive and --random exclude each other');
  const runs = opts.random === undefined ? null : int('random', opts.random, 0, 1, 10_000_000);
  const seed = int('seed', opts.seed, 1, 0, 0xffff_ffff);
  const sample = runs !== null || (!opts.exhaustive && count ** fires > EXHAUSTIVE_CHOICES);
  const groups: ExploreResult[][] = [];
  for (const mode of modes) for (const pvm of pvms) for (const target of targets) for (const stale of stales) for (const schedule of schedules) {
    const group: ExploreResult[] = [];
    for (const protocol of protocols) {
      const o: ExploreOptions = { protocol: protocol as MoveProtocol, mode, count: count as MsiVectors, pvm, is64: address === 64, target, stale, schedule, fires };
      group.push(sample ? random(o, runs ?? 2000, seed) : exhaustive(o));
    }
    groups.push(group);
  }
  const all = groups.flat();
  const ok = all.every((r) => r.options.protocol !== 'safe' || failures(r.tally) === 0);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ok, experiment: 'migrate', results: all.map(resultJson) }, null, 2) + '\n');
    return ok ? 0 : 1;
  }
  const out: string[] = [];
  for (const g of groups) {
    out.push(`== irqslice migrate: CPU 1 → CPU 2, ${describeSetup(g[0]!)}`, formatOutcomes(g), '');
    if (opts.positions) for (const r of g) out.push(formatPositions(r), '');
    if (opts.trace) for (const r of g) if (r.example) out.push(formatExample(r), '');
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
  process.stdout.write(out.join('\n') + '\n');
  return ok ? 0 : 1;
}
