// Reference port of Linux kernel/irq/matrix.c as written (per-CPU `available` scan, bitmap_or into a
// scratch map, bitmap_find_next_zero_area), the baseline of the benchmarks. Left out: managed ops.
//
// The kernel's algorithm with no cached summaries, so it costs what that algorithm costs — but tuned
// as JS: structure-of-arrays Int32Arrays (never Uint32Array reads of full words, which box), set-bit
// iteration over mask words, word-wise bitmap_set/clear, no closures and no allocation per operation.
// The kernel has no block API: allocBlock tries the CPUs of the mask in matrix_find_best_cpu's order
// (most available, lowest CPU on ties) and searches each bitmap with bitmap_find_next_zero_area(...,
// count - 1), which aligns the absolute bit number; it therefore chooses the same CPU and base as the
// engines' first fit. Misuse is refused with the engines' status codes (assembly/status.ts) and leaves
// the state unchanged. managed_map is kept (all zero) because matrix_alloc_area ORs it into every search.
//
// Masks are Int32Arrays of 32-bit words (CPU c = word c >> 5, bit c & 31); bits at or above `cpus`
// are ignored, as for_each_cpu stops at nr_cpu_ids.

import * as S from '../../assembly/status.js';
import { MatrixError } from './errors.js';

/** 32-bit words per CPU map: room for MAX_BITS whatever matrix_bits is, so CPU c's map starts at word c * 8. */
const WORDS = 8;
const NO_CPU = -1;

/** Index of the lowest set bit of a non-zero word. */
function ctz32(w: number): number {
  return 31 - Math.clz32(w & -w);
}

/** lib/find_bit.c find_next_bit: first set bit at or after `offset`, or `size`. */
export function findNextBit(map: Int32Array, size: number, offset: number): number {
  if (offset >= size) return size;
  let i = offset >>> 5;
  let w = map[i]! & (-1 << (offset & 31)); // BITMAP_FIRST_WORD_MASK
  const last = (size - 1) >>> 5;
  for (;;) {
    if (w !== 0) {
      const b = (i << 5) + ctz32(w);
      return b < size ? b : size;
    }
    if (++i > last) return size;
    w = map[i]!;
  }
}

/** find_next_zero_bit: first clear bit at or after `offset`, or `size`. */
export function findNextZeroBit(map: Int32Array, size: number, offset: number): number {
  if (offset >= size) return size;
  let i = offset >>> 5;
  let w = ~map[i]! & (-1 << (offset & 31));
  const last = (size - 1) >>> 5;
  for (;;) {
    if (w !== 0) {
      const b = (i << 5) + ctz32(w);
      return b < size ? b : size;
    }
    if (++i > last) return size;
    w = ~map[i]!;
  }
}

/**
 * lib/bitmap.c bitmap_find_next_zero_area_off with align_offset 0: the first run of `nr` clear bits
 * whose start is a multiple of align_mask + 1; a value > size - nr means none.
 */
export function findNextZeroArea(map: Int32Array, size: number, start: number, nr: number, alignMask: number): number {
  for (;;) {
    let index = findNextZeroBit(map, size, start);
    index = (index + alignMask) & ~alignMask; // __ALIGN_MASK
    const end = index + nr;
    if (end > size) return end;
    const i = findNextBit(map, end, index);
    if (i >= end) return index;
    start = i + 1;
  }
}

/** Bits 0..(nbits-1)&31 of a word (BITMAP_LAST_WORD_MASK), kept in int32 range. */
function lastWordMask(nbits: number): number {
  return ~(-2 << ((nbits - 1) & 31));
}

/** lib/bitmap.c __bitmap_set on the map at word offset `o`: whole words at a time. */
function bitmapSet(map: Int32Array, o: number, start: number, len: number): void {
  let i = o + (start >>> 5);
  const end = start + len;
  let bits = 32 - (start & 31);
  let mask = -1 << (start & 31);
  while (len >= bits) {
    map[i] = map[i]! | mask;
    i++;
    len -= bits;
    bits = 32;
    mask = -1;
  }
  if (len > 0) map[i] = map[i]! | (mask & lastWordMask(end));
}

