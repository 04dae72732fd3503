// kernel/irq/matrix.c's algorithm in AssemblyScript, the WASM baseline of the benchmarks: the same
// operations, status codes and choices as src/alloc/kernel-reference.ts (per-CPU `available` scan,
// bitmap_or into a scratch map, bitmap_find_next_zero_area, no cached summaries), on 64-bit words as
// on a 64-bit kernel. Exports take and return numbers only; state lives in linear memory sized once.

import {
  OK, EINVAL, ENOSPC,
  WARN_ASSIGN_RANGE, WARN_ASSIGN_TAKEN, WARN_ASSIGN_OFFLINE, WARN_FREE_RANGE, WARN_FREE_NOT_ALLOCATED,
  WARN_FREE_MANAGED_MISMATCH, WARN_RESERVED_UNDERFLOW, WARN_ASSIGN_RESERVED, WARN_AVAILABLE_UNDERFLOW,
  BUG_ONLINE_TWICE, BUG_OFFLINE_TWICE, BUG_SYSTEM_RANGE, BUG_SYSTEM_ONLINE, BUG_SYSTEM_NOT_ALLOCATED,
  MAX_CPUS, MAX_BITS, MAX_BLOCK, MASK_SLOTS, OP_ALLOC, OP_FREE, OP_ALLOC_BLOCK, OP_FREE_BLOCK, MAX_BATCH,
} from '../status';

/*
 * Linear memory (from the 64-byte aligned heap base; W = ceil(cpus/64) mask words):
 *   systemMap u64[4] | scratchMap u64[4] | allocMap u64[cpus*4] | managedMap u64[cpus*4]
 *   | avail i32[cpus] | allocated i32[cpus] | managed i32[cpus] | managedAl i32[cpus]
 *   | online u8[cpus] | initialized u8[cpus] | order i32[cpus] | bucket i32[258]
 *   | masks u64[SLOTS*W] | batchOps i32[B*4] | batchRes i32[B*2]
 * One array per struct cpumap field, as in the JS port.
 */

const WORDS: i32 = 4; // 64-bit words per 256-bit map

let nCpus: i32 = 0;
let nWords: i32 = 0; // W
let maskTail: u64 = 0; // valid CPU bits of the last mask word
let matrixBits: i32 = 0;
let allocStart: i32 = 0;
let allocEnd: i32 = 0;
let allocSize: i32 = 0;
let endWords: i32 = 0; // BITS_TO_LONGS(alloc_end)

let globalAvailable: i32 = 0;
let globalReserved: i32 = 0;
let systembitsInalloc: i32 = 0;
let totalAllocated: i32 = 0;
let onlineMaps: i32 = 0;
let lastCpuValue: i32 = -1;

let pSystem: usize = 0;
let pScratch: usize = 0;
let pAllocMap: usize = 0;
let pManagedMap: usize = 0;
let pAvail: usize = 0;
let pAllocated: usize = 0;
let pManaged: usize = 0;
let pManagedAl: usize = 0;
let pOnline: usize = 0;
let pInit: usize = 0;
let pOrder: usize = 0;
let pBucket: usize = 0;
let pMasks: usize = 0;
let pBatchOps: usize = 0;
let pBatchRes: usize = 0;
let pEnd: usize = 0;

// ---- accessors -------------------------------------------------------------------------------

@inline function i32At(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }
@inline function setI32(p: usize, i: i32, v: i32): void { store<i32>(p + (<usize>i << 2), v); }
@inline function u64At(p: usize, i: i32): u64 { return load<u64>(p + (<usize>i << 3)); }
@inline function setU64(p: usize, i: i32, v: u64): void { store<u64>(p + (<usize>i << 3), v); }
@inline function isOnline(cpu: i32): bool { return load<u8>(pOnline + <usize>cpu) != 0; }
@inline function cpuMap(p: usize, cpu: i32): usize { return p + (<usize>cpu << 5); }
@inline function maskPtr(slot: i32): usize { return pMasks + (<usize>(slot * nWords) << 3); }
@inline function testBit(p: usize, bit: i32): bool { return ((u64At(p, bit >> 6) >> <u64>(bit & 63)) & 1) != 0; }
@inline function setBit(p: usize, bit: i32): void { setU64(p, bit >> 6, u64At(p, bit >> 6) | (<u64>1 << <u64>(bit & 63))); }
@inline function clearBit(p: usize, bit: i32): void { setU64(p, bit >> 6, u64At(p, bit >> 6) & ~(<u64>1 << <u64>(bit & 63))); }
/** BITMAP_LAST_WORD_MASK(nbits). */
@inline function lastWordMask(nbits: i32): u64 { return ~(<u64>0xFFFFFFFFFFFFFFFE << <u64>((nbits - 1) & 63)); }
@inline function validCount(count: i32): bool { return count >= 1 && count <= MAX_BLOCK && (count & (count - 1)) == 0; }

