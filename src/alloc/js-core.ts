// TypeScript twin of assembly/index.ts: the same algorithm and the same structure-of-arrays layout
// on typed arrays, with 32-bit words (JS has no cheap 64-bit integers). Must agree op for op.
// The selection tree is the engine's (see assembly/index.ts), with groups of 32 CPUs (one mask
// word) instead of 64. Hot loops are written out (no closures per CPU, no boxed numbers: every map
// read goes through an Int32Array view or is a small integer).

import * as S from '../../assembly/status.js';
import type { MatrixCore } from './core.js';
import { bestFitRun, ctz32, firstFitRun } from './js-runs.js';

const WORDS = 8; // 256 bits per map in 32-bit words
const CPU_BITS = 13; // MAX_CPUS = 8192 CPUs fit the low 13 bits of a key
const CPU_FIELD = (1 << CPU_BITS) - 1;
const CLASS_ALLOC = 0;
const CLASS_MANAGED = 7;
const KEYS = 8; // classes per tree node
const SLOT_EMPTY = 1;
const SLOT_ALL = 2;
const FULL_WORD = 0x10000;


export class JsMatrixCore implements MatrixCore {
  readonly engine = 'js' as const;
  readonly maskWords32: number;
  private readonly allocSize: number;
  private readonly range = new Int32Array(WORDS);
  /** Bits no CPU may allocate: system bits and everything outside [start, end). */
  private readonly blocked = new Int32Array(WORDS);
  private readonly system = new Int32Array(WORDS);
  private readonly onlineBits: Int32Array;
  private readonly initBits: Int32Array;
  private readonly avail: Int32Array;
  private readonly allocated: Int32Array;
  private readonly managed: Int32Array;
  private readonly managedAl: Int32Array;
  private readonly largest: Int32Array;
  private readonly allocMap: Int32Array;
  private readonly managedMap: Int32Array;
  private readonly masks: Uint32Array;
  /** Signed view of the masks: reading a full word through it never boxes. */
  private readonly masksI: Int32Array;
  /** Per slot: flags (SLOT_EMPTY, SLOT_ALL) and the number of non-zero words. */
  private readonly slotInfo = new Int32Array(S.MASK_SLOTS * 2);
  /** Per slot: its non-zero word indices, | FULL_WORD when the word names all 32 CPUs of its group. */
  private readonly slotWords: Int32Array;
  /** Selection tree: KEYS keys per node, node i's children at 2i and 2i + 1, leaves at L + cpu. */
  private readonly tree: Int32Array;
  private readonly leaves: number;
  private readonly groupBase: number;
  /** The free words of one CPU, refilled before each run search. */
  private readonly freeWords = new Int32Array(WORDS);
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
    this.onlineBits = new Int32Array(this.maskWords32);
    this.initBits = new Int32Array(this.maskWords32);
    this.avail = new Int32Array(cpus);
    this.allocated = new Int32Array(cpus);
    this.managed = new Int32Array(cpus);
    this.managedAl = new Int32Array(cpus);
    this.largest = new Int32Array(cpus);
    this.allocMap = new Int32Array(cpus * WORDS);
    this.managedMap = new Int32Array(cpus * WORDS);
    this.masks = new Uint32Array(S.MASK_SLOTS * this.maskWords32);
    this.masksI = new Int32Array(this.masks.buffer);
    this.slotWords = new Int32Array(S.MASK_SLOTS * this.maskWords32);
    let leaves = 32;
    while (leaves < cpus) leaves <<= 1;
    this.leaves = leaves;
    this.groupBase = leaves >>> 5;
    this.tree = new Int32Array(leaves * 2 * KEYS);
    for (let b = start; b < end; b++) this.range[b >>> 5] |= 1 << (b & 31);
    for (let w = 0; w < WORDS; w++) this.blocked[w] = ~this.range[w]!;
    for (let cpu = 0; cpu < cpus; cpu++) this.updateLargest(cpu);
    for (let slot = 0; slot < S.MASK_SLOTS; slot++) this.commitMask(slot);
  }

  writeMask(slot: number, words: Uint32Array): void {
    const off = slot * this.maskWords32;
    const n = Math.min(words.length, this.maskWords32);
    this.masks.set(n === words.length ? words : words.subarray(0, n), off);
    if (n < this.maskWords32) this.masks.fill(0, off + n, off + this.maskWords32);
    this.commitMask(slot);
  }

  /** CPUs of 32-bit word w that exist (as a signed word). */
  private validWord(w: number): number {
    const rest = this.cpus - (w << 5);
    return rest >= 32 ? -1 : (1 << rest) - 1;
  }

  /** Indexes a freshly written mask: empty, all CPUs, and its non-zero words. */
  private commitMask(slot: number): void {
    const off = slot * this.maskWords32;
    const m = this.masksI;
    const list = this.slotWords;
    let n = 0;
    let all = true;
    for (let w = 0; w < this.maskWords32; w++) {
      const v = w << 5 < this.cpus ? m[off + w]! & this.validWord(w) : 0;
      m[off + w] = v; // bits beyond the last CPU are not CPUs
      if (v === 0) {
        all &&= w << 5 >= this.cpus;
        continue;
      }
      const full = v === this.validWord(w);
      if (!full) all = false;
      list[off + n++] = w | (full ? FULL_WORD : 0);
    }
    this.slotInfo[slot * 2] = (n === 0 ? SLOT_EMPTY : 0) | (all ? SLOT_ALL : 0);
    this.slotInfo[slot * 2 + 1] = n;
  }

  // ---- selection tree (see assembly/index.ts) ----
  private writeLeaf(cpu: number): void {
    const t = this.tree;
    const p = (this.leaves + cpu) * KEYS;
    if (!this.isOnline(cpu)) {
      t.fill(0, p, p + KEYS);
      return;
    }
    const avl = this.avail[cpu]!;
    const lg = this.largest[cpu]!;
    const key = (avl << CPU_BITS) | (CPU_FIELD - cpu);
    t[p] = avl > 0 ? key : 0;
    t[p + 1] = avl >= 1 && lg >= 1 ? key : 0;
    t[p + 2] = avl >= 2 && lg >= 2 ? key : 0;
    t[p + 3] = avl >= 4 && lg >= 4 ? key : 0;
    t[p + 4] = avl >= 8 && lg >= 8 ? key : 0;
    t[p + 5] = avl >= 16 && lg >= 16 ? key : 0;
    t[p + 6] = avl >= 32 && lg >= 32 ? key : 0;
    t[p + 7] = ((512 - this.managedAl[cpu]!) << CPU_BITS) | cpu;
  }

  /** Recomputes node i from its children (rebuildAll). */
  private pull(i: number): void {
    const t = this.tree;
    const p = i * KEYS;
    const l = p * 2;
    for (let k = 0; k < KEYS; k++) {
      const a = t[l + k]!;
      const b = t[l + KEYS + k]!;
      t[p + k] = a > b ? a : b;
    }
  }

  /**
   * After any change to a CPU's counters, maps or online state: its summary, leaf and ancestors.
   * The walk keeps the node just computed in locals, reads only the sibling and the old parent, and
   * stops at the first parent that does not change. Unrolled over the 8 keys.
   */
  private refresh(cpu: number): void {
    this.updateLargest(cpu);
    this.writeLeaf(cpu);
    const t = this.tree;
    let i = this.leaves + cpu;
    let p = i * KEYS;
    let v0 = t[p]!, v1 = t[p + 1]!, v2 = t[p + 2]!, v3 = t[p + 3]!, v4 = t[p + 4]!, v5 = t[p + 5]!, v6 = t[p + 6]!, v7 = t[p + 7]!;
    while (i > 1) {
      const s = (i ^ 1) * KEYS;
      let x = 0;
      x = t[s]!; if (x > v0) v0 = x;
      x = t[s + 1]!; if (x > v1) v1 = x;
      x = t[s + 2]!; if (x > v2) v2 = x;
      x = t[s + 3]!; if (x > v3) v3 = x;
      x = t[s + 4]!; if (x > v4) v4 = x;
      x = t[s + 5]!; if (x > v5) v5 = x;
      x = t[s + 6]!; if (x > v6) v6 = x;
      x = t[s + 7]!; if (x > v7) v7 = x;
      i >>>= 1;
      p = i * KEYS;
      const d = (t[p]! ^ v0) | (t[p + 1]! ^ v1) | (t[p + 2]! ^ v2) | (t[p + 3]! ^ v3) | (t[p + 4]! ^ v4) | (t[p + 5]! ^ v5) | (t[p + 6]! ^ v6) | (t[p + 7]! ^ v7);
      if (d === 0) return;
      t[p] = v0; t[p + 1] = v1; t[p + 2] = v2; t[p + 3] = v3;
      t[p + 4] = v4; t[p + 5] = v5; t[p + 6] = v6; t[p + 7] = v7;
    }
  }

  private rebuildAll(): void {
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      this.updateLargest(cpu);
      this.writeLeaf(cpu);
    }
    for (let i = this.leaves - 1; i >= 1; i--) this.pull(i);
  }

  /** The largest key of class `cls` over the CPUs of mask `slot` (0: no CPU qualifies). */
  private bestKey(slot: number, cls: number): number {
    const t = this.tree;
    if ((this.slotInfo[slot * 2]! & SLOT_ALL) !== 0) return t[KEYS + cls]!;
    const n = this.slotInfo[slot * 2 + 1]!;
    const off = slot * this.maskWords32;
    const m = this.masksI;
    const list = this.slotWords;
    const on = this.onlineBits;
    const leafBase = this.leaves * KEYS + cls;
    let best = 0;
    for (let k = 0; k < n; k++) {
      const e = list[off + k]!;
      const w = e & 0xffff;
      if ((e & FULL_WORD) !== 0) {
        const v = t[(this.groupBase + w) * KEYS + cls]!;
        if (v > best) best = v;
        continue;
      }
      let bits = m[off + w]! & on[w]!;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        const v = t[leafBase + cpu * KEYS]!;
        if (v > best) best = v;
      }
    }
    return best;
  }

  // ---- bit helpers ----
  private isOnline(cpu: number): boolean {
    return ((this.onlineBits[cpu >>> 5]! >>> (cpu & 31)) & 1) !== 0;
  }
  private freeWord(cpu: number, w: number): number {
    const i = cpu * WORDS + w;
    return ~(this.allocMap[i]! | this.managedMap[i]! | this.blocked[w]!);
  }
  private testMap(map: Int32Array, cpu: number, bit: number): boolean {
    return ((map[cpu * WORDS + (bit >>> 5)]! >>> (bit & 31)) & 1) !== 0;
  }
  private setMap(map: Int32Array, cpu: number, bit: number): void {
    map[cpu * WORDS + (bit >>> 5)]! |= 1 << (bit & 31);
  }
  private clearMap(map: Int32Array, cpu: number, bit: number): void {
    map[cpu * WORDS + (bit >>> 5)]! &= ~(1 << (bit & 31));
  }
  private slotEmpty(slot: number): boolean {
    return (this.slotInfo[slot * 2]! & SLOT_EMPTY) !== 0;
  }

  /** Free bits (not allocated, managed or system, inside [start, end)) of `cpu` in this.freeWords. */
  private loadFree(cpu: number): Int32Array {
    const f = this.freeWords;
    for (let w = 0; w < WORDS; w++) f[w] = this.freeWord(cpu, w);
    return f;
  }

  /** largestAligned() of the CPU's free words, folded in one pass without a scratch copy. */
  private updateLargest(cpu: number): void {
    const a = this.allocMap, m = this.managedMap, bl = this.blocked;
    const o = cpu * WORDS;
    let any1 = 0, any2 = 0, any4 = 0, any8 = 0, any16 = 0, any32 = 0;
    for (let w = 0; w < WORDS; w++) {
      const y1 = ~(a[o + w]! | m[o + w]! | bl[w]!);
      const y2 = y1 & (y1 >>> 1) & 0x55555555;
      const y4 = y2 & (y2 >>> 2) & 0x11111111;
      const y8 = y4 & (y4 >>> 4) & 0x01010101;
      const y16 = y8 & (y8 >>> 8) & 0x00010001;
      any1 |= y1; any2 |= y2; any4 |= y4; any8 |= y8; any16 |= y16; any32 |= y16 & (y16 >>> 16);
    }
    this.largest[cpu] = any32 ? 32 : any16 ? 16 : any8 ? 8 : any4 ? 4 : any2 ? 2 : any1 ? 1 : 0;
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
      const f = this.managedMap[o + w]! & ~this.allocMap[o + w]!;
      if (f !== 0) return (w << 5) + ctz32(f);
    }
    return -1;
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
    this.refresh(cpu);
    return S.OK;
  }

  offline(cpu: number): number {
    if (!(cpu >>> 0 < this.cpus)) return S.EINVAL;
    if (!this.isOnline(cpu)) return S.BUG_OFFLINE_TWICE;
    this.gAvailable -= this.avail[cpu]!;
    this.onlineBits[cpu >>> 5]! &= ~(1 << (cpu & 31));
    this.maps--;
    this.refresh(cpu);
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
    this.blocked[bit >>> 5]! |= 1 << (bit & 31);
    if (bit >= this.start && bit < this.end) this.sysInalloc++;
    this.rebuildAll();
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
    this.refresh(cpu);
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
    this.refresh(cpu);
  }

  /** One managed bit on `cpu`; false when it has none to give. */
  private reserveManagedOne(cpu: number): boolean {
    // A CPU whose available count has drifted to 0 cannot take one more without wrapping (kernel: u32).
    const bit = this.isOnline(cpu) && this.avail[cpu] === 0 ? -1 : this.lowestFree(cpu);
    if (bit < 0) return false;
    this.setMap(this.managedMap, cpu, bit);
    this.managed[cpu]!++;
    if (this.isOnline(cpu)) {
      this.avail[cpu]!--;
      this.gAvailable--;
    }
    this.refresh(cpu);
    return true;
  }

  reserveManaged(slot: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS)) return S.EINVAL;
    const off = slot * this.maskWords32;
    let failed = -1;
    for (let w = 0; w < this.maskWords32 && failed < 0; w++) {
      let bits = this.masksI[off + w]!;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        if (!this.reserveManagedOne(cpu)) {
          failed = cpu;
          break;
        }
      }
    }
    if (failed < 0) return S.OK;
    // Kernel rollback: irq_matrix_remove_managed() on every CPU before the one that failed.
    for (let w = 0; w < this.maskWords32; w++) {
      let bits = this.masksI[off + w]!;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        if (cpu === failed) return S.ENOSPC;
        this.removeManagedOne(cpu);
      }
    }
    return S.ENOSPC;
  }

  removeManaged(slot: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS)) return S.EINVAL;
    const off = slot * this.maskWords32;
    for (let w = 0; w < this.maskWords32; w++) {
      let bits = this.masksI[off + w]!;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        let status: number = S.OK;
        if (this.managed[cpu] === 0) status = S.WARN_REMOVE_MANAGED_NONE;
        else if (this.firstManagedUnallocated(cpu) < 0) status = S.WARN_REMOVE_MANAGED_ALL_ALLOCATED;
        if (status !== S.OK) {
          this.last = cpu;
          return status;
        }
      }
    }
    for (let w = 0; w < this.maskWords32; w++) {
      let bits = this.masksI[off + w]!;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        this.removeManagedOne(cpu);
      }
    }
    return S.OK;
  }

  alloc(slot: number, reserved: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS) || this.slotEmpty(slot)) return S.EINVAL;
    if (reserved !== 0 && this.gReserved === 0) return S.WARN_RESERVED_UNDERFLOW;
    const key = this.bestKey(slot, CLASS_ALLOC);
    if (key === 0) return S.ENOSPC;
    const cpu = CPU_FIELD - (key & CPU_FIELD);
    const bit = this.lowestFree(cpu);
    if (bit < 0) return S.ENOSPC;
    this.setMap(this.allocMap, cpu, bit);
    this.allocated[cpu]!++;
    this.avail[cpu]!--;
    this.total++;
    this.gAvailable--;
    if (reserved !== 0) this.gReserved--;
    this.refresh(cpu);
    this.last = cpu;
    return bit;
  }

  allocManaged(slot: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS) || this.slotEmpty(slot)) return S.EINVAL;
    const key = this.bestKey(slot, CLASS_MANAGED);
    if (key === 0) return S.ENOSPC;
    const best = key & CPU_FIELD;
    const bit = this.firstManagedUnallocated(best);
    if (bit < 0) return S.ENOSPC;
    this.setMap(this.allocMap, best, bit);
    this.allocated[best]!++;
    this.managedAl[best]!++;
    this.total++;
    this.last = best;
    this.refresh(best);
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
    this.refresh(cpu);
    return S.OK;
  }

  allocBlock(slot: number, count: number, reserved: number): number {
    if (!(slot >>> 0 < S.MASK_SLOTS) || !validCount(count) || this.slotEmpty(slot)) return S.EINVAL;
    if (reserved !== 0 && this.gReserved < count) return S.WARN_RESERVED_UNDERFLOW;
    // available >= count keeps the accounting above zero; the class is 1 + log2(count).
    const key = this.bestKey(slot, 1 + ctz32(count));
    if (key === 0) return S.ENOSPC;
    const best = CPU_FIELD - (key & CPU_FIELD);
    const free = this.loadFree(best);
    const base = this.policy === S.POLICY_BEST_FIT ? bestFitRun(free, count) : firstFitRun(free, count);
    if (base < 0) return S.ENOSPC; // unreachable while the summary is exact
    // Blocks never cross a 32-bit word: one OR sets the whole run.
    this.allocMap[best * WORDS + (base >>> 5)]! |= blockBits(base, count);
    this.allocated[best]! += count;
    this.avail[best]! -= count;
    this.total += count;
    this.gAvailable -= count;
    if (reserved !== 0) this.gReserved -= count;
    this.refresh(best);
    this.last = best;
    return base;
  }

  freeBlock(cpu: number, base: number, count: number): number {
    if (!(cpu >>> 0 < this.cpus) || !validCount(count) || base < 0 || (base & (count - 1)) !== 0) return S.EINVAL;
    if (base < this.start || base + count > this.end) return S.WARN_FREE_RANGE;
    const wi = cpu * WORDS + (base >>> 5);
    const blk = blockBits(base, count);
    const a = this.allocMap[wi]!;
    // The first bit (ascending) that is not allocated, or allocated but managed, decides the WARN.
    const bad = blk & (~a | this.managedMap[wi]!);
    if (bad !== 0) return (bad & -bad & ~a) !== 0 ? S.WARN_FREE_NOT_ALLOCATED : S.WARN_FREE_MANAGED_MISMATCH;
    this.allocMap[wi] = a & ~blk;
    this.allocated[cpu]! -= count;
    this.avail[cpu]! += count;
    if (this.isOnline(cpu)) {
      this.total -= count;
      this.gAvailable += count;
    }
    this.refresh(cpu);
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
  allocWord(cpu: number, i: number): number { return this.allocMap[cpu * WORDS + i]! >>> 0; }
  managedWord(cpu: number, i: number): number { return this.managedMap[cpu * WORDS + i]! >>> 0; }
  systemWord(i: number): number { return this.system[i]! >>> 0; }
}

/** The bits of an aligned block (count <= 32) within its 32-bit word. */
function blockBits(base: number, count: number): number {
  return (count === 32 ? -1 : (1 << count) - 1) << (base & 31);
}

function validCount(count: number): boolean {
  return count >= 1 && count <= S.MAX_BLOCK && (count & (count - 1)) === 0;
}
