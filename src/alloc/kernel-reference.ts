// Reference port of Linux kernel/irq/matrix.c as written (per-CPU `available` scan, bitmap_or into a
// scratch map, bitmap_find_next_zero_area), the baseline of the benchmarks. Left out: managed ops.
//
// Plain TypeScript on plain arrays (per-CPU objects, number[] bitmaps of 32-bit words as on a 32-bit
// kernel) with no cached summaries, so it costs what the kernel's algorithm costs. The kernel has no
// block API: allocBlock tries the CPUs of the mask in matrix_find_best_cpu's order (most available,
// lowest CPU on ties) and searches each bitmap with bitmap_find_next_zero_area(..., count - 1), which
// aligns the absolute bit number; it therefore chooses the same CPU and base as the engines' first fit.
// Misuse is refused with the engines' status codes (assembly/status.ts) and leaves the state unchanged.
// managed_map is kept (all zero) because matrix_alloc_area ORs it into every search.

import * as S from '../../assembly/status';
import { MatrixError } from './errors';

const BITS_PER_LONG = 32;
const NO_CPU = -1;

interface Cpumap {
  available: number;
  allocated: number;
  managed: number;
  managedAllocated: number;
  initialized: boolean;
  online: boolean;
  allocMap: number[];
  managedMap: number[];
}

function bitsToLongs(nbits: number): number {
  return Math.ceil(nbits / BITS_PER_LONG);
}

function ctz32(w: number): number {
  return 31 - Math.clz32(w & -w);
}

/** lib/find_bit.c find_next_bit: first set bit at or after `offset`, or `size`. */
export function findNextBit(map: ArrayLike<number>, size: number, offset: number): number {
  if (offset >= size) return size;
  let i = offset >>> 5;
  let w = map[i]! & (~0 << (offset & 31)); // BITMAP_FIRST_WORD_MASK
  for (;;) {
    if (w !== 0) {
      const b = (i << 5) + ctz32(w);
      return b < size ? b : size;
    }
    if (++i << 5 >= size) return size;
    w = map[i]!;
  }
}

/** find_next_zero_bit: first clear bit at or after `offset`, or `size`. */
export function findNextZeroBit(map: ArrayLike<number>, size: number, offset: number): number {
  if (offset >= size) return size;
  let i = offset >>> 5;
  let w = ~map[i]! & (~0 << (offset & 31));
  for (;;) {
    if (w !== 0) {
      const b = (i << 5) + ctz32(w);
      return b < size ? b : size;
    }
    if (++i << 5 >= size) return size;
    w = ~map[i]!;
  }
}

/**
 * lib/bitmap.c bitmap_find_next_zero_area_off with align_offset 0: the first run of `nr` clear bits
 * whose start is a multiple of align_mask + 1; a value > size - nr means none.
 */