// ---- lib/find_bit.c and lib/bitmap.c ---------------------------------------------------------

/** find_next_bit: first set bit at or after `offset`, or `size`. */
function findNextBit(p: usize, size: i32, offset: i32): i32 {
  if (offset >= size) return size;
  let i = offset >> 6;
  let w = u64At(p, i) & (<u64>-1 << <u64>(offset & 63));
  const last = (size - 1) >> 6;
  while (w == 0) {
    if (++i > last) return size;
    w = u64At(p, i);
  }
  const b = (i << 6) + <i32>ctz(w);
  return b < size ? b : size;
}

/** find_next_zero_bit: first clear bit at or after `offset`, or `size`. */
function findNextZeroBit(p: usize, size: i32, offset: i32): i32 {
  if (offset >= size) return size;
  let i = offset >> 6;
  let w = ~u64At(p, i) & (<u64>-1 << <u64>(offset & 63));
  const last = (size - 1) >> 6;
  while (w == 0) {
    if (++i > last) return size;
    w = ~u64At(p, i);
  }
  const b = (i << 6) + <i32>ctz(w);
  return b < size ? b : size;
}

/** bitmap_find_next_zero_area_off with align_offset 0; a value > size - nr means none. */
function findNextZeroArea(p: usize, size: i32, start: i32, nr: i32, alignMask: i32): i32 {
  let index = 0;
  let end = 0;
  do {
    index = findNextZeroBit(p, size, start);
    index = (index + alignMask) & ~alignMask;
    end = index + nr;
    if (end > size) return end;
    start = findNextBit(p, end, index) + 1; // a set bit inside the window: restart after it
  } while (start <= end);
  return index;
}

/** __bitmap_set: whole words at a time. */
function bitmapSet(p: usize, start: i32, len: i32): void {
  let i = start >> 6;
  const end = start + len;
  let bits = 64 - (start & 63);
  let mask: u64 = <u64>-1 << <u64>(start & 63);
  while (len >= bits) {
    setU64(p, i, u64At(p, i) | mask);
    i++;
    len -= bits;
    bits = 64;
    mask = <u64>-1;
  }
  if (len > 0) setU64(p, i, u64At(p, i) | (mask & lastWordMask(end)));
}

/** __bitmap_clear. */
function bitmapClear(p: usize, start: i32, len: i32): void {
  let i = start >> 6;
  const end = start + len;
  let bits = 64 - (start & 63);
  let mask: u64 = <u64>-1 << <u64>(start & 63);
  while (len >= bits) {
    setU64(p, i, u64At(p, i) & ~mask);
    i++;
    len -= bits;
    bits = 64;
    mask = <u64>-1;
  }
  if (len > 0) setU64(p, i, u64At(p, i) & ~(mask & lastWordMask(end)));
}

// ---- lifecycle -------------------------------------------------------------------------------

