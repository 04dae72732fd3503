// CPU hot-unplug under load: fill N CPUs with a seeded mix of single vectors and multi-MSI blocks,
// then ask whether the last CPU can go — Linux's count check against the block-aware plan — and
// carry the evacuation out. Left out: managed interrupts, NUMA masks, devices (owners are virtual).
import { compileMatrixModule, createMatrixSync, type VectorMatrix } from '../alloc/matrix.js';
import { MatrixError } from '../alloc/errors.js';
import { ApicBus } from '../hw/apic/apic-bus.js';
import { LocalApic } from '../hw/apic/local-apic.js';
import { PciHost } from '../hw/pci/pci-host.js';
import type { LapicSink } from '../hw/signals.js';
import { ECAM_BASE, LAPIC_BASE, PCI_MMIO_BASE } from '../machine/memory-map.js';
import type { AffinityContext, MoveProtocol } from '../../firmware/affinity.js';
import { planEvacuation, planOffline, type EvacItem } from '../../firmware/hotplug.js';
import { IrqLayer } from '../../firmware/irq.js';
import { LapicDriver } from '../../firmware/lapic.js';
import { ecamAccess, PciBusDriver } from '../../firmware/pci.js';
import { VectorDomain } from '../../firmware/vector-domain.js';
import { BenchCpu } from './bench-cpu.js';
import { MigrateUsageError } from './errors.js';
import { seededRandom } from './explore.js';

/** Device sizes drawn when filling CPUs (probability, vectors): half single vectors, half multi-MSI. */
export const DEVICE_MIX: readonly (readonly [number, number])[] = [[0.5, 1], [0.1, 2], [0.1, 4], [0.1, 8], [0.1, 16], [0.1, 32]];

export interface EvacuationOptions {
  cpus: number;
  /** Fraction (0..1) of the allocatable vectors in use before the unplug. */
  load: number;
  trials: number;
  seed: number;
  /** Share of multi-message devices with per-vector masking (only the safe protocol cares). */
  pvmShare?: number;
  engine?: 'js' | 'wasm';
  /** Also carry out each evacuation this protocol's plan accepts, and check the result. */
  execute?: MoveProtocol;
}

export interface EvacuationCell {
  cpus: number;
  load: number;
  trials: number;
  /** Linux's lapic_can_unplug_cpu says the CPU may go. */
  countCheckOk: number;
  /** Every block and vector finds a place (naive, linux, and safe with PVM place alike). */
  blocksFit: number;
  /** …when blocks without PVM must also be reachable by the safe protocol's single-register hops. */
  safeFit: number;
  /** The count check passes but some block has no aligned run anywhere: Linux would strand it. */
  countOkButNoFit: number;
  /** Evacuations carried out and verified (with `execute`). */
  executed: number;
  /** Means over the CPUs that stay: vectors allocated, largest free aligned block; the victim's vectors. After: executed trials only. */
  before: { allocated: number; largestFree: number; victim: number };
  after: { allocated: number; largestFree: number };
}

const NULL_SINK: LapicSink = { intr() {}, nmi() {}, init() {}, sipi() {}, extint() {} };

function pick(r: number): number {
  let acc = 0;
  for (const [p, n] of DEVICE_MIX) if (r < (acc += p)) return n;
  return DEVICE_MIX[DEVICE_MIX.length - 1]![1];
}

interface Trial {
  matrix: VectorMatrix;
  domain: VectorDomain;
  owners: { cpu: number; base: number; count: number; pvm: boolean }[];
}

/** N CPUs online, filled to `load` of their allocatable vectors with the device mix. */
function populate(o: EvacuationOptions, rnd: () => number, module?: WebAssembly.Module): Trial {
  const matrix = createMatrixSync({ cpus: o.cpus, engine: o.engine ?? 'js', preset: 'x86' }, module);
  const apicIds = Array.from({ length: o.cpus }, (_, i) => i);
  const domain = new VectorDomain('aligned', matrix, apicIds);
  for (let c = 0; c < o.cpus; c++) domain.online(c);
  const all = apicIds;
  const capacity = matrix.globalAvailable;
  const target = Math.round(o.load * capacity);
  const owners: Trial['owners'] = [];
  let used = 0;
  for (let misses = 0; used < target && misses < 64; ) {
    // The drawn size, cut to the largest power of two that still fits under the target.
    const count = Math.min(pick(rnd()), 1 << Math.floor(Math.log2(target - used)));
    try {
      let cpu: number;
      let base: number;
      if (count === 1) ({ cpu, vector: base } = matrix.alloc(all));
      else ({ cpu, base } = matrix.allocBlock(all, count));
      owners.push({ cpu, base, count, pvm: count > 1 && rnd() < (o.pvmShare ?? 0) });
      used += count;
      misses = 0;
    } catch (e) {
      if (!(e instanceof MatrixError) || e.code !== 'ENOSPC') throw e;
      misses++; // fragmentation: no aligned run of this size anywhere; draw again
    }
  }
  return { matrix, domain, owners };
}

function stats(m: VectorMatrix, cpus: number[]): { allocated: number; largestFree: number } {
  const s = cpus.map((c) => m.cpu(c));
  const mean = (f: (x: (typeof s)[number]) => number) => s.reduce((a, x) => a + f(x), 0) / Math.max(1, s.length);
  return { allocated: mean((x) => x.allocated), largestFree: mean((x) => x.largestFreeBlock) };
}

