// TypeScript twin of assembly/index.ts: the same algorithm and the same structure-of-arrays layout
// on typed arrays, with 32-bit words (JS has no cheap 64-bit integers). Must agree op for op.

import * as S from '../../assembly/status';
import type { MatrixCore } from './core';
import { bestFitRun, ctz32, firstFitRun, largestAligned } from './js-runs';

const WORDS = 8; // 256 bits per map in 32-bit words


export class JsMatrixCore implements MatrixCore {
  readonly engine = 'js' as const;
  readonly maskWords32: number;
  private readonly allocSize: number;
  private readonly range = new Uint32Array(WORDS);
  private readonly system = new Uint32Array(WORDS);
  private readonly onlineBits: Uint32Array;
  private readonly initBits: Uint32Array;
  private readonly avail: Int32Array;
  private readonly allocated: Int32Array;
  private readonly managed: Int32Array;
  private readonly managedAl: Int32Array;
  private readonly largest: Int32Array;
  private readonly allocMap: Uint32Array;
  private readonly managedMap: Uint32Array;
  private readonly masks: Uint32Array;
  /** The free words of one CPU, refilled before each run search. */
  private readonly freeWords = new Uint32Array(WORDS);
  private gAvailable = 0;
  private gReserved = 0;
  private sysInalloc = 0;
  private total = 0;
  private maps = 0;
  private last = -1;

  constructor(
    readonly cpus: number,
    readonly bits: number,
    readonly start: number,
    readonly end: number,
    private readonly policy: number,
  ) {
    // Same mask geometry as the WASM engine (64-bit words) so callers write identical slots.
    this.maskWords32 = ((cpus + 63) >>> 6) * 2;
    this.allocSize = end - start;
    this.onlineBits = new Uint32Array(this.maskWords32);
    this.initBits = new Uint32Array(this.maskWords32);
    this.avail = new Int32Array(cpus);
    this.allocated = new Int32Array(cpus);
    this.managed = new Int32Array(cpus);
    this.managedAl = new Int32Array(cpus);
    this.largest = new Int32Array(cpus);
    this.allocMap = new Uint32Array(cpus * WORDS);
    this.managedMap = new Uint32Array(cpus * WORDS);
    this.masks = new Uint32Array(S.MASK_SLOTS * this.maskWords32);
    for (let b = start; b < end; b++) this.range[b >>> 5] |= 1 << (b & 31);
    for (let cpu = 0; cpu < cpus; cpu++) this.updateLargest(cpu);
  }

  writeMask(slot: number, words: Uint32Array): void {
    const off = slot * this.maskWords32;
    this.masks.fill(0, off, off + this.maskWords32);
    this.masks.set(words.subarray(0, this.maskWords32), off);
  }

  // ---- bit helpers ----
  private isOnline(cpu: number): boolean {
    return ((this.onlineBits[cpu >>> 5]! >>> (cpu & 31)) & 1) !== 0;
  }
  private freeWord(cpu: number, w: number): number {
    const i = cpu * WORDS + w;
    return (~(this.allocMap[i]! | this.managedMap[i]! | this.system[w]!) & this.range[w]!) >>> 0;
  }
  private testMap(map: Uint32Array, cpu: number, bit: number): boolean {
    return ((map[cpu * WORDS + (bit >>> 5)]! >>> (bit & 31)) & 1) !== 0;
  }
  private setMap(map: Uint32Array, cpu: number, bit: number): void {
    map[cpu * WORDS + (bit >>> 5)]! |= 1 << (bit & 31);
  }
  private clearMap(map: Uint32Array, cpu: number, bit: number): void {
    map[cpu * WORDS + (bit >>> 5)]! &= ~(1 << (bit & 31));
  }
  private maskEmpty(slot: number): boolean {
    const off = slot * this.maskWords32;
    for (let w = 0; w < this.maskWords32; w++) if (this.masks[off + w] !== 0) return false;
    return true;
  }

  /** Free bits (not allocated, managed or system, inside [start, end)) of `cpu` in this.freeWords. */
  private loadFree(cpu: number): Uint32Array {
    for (let w = 0; w < WORDS; w++) this.freeWords[w] = this.freeWord(cpu, w);
    return this.freeWords;
  }

  private updateLargest(cpu: number): void {
    this.largest[cpu] = largestAligned(this.loadFree(cpu));
  }

  private firstFit(cpu: number, n: number): number {
    return firstFitRun(this.loadFree(cpu), n);
  }

  private bestFit(cpu: number, n: number): number {
    return bestFitRun(this.loadFree(cpu), n);
  }

  private lowestFree(cpu: number): number {
    for (let w = 0; w < WORDS; w++) {
      const f = this.freeWord(cpu, w);
      if (f !== 0) return (w << 5) + ctz32(f);
    }
    return -1;
  }