/** irq_alloc_matrix for `cpus` possible CPUs, all offline; sizes memory once. OK or EINVAL. */
export function init(cpus: i32, bits: i32, start: i32, end: i32): i32 {
  if (cpus < 1 || cpus > MAX_CPUS || bits < 1 || bits > MAX_BITS) return EINVAL;
  if (start < 0 || start >= end || end > bits) return EINVAL;
  nCpus = cpus;
  nWords = (cpus + 63) >> 6;
  maskTail = lastWordMask(cpus);
  matrixBits = bits;
  allocStart = start;
  allocEnd = end;
  allocSize = end - start;
  endWords = (end + 63) >> 6;

  const base: usize = (__heap_base + 63) & ~<usize>63;
  const c = <usize>cpus;
  pSystem = base;
  pScratch = pSystem + 32;
  pAllocMap = pScratch + 32;
  pManagedMap = pAllocMap + (c << 5);
  pAvail = pManagedMap + (c << 5);
  pAllocated = pAvail + (c << 2);
  pManaged = pAllocated + (c << 2);
  pManagedAl = pManaged + (c << 2);
  pOnline = pManagedAl + (c << 2);
  pInit = pOnline + c;
  pOrder = (pInit + c + 3) & ~<usize>3;
  pBucket = pOrder + (c << 2);
  pMasks = (pBucket + ((<usize>MAX_BITS + 2) << 2) + 7) & ~<usize>7;
  pBatchOps = pMasks + ((<usize>MASK_SLOTS * <usize>nWords) << 3);
  pBatchRes = pBatchOps + (<usize>MAX_BATCH << 4);
  pEnd = pBatchRes + (<usize>MAX_BATCH << 3);

  const needPages = <i32>((pEnd + 0xFFFF) >> 16);
  const have = memory.size();
  if (needPages > have && memory.grow(needPages - have) < 0) return ENOSPC;
  memory.fill(base, 0, pEnd - base);

  globalAvailable = 0;
  globalReserved = 0;
  systembitsInalloc = 0;
  totalAllocated = 0;
  onlineMaps = 0;
  lastCpuValue = -1;
  return OK;
}

// ---- matrix.c --------------------------------------------------------------------------------

/** irq_matrix_online for `cpu`. */
export function online(cpu: i32): i32 {
  if (<u32>cpu >= <u32>nCpus) return EINVAL;
  if (isOnline(cpu)) return BUG_ONLINE_TWICE;
  if (load<u8>(pInit + <usize>cpu) == 0) {
    setI32(pAvail, cpu, allocSize - (i32At(pManaged, cpu) + systembitsInalloc));
    store<u8>(pInit + <usize>cpu, 1);
  }
  globalAvailable += i32At(pAvail, cpu);
  store<u8>(pOnline + <usize>cpu, 1);
  onlineMaps++;
  return OK;
}

/** irq_matrix_offline; offlining an offline CPU is refused. */
export function offline(cpu: i32): i32 {
  if (<u32>cpu >= <u32>nCpus) return EINVAL;
  if (!isOnline(cpu)) return BUG_OFFLINE_TWICE;
  globalAvailable -= i32At(pAvail, cpu);
  store<u8>(pOnline + <usize>cpu, 0);
  onlineMaps--;
  return OK;
}

/** irq_matrix_assign_system; the local CPU of `replace` is CPU 0. */
export function assignSystem(bit: i32, replace: i32): i32 {
  if (bit < 0 || bit >= matrixBits) return BUG_SYSTEM_RANGE;
  if (onlineMaps > 1 || (onlineMaps != 0 && replace == 0)) return BUG_SYSTEM_ONLINE;
  if (replace != 0) {
    if (!testBit(pAllocMap, bit)) return BUG_SYSTEM_NOT_ALLOCATED;
    clearBit(pAllocMap, bit);
    setI32(pAllocated, 0, i32At(pAllocated, 0) - 1);
    totalAllocated--;
  }
  setBit(pSystem, bit);
  if (bit >= allocStart && bit < allocEnd) systembitsInalloc++;
  return OK;
}

/** irq_matrix_assign on `cpu`, with the JS port's guards. */
export function assign(cpu: i32, bit: i32): i32 {
  if (<u32>cpu >= <u32>nCpus || bit < 0 || bit >= matrixBits) return EINVAL;
  if (bit < allocStart || bit >= allocEnd) return WARN_ASSIGN_RANGE;
  if (!isOnline(cpu)) return WARN_ASSIGN_OFFLINE;
  const p = cpuMap(pAllocMap, cpu);
  if (testBit(p, bit)) return WARN_ASSIGN_TAKEN;
  if (testBit(pSystem, bit) || testBit(cpuMap(pManagedMap, cpu), bit)) return WARN_ASSIGN_RESERVED;
  if (i32At(pAvail, cpu) == 0) return WARN_AVAILABLE_UNDERFLOW;
  setBit(p, bit);
  setI32(pAllocated, cpu, i32At(pAllocated, cpu) + 1);
  totalAllocated++;
  setI32(pAvail, cpu, i32At(pAvail, cpu) - 1);
  globalAvailable--;
  return OK;
}