/** __bitmap_clear, the same walk. */
function bitmapClear(map: Int32Array, o: number, start: number, len: number): void {
  let i = o + (start >>> 5);
  const end = start + len;
  let bits = 32 - (start & 31);
  let mask = -1 << (start & 31);
  while (len >= bits) {
    map[i] = map[i]! & ~mask;
    i++;
    len -= bits;
    bits = 32;
    mask = -1;
  }
  if (len > 0) map[i] = map[i]! & ~(mask & lastWordMask(end));
}

function validCount(count: number): boolean {
  return Number.isInteger(count) && count >= 1 && count <= S.MAX_BLOCK && (count & (count - 1)) === 0;
}

export class KernelReference {
  readonly cpus: number;
  readonly matrixBits: number;
  readonly allocStart: number;
  readonly allocEnd: number;
  private readonly allocSize: number;
  // struct cpumap, one typed array per field.
  private readonly avail: Int32Array;
  private readonly allocated: Int32Array;
  private readonly managed: Int32Array;
  private readonly managedAllocated: Int32Array;
  private readonly initialized: Uint8Array;
  private readonly onlineFlag: Uint8Array;
  /** alloc_map / managed_map: WORDS words per CPU. */
  private readonly allocMap: Int32Array;
  private readonly managedMap: Int32Array;
  private readonly scratchMap = new Int32Array(WORDS);
  private readonly systemMap = new Int32Array(WORDS);
  /** Words of the maps that bitmap_or covers (BITS_TO_LONGS(alloc_end)). */
  private readonly endWords: number;
  /** Mask words that can name a CPU, and the valid bits of the last one. */
  private readonly maskWords: number;
  private readonly maskTail: number;
  /** Candidate order for allocBlock's fallback: preallocated, as the kernel avoids allocating. */
  private readonly order: Int32Array;
  private readonly bucket: Int32Array;
  globalAvailable = 0;
  globalReserved = 0;
  systembitsInalloc = 0;
  totalAllocated = 0;
  onlineMaps = 0;
  private last = NO_CPU;
  /** The bit fallback() found. */
  private found = 0;

