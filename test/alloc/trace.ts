// Random operation traces for differential tests: a seeded generator of matrix operations that
// mostly make sense (frees of live allocations, masks over existing CPUs) and sometimes do not.

import { mulberry32 } from '../../src/util/random.js';
import { MatrixError } from '../../src/alloc/errors.js';
import type { VectorMatrix } from '../../src/alloc/matrix.js';

export type Op =
  | { op: 'online' | 'offline'; cpu: number }
  | { op: 'system'; bit: number; replace: boolean }
  | { op: 'assign'; cpu: number; bit: number }
  | { op: 'reserve' | 'unreserve' }
  | { op: 'reserveManaged' | 'removeManaged' | 'allocManaged'; mask: number[] }
  | { op: 'alloc'; mask: number[]; reserved: boolean }
  | { op: 'free'; cpu: number; bit: number; managed: boolean }
  | { op: 'allocBlock'; mask: number[]; count: number; reserved: boolean }
  | { op: 'freeBlock'; cpu: number; base: number; count: number }
  | { op: 'available'; cpudown: boolean; cpu: number };

export const rng = mulberry32;

/** Applies one op; returns a comparable outcome (result value or error code + detail). */
export function apply(m: VectorMatrix, o: Op): unknown {
  try {
    switch (o.op) {
      case 'online': return m.online(o.cpu) ?? 'ok';
      case 'offline': return m.offline(o.cpu) ?? 'ok';
      case 'system': return m.assignSystem(o.bit, o.replace) ?? 'ok';
      case 'assign': return m.assign(o.cpu, o.bit) ?? 'ok';
      case 'reserve': return m.reserve() ?? 'ok';
      case 'unreserve': return m.removeReserved() ?? 'ok';
      case 'reserveManaged': return m.reserveManaged(o.mask) ?? 'ok';
      case 'removeManaged': return m.removeManaged(o.mask) ?? 'ok';
      case 'allocManaged': return m.allocManaged(o.mask);
      case 'alloc': return m.alloc(o.mask, o.reserved);
      case 'free': return m.free(o.cpu, o.bit, o.managed) ?? 'ok';
      case 'allocBlock': return m.allocBlock(o.mask, o.count, o.reserved);
      case 'freeBlock': return m.freeBlock(o.cpu, o.base, o.count) ?? 'ok';
      case 'available': return m.available(o.cpudown, o.cpu);
    }
  } catch (e) {
    if (e instanceof MatrixError) return { error: e.code, detail: e.detail };
    throw e;
  }
}

interface Live { cpu: number; bit: number; count: number; managed: boolean }

/**
 * Generates ops against a model of what is live, so that most frees and removals are legal.
 * `cpus` possible CPUs; the x86 geometry (bits 256, range [0x20, 0xEB)) is assumed for bit choices.
 */
export class TraceGenerator {
  private readonly live: Live[] = [];
  private readonly r: () => number;
  constructor(seed: number, private readonly cpus: number, private readonly start = 0x20, private readonly end = 0xeb) {
    this.r = rng(seed);
  }
  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private mask(): number[] {
    const k = this.r();
    if (k < 0.03) return [];
    if (k < 0.3) return [this.int(this.cpus)];
    if (k < 0.6) return Array.from({ length: this.cpus }, (_, i) => i);
    if (k < 0.8) {
      const lo = this.int(this.cpus);
      const hi = lo + this.int(this.cpus - lo);
      return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    }
    if (k < 0.9) {
      // Whole aligned groups of 32 or 64 CPUs (summary nodes in the engines), some with a hole.
      const g = this.r() < 0.5 ? 32 : 64;
      const hole = this.r() < 0.3 ? this.int(this.cpus) : -1;
      const picked: number[] = [];
      for (let lo = 0; lo < this.cpus; lo += g) {
        if (this.r() < 0.5) continue;
        for (let c = lo; c < Math.min(this.cpus, lo + g); c++) if (c !== hole) picked.push(c);
      }
      return picked;
    }
    return Array.from({ length: this.cpus }, (_, i) => i).filter(() => this.r() < 0.4);
  }
  private bit(): number {
    const k = this.r();
    if (k < 0.9) return this.start + this.int(this.end - this.start);
    return this.int(256);
  }