export function reserve(): i32 {
  globalReserved++;
  return OK;
}

export function removeReserved(): i32 {
  if (globalReserved == 0) return WARN_RESERVED_UNDERFLOW;
  globalReserved--;
  return OK;
}

/** matrix_alloc_area: OR the three maps into scratch_map, search, set the bits found. */
function allocArea(cpu: i32, num: i32, alignMask: i32): i32 {
  const am = cpuMap(pAllocMap, cpu);
  const mm = cpuMap(pManagedMap, cpu);
  for (let k = 0; k < endWords; k++) setU64(pScratch, k, u64At(mm, k) | u64At(pSystem, k) | u64At(am, k));
  const area = findNextZeroArea(pScratch, allocEnd, allocStart, num, alignMask);
  if (area >= allocEnd) return area;
  bitmapSet(am, area, num);
  return area;
}

/** matrix_find_best_cpu: online CPU of the mask with the most available above `floor`, lowest on ties. */
function findBestCpu(mp: usize, floor: i32): i32 {
  let best = -1;
  let maxavl = floor;
  const last = nWords - 1;
  for (let w = 0; w < nWords; w++) {
    let bits = u64At(mp, w);
    if (w == last) bits &= maskTail;
    const base = w << 6;
    // The kernel tests online first; available first skips the flag load on most CPUs (same result).
    if (bits == <u64>-1) {
      // A full word (a partial last word never gets here): no bit search, and 8 CPUs compared at once
      // (SIMD) against the best so far, skipped when none beats it — the usual case, as most CPUs tie.
      let vmax = i32x4.splat(maxavl);
      for (let cpu = base, end = base + 64; cpu < end; cpu += 8) {
        const p = pAvail + (<usize>cpu << 2);
        if (!v128.any_true(v128.or(i32x4.gt_s(v128.load(p), vmax), i32x4.gt_s(v128.load(p, 16), vmax)))) continue;
        for (let c = cpu; c < cpu + 8; c++) {
          const a = i32At(pAvail, c);
          if (a > maxavl && isOnline(c)) {
            best = c;
            maxavl = a;
          }
        }
        vmax = i32x4.splat(maxavl);
      }
      continue;
    }
    while (bits != 0) {
      const cpu = base + <i32>ctz(bits);
      bits &= bits - 1;
      const a = i32At(pAvail, cpu);
      if (a > maxavl && isOnline(cpu)) {
        best = cpu;
        maxavl = a;
      }
    }
  }
  return best;
}

function maskEmpty(mp: usize): bool {
  const last = nWords - 1;
  for (let w = 0; w < nWords; w++) {
    const bits = w == last ? u64At(mp, w) & maskTail : u64At(mp, w);
    if (bits != 0) return false;
  }
  return true;
}

/** irq_matrix_alloc: the bit (CPU via lastCpu()) or a negative status. */
export function alloc(slot: i32, reserved: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS) return EINVAL;
  const mp = maskPtr(slot);
  if (maskEmpty(mp)) return EINVAL;
  if (reserved != 0 && globalReserved == 0) return WARN_RESERVED_UNDERFLOW;
  const cpu = findBestCpu(mp, 0);
  if (cpu < 0) return ENOSPC;
  const bit = allocArea(cpu, 1, 0);
  if (bit >= allocEnd) return ENOSPC;
  setI32(pAllocated, cpu, i32At(pAllocated, cpu) + 1);
  setI32(pAvail, cpu, i32At(pAvail, cpu) - 1);
  totalAllocated++;
  globalAvailable--;
  if (reserved != 0) globalReserved--;
  lastCpuValue = cpu;
  return bit;
}

/** irq_matrix_free, refusing a `managed` flag that does not match managed_map. */
export function free(cpu: i32, bit: i32, managed: i32): i32 {
  if (<u32>cpu >= <u32>nCpus || bit < 0 || bit >= matrixBits) return EINVAL;
  if (bit < allocStart || bit >= allocEnd) return WARN_FREE_RANGE;
  const p = cpuMap(pAllocMap, cpu);
  if (!testBit(p, bit)) return WARN_FREE_NOT_ALLOCATED;
  if ((managed != 0) != testBit(cpuMap(pManagedMap, cpu), bit)) return WARN_FREE_MANAGED_MISMATCH;
  clearBit(p, bit);
  setI32(pAllocated, cpu, i32At(pAllocated, cpu) - 1);
  if (managed != 0) setI32(pManagedAl, cpu, i32At(pManagedAl, cpu) - 1);
  const on = isOnline(cpu);
  if (on) totalAllocated--;
  if (managed == 0) {
    setI32(pAvail, cpu, i32At(pAvail, cpu) + 1);
    if (on) globalAvailable++;
  }
  return OK;
}