  /** irq_alloc_matrix(matrix_bits, alloc_start, alloc_end) for `cpus` possible CPUs, all offline. */
  constructor(cpus: number, matrixBits = 256, allocStart = 0x20, allocEnd = 0xeb) {
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > S.MAX_CPUS) throw new MatrixError('EINVAL', `cpus must be 1..${S.MAX_CPUS}, got ${typeof cpus === 'number' ? cpus : typeof cpus}`);
    if (!Number.isInteger(matrixBits) || matrixBits < 1 || matrixBits > S.MAX_BITS) throw new MatrixError('EINVAL', `matrix_bits must be 1..${S.MAX_BITS}`);
    if (!(Number.isInteger(allocStart) && Number.isInteger(allocEnd) && allocStart >= 0 && allocStart < allocEnd && allocEnd <= matrixBits)) {
      throw new MatrixError('EINVAL', `allocation range [${String(allocStart)}, ${String(allocEnd)}) does not fit ${String(matrixBits)} bits`);
    }
    this.cpus = cpus;
    this.matrixBits = matrixBits;
    this.allocStart = allocStart;
    this.allocEnd = allocEnd;
    this.allocSize = allocEnd - allocStart;
    this.avail = new Int32Array(cpus);
    this.allocated = new Int32Array(cpus);
    this.managed = new Int32Array(cpus);
    this.managedAllocated = new Int32Array(cpus);
    this.initialized = new Uint8Array(cpus);
    this.onlineFlag = new Uint8Array(cpus);
    this.allocMap = new Int32Array(cpus * WORDS);
    this.managedMap = new Int32Array(cpus * WORDS);
    this.endWords = (allocEnd + 31) >>> 5;
    this.maskWords = (cpus + 31) >>> 5;
    this.maskTail = lastWordMask(cpus);
    this.order = new Int32Array(cpus);
    this.bucket = new Int32Array(this.allocSize + 2);
  }

  private validCpu(cpu: number): boolean {
    return Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus;
  }

  private testBit(map: Int32Array, o: number, bit: number): boolean {
    return ((map[o + (bit >>> 5)]! >>> (bit & 31)) & 1) !== 0;
  }

  /** irq_matrix_online for `cpu` (the kernel's local CPU). */
  online(cpu: number): number {
    if (!this.validCpu(cpu)) return S.EINVAL;
    if (this.onlineFlag[cpu] !== 0) return S.BUG_ONLINE_TWICE;
    if (this.initialized[cpu] === 0) {
      this.avail[cpu] = this.allocSize - (this.managed[cpu]! + this.systembitsInalloc);
      this.initialized[cpu] = 1;
    }
    this.globalAvailable += this.avail[cpu]!;
    this.onlineFlag[cpu] = 1;
    this.onlineMaps++;
    return S.OK;
  }

  /** irq_matrix_offline; offlining an offline CPU is refused (the kernel would skew global_available). */
  offline(cpu: number): number {
    if (!this.validCpu(cpu)) return S.EINVAL;
    if (this.onlineFlag[cpu] === 0) return S.BUG_OFFLINE_TWICE;
    this.globalAvailable -= this.avail[cpu]!;
    this.onlineFlag[cpu] = 0;
    this.onlineMaps--;
    return S.OK;
  }

  /** irq_matrix_assign_system; the local CPU of `replace` is CPU 0. */
  assignSystem(bit: number, replace: boolean): number {
    if (!Number.isInteger(bit) || bit < 0 || bit >= this.matrixBits) return S.BUG_SYSTEM_RANGE;
    if (this.onlineMaps > 1 || (this.onlineMaps !== 0 && !replace)) return S.BUG_SYSTEM_ONLINE;
    if (replace) {
      if (!this.testBit(this.allocMap, 0, bit)) return S.BUG_SYSTEM_NOT_ALLOCATED;
      this.allocMap[bit >>> 5] = this.allocMap[bit >>> 5]! & ~(1 << (bit & 31));
      this.allocated[0]--;
      this.totalAllocated--;
    }
    this.systemMap[bit >>> 5] = this.systemMap[bit >>> 5]! | (1 << (bit & 31));
    if (bit >= this.allocStart && bit < this.allocEnd) this.systembitsInalloc++;
    return S.OK;
  }

  /** irq_matrix_assign on `cpu`, with the engines' guards where the kernel would double-count. */
  assign(cpu: number, bit: number): number {
    if (!this.validCpu(cpu) || !Number.isInteger(bit) || bit < 0 || bit >= this.matrixBits) return S.EINVAL;
    if (bit < this.allocStart || bit >= this.allocEnd) return S.WARN_ASSIGN_RANGE;
    if (this.onlineFlag[cpu] === 0) return S.WARN_ASSIGN_OFFLINE;
    const o = cpu * WORDS;
    if (this.testBit(this.allocMap, o, bit)) return S.WARN_ASSIGN_TAKEN;
    if (this.testBit(this.systemMap, 0, bit) || this.testBit(this.managedMap, o, bit)) return S.WARN_ASSIGN_RESERVED;
    if (this.avail[cpu] === 0) return S.WARN_AVAILABLE_UNDERFLOW;
    const i = o + (bit >>> 5);
    this.allocMap[i] = this.allocMap[i]! | (1 << (bit & 31));
    this.allocated[cpu]++;
    this.totalAllocated++;
    this.avail[cpu]--;
    this.globalAvailable--;
    return S.OK;
  }

  /** irq_matrix_reserve: book-keeping only. */
  reserve(): number {
    this.globalReserved++;
    return S.OK;
  }

  /** irq_matrix_remove_reserved, refusing to underflow. */
  removeReserved(): number {
    if (this.globalReserved === 0) return S.WARN_RESERVED_UNDERFLOW;
    this.globalReserved--;
    return S.OK;
  }

  /** matrix_alloc_area: OR the three maps into scratch_map, search, set the bits found. */
  private allocArea(cpu: number, num: number, alignMask: number): number {
    const end = this.allocEnd;
    const s = this.scratchMap;
    const am = this.allocMap;
    const mm = this.managedMap;
    const sys = this.systemMap;
    const o = cpu * WORDS;
    // bitmap_or(scratch, managed, system) then bitmap_or(scratch, scratch, alloc), fused.
    for (let k = 0; k < this.endWords; k++) s[k] = mm[o + k]! | sys[k]! | am[o + k]!;
    const area = findNextZeroArea(s, end, this.allocStart, num, alignMask);
    if (area >= end) return area;
    bitmapSet(am, o, area, num);
    return area;
  }

  /** matrix_find_best_cpu: online CPU of the mask with the most available above `floor`, lowest on ties. */
  private findBestCpu(mask: Int32Array, floor: number): number {
    const avail = this.avail;
    const on = this.onlineFlag;
    const last = this.maskWords - 1;
    const nw = Math.min(this.maskWords, mask.length);
    let best = NO_CPU;
    let maxavl = floor;
    for (let w = 0; w < nw; w++) {
      let bits = mask[w]!;
      if (w === last) bits &= this.maskTail;
      const base = w << 5;
      // The kernel tests online first; available first skips the flag load on most CPUs (same result).
      if (bits === -1) {
        // A full word (a partial last word never gets here): no bit search, and 8 CPUs skipped at
        // once when none has more available than the best so far — the usual case, as most CPUs tie.
        for (let cpu = base, end = base + 32; cpu < end; cpu += 8) {
          const top = Math.max(avail[cpu]!, avail[cpu + 1]!, avail[cpu + 2]!, avail[cpu + 3]!, avail[cpu + 4]!, avail[cpu + 5]!, avail[cpu + 6]!, avail[cpu + 7]!);
          if (top <= maxavl) continue;
          for (let c = cpu; c < cpu + 8; c++) {
            const a = avail[c]!;
            if (a > maxavl && on[c] !== 0) {
              best = c;
              maxavl = a;
            }
          }
        }
        continue;
      }
      while (bits !== 0) {
        const cpu = base + ctz32(bits);
        bits &= bits - 1;
        const a = avail[cpu]!;
        if (a > maxavl && on[cpu] !== 0) {
          best = cpu;
          maxavl = a;
        }
      }
    }
    return best;
  }

  private maskEmpty(mask: Int32Array): boolean {
    const last = this.maskWords - 1;
    const nw = Math.min(this.maskWords, mask.length);
    for (let w = 0; w < nw; w++) if ((w === last ? mask[w]! & this.maskTail : mask[w]!) !== 0) return false;
    return true;
  }

  /** irq_matrix_alloc: returns the bit (CPU via lastCpu()) or a negative status. */
  alloc(mask: Int32Array, reserved: boolean): number {
    if (this.maskEmpty(mask)) return S.EINVAL;
    if (reserved && this.globalReserved === 0) return S.WARN_RESERVED_UNDERFLOW;
    const cpu = this.findBestCpu(mask, 0);
    if (cpu === NO_CPU) return S.ENOSPC;
    const bit = this.allocArea(cpu, 1, 0);
    if (bit >= this.allocEnd) return S.ENOSPC;
    this.allocated[cpu]++;
    this.avail[cpu]--;
    this.totalAllocated++;
    this.globalAvailable--;
    if (reserved) this.globalReserved--;
    this.last = cpu;
    return bit;
  }

  /** irq_matrix_free, refusing a `managed` flag that does not match managed_map (never set here). */
  free(cpu: number, bit: number, managed: boolean): number {
    if (!this.validCpu(cpu) || !Number.isInteger(bit) || bit < 0 || bit >= this.matrixBits) return S.EINVAL;
    if (bit < this.allocStart || bit >= this.allocEnd) return S.WARN_FREE_RANGE;
    const o = cpu * WORDS;
    if (!this.testBit(this.allocMap, o, bit)) return S.WARN_FREE_NOT_ALLOCATED;
    if (managed !== this.testBit(this.managedMap, o, bit)) return S.WARN_FREE_MANAGED_MISMATCH;
    const i = o + (bit >>> 5);
    this.allocMap[i] = this.allocMap[i]! & ~(1 << (bit & 31));
    this.allocated[cpu]--;
    if (managed) this.managedAllocated[cpu]--;
    const on = this.onlineFlag[cpu] !== 0;
    if (on) this.totalAllocated--;
    if (!managed) {
      this.avail[cpu]++;
      if (on) this.globalAvailable++;
    }
    return S.OK;
  }

  /**
   * `count` (power of two, 1..32) contiguous bits at a base aligned to `count` on one CPU: the best
   * CPU first; if its bitmap has no such run, the remaining candidates in the same order.
   */
  allocBlock(mask: Int32Array, count: number, reserved: boolean): number {
    if (!validCount(count) || this.maskEmpty(mask)) return S.EINVAL;
    if (reserved && this.globalReserved < count) return S.WARN_RESERVED_UNDERFLOW;
    // available >= count, so that the accounting can never go below zero.
    let cpu = this.findBestCpu(mask, count - 1);
    if (cpu === NO_CPU) return S.ENOSPC;
    let bit = this.allocArea(cpu, count, count - 1);
    if (bit >= this.allocEnd) {
      cpu = this.fallback(mask, count, cpu);
      if (cpu === NO_CPU) return S.ENOSPC;
      bit = this.found;
    }
    this.allocated[cpu] += count;
    this.avail[cpu] -= count;
    this.totalAllocated += count;
    this.globalAvailable -= count;
    if (reserved) this.globalReserved -= count;
    this.last = cpu;
    return bit;
  }

  /**
   * The candidates after `best` in matrix_find_best_cpu's order (available descending, CPU
   * ascending) until one has a run; its bit goes to `found`. Those tied with `best` come first, and
   * all lie above it: they are tried lazily in CPU order (after long churn most CPUs tie, and the
   * search usually ends among them); the rest are sorted only if none of them has a run.
   */
  private fallback(mask: Int32Array, count: number, best: number): number {
    const avail = this.avail;
    const on = this.onlineFlag;
    const end = this.allocEnd;
    const level = avail[best]!;
    const last = this.maskWords - 1;
    const nw = Math.min(this.maskWords, mask.length);
    for (let w = best >>> 5; w < nw; w++) {
      let bits = mask[w]!;
      if (w === last) bits &= this.maskTail;
      if (w === best >>> 5) bits &= -2 << (best & 31); // CPUs above best only
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        if (avail[cpu] !== level || on[cpu] === 0) continue;
        const bit = this.allocArea(cpu, count, count - 1);
        if (bit < end) {
          this.found = bit;
          return cpu;
        }
      }
    }
    const n = this.orderCandidates(mask, count, level);
    for (let i = 0; i < n; i++) {
      const cpu = this.order[i]!;
      const bit = this.allocArea(cpu, count, count - 1);
      if (bit < end) {
        this.found = bit;
        return cpu;
      }
    }
    return NO_CPU;
  }

  /**
   * Writes into `order` the online CPUs of the mask with count <= available < below, sorted by
   * available descending then CPU ascending (a counting sort: available is at most alloc_size).
   */
  private orderCandidates(mask: Int32Array, count: number, below: number): number {
    const b = this.bucket;
    const avail = this.avail;
    const on = this.onlineFlag;
    const order = this.order;
    const top = this.allocSize;
    const last = this.maskWords - 1;
    const nw = Math.min(this.maskWords, mask.length);
    b.fill(0);
    let total = 0;
    for (let w = 0; w < nw; w++) {
      let bits = mask[w]!;
      if (w === last) bits &= this.maskTail;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        const a = avail[cpu]!;
        if (a < count || a >= below || on[cpu] === 0) continue;
        b[top - a]++; // slot 0 = most available
        total++;
      }
    }
    if (total === 0) return 0;
    for (let i = 0, acc = 0; i < b.length; i++) {
      const c = b[i]!;
      b[i] = acc;
      acc += c;
    }
    for (let w = 0; w < nw; w++) {
      let bits = mask[w]!;
      if (w === last) bits &= this.maskTail;
      while (bits !== 0) {
        const cpu = (w << 5) + ctz32(bits);
        bits &= bits - 1;
        const a = avail[cpu]!;
        if (a < count || a >= below || on[cpu] === 0) continue;
        order[b[top - a]!++] = cpu;
      }
    }
    return total;
  }

  /** Frees a block from allocBlock: `count` non-managed irq_matrix_free calls, all or nothing. */
  freeBlock(cpu: number, base: number, count: number): number {
    if (!this.validCpu(cpu) || !validCount(count) || !Number.isInteger(base) || base < 0 || (base & (count - 1)) !== 0) return S.EINVAL;
    if (base + count > this.matrixBits) return S.EINVAL;
    if (base < this.allocStart || base + count > this.allocEnd) return S.WARN_FREE_RANGE;
    // An aligned block of at most 32 bits lies in one word: check it whole. The first offending bit
    // decides the status, as a bit-by-bit loop (not allocated before managed) would.
    const i = cpu * WORDS + (base >>> 5);
    const m = lastWordMask(count) << (base & 31);
    const a = this.allocMap[i]!;
    const bad = (~a | this.managedMap[i]!) & m;
    if (bad !== 0) return (a & bad & -bad) === 0 ? S.WARN_FREE_NOT_ALLOCATED : S.WARN_FREE_MANAGED_MISMATCH;
    bitmapClear(this.allocMap, cpu * WORDS, base, count);
    this.allocated[cpu] -= count;
    this.avail[cpu] += count;
    if (this.onlineFlag[cpu] !== 0) {
      this.totalAllocated -= count;
      this.globalAvailable += count;
    }
    return S.OK;
  }

  /** irq_matrix_available with `cpu` as the local CPU (which must be online when cpudown). */
  available(cpudown: boolean, cpu: number): number {
    if (!this.validCpu(cpu) || (cpudown && this.onlineFlag[cpu] === 0)) return S.EINVAL;
    return cpudown ? this.globalAvailable - this.avail[cpu]! : this.globalAvailable;
  }

  /** CPU of the last successful alloc/allocBlock. */
  lastCpu(): number {
    return this.last;
  }
  cpuAvailable(cpu: number): number {
    return this.validCpu(cpu) ? this.avail[cpu]! : S.EINVAL;
  }
  cpuAllocated(cpu: number): number {
    return this.validCpu(cpu) ? this.allocated[cpu]! : S.EINVAL;
  }
  isOnline(cpu: number): boolean {
    return this.validCpu(cpu) && this.onlineFlag[cpu] !== 0;
  }
  /** 32-bit word `i` of the CPU's alloc_map, unsigned (as the engines' allocWord). */
  allocWord(cpu: number, i: number): number {
    if (!this.validCpu(cpu)) throw new MatrixError('EINVAL', `CPU ${cpu} is not in 0..${this.cpus - 1}`);
    return Number.isInteger(i) && i >= 0 && i < WORDS ? this.allocMap[cpu * WORDS + i]! >>> 0 : 0;
  }
}
