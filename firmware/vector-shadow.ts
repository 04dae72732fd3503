// A what-if copy of the vector matrix for planning moves and evacuations: choices made on it match
// VectorMatrix.allocBlock/alloc (first or buddy best fit), so a plan can be checked before anything moves.

import { VectorMatrix } from '../src/alloc/matrix.js';
import { describeValue } from '../src/hw/describe.js';
import { AffinityError, checkPlacement } from './affinity.js';
import type { Placement } from './vector-domain.js';

/**
 * What-if copy of the vector matrix: per-CPU free bits and available counts. Its pick functions make
 * the choices VectorMatrix.allocBlock/alloc make, so plans made on it can be checked against them.
 */
export class VectorShadow {
  private constructor(
    readonly start: number,
    readonly end: number,
    readonly bestFit: boolean,
    private readonly free: Uint8Array[],
    readonly avail: number[],
    readonly online: boolean[],
  ) {}

  static of(m: VectorMatrix): VectorShadow {
    if (!(m instanceof VectorMatrix)) throw new AffinityError('EINVAL', `VectorShadow.of() takes a VectorMatrix, got ${describeValue(m)}`);
    const sys = new Set(m.systemVectors());
    const free: Uint8Array[] = [];
    const avail: number[] = [];
    const online: boolean[] = [];
    for (let c = 0; c < m.cpus; c++) {
      const f = new Uint8Array(m.bits);
      const taken = new Set([...m.vectors(c), ...m.managedVectors(c)]);
      for (let b = m.start; b < m.end; b++) f[b] = sys.has(b) || taken.has(b) ? 0 : 1;
      free.push(f);
      const s = m.cpu(c);
      avail.push(s.available);
      online.push(s.online);
    }
    return new VectorShadow(m.start, m.end, m.placement === 'bestFit', free, avail, online);
  }

  isFree(cpu: number, base: number, count: number): boolean {
    this.checkCpu(cpu);
    this.checkRun(base, count);
    return this.freeRun(cpu, base, count);
  }
  take(cpu: number, base: number, count: number): void {
    this.checkCpu(cpu);
    this.checkRun(base, count);
    for (let b = base; b < base + count; b++) this.free[cpu]![b] = 0;
    this.avail[cpu]! -= count;
  }
  release(cpu: number, base: number, count: number): void {
    this.checkCpu(cpu);
    this.checkRun(base, count);
    for (let b = base; b < base + count; b++) this.free[cpu]![b] = 1;
    this.avail[cpu]! += count;
  }
  /** Aligned bases of free runs of `count` on `cpu`, ascending. */
  runs(cpu: number, count: number): number[] {
    this.checkCpu(cpu);
    this.checkRun(0, count);
    return this.runsOf(cpu, count);
  }
  /** Online CPUs of `cpus` able to take `count`, in the matrix's preference order (most available, lowest ID). */
  ranked(cpus: readonly number[], count: number): number[] {
    this.checkCpus(cpus);
    this.checkRun(0, count);
    return this.rankedOf(cpus, count);
  }
  /** allocBlock's choice (alloc's for count 1: lowest free bit); null when nothing fits. */
  pickBlock(cpus: readonly number[], count: number): Placement | null {
    this.checkCpus(cpus);
    this.checkRun(0, count);
    const cpu = this.rankedOf(cpus, count)[0];
    if (cpu === undefined) return null;
    const runs = this.runsOf(cpu, count);
    if (!this.bestFit || count === 1) return { cpu, base: runs[0]!, count };
    // Buddy best fit: the run inside the smallest enclosing free aligned block, lowest base on ties.
    let best = runs[0]!;
    let bestSize = Infinity;
    for (const b of runs) {
      let s = count;
      while (s < 256 && this.freeRun(cpu, b & ~(2 * s - 1), 2 * s)) s *= 2;
      if (s < bestSize) [best, bestSize] = [b, s];
    }
    return { cpu, base: best, count };
  }
  /**
   * The safe protocol's target for a block that cannot be masked: the same base on another CPU (only
   * the address changes), else a base free on both CPUs (data first on the old CPU, then address).
   */
  pickHop(from: Placement, cpus: readonly number[]): { to: Placement; via: Placement | null } | null {
    checkPlacement(from, 'from');
    this.checkCpu(from.cpu);
    this.checkCpus(cpus);
    const ranked = this.rankedOf(cpus.filter((c) => c !== from.cpu), from.count);
    for (const cpu of ranked) {
      if (this.freeRun(cpu, from.base, from.count)) return { to: { cpu, base: from.base, count: from.count }, via: null };
    }
    for (const cpu of ranked) {
      const base = this.runsOf(cpu, from.count).find((b) => this.freeRun(from.cpu, b, from.count));
      if (base !== undefined) return { to: { cpu, base, count: from.count }, via: { cpu: from.cpu, base, count: from.count } };
    }
    return null;
  }

  // ---- internals (arguments already checked) ----

  private freeRun(cpu: number, base: number, count: number): boolean {
    if (base < this.start || base + count > this.end) return false;
    const f = this.free[cpu]!;
    for (let b = base; b < base + count; b++) if (!f[b]) return false;
    return true;
  }
  private runsOf(cpu: number, count: number): number[] {
    const out: number[] = [];
    for (let b = Math.ceil(this.start / count) * count; b + count <= this.end; b += count) if (this.freeRun(cpu, b, count)) out.push(b);
    return out;
  }
  private rankedOf(cpus: readonly number[], count: number): number[] {
    const ok = cpus.filter((c) => this.online[c] && this.avail[c]! >= count && this.runsOf(c, count).length > 0);
    return ok.sort((a, b) => this.avail[b]! - this.avail[a]! || a - b);
  }
  private checkCpu(cpu: number): void {
    if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0 || cpu >= this.free.length) {
      throw new AffinityError('EINVAL', `CPU must be 0..${this.free.length - 1}, got ${describeValue(cpu)}`);
    }
  }
  private checkCpus(cpus: readonly number[]): void {
    if (!Array.isArray(cpus)) throw new AffinityError('EINVAL', `CPUs must be an array, got ${describeValue(cpus)}`);
    cpus.forEach((c) => this.checkCpu(c));
  }
  private checkRun(base: number, count: number): void {
    const n = this.free[0]?.length ?? 256;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > n || typeof base !== 'number' || !Number.isInteger(base) || base < 0 || base + count > n) {
      throw new AffinityError('EINVAL', `a run must be base 0.., count 1.. within the ${n} vectors, got ${describeValue(base)}+${describeValue(count)}`);
    }
  }
}