/**
 * Writes into `order` the online CPUs of the mask with count <= available < below, sorted by
 * available descending then CPU ascending (counting sort); returns how many.
 */
function orderCandidates(mp: usize, count: i32, below: i32): i32 {
  const top = allocSize;
  const nb = allocSize + 2;
  memory.fill(pBucket, 0, <usize>nb << 2);
  const last = nWords - 1;
  let total = 0;
  for (let w = 0; w < nWords; w++) {
    let bits = u64At(mp, w);
    if (w == last) bits &= maskTail;
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      const a = i32At(pAvail, cpu);
      if (a < count || a >= below || !isOnline(cpu)) continue;
      setI32(pBucket, top - a, i32At(pBucket, top - a) + 1); // slot 0 = most available
      total++;
    }
  }
  if (total == 0) return 0;
  for (let i = 0, acc = 0; i < nb; i++) {
    const c = i32At(pBucket, i);
    setI32(pBucket, i, acc);
    acc += c;
  }
  for (let w = 0; w < nWords; w++) {
    let bits = u64At(mp, w);
    if (w == last) bits &= maskTail;
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      const a = i32At(pAvail, cpu);
      if (a < count || a >= below || !isOnline(cpu)) continue;
      const k = i32At(pBucket, top - a);
      setI32(pBucket, top - a, k + 1);
      setI32(pOrder, k, cpu);
    }
  }
  return total;
}

let found: i32 = 0; // the bit fallback() found

/**
 * The candidates after `best` in matrix_find_best_cpu's order (available descending, CPU ascending)
 * until one has a run; its bit goes to `found`. Those tied with `best` come first and all lie above
 * it: they are tried lazily in CPU order (after long churn most CPUs tie); the rest are sorted only
 * if none of them has a run.
 */
function fallback(mp: usize, count: i32, best: i32): i32 {
  const level = i32At(pAvail, best);
  const last = nWords - 1;
  for (let w = best >> 6; w < nWords; w++) {
    let bits = u64At(mp, w);
    if (w == last) bits &= maskTail;
    if (w == best >> 6) bits &= <u64>0xFFFFFFFFFFFFFFFE << <u64>(best & 63); // CPUs above best only
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      if (i32At(pAvail, cpu) != level || !isOnline(cpu)) continue;
      const bit = allocArea(cpu, count, count - 1);
      if (bit < allocEnd) {
        found = bit;
        return cpu;
      }
    }
  }
  const n = orderCandidates(mp, count, level);
  for (let i = 0; i < n; i++) {
    const cpu = i32At(pOrder, i);
    const bit = allocArea(cpu, count, count - 1);
    if (bit < allocEnd) {
      found = bit;
      return cpu;
    }
  }
  return -1;
}

/**
 * `count` (power of two, 1..32) contiguous bits at a base aligned to `count` on one CPU: the best CPU
 * first; if its bitmap has no such run, the remaining candidates in the same order.
 */
export function allocBlock(slot: i32, count: i32, reserved: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS || !validCount(count)) return EINVAL;
  const mp = maskPtr(slot);
  if (maskEmpty(mp)) return EINVAL;
  if (reserved != 0 && globalReserved < count) return WARN_RESERVED_UNDERFLOW;
  let cpu = findBestCpu(mp, count - 1); // available >= count: the accounting never goes below zero
  if (cpu < 0) return ENOSPC;
  let bit = allocArea(cpu, count, count - 1);
  if (bit >= allocEnd) {
    cpu = fallback(mp, count, cpu);
    if (cpu < 0) return ENOSPC;
    bit = found;
  }
  setI32(pAllocated, cpu, i32At(pAllocated, cpu) + count);
  setI32(pAvail, cpu, i32At(pAvail, cpu) - count);
  totalAllocated += count;
  globalAvailable -= count;
  if (reserved != 0) globalReserved -= count;
  lastCpuValue = cpu;
  return bit;
}