  /** Records what a successful op made live, so later ops can free it. */
  observe(o: Op, outcome: unknown): void {
    if (typeof outcome !== 'object' || outcome === null || 'error' in outcome) {
      if (outcome === 'ok' && o.op === 'free') this.drop(o.cpu, o.bit, 1);
      if (outcome === 'ok' && o.op === 'freeBlock') this.drop(o.cpu, o.base, o.count);
      if (outcome === 'ok' && o.op === 'assign') this.live.push({ cpu: o.cpu, bit: o.bit, count: 1, managed: false });
      if (outcome === 'ok' && o.op === 'system' && o.replace) this.drop(0, o.bit, 1);
      return;
    }
    const res = outcome as { cpu: number; vector?: number; base?: number; count?: number };
    if (o.op === 'alloc') this.live.push({ cpu: res.cpu, bit: res.vector!, count: 1, managed: false });
    if (o.op === 'allocManaged') this.live.push({ cpu: res.cpu, bit: res.vector!, count: 1, managed: true });
    if (o.op === 'allocBlock') this.live.push({ cpu: res.cpu, bit: res.base!, count: res.count!, managed: false });
  }
  /** Frees [bit, bit+count) on cpu in the model: entries inside go, blocks that straddle it split. */
  private drop(cpu: number, bit: number, count: number): void {
    const end = bit + count;
    const keep: Live[] = [];
    for (const l of this.live) {
      if (l.cpu !== cpu || l.bit + l.count <= bit || l.bit >= end) {
        keep.push(l);
        continue;
      }
      // Blocks are accounted as single bits, so a partial free is legal: keep the rest as singles.
      for (let b = l.bit; b < l.bit + l.count; b++) if (b < bit || b >= end) keep.push({ cpu, bit: b, count: 1, managed: l.managed });
    }
    this.live.length = 0;
    this.live.push(...keep);
  }
  liveBlocks(): readonly Live[] {
    return this.live;
  }

  next(): Op {
    const k = this.r();
    const cpu = this.int(this.cpus);
    if (k < 0.07) return { op: 'online', cpu };
    if (k < 0.1) return { op: 'offline', cpu };
    if (k < 0.105) return { op: 'system', bit: this.bit(), replace: this.r() < 0.5 };
    if (k < 0.12) return { op: 'assign', cpu, bit: this.bit() };
    if (k < 0.14) return { op: 'reserve' };
    if (k < 0.15) return { op: 'unreserve' };
    if (k < 0.18) return { op: 'reserveManaged', mask: this.mask() };
    if (k < 0.2) return { op: 'removeManaged', mask: this.mask() };
    if (k < 0.23) return { op: 'allocManaged', mask: this.mask() };
    if (k < 0.45) return { op: 'alloc', mask: this.mask(), reserved: this.r() < 0.1 };
    if (k < 0.65) {
      const r = this.r();
      const count = r < 0.05 ? [0, 3, 64][this.int(3)]! : 1 << this.int(6);
      return { op: 'allocBlock', mask: this.mask(), count, reserved: this.r() < 0.05 };
    }
    if (k < 0.97 && this.live.length > 0 && this.r() < 0.95) {
      const l = this.live[this.int(this.live.length)]!;
      if (l.count === 1 && this.r() < 0.7) return { op: 'free', cpu: l.cpu, bit: l.bit, managed: this.r() < 0.97 ? l.managed : !l.managed };
      return { op: 'freeBlock', cpu: l.cpu, base: l.bit, count: l.count };
    }
    if (k < 0.97) return this.r() < 0.5 ? { op: 'free', cpu, bit: this.bit(), managed: false } : { op: 'freeBlock', cpu, base: this.bit() & ~3, count: 4 };
    return { op: 'available', cpudown: this.r() < 0.5, cpu };
  }
}