  private firstManagedUnallocated(cpu: number): number {
    const o = cpu * WORDS;
    for (let w = 0; w < WORDS; w++) {
      const f = (this.managedMap[o + w]! & ~this.allocMap[o + w]!) >>> 0;
      if (f !== 0) return (w << 5) + ctz32(f);
    }
    return -1;
  }

  /** Calls fn for each CPU of the mask in slot (ascending); stops when fn returns false. */
  private forEachInMask(slot: number, onlineOnly: boolean, fn: (cpu: number) => boolean | void): void {
    const off = slot * this.maskWords32;
    for (let w = 0; w < this.maskWords32; w++) {
      let bits = this.masks[off + w]!;
      if (onlineOnly) bits &= this.onlineBits[w]!;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits = (bits & (bits - 1)) >>> 0;
        if (fn(cpu) === false) return;
      }
    }
  }

  // ---- kernel operations ----
  online(cpu: number): number {
    if (!(cpu >>> 0 < this.cpus)) return S.EINVAL;
    if (this.isOnline(cpu)) return S.BUG_ONLINE_TWICE;
    if (((this.initBits[cpu >>> 5]! >>> (cpu & 31)) & 1) === 0) {
      this.avail[cpu] = this.allocSize - (this.managed[cpu]! + this.sysInalloc);
      this.initBits[cpu >>> 5]! |= 1 << (cpu & 31);
    }
    this.gAvailable += this.avail[cpu]!;
    this.onlineBits[cpu >>> 5]! |= 1 << (cpu & 31);
    this.maps++;
    return S.OK;
  }

  offline(cpu: number): number {
    if (!(cpu >>> 0 < this.cpus)) return S.EINVAL;
    if (!this.isOnline(cpu)) return S.BUG_OFFLINE_TWICE;
    this.gAvailable -= this.avail[cpu]!;
    this.onlineBits[cpu >>> 5]! &= ~(1 << (cpu & 31));
    this.maps--;
    return S.OK;
  }

  assignSystem(bit: number, replace: number): number {
    if (bit < 0 || bit >= this.bits) return S.BUG_SYSTEM_RANGE;
    if (this.maps > 1 || (this.maps !== 0 && replace === 0)) return S.BUG_SYSTEM_ONLINE;
    if (replace !== 0) {
      // A managed allocation cannot be replaced: managed_allocated would no longer match the maps.
      if (!this.testMap(this.allocMap, 0, bit) || this.testMap(this.managedMap, 0, bit)) return S.BUG_SYSTEM_NOT_ALLOCATED;
      this.clearMap(this.allocMap, 0, bit);
      this.allocated[0]!--;
      this.total--;
    }
    this.system[bit >>> 5]! |= 1 << (bit & 31);
    if (bit >= this.start && bit < this.end) this.sysInalloc++;
    for (let cpu = 0; cpu < this.cpus; cpu++) this.updateLargest(cpu);
    return S.OK;
  }

  assign(cpu: number, bit: number): number {
    if (!(cpu >>> 0 < this.cpus) || bit < 0) return S.EINVAL;
    // As the kernel: any bit outside [alloc_start, alloc_end), beyond the matrix too, is a WARN.
    if (bit < this.start || bit >= this.end) return S.WARN_ASSIGN_RANGE;
    if (!this.isOnline(cpu)) return S.WARN_ASSIGN_OFFLINE;
    if (this.testMap(this.allocMap, cpu, bit)) return S.WARN_ASSIGN_TAKEN;
    // The kernel only tests alloc_map; a system or managed bit would be counted twice against available.
    if (((this.system[bit >>> 5]! >>> (bit & 31)) & 1) !== 0 || this.testMap(this.managedMap, cpu, bit)) {
      return S.WARN_ASSIGN_RESERVED;
    }
    // available can drift below the free bits (managed reservations across offline periods); never wrap it.
    if (this.avail[cpu] === 0) return S.WARN_AVAILABLE_UNDERFLOW;
    this.setMap(this.allocMap, cpu, bit);
    this.allocated[cpu]!++;
    this.total++;
    this.avail[cpu]!--;
    this.gAvailable--;
    this.updateLargest(cpu);
    return S.OK;
  }

  reserve(): number {
    this.gReserved++;
    return S.OK;
  }

  removeReserved(): number {
    if (this.gReserved === 0) return S.WARN_RESERVED_UNDERFLOW;
    this.gReserved--;
    return S.OK;
  }

  private removeManagedOne(cpu: number): void {
    const bit = this.firstManagedUnallocated(cpu);
    this.clearMap(this.managedMap, cpu, bit);
    this.managed[cpu]!--;
    if (this.isOnline(cpu)) {
      this.avail[cpu]!++;
      this.gAvailable++;
    }
    this.updateLargest(cpu);
  }

  reserveManaged(slot: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS)) return S.EINVAL;
    let failed = -1;
    this.forEachInMask(slot, false, (cpu) => {
      // A CPU whose available count has drifted to 0 cannot take one more without wrapping (kernel: u32).
      const bit = this.isOnline(cpu) && this.avail[cpu] === 0 ? -1 : this.lowestFree(cpu);
      if (bit < 0) {
        failed = cpu;
        return false;
      }
      this.setMap(this.managedMap, cpu, bit);
      this.managed[cpu]!++;
      if (this.isOnline(cpu)) {
        this.avail[cpu]!--;
        this.gAvailable--;
      }
      this.updateLargest(cpu);
      return true;
    });
    if (failed < 0) return S.OK;
    // Kernel rollback: irq_matrix_remove_managed() on every CPU before the one that failed.
    this.forEachInMask(slot, false, (cpu) => {
      if (cpu === failed) return false;
      this.removeManagedOne(cpu);
      return true;
    });
    return S.ENOSPC;
  }

  removeManaged(slot: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS)) return S.EINVAL;
    let status: number = S.OK;
    this.forEachInMask(slot, false, (cpu) => {
      if (this.managed[cpu] === 0) status = S.WARN_REMOVE_MANAGED_NONE;
      else if (this.firstManagedUnallocated(cpu) < 0) status = S.WARN_REMOVE_MANAGED_ALL_ALLOCATED;
      else return true;
      this.last = cpu;
      return false;
    });
    if (status !== S.OK) return status;
    this.forEachInMask(slot, false, (cpu) => this.removeManagedOne(cpu));
    return S.OK;
  }

  private findBestCpu(slot: number): number {
    let best = -1;
    let maxavl = 0;
    this.forEachInMask(slot, true, (cpu) => {
      const avl = this.avail[cpu]!;
      if (avl > maxavl) {
        maxavl = avl;
        best = cpu;
      }
    });
    return best;
  }

  alloc(slot: number, reserved: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS)) return S.EINVAL;
    if (this.maskEmpty(slot)) return S.EINVAL;
    if (reserved !== 0 && this.gReserved === 0) return S.WARN_RESERVED_UNDERFLOW;
    const cpu = this.findBestCpu(slot);
    if (cpu < 0) return S.ENOSPC;
    const bit = this.lowestFree(cpu);
    if (bit < 0) return S.ENOSPC;
    this.setMap(this.allocMap, cpu, bit);
    this.allocated[cpu]!++;
    this.avail[cpu]!--;
    this.total++;
    this.gAvailable--;
    if (reserved !== 0) this.gReserved--;
    this.updateLargest(cpu);
    this.last = cpu;
    return bit;
  }

  allocManaged(slot: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS)) return S.EINVAL;
    if (this.maskEmpty(slot)) return S.EINVAL;
    let best = -1;
    let fewest = Infinity;
    this.forEachInMask(slot, true, (cpu) => {
      const ma = this.managedAl[cpu]!;
      if (ma <= fewest) {
        fewest = ma;
        best = cpu;
      }
    });
    if (best < 0) return S.ENOSPC;
    const bit = this.firstManagedUnallocated(best);
    if (bit < 0) return S.ENOSPC;
    this.setMap(this.allocMap, best, bit);
    this.allocated[best]!++;
    this.managedAl[best]!++;
    this.total++;
    this.last = best;
    this.updateLargest(best);
    return bit;
  }

  free(cpu: number, bit: number, managed: number): number {
    if (!(cpu >>> 0 < this.cpus) || bit < 0) return S.EINVAL;
    // As the kernel: any bit outside [alloc_start, alloc_end), beyond the matrix too, is a WARN.
    if (bit < this.start || bit >= this.end) return S.WARN_FREE_RANGE;
    if (!this.testMap(this.allocMap, cpu, bit)) return S.WARN_FREE_NOT_ALLOCATED;
    if ((managed !== 0) !== this.testMap(this.managedMap, cpu, bit)) return S.WARN_FREE_MANAGED_MISMATCH;
    this.clearMap(this.allocMap, cpu, bit);
    this.allocated[cpu]!--;
    if (managed !== 0) this.managedAl[cpu]!--;
    const on = this.isOnline(cpu);
    if (on) this.total--;
    if (managed === 0) {
      this.avail[cpu]!++;
      if (on) this.gAvailable++;
    }
    this.updateLargest(cpu);
    return S.OK;
  }

  allocBlock(slot: number, count: number, reserved: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS) || !validCount(count)) return S.EINVAL;
    if (this.maskEmpty(slot)) return S.EINVAL;
    if (reserved !== 0 && this.gReserved < count) return S.WARN_RESERVED_UNDERFLOW;
    let best = -1;
    let maxavl = count - 1;
    this.forEachInMask(slot, true, (cpu) => {
      const avl = this.avail[cpu]!;
      if (avl > maxavl && this.largest[cpu]! >= count) {
        maxavl = avl;
        best = cpu;
      }
    });
    if (best < 0) return S.ENOSPC;
    const base = this.policy === S.POLICY_BEST_FIT ? this.bestFit(best, count) : this.firstFit(best, count);
    if (base < 0) return S.ENOSPC;
    for (let b = base; b < base + count; b++) this.setMap(this.allocMap, best, b);
    this.allocated[best]! += count;
    this.avail[best]! -= count;
    this.total += count;
    this.gAvailable -= count;
    if (reserved !== 0) this.gReserved -= count;
    this.updateLargest(best);
    this.last = best;
    return base;
  }

  freeBlock(cpu: number, base: number, count: number): number {
    if (!(cpu >>> 0 < this.cpus) || !validCount(count) || base < 0 || (base & (count - 1)) !== 0) return S.EINVAL;
    if (base < this.start || base + count > this.end) return S.WARN_FREE_RANGE;
    for (let b = base; b < base + count; b++) {
      if (!this.testMap(this.allocMap, cpu, b)) return S.WARN_FREE_NOT_ALLOCATED;
      if (this.testMap(this.managedMap, cpu, b)) return S.WARN_FREE_MANAGED_MISMATCH;
    }
    for (let b = base; b < base + count; b++) this.clearMap(this.allocMap, cpu, b);
    this.allocated[cpu]! -= count;
    this.avail[cpu]! += count;
    if (this.isOnline(cpu)) {
      this.total -= count;
      this.gAvailable += count;
    }
    this.updateLargest(cpu);
    return S.OK;
  }

  available(cpudown: number, cpu: number): number {
    if (!(cpu >>> 0 < this.cpus)) return S.EINVAL;
    // cpudown names the CPU going down, which is still online (its available is in the global count).
    if (cpudown !== 0 && !this.isOnline(cpu)) return S.EINVAL;
    return cpudown !== 0 ? this.gAvailable - this.avail[cpu]! : this.gAvailable;
  }

  runBatch(ops: Int32Array, results: Int32Array): void {
    const n = ops.length >>> 2;
    for (let i = 0; i < n; i++) {
      const code = ops[i * 4]!, a = ops[i * 4 + 1]!, b = ops[i * 4 + 2]!, c = ops[i * 4 + 3]!;
      let status: number = S.EINVAL;
      let cpu = -1;
      if (code === S.OP_ALLOC) { status = this.alloc(a, b); cpu = status >= 0 ? this.last : -1; }
      else if (code === S.OP_FREE) { status = this.free(a, b, c); cpu = a; }
      else if (code === S.OP_ALLOC_BLOCK) { status = this.allocBlock(a, b, c); cpu = status >= 0 ? this.last : -1; }
      else if (code === S.OP_FREE_BLOCK) { status = this.freeBlock(a, b, c); cpu = a; }
      else if (code === S.OP_ALLOC_MANAGED) { status = this.allocManaged(a); cpu = status >= 0 ? this.last : -1; }
      results[i * 2] = status;
      results[i * 2 + 1] = cpu;
    }
  }

  // ---- queries ----
  lastCpu(): number { return this.last; }
  globalAvailable(): number { return this.gAvailable; }
  globalReserved(): number { return this.gReserved; }
  totalAllocated(): number { return this.total; }
  onlineMaps(): number { return this.maps; }
  systembitsInalloc(): number { return this.sysInalloc; }
  cpuAvailable(cpu: number): number { return this.avail[cpu]!; }
  cpuAllocated(cpu: number): number { return this.allocated[cpu]!; }
  cpuManaged(cpu: number): number { return this.managed[cpu]!; }
  cpuManagedAllocated(cpu: number): number { return this.managedAl[cpu]!; }
  cpuLargestFree(cpu: number): number { return this.largest[cpu]!; }
  cpuFlags(cpu: number): number {
    const on = this.isOnline(cpu) ? 1 : 0;
    const init = (this.initBits[cpu >>> 5]! >>> (cpu & 31)) & 1;
    return on | (init << 1);
  }
  allocWord(cpu: number, i: number): number { return this.allocMap[cpu * WORDS + i]!; }
  managedWord(cpu: number, i: number): number { return this.managedMap[cpu * WORDS + i]!; }
  systemWord(i: number): number { return this.system[i]!; }
}

function validCount(count: number): boolean {
  return count >= 1 && count <= S.MAX_BLOCK && (count & (count - 1)) === 0;
}