export function findNextZeroArea(map: ArrayLike<number>, size: number, start: number, nr: number, alignMask: number): number {
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

function testBit(map: number[], bit: number): boolean {
  return ((map[bit >>> 5]! >>> (bit & 31)) & 1) !== 0;
}
function setBit(map: number[], bit: number): void {
  map[bit >>> 5] = map[bit >>> 5]! | (1 << (bit & 31));
}
function clearBit(map: number[], bit: number): void {
  map[bit >>> 5] = map[bit >>> 5]! & ~(1 << (bit & 31));
}
function bitmapSet(map: number[], start: number, len: number): void {
  for (let b = start; b < start + len; b++) setBit(map, b);
}

export class KernelReference {
  readonly cpus: number;
  readonly matrixBits: number;
  readonly allocStart: number;
  readonly allocEnd: number;
  private readonly allocSize: number;
  private readonly maps: Cpumap[] = [];
  private readonly scratchMap: number[];
  private readonly systemMap: number[];
  /** Candidate order for allocBlock's fallback: preallocated, as the kernel avoids allocating. */
  private readonly order: Int32Array;
  private readonly bucket: Int32Array;
  globalAvailable = 0;
  globalReserved = 0;
  systembitsInalloc = 0;
  totalAllocated = 0;
  onlineMaps = 0;
  private last = NO_CPU;

  /** irq_alloc_matrix(matrix_bits, alloc_start, alloc_end) for `cpus` possible CPUs, all offline. */
  constructor(cpus: number, matrixBits = 256, allocStart = 0x20, allocEnd = 0xeb) {
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > S.MAX_CPUS) throw new MatrixError('EINVAL', `cpus must be 1..${S.MAX_CPUS}, got ${cpus}`);
    if (!Number.isInteger(matrixBits) || matrixBits < 1 || matrixBits > S.MAX_BITS) throw new MatrixError('EINVAL', `matrix_bits must be 1..${S.MAX_BITS}`);
    if (!(Number.isInteger(allocStart) && Number.isInteger(allocEnd) && allocStart >= 0 && allocStart < allocEnd && allocEnd <= matrixBits)) {
      throw new MatrixError('EINVAL', `allocation range [${allocStart}, ${allocEnd}) does not fit ${matrixBits} bits`);
    }
    this.cpus = cpus;
    this.matrixBits = matrixBits;
    this.allocStart = allocStart;
    this.allocEnd = allocEnd;
    this.allocSize = allocEnd - allocStart;
    const longs = bitsToLongs(matrixBits);
    for (let c = 0; c < cpus; c++) {
      this.maps.push({
        available: 0, allocated: 0, managed: 0, managedAllocated: 0, initialized: false, online: false,
        allocMap: new Array<number>(longs).fill(0), managedMap: new Array<number>(longs).fill(0),
      });
    }
    this.scratchMap = new Array<number>(longs).fill(0);
    this.systemMap = new Array<number>(longs).fill(0);
    this.order = new Int32Array(cpus);
    this.bucket = new Int32Array(this.allocSize + 2);
  }

  private map(cpu: number): Cpumap | undefined {
    return Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus ? this.maps[cpu] : undefined;
  }

  /** irq_matrix_online for `cpu` (the kernel's local CPU). */
  online(cpu: number): number {
    const cm = this.map(cpu);
    if (!cm) return S.EINVAL;
    if (cm.online) return S.BUG_ONLINE_TWICE;
    if (!cm.initialized) {
      cm.available = this.allocSize;
      cm.available -= cm.managed + this.systembitsInalloc;
      cm.initialized = true;
    }
    this.globalAvailable += cm.available;
    cm.online = true;
    this.onlineMaps++;
    return S.OK;
  }

  /** irq_matrix_offline; offlining an offline CPU is refused (the kernel would skew global_available). */
  offline(cpu: number): number {
    const cm = this.map(cpu);
    if (!cm) return S.EINVAL;
    if (!cm.online) return S.BUG_OFFLINE_TWICE;
    this.globalAvailable -= cm.available;
    cm.online = false;
    this.onlineMaps--;
    return S.OK;
  }

  /** irq_matrix_assign_system; the local CPU of `replace` is CPU 0. */
  assignSystem(bit: number, replace: boolean): number {
    if (!Number.isInteger(bit) || bit < 0 || bit >= this.matrixBits) return S.BUG_SYSTEM_RANGE;
    if (this.onlineMaps > 1 || (this.onlineMaps !== 0 && !replace)) return S.BUG_SYSTEM_ONLINE;
    const cm = this.maps[0]!;
    if (replace) {
      if (!testBit(cm.allocMap, bit)) return S.BUG_SYSTEM_NOT_ALLOCATED;
      clearBit(cm.allocMap, bit);
      cm.allocated--;
      this.totalAllocated--;
    }
    setBit(this.systemMap, bit);
    if (bit >= this.allocStart && bit < this.allocEnd) this.systembitsInalloc++;
    return S.OK;
  }

  /** irq_matrix_assign on `cpu`, with the engines' guards where the kernel would double-count. */
  assign(cpu: number, bit: number): number {
    const cm = this.map(cpu);
    if (!cm || !Number.isInteger(bit) || bit < 0 || bit >= this.matrixBits) return S.EINVAL;
    if (bit < this.allocStart || bit >= this.allocEnd) return S.WARN_ASSIGN_RANGE;
    if (!cm.online) return S.WARN_ASSIGN_OFFLINE;
    if (testBit(cm.allocMap, bit)) return S.WARN_ASSIGN_TAKEN;
    if (testBit(this.systemMap, bit) || testBit(cm.managedMap, bit)) return S.WARN_ASSIGN_RESERVED;
    if (cm.available === 0) return S.WARN_AVAILABLE_UNDERFLOW;
    setBit(cm.allocMap, bit);
    cm.allocated++;
    this.totalAllocated++;
    cm.available--;
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
  private allocArea(cm: Cpumap, num: number, alignMask: number): number {
    const end = this.allocEnd;
    const s = this.scratchMap;
    const longs = bitsToLongs(end);
    for (let k = 0; k < longs; k++) s[k] = cm.managedMap[k]! | this.systemMap[k]!; // bitmap_or
    for (let k = 0; k < longs; k++) s[k] = s[k]! | cm.allocMap[k]!;
    const area = findNextZeroArea(s, end, this.allocStart, num, alignMask);
    if (area >= end) return area;
    bitmapSet(cm.allocMap, area, num);
    return area;
  }

  /** matrix_find_best_cpu: online CPU of the mask with the most available above `floor`, lowest on ties. */
  private findBestCpu(mask: ArrayLike<number>, floor: number): number {
    let best = NO_CPU;
    let maxavl = floor;
    const n = this.cpus;
    for (let cpu = findNextBit(mask, n, 0); cpu < n; cpu = findNextBit(mask, n, cpu + 1)) {
      const cm = this.maps[cpu]!;
      if (!cm.online || cm.available <= maxavl) continue;
      best = cpu;
      maxavl = cm.available;
    }
    return best;
  }

  private maskEmpty(mask: ArrayLike<number>): boolean {
    return findNextBit(mask, this.cpus, 0) >= this.cpus;
  }

  /** irq_matrix_alloc: returns the bit (CPU via lastCpu()) or a negative status. */
  alloc(mask: ArrayLike<number>, reserved: boolean): number {
    if (this.maskEmpty(mask)) return S.EINVAL;
    if (reserved && this.globalReserved === 0) return S.WARN_RESERVED_UNDERFLOW;
    const cpu = this.findBestCpu(mask, 0);
    if (cpu === NO_CPU) return S.ENOSPC;
    const cm = this.maps[cpu]!;
    const bit = this.allocArea(cm, 1, 0);
    if (bit >= this.allocEnd) return S.ENOSPC;
    cm.allocated++;
    cm.available--;
    this.totalAllocated++;
    this.globalAvailable--;
    if (reserved) this.globalReserved--;
    this.last = cpu;
    return bit;
  }

  /** irq_matrix_free, refusing a `managed` flag that does not match managed_map (never set here). */
  free(cpu: number, bit: number, managed: boolean): number {
    const cm = this.map(cpu);
    if (!cm || !Number.isInteger(bit) || bit < 0 || bit >= this.matrixBits) return S.EINVAL;
    if (bit < this.allocStart || bit >= this.allocEnd) return S.WARN_FREE_RANGE;
    if (!testBit(cm.allocMap, bit)) return S.WARN_FREE_NOT_ALLOCATED;
    if (managed !== testBit(cm.managedMap, bit)) return S.WARN_FREE_MANAGED_MISMATCH;
    clearBit(cm.allocMap, bit);
    cm.allocated--;
    if (managed) cm.managedAllocated--;
    if (cm.online) this.totalAllocated--;
    if (!managed) {
      cm.available++;
      if (cm.online) this.globalAvailable++;
    }
    return S.OK;
  }

  /**
   * `count` (power of two, 1..32) contiguous bits at a base aligned to `count` on one CPU: the best
   * CPU first; if its bitmap has no such run, the remaining candidates in the same order.
   */
  allocBlock(mask: ArrayLike<number>, count: number, reserved: boolean): number {
    if (!validCount(count) || this.maskEmpty(mask)) return S.EINVAL;
    if (reserved && this.globalReserved < count) return S.WARN_RESERVED_UNDERFLOW;
    // available >= count, so that the accounting can never go below zero.
    let cpu = this.findBestCpu(mask, count - 1);
    if (cpu === NO_CPU) return S.ENOSPC;
    let bit = this.allocArea(this.maps[cpu]!, count, count - 1);
    if (bit >= this.allocEnd) {
      const n = this.orderCandidates(mask, count, cpu);
      cpu = NO_CPU;
      for (let i = 0; i < n; i++) {
        bit = this.allocArea(this.maps[this.order[i]!]!, count, count - 1);
        if (bit < this.allocEnd) {
          cpu = this.order[i]!;
          break;
        }
      }
      if (cpu === NO_CPU) return S.ENOSPC;
    }
    const cm = this.maps[cpu]!;
    cm.allocated += count;
    cm.available -= count;
    this.totalAllocated += count;
    this.globalAvailable -= count;
    if (reserved) this.globalReserved -= count;
    this.last = cpu;
    return bit;
  }

  /**
   * Writes into `order` the online CPUs of the mask with available >= count, except `skip`, sorted
   * by available descending then CPU ascending (a counting sort: available is at most alloc_size).
   */
  private orderCandidates(mask: ArrayLike<number>, count: number, skip: number): number {
    const b = this.bucket;
    b.fill(0);
    const n = this.cpus;
    const top = this.allocSize;
    let total = 0;
    for (let cpu = findNextBit(mask, n, 0); cpu < n; cpu = findNextBit(mask, n, cpu + 1)) {
      const cm = this.maps[cpu]!;
      if (cpu === skip || !cm.online || cm.available < count) continue;
      b[top - cm.available]!++; // slot 0 = most available
      total++;
    }
    for (let i = 0, acc = 0; i < b.length; i++) {
      const c = b[i]!;
      b[i] = acc;
      acc += c;
    }
    for (let cpu = findNextBit(mask, n, 0); cpu < n; cpu = findNextBit(mask, n, cpu + 1)) {
      const cm = this.maps[cpu]!;
      if (cpu === skip || !cm.online || cm.available < count) continue;
      this.order[b[top - cm.available]!++] = cpu;
    }
    return total;
  }

  /** Frees a block from allocBlock: `count` non-managed irq_matrix_free calls, all or nothing. */
  freeBlock(cpu: number, base: number, count: number): number {
    const cm = this.map(cpu);
    if (!cm || !validCount(count) || !Number.isInteger(base) || base < 0 || (base & (count - 1)) !== 0) return S.EINVAL;
    if (base + count > this.matrixBits) return S.EINVAL;
    if (base < this.allocStart || base + count > this.allocEnd) return S.WARN_FREE_RANGE;
    for (let b = base; b < base + count; b++) {
      if (!testBit(cm.allocMap, b)) return S.WARN_FREE_NOT_ALLOCATED;
      if (testBit(cm.managedMap, b)) return S.WARN_FREE_MANAGED_MISMATCH;
    }
    for (let b = base; b < base + count; b++) clearBit(cm.allocMap, b);
    cm.allocated -= count;
    cm.available += count;
    if (cm.online) {
      this.totalAllocated -= count;
      this.globalAvailable += count;
    }
    return S.OK;
  }

  /** irq_matrix_available with `cpu` as the local CPU (which must be online when cpudown). */
  available(cpudown: boolean, cpu: number): number {
    const cm = this.map(cpu);
    if (!cm || (cpudown && !cm.online)) return S.EINVAL;
    return cpudown ? this.globalAvailable - cm.available : this.globalAvailable;
  }

  /** CPU of the last successful alloc/allocBlock. */
  lastCpu(): number {
    return this.last;
  }
  cpuAvailable(cpu: number): number {
    return this.map(cpu)?.available ?? S.EINVAL;
  }
  cpuAllocated(cpu: number): number {
    return this.map(cpu)?.allocated ?? S.EINVAL;
  }
  isOnline(cpu: number): boolean {
    return this.map(cpu)?.online ?? false;
  }
  /** 32-bit word `i` of the CPU's alloc_map, unsigned (as the engines' allocWord). */
  allocWord(cpu: number, i: number): number {
    const cm = this.map(cpu);
    if (!cm) throw new MatrixError('EINVAL', `CPU ${cpu} is not in 0..${this.cpus - 1}`);
    return (cm.allocMap[i] ?? 0) >>> 0;
  }
}

function validCount(count: number): boolean {
  return Number.isInteger(count) && count >= 1 && count <= S.MAX_BLOCK && (count & (count - 1)) === 0;
}