/**
 * A minimal guest around a populated matrix for running evacuations: every CPU's local APIC on a
 * bus, the firmware's vector tables, and a CpuContext for the CPU going down.
 */
export function evacuationGuest(domain: VectorDomain, victim: number): { ctx: AffinityContext; cpu: BenchCpu } {
  const n = domain.matrix.cpus;
  const bus = new ApicBus();
  const lapics = Array.from({ length: n }, (_, i) => new LocalApic({ apicId: i, bsp: i === 0, sink: NULL_SINK }));
  for (const l of lapics) bus.attach(l);
  const cpu = new BenchCpu(victim, lapics[victim]!, new PciHost(), () => 0);
  const lapic = new LapicDriver(LAPIC_BASE);
  lapic.enable(cpu);
  const irq = new IrqLayer(n, new Map(lapics.map((l, i) => [l.apicId, i])), lapic);
  const pci = new PciBusDriver(ecamAccess(ECAM_BASE), PCI_MMIO_BASE, PCI_MMIO_BASE);
  return { ctx: { pci, lapic, irq, domain, apicIds: lapics.map((l) => l.apicId) }, cpu };
}

/** Carries out the plan and checks that every vector moved and the CPU went offline. */
function execute(t: Trial, victim: number, items: EvacItem[], protocol: MoveProtocol): void {
  const { ctx, cpu } = evacuationGuest(t.domain, victim);
  const total = t.matrix.totalAllocated;
  const { queue } = planOffline(ctx, victim, items, protocol);
  while (!queue.empty) if (queue.runNext(cpu) !== 'done') throw new MigrateUsageError('an evacuation step waited on an idle CPU');
  const moved = t.matrix.totalAllocated;
  if (t.matrix.isOnline(victim) || moved !== total) {
    throw new MigrateUsageError(`evacuation of CPU ${victim} left ${t.matrix.isOnline(victim) ? 'it online' : `${moved} of ${total} vectors allocated`}`);
  }
}

/** One cell of the experiment: `trials` fillings of `cpus` CPUs at `load`, unplugging the last CPU. */
export function evacuationCell(o: EvacuationOptions, module?: WebAssembly.Module, onTrial?: () => void): EvacuationCell {
  if (!Number.isInteger(o.cpus) || o.cpus < 2 || o.cpus > 255) throw new MigrateUsageError(`cpus must be 2..255, got ${String(o.cpus)}`);
  if (typeof o.load !== 'number' || !(o.load >= 0 && o.load <= 1)) throw new MigrateUsageError(`load must be in 0..1, got ${String(o.load)}`);
  if (!Number.isInteger(o.trials) || o.trials < 1) throw new MigrateUsageError(`trials must be a positive integer, got ${String(o.trials)}`);
  if (o.engine === 'wasm' && module === undefined) throw new MigrateUsageError('the wasm engine needs a compiled module (evacuationGrid compiles it)');
  const rnd = seededRandom(o.seed);
  const cell: EvacuationCell = {
    cpus: o.cpus, load: o.load, trials: o.trials, countCheckOk: 0, blocksFit: 0, safeFit: 0, countOkButNoFit: 0, executed: 0,
    before: { allocated: 0, largestFree: 0, victim: 0 }, after: { allocated: 0, largestFree: 0 },
  };
  const victim = o.cpus - 1;
  const apicIds = Array.from({ length: o.cpus }, (_, i) => i);
  const rest = apicIds.slice(0, victim);
  for (let trial = 0; trial < o.trials; trial++) {
    const t = populate(o, rnd, module);
    const items: EvacItem[] = t.owners.filter((d) => d.cpu === victim).map((d) => ({ base: d.base, count: d.count, unmaskable: !d.pvm }));
    const std = planEvacuation(apicIds, t.matrix, victim, items, 'linux');
    const safe = planEvacuation(apicIds, t.matrix, victim, items, 'safe');
    cell.countCheckOk += std.countCheck.ok ? 1 : 0;
    cell.blocksFit += std.ok ? 1 : 0;
    cell.safeFit += safe.ok ? 1 : 0;
    cell.countOkButNoFit += std.countCheck.ok && !std.ok ? 1 : 0;
    const b = stats(t.matrix, rest);
    cell.before.allocated += b.allocated / o.trials;
    cell.before.largestFree += b.largestFree / o.trials;
    cell.before.victim += t.matrix.cpu(victim).allocated / o.trials;
    if (o.execute !== undefined && (o.execute === 'safe' ? safe.ok : std.ok)) {
      execute(t, victim, items, o.execute);
      cell.executed++;
      const a = stats(t.matrix, rest);
      cell.after.allocated += a.allocated;
      cell.after.largestFree += a.largestFree;
    }
    onTrial?.();
  }
  if (cell.executed > 0) {
    cell.after.allocated /= cell.executed;
    cell.after.largestFree /= cell.executed;
  }
  return cell;
}

/** The grid of the analysis: every CPU count against every load. */
export async function evacuationGrid(
  cpus: readonly number[],
  loads: readonly number[],
  base: Omit<EvacuationOptions, 'cpus' | 'load'>,
  onTrial?: () => void,
): Promise<EvacuationCell[]> {
  const module = base.engine === 'wasm' ? await compileMatrixModule() : undefined;
  const out: EvacuationCell[] = [];
  for (const n of cpus) for (const load of loads) out.push(evacuationCell({ ...base, cpus: n, load }, module, onTrial));
  return out;
}