/** Frees a block from allocBlock: `count` non-managed irq_matrix_free calls, all or nothing. */
export function freeBlock(cpu: i32, base: i32, count: i32): i32 {
  if (<u32>cpu >= <u32>nCpus || !validCount(count) || base < 0 || (base & (count - 1)) != 0) return EINVAL;
  if (base + count > matrixBits) return EINVAL;
  if (base < allocStart || base + count > allocEnd) return WARN_FREE_RANGE;
  // An aligned block of at most 32 bits lies in one word; the lowest offending bit decides the status.
  const am = cpuMap(pAllocMap, cpu);
  const i = base >> 6;
  const m = lastWordMask(count) << <u64>(base & 63);
  const a = u64At(am, i);
  const bad = (~a | u64At(cpuMap(pManagedMap, cpu), i)) & m;
  if (bad != 0) return (a & bad & (~bad + 1)) == 0 ? WARN_FREE_NOT_ALLOCATED : WARN_FREE_MANAGED_MISMATCH;
  bitmapClear(am, base, count);
  setI32(pAllocated, cpu, i32At(pAllocated, cpu) - count);
  setI32(pAvail, cpu, i32At(pAvail, cpu) + count);
  if (isOnline(cpu)) {
    totalAllocated -= count;
    globalAvailable += count;
  }
  return OK;
}

/** irq_matrix_available with `cpu` as the local CPU (which must be online when cpudown). */
export function available(cpudown: i32, cpu: i32): i32 {
  if (<u32>cpu >= <u32>nCpus || (cpudown != 0 && !isOnline(cpu))) return EINVAL;
  return cpudown != 0 ? globalAvailable - i32At(pAvail, cpu) : globalAvailable;
}

// ---- batch entry point -----------------------------------------------------------------------

/** Runs `n` ops [opcode, a, b, c] from the batch buffer, writing [status, cpu] per op. */
export function runBatch(n: i32): i32 {
  if (n < 0 || n > MAX_BATCH) return EINVAL;
  for (let i = 0; i < n; i++) {
    const op = pBatchOps + (<usize>i << 4);
    const code = load<i32>(op);
    const a = load<i32>(op, 4);
    const b = load<i32>(op, 8);
    const c = load<i32>(op, 12);
    let status: i32 = EINVAL;
    let cpu: i32 = -1;
    if (code == OP_ALLOC) { status = alloc(a, b); cpu = status >= 0 ? lastCpuValue : -1; }
    else if (code == OP_FREE) { status = free(a, b, c); cpu = a; }
    else if (code == OP_ALLOC_BLOCK) { status = allocBlock(a, b, c); cpu = status >= 0 ? lastCpuValue : -1; }
    else if (code == OP_FREE_BLOCK) { status = freeBlock(a, b, c); cpu = a; }
    const r = pBatchRes + (<usize>i << 3);
    store<i32>(r, status);
    store<i32>(r, cpu, 4);
  }
  return n;
}

// ---- queries ---------------------------------------------------------------------------------

export function lastCpu(): i32 { return lastCpuValue; }
export function getGlobalAvailable(): i32 { return globalAvailable; }
export function getGlobalReserved(): i32 { return globalReserved; }
export function getTotalAllocated(): i32 { return totalAllocated; }
export function getOnlineMaps(): i32 { return onlineMaps; }
export function getSystembitsInalloc(): i32 { return systembitsInalloc; }
export function cpuAvailable(cpu: i32): i32 { return <u32>cpu < <u32>nCpus ? i32At(pAvail, cpu) : EINVAL; }
export function cpuAllocated(cpu: i32): i32 { return <u32>cpu < <u32>nCpus ? i32At(pAllocated, cpu) : EINVAL; }
export function cpuOnline(cpu: i32): i32 { return <u32>cpu < <u32>nCpus && isOnline(cpu) ? 1 : 0; }
// Pointers for the host's typed-array views (taken once: memory never grows after init).
export function allocMapPtr(): usize { return pAllocMap; }
export function masksPtr(): usize { return pMasks; }
export function maskWords(): i32 { return nWords; }
export function batchOpsPtr(): usize { return pBatchOps; }
export function batchResultsPtr(): usize { return pBatchRes; }
