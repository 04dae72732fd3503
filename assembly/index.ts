// Vector matrix core in AssemblyScript: kernel/irq/matrix.c semantics plus aligned contiguous blocks.
// Exports take and return numbers only; all state lives in linear memory, sized once by init().

import {
  OK, EINVAL, ENOSPC,
  WARN_ASSIGN_RANGE, WARN_ASSIGN_TAKEN, WARN_ASSIGN_OFFLINE, WARN_FREE_RANGE, WARN_FREE_NOT_ALLOCATED,
  WARN_FREE_MANAGED_MISMATCH, WARN_REMOVE_MANAGED_NONE, WARN_REMOVE_MANAGED_ALL_ALLOCATED,
  WARN_RESERVED_UNDERFLOW, WARN_ASSIGN_RESERVED, WARN_AVAILABLE_UNDERFLOW, BUG_ONLINE_TWICE, BUG_OFFLINE_TWICE, BUG_SYSTEM_RANGE, BUG_SYSTEM_ONLINE,
  BUG_SYSTEM_NOT_ALLOCATED, POLICY_BEST_FIT, MAX_CPUS, MAX_BITS, MAX_BLOCK, MASK_SLOTS,
  OP_ALLOC, OP_FREE, OP_ALLOC_BLOCK, OP_FREE_BLOCK, OP_ALLOC_MANAGED, MAX_BATCH,
} from './status';
import { bestFitRun, firstFitRun } from './runs';

/*
 * Linear memory layout (byte offsets from `base`, the 64-byte aligned heap base; W = ceil(cpus/64)):
 *
 *   +-------------------------+ base
 *   | rangeMask   u64[4]      |  bits of [start, end)
 *   | systemMap   u64[4]      |  matrix->system_map
 *   | onlineBits  u64[W]      |  cpumap.online, one bit per CPU
 *   | initBits    u64[W]      |  cpumap.initialized
 *   | avail       u32[cpus]   |  cpumap.available
 *   | allocated   u32[cpus]   |  cpumap.allocated
 *   | managed     u32[cpus]   |  cpumap.managed
 *   | managedAl   u32[cpus]   |  cpumap.managed_allocated
 *   | largest     u32[cpus]   |  summary: largest free aligned block (0,1,2,4,...,32)
 *   | allocMap    u64[cpus*4] |  cpumap.alloc_map, 4 words per CPU
 *   | managedMap  u64[cpus*4] |  cpumap.managed_map
 *   | masks       u64[SLOTS*W]|  CPU masks written by the host
 *   | slotInfo    i32[SLOTS*2]|  per mask slot: flags (empty, all CPUs), number of non-zero words
 *   | slotWords   i32[SLOTS*W]|  per mask slot: its non-zero word indices (| FULL_WORD when whole)
 *   | tree        i32[2L*8]   |  selection tree, 8 keys per node (see below)
 *   | batchOps    i32[B*4]    |  [opcode, a, b, c] per op
 *   | batchRes    i32[B*2]    |  [status, cpu] per op
 *   +-------------------------+
 * Structure-of-arrays keeps the per-CPU counters dense in cache.
 *
 * Selection tree. Every choice the kernel makes is an arg-max over the CPUs of a mask: most
 * available (lowest CPU on ties) among those that qualify, or fewest managed_allocated (last CPU on
 * ties). Each CPU gets one integer key per question such that the larger key is the kernel's
 * preferred CPU and 0 means "does not qualify"; a complete binary tree over L = max(64, 2^k >= cpus)
 * leaves holds at each node the per-class maximum of its children (two v128 lanes of 4 x i32). A
 * change to one CPU walks up at most log2(L) nodes, stopping as soon as a node is unchanged. A mask
 * word that covers all 64 CPUs of a group reads the group's node (height 6) in O(1); the all-CPU mask
 * reads the root; partial words fall back to a scan of their set bits. Classes:
 *   0        irq_matrix_alloc: online, available > 0                 key = avl << 13 | (8191 - cpu)
 *   1..6     allocBlock(n = 1 << (class - 1)): online, avl >= n and largest free block >= n (same key)
 *   7        irq_matrix_alloc_managed: online                        key = (512 - mac) << 13 | cpu
 */

const WORDS: i32 = 4; // 256 bits per map

let nCpus: i32 = 0;
let nWords: i32 = 0; // W
let matrixBits: i32 = 0;
let allocStart: i32 = 0;
let allocEnd: i32 = 0;
let allocSize: i32 = 0;
let policy: i32 = 0;

let globalAvailable: i32 = 0;
let globalReserved: i32 = 0;
let systembitsInalloc: i32 = 0;
let totalAllocated: i32 = 0;
let onlineMaps: i32 = 0;
let lastCpuValue: i32 = -1;

let pRange: usize = 0;
let pSystem: usize = 0;
let pOnline: usize = 0;
let pInit: usize = 0;
let pAvail: usize = 0;
let pAllocated: usize = 0;
let pManaged: usize = 0;
let pManagedAl: usize = 0;
let pLargest: usize = 0;
let pWordLargest: usize = 0; // u8[cpus*4]: largest free aligned block within each 64-bit word
let pAllocMap: usize = 0;
let pManagedMap: usize = 0;
let pMasks: usize = 0;
let pSlotInfo: usize = 0;
let pSlotWords: usize = 0;
let pTree: usize = 0;
let treeLeaves: i32 = 0; // L
let groupBase: i32 = 0; // tree index of group 0's node: L >> 6
let pBatchOps: usize = 0;
let pBatchRes: usize = 0;
let pEnd: usize = 0;

const CPU_BITS: i32 = 13; // MAX_CPUS = 8192 CPUs fit the low 13 bits of a key
const CPU_FIELD: i32 = (1 << CPU_BITS) - 1;
const CLASS_ALLOC: i32 = 0;
const CLASS_MANAGED: i32 = 7;
const SLOT_EMPTY: i32 = 1;
const SLOT_ALL: i32 = 2;
const FULL_WORD: i32 = 0x10000;

// ---- accessors -------------------------------------------------------------------------------

@inline function u32At(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }
@inline function setU32(p: usize, i: i32, v: i32): void { store<i32>(p + (<usize>i << 2), v); }
@inline function u64At(p: usize, i: i32): u64 { return load<u64>(p + (<usize>i << 3)); }
@inline function setU64(p: usize, i: i32, v: u64): void { store<u64>(p + (<usize>i << 3), v); }
@inline function mapWord(p: usize, cpu: i32, w: i32): u64 { return u64At(p, (cpu << 2) + w); }
@inline function testBit(p: usize, bit: i32): bool { return ((u64At(p, bit >> 6) >> (<u64>(bit & 63))) & 1) != 0; }
@inline function setBit(p: usize, bit: i32): void { setU64(p, bit >> 6, u64At(p, bit >> 6) | (<u64>1 << <u64>(bit & 63))); }
@inline function clearBit(p: usize, bit: i32): void { setU64(p, bit >> 6, u64At(p, bit >> 6) & ~(<u64>1 << <u64>(bit & 63))); }
@inline function cpuMapPtr(p: usize, cpu: i32): usize { return p + (<usize>cpu << 5); }
@inline function isOnline(cpu: i32): bool { return testBit(pOnline, cpu); }
@inline function maskPtr(slot: i32): usize { return pMasks + (<usize>(slot * nWords) << 3); }

@inline function freeWord(cpu: i32, w: i32): u64 {
  return ~(mapWord(pAllocMap, cpu, w) | mapWord(pManagedMap, cpu, w) | u64At(pSystem, w)) & u64At(pRange, w);
}

/** Largest free aligned block (0, 1, 2, 4, ..., 32) inside one 64-bit word of free bits. */
@inline function wordLargest(y1: u64): i32 {
  if (y1 == 0) return 0;
  const y2 = y1 & (y1 >> 1) & 0x5555555555555555;
  if (y2 == 0) return 1;
  const y4 = y2 & (y2 >> 2) & 0x1111111111111111;
  if (y4 == 0) return 2;
  const y8 = y4 & (y4 >> 4) & 0x0101010101010101;
  if (y8 == 0) return 4;
  const y16 = y8 & (y8 >> 8) & 0x0001000100010001;
  if (y16 == 0) return 8;
  return (y16 & (y16 >> 16) & 0x0000000100000001) != 0 ? 32 : 16;
}

/**
 * Recomputes the largest free block of word w only (blocks never cross a word) and the CPU's
 * maximum over its four cached words: an operation touches one word, so it folds one word, not four.
 */
@inline function updateLargestWord(cpu: i32, w: i32): void {
  const p = pWordLargest + (<usize>cpu << 2);
  store<u8>(p + <usize>w, <u8>wordLargest(freeWord(cpu, w)));
  const a = <i32>load<u8>(p), b = <i32>load<u8>(p, 1), c = <i32>load<u8>(p, 2), d = <i32>load<u8>(p, 3);
  const ab = a > b ? a : b;
  const cd = c > d ? c : d;
  setU32(pLargest, cpu, ab > cd ? ab : cd);
}

/** All four words (initialisation, system bits). */
function updateLargest(cpu: i32): void {
  for (let w = 0; w < WORDS; w++) updateLargestWord(cpu, w);
}

/** First-fit: lowest n-aligned run of n free bits on `cpu`, or -1. */
function firstFit(cpu: i32, n: i32): i32 {
  return firstFitRun(freeWord(cpu, 0), freeWord(cpu, 1), freeWord(cpu, 2), freeWord(cpu, 3), n);
}

/** Best-fit: the run inside the smallest free aligned block that can hold it, or -1. */
function bestFit(cpu: i32, n: i32): i32 {
  return bestFitRun(freeWord(cpu, 0), freeWord(cpu, 1), freeWord(cpu, 2), freeWord(cpu, 3), n);
}

// ---- lifecycle -------------------------------------------------------------------------------

/** Sizes memory once for `cpus` CPUs and resets all state. Returns OK or EINVAL. */
export function init(cpus: i32, bits: i32, start: i32, end: i32, placement: i32): i32 {
  if (cpus < 1 || cpus > MAX_CPUS || bits < 1 || bits > MAX_BITS) return EINVAL;
  if (start < 0 || end > bits || start >= end) return EINVAL;
  nCpus = cpus;
  nWords = (cpus + 63) >> 6;
  matrixBits = bits;
  allocStart = start;
  allocEnd = end;
  allocSize = end - start;
  policy = placement;

  const base: usize = (__heap_base + 63) & ~<usize>63;
  const c = <usize>cpus;
  const w = <usize>nWords;
  pRange = base;
  pSystem = pRange + 32;
  pOnline = pSystem + 32;
  pInit = pOnline + (w << 3);
  pAvail = pInit + (w << 3);
  pAllocated = pAvail + (c << 2);
  pManaged = pAllocated + (c << 2);
  pManagedAl = pManaged + (c << 2);
  pLargest = pManagedAl + (c << 2);
  pWordLargest = pLargest + (c << 2);
  pAllocMap = (pWordLargest + (c << 2) + 7) & ~<usize>7;
  pManagedMap = pAllocMap + (c << 5);
  pMasks = pManagedMap + (c << 5);
  pSlotInfo = pMasks + ((<usize>MASK_SLOTS * w) << 3);
  pSlotWords = pSlotInfo + (<usize>MASK_SLOTS << 3);
  let leaves = 64;
  while (leaves < cpus) leaves <<= 1;
  treeLeaves = leaves;
  groupBase = leaves >> 6;
  pTree = (pSlotWords + ((<usize>MASK_SLOTS * w) << 2) + 63) & ~<usize>63;
  pBatchOps = pTree + (<usize>leaves << 6);
  pBatchRes = pBatchOps + (<usize>MAX_BATCH << 4);
  pEnd = pBatchRes + (<usize>MAX_BATCH << 3);

  const needPages = <i32>((pEnd + 0xFFFF) >> 16);
  const have = memory.size();
  if (needPages > have && memory.grow(needPages - have) < 0) return ENOSPC;
  memory.fill(base, 0, pEnd - base);

  for (let b = start; b < end; b++) setBit(pRange, b);
  globalAvailable = 0;
  globalReserved = 0;
  systembitsInalloc = 0;
  totalAllocated = 0;
  onlineMaps = 0;
  lastCpuValue = -1;
  for (let cpu = 0; cpu < cpus; cpu++) updateLargest(cpu);
  for (let slot = 0; slot < MASK_SLOTS; slot++) commitMask(slot);
  return OK; // every CPU offline: every key is 0, as the zeroed tree says
}

// ---- selection tree --------------------------------------------------------------------------

@inline function nodePtr(i: i32): usize { return pTree + (<usize>i << 5); }

/** The low four keys of `cpu` (classes 0..3); see leafHi for 4..7. */
@inline function leafLo(avl: i32, lg: i32, key: i32): v128 {
  let v = i32x4.splat(0);
  v = i32x4.replace_lane(v, 0, avl > 0 ? key : 0);
  v = i32x4.replace_lane(v, 1, avl >= 1 && lg >= 1 ? key : 0);
  v = i32x4.replace_lane(v, 2, avl >= 2 && lg >= 2 ? key : 0);
  return i32x4.replace_lane(v, 3, avl >= 4 && lg >= 4 ? key : 0);
}

@inline function leafHi(cpu: i32, avl: i32, lg: i32, key: i32): v128 {
  let v = i32x4.splat(0);
  v = i32x4.replace_lane(v, 0, avl >= 8 && lg >= 8 ? key : 0);
  v = i32x4.replace_lane(v, 1, avl >= 16 && lg >= 16 ? key : 0);
  v = i32x4.replace_lane(v, 2, avl >= 32 && lg >= 32 ? key : 0);
  return i32x4.replace_lane(v, 3, ((512 - u32At(pManagedAl, cpu)) << CPU_BITS) | cpu);
}

/** Writes the eight keys of `cpu` into its leaf (all 0 while offline); returns the leaf's index. */
function writeLeaf(cpu: i32): i32 {
  const i = treeLeaves + cpu;
  const p = nodePtr(i);
  if (!isOnline(cpu)) {
    v128.store(p, i32x4.splat(0));
    v128.store(p, i32x4.splat(0), 16);
    return i;
  }
  const avl = u32At(pAvail, cpu);
  const lg = u32At(pLargest, cpu);
  const key = (avl << CPU_BITS) | (CPU_FIELD - cpu);
  v128.store(p, leafLo(avl, lg, key));
  v128.store(p, leafHi(cpu, avl, lg, key), 16);
  return i;
}

/** Recomputes node i from its children (used by rebuildAll). */
@inline function pull(i: i32): void {
  const p = nodePtr(i);
  const c = nodePtr(i << 1);
  v128.store(p, i32x4.max_s(v128.load(c), v128.load(c, 32)));
  v128.store(p, i32x4.max_s(v128.load(c, 16), v128.load(c, 48)), 16);
}

/** After a change to a CPU's maps at `bit` (and its counters): that word's summary, then its keys. */
function refresh(cpu: i32, bit: i32): void {
  updateLargestWord(cpu, bit >> 6);
  refreshKeys(cpu);
}

/**
 * After a change to a CPU's counters or online state (refresh() for map changes): its leaf and
 * ancestors. The walk keeps the node just computed in registers and loads only its sibling and the
 * old parent, so no level waits for the previous level's store; it stops at the first parent that
 * does not change.
 */
function refreshKeys(cpu: i32): void {
  let i = writeLeaf(cpu);
  const p0 = nodePtr(i);
  let lo = v128.load(p0);
  let hi = v128.load(p0, 16);
  while (i > 1) {
    const s = nodePtr(i ^ 1);
    lo = i32x4.max_s(lo, v128.load(s));
    hi = i32x4.max_s(hi, v128.load(s, 16));
    i >>= 1;
    const p = nodePtr(i);
    if (v128.all_true<i32>(i32x4.eq(lo, v128.load(p))) && v128.all_true<i32>(i32x4.eq(hi, v128.load(p, 16)))) return;
    v128.store(p, lo);
    v128.store(p, hi, 16);
  }
}

/** Rebuilds every summary and the whole tree (system bits change every CPU). */
function rebuildAll(): void {
  for (let cpu = 0; cpu < nCpus; cpu++) {
    updateLargest(cpu);
    writeLeaf(cpu);
  }
  for (let i = treeLeaves - 1; i >= 1; i--) pull(i);
}

/** CPUs of word w that exist: all 64 except in the last, partial word. */
@inline function validWord(w: i32): u64 {
  const rest = nCpus - (w << 6);
  return rest >= 64 ? <u64>-1 : (<u64>1 << <u64>rest) - 1;
}

/**
 * Called by the host after writing a mask slot: records whether it is empty or names every CPU,
 * and which words are non-zero (flagged FULL_WORD when they name the whole group).
 */
export function commitMask(slot: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS) return EINVAL;
  const mp = maskPtr(slot);
  const list = pSlotWords + (<usize>(slot * nWords) << 2);
  let n = 0;
  let all = true;
  for (let w = 0; w < nWords; w++) {
    const m = u64At(mp, w) & validWord(w);
    setU64(mp, w, m); // bits beyond the last CPU are not CPUs
    if (m == 0) { all = false; continue; }
    const full = m == validWord(w);
    if (!full) all = false;
    store<i32>(list + (<usize>n << 2), w | (full ? FULL_WORD : 0));
    n++;
  }
  setU32(pSlotInfo, slot * 2, (n == 0 ? SLOT_EMPTY : 0) | (all ? SLOT_ALL : 0));
  setU32(pSlotInfo, slot * 2 + 1, n);
  return OK;
}

@inline function slotEmpty(slot: i32): bool { return (u32At(pSlotInfo, slot * 2) & SLOT_EMPTY) != 0; }

/** The largest key of class `cls` over the CPUs of mask `slot` (0: no CPU qualifies). */
function bestKey(slot: i32, cls: i32): i32 {
  const off = <usize>cls << 2;
  if ((u32At(pSlotInfo, slot * 2) & SLOT_ALL) != 0) return load<i32>(nodePtr(1) + off);
  const n = u32At(pSlotInfo, slot * 2 + 1);
  const list = pSlotWords + (<usize>(slot * nWords) << 2);
  const mp = maskPtr(slot);
  let best = 0;
  for (let k = 0; k < n; k++) {
    const e = load<i32>(list + (<usize>k << 2));
    const w = e & 0xFFFF;
    if ((e & FULL_WORD) != 0) {
      const v = load<i32>(nodePtr(groupBase + w) + off);
      if (v > best) best = v;
      continue;
    }
    let bits = u64At(mp, w) & u64At(pOnline, w);
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      const v = load<i32>(nodePtr(treeLeaves + cpu) + off);
      if (v > best) best = v;
    }
  }
  return best;
}

/** The CPU a key of classes 0..6 names. */
@inline function availCpu(key: i32): i32 { return CPU_FIELD - (key & CPU_FIELD); }

// ---- kernel operations -----------------------------------------------------------------------

/** irq_matrix_online for `cpu`. */
export function online(cpu: i32): i32 {
  if (<u32>cpu >= <u32>nCpus) return EINVAL;
  if (isOnline(cpu)) return BUG_ONLINE_TWICE;
  if (!testBit(pInit, cpu)) {
    setU32(pAvail, cpu, allocSize - (u32At(pManaged, cpu) + systembitsInalloc));
    setBit(pInit, cpu);
  }
  globalAvailable += u32At(pAvail, cpu);
  setBit(pOnline, cpu);
  onlineMaps++;
  refreshKeys(cpu);
  return OK;
}

/** irq_matrix_offline for `cpu`. */
export function offline(cpu: i32): i32 {
  if (<u32>cpu >= <u32>nCpus) return EINVAL;
  if (!isOnline(cpu)) return BUG_OFFLINE_TWICE;
  globalAvailable -= u32At(pAvail, cpu);
  clearBit(pOnline, cpu);
  onlineMaps--;
  refreshKeys(cpu);
  return OK;
}

/** irq_matrix_assign_system; the "local CPU" of `replace` is CPU 0. */
export function assignSystem(bit: i32, replace: i32): i32 {
  if (bit < 0 || bit >= matrixBits) return BUG_SYSTEM_RANGE;
  if (onlineMaps > 1 || (onlineMaps != 0 && replace == 0)) return BUG_SYSTEM_ONLINE;
  if (replace != 0) {
    const p = cpuMapPtr(pAllocMap, 0);
    // A managed allocation cannot be replaced: managed_allocated would no longer match the maps.
    if (!testBit(p, bit) || testBit(cpuMapPtr(pManagedMap, 0), bit)) return BUG_SYSTEM_NOT_ALLOCATED;
    clearBit(p, bit);
    setU32(pAllocated, 0, u32At(pAllocated, 0) - 1);
    totalAllocated--;
  }
  setBit(pSystem, bit);
  if (bit >= allocStart && bit < allocEnd) systembitsInalloc++;
  rebuildAll();
  return OK;
}

/** irq_matrix_assign on `cpu` (the kernel's local CPU). */
export function assign(cpu: i32, bit: i32): i32 {
  if (<u32>cpu >= <u32>nCpus || bit < 0) return EINVAL;
  // As the kernel: any bit outside [alloc_start, alloc_end), beyond the matrix too, is a WARN.
  if (bit < allocStart || bit >= allocEnd) return WARN_ASSIGN_RANGE;
  // The kernel only assigns on the running (hence online) CPU; elsewhere global_available would drift.
  if (!isOnline(cpu)) return WARN_ASSIGN_OFFLINE;
  const p = cpuMapPtr(pAllocMap, cpu);
  if (testBit(p, bit)) return WARN_ASSIGN_TAKEN;
  // The kernel only tests alloc_map; a system or managed bit would be counted twice against available.
  if (testBit(pSystem, bit) || testBit(cpuMapPtr(pManagedMap, cpu), bit)) return WARN_ASSIGN_RESERVED;
  // available can drift below the free bits (managed reservations across offline periods); never wrap it.
  if (u32At(pAvail, cpu) == 0) return WARN_AVAILABLE_UNDERFLOW;
  setBit(p, bit);
  setU32(pAllocated, cpu, u32At(pAllocated, cpu) + 1);
  totalAllocated++;
  setU32(pAvail, cpu, u32At(pAvail, cpu) - 1);
  globalAvailable--;
  refresh(cpu, bit);
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

/** Lowest free bit (not allocated, managed or system) in [start, end) — matrix_alloc_area(num = 1). */
@inline function lowestFree(cpu: i32): i32 {
  for (let w = 0; w < WORDS; w++) {
    const f = freeWord(cpu, w);
    if (f != 0) return (w << 6) + <i32>ctz(f);
  }
  return -1;
}

/** First managed-reserved bit of `cpu` that is not allocated, or -1. */
@inline function firstManagedUnallocated(cpu: i32): i32 {
  for (let w = 0; w < WORDS; w++) {
    const f = mapWord(pManagedMap, cpu, w) & ~mapWord(pAllocMap, cpu, w);
    if (f != 0) return (w << 6) + <i32>ctz(f);
  }
  return -1;
}

function removeManagedOne(cpu: i32): void {
  const bit = firstManagedUnallocated(cpu);
  clearBit(cpuMapPtr(pManagedMap, cpu), bit);
  setU32(pManaged, cpu, u32At(pManaged, cpu) - 1);
  if (isOnline(cpu)) {
    setU32(pAvail, cpu, u32At(pAvail, cpu) + 1);
    globalAvailable++;
  }
  refresh(cpu, bit);
}

/** irq_matrix_reserve_managed: one managed bit per CPU of the mask, all or nothing. */
export function reserveManaged(slot: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS) return EINVAL;
  const mp = maskPtr(slot);
  let failed = -1;
  for (let w = 0; w < nWords && failed < 0; w++) {
    let bits = u64At(mp, w);
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      // A CPU whose available count has drifted to 0 cannot take one more without wrapping (kernel: u32).
      const bit = isOnline(cpu) && u32At(pAvail, cpu) == 0 ? -1 : lowestFree(cpu);
      if (bit < 0) { failed = cpu; break; }
      setBit(cpuMapPtr(pManagedMap, cpu), bit);
      setU32(pManaged, cpu, u32At(pManaged, cpu) + 1);
      if (isOnline(cpu)) {
        setU32(pAvail, cpu, u32At(pAvail, cpu) - 1);
        globalAvailable--;
      }
      refresh(cpu, bit);
    }
  }
  if (failed < 0) return OK;
  // Roll back exactly as the kernel does: irq_matrix_remove_managed on each earlier CPU.
  for (let w = 0; w < nWords; w++) {
    let bits = u64At(mp, w);
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      if (cpu == failed) return ENOSPC;
      removeManagedOne(cpu);
    }
  }
  return ENOSPC;
}

/** irq_matrix_remove_managed; refuses (state unchanged) if any CPU would WARN. */
export function removeManaged(slot: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS) return EINVAL;
  const mp = maskPtr(slot);
  for (let w = 0; w < nWords; w++) {
    let bits = u64At(mp, w);
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      if (u32At(pManaged, cpu) == 0) { lastCpuValue = cpu; return WARN_REMOVE_MANAGED_NONE; }
      if (firstManagedUnallocated(cpu) < 0) { lastCpuValue = cpu; return WARN_REMOVE_MANAGED_ALL_ALLOCATED; }
    }
  }
  for (let w = 0; w < nWords; w++) {
    let bits = u64At(mp, w);
    while (bits != 0) {
      const cpu = (w << 6) + <i32>ctz(bits);
      bits &= bits - 1;
      removeManagedOne(cpu);
    }
  }
  return OK;
}

/** irq_matrix_alloc: the online CPU with the most available (> 0), lowest on ties; its lowest free bit. */
export function alloc(slot: i32, reserved: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS || slotEmpty(slot)) return EINVAL;
  if (reserved != 0 && globalReserved == 0) return WARN_RESERVED_UNDERFLOW;
  const key = bestKey(slot, CLASS_ALLOC);
  if (key == 0) return ENOSPC;
  const cpu = availCpu(key);
  const bit = lowestFree(cpu);
  if (bit < 0) return ENOSPC;
  setBit(cpuMapPtr(pAllocMap, cpu), bit);
  setU32(pAllocated, cpu, u32At(pAllocated, cpu) + 1);
  setU32(pAvail, cpu, u32At(pAvail, cpu) - 1);
  totalAllocated++;
  globalAvailable--;
  if (reserved != 0) globalReserved--;
  refresh(cpu, bit);
  lastCpuValue = cpu;
  return bit;
}

/** irq_matrix_alloc_managed: fewest managed_allocated, the last CPU on ties. */
export function allocManaged(slot: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS || slotEmpty(slot)) return EINVAL;
  const key = bestKey(slot, CLASS_MANAGED);
  if (key == 0) return ENOSPC;
  const best = key & CPU_FIELD;
  const bit = firstManagedUnallocated(best);
  if (bit < 0) return ENOSPC;
  setBit(cpuMapPtr(pAllocMap, best), bit);
  setU32(pAllocated, best, u32At(pAllocated, best) + 1);
  setU32(pManagedAl, best, u32At(pManagedAl, best) + 1);
  totalAllocated++;
  lastCpuValue = best;
  refresh(best, bit);
  return bit;
}

/** irq_matrix_free. */
export function free(cpu: i32, bit: i32, managed: i32): i32 {
  if (<u32>cpu >= <u32>nCpus || bit < 0) return EINVAL;
  // As the kernel: any bit outside [alloc_start, alloc_end), beyond the matrix too, is a WARN.
  if (bit < allocStart || bit >= allocEnd) return WARN_FREE_RANGE;
  const p = cpuMapPtr(pAllocMap, cpu);
  if (!testBit(p, bit)) return WARN_FREE_NOT_ALLOCATED;
  // The kernel trusts `managed`; a mismatch would skew available/managed_allocated, so refuse it.
  if ((managed != 0) != testBit(cpuMapPtr(pManagedMap, cpu), bit)) return WARN_FREE_MANAGED_MISMATCH;
  clearBit(p, bit);
  setU32(pAllocated, cpu, u32At(pAllocated, cpu) - 1);
  if (managed != 0) setU32(pManagedAl, cpu, u32At(pManagedAl, cpu) - 1);
  const on = isOnline(cpu);
  if (on) totalAllocated--;
  if (managed == 0) {
    setU32(pAvail, cpu, u32At(pAvail, cpu) + 1);
    if (on) globalAvailable++;
  }
  refresh(cpu, bit);
  return OK;
}

/** The bits of an aligned block (count <= 32) within its 64-bit word. */
@inline function blockBits(base: i32, count: i32): u64 {
  return ((<u64>1 << <u64>count) - 1) << <u64>(base & 63);
}

@inline function validCount(count: i32): bool {
  return count >= 1 && count <= MAX_BLOCK && (count & (count - 1)) == 0;
}

/**
 * Extension: `count` (power of two 1..32) contiguous vectors at a base aligned to `count`, on the
 * online CPU of the mask that has such a run, most available first, lowest CPU on ties.
 */
export function allocBlock(slot: i32, count: i32, reserved: i32): i32 {
  if (<u32>slot >= <u32>MASK_SLOTS || !validCount(count) || slotEmpty(slot)) return EINVAL;
  if (reserved != 0 && globalReserved < count) return WARN_RESERVED_UNDERFLOW;
  // available >= count keeps the accounting above zero; the class is 1 + log2(count).
  const key = bestKey(slot, 1 + <i32>ctz(count));
  if (key == 0) return ENOSPC;
  const best = availCpu(key);
  const base = policy == POLICY_BEST_FIT ? bestFit(best, count) : firstFit(best, count);
  if (base < 0) return ENOSPC; // unreachable while the summary is exact
  // Blocks never cross a 64-bit word: one OR sets the whole run.
  const wi = (best << 2) + (base >> 6);
  setU64(pAllocMap, wi, u64At(pAllocMap, wi) | blockBits(base, count));
  setU32(pAllocated, best, u32At(pAllocated, best) + count);
  setU32(pAvail, best, u32At(pAvail, best) - count);
  totalAllocated += count;
  globalAvailable -= count;
  if (reserved != 0) globalReserved -= count;
  refresh(best, base);
  lastCpuValue = best;
  return base;
}

/** Frees a block from allocBlock: `count` single non-managed frees, all or nothing. */
export function freeBlock(cpu: i32, base: i32, count: i32): i32 {
  if (<u32>cpu >= <u32>nCpus || !validCount(count) || base < 0 || (base & (count - 1)) != 0) return EINVAL;
  if (base < allocStart || base + count > allocEnd) return WARN_FREE_RANGE;
  const wi = (cpu << 2) + (base >> 6);
  const blk = blockBits(base, count);
  const a = u64At(pAllocMap, wi);
  // The first bit (ascending) that is not allocated, or allocated but managed, decides the WARN.
  const bad = blk & (~a | u64At(pManagedMap, wi));
  if (bad != 0) return (bad & (0 - bad) & ~a) != 0 ? WARN_FREE_NOT_ALLOCATED : WARN_FREE_MANAGED_MISMATCH;
  setU64(pAllocMap, wi, a & ~blk);
  setU32(pAllocated, cpu, u32At(pAllocated, cpu) - count);
  setU32(pAvail, cpu, u32At(pAvail, cpu) + count);
  if (isOnline(cpu)) {
    totalAllocated -= count;
    globalAvailable += count;
  }
  refresh(cpu, base);
  return OK;
}

/** irq_matrix_available with `cpu` as the local CPU. */
export function available(cpudown: i32, cpu: i32): i32 {
  if (<u32>cpu >= <u32>nCpus) return EINVAL;
  // cpudown names the CPU going down, which is still online (its available is in the global count).
  if (cpudown != 0 && !isOnline(cpu)) return EINVAL;
  return cpudown != 0 ? globalAvailable - u32At(pAvail, cpu) : globalAvailable;
}

// ---- batch entry point -----------------------------------------------------------------------

/** Runs `n` ops from the batch buffer, writing [status, cpu] per op; returns how many ran. */
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
    else if (code == OP_ALLOC_MANAGED) { status = allocManaged(a); cpu = status >= 0 ? lastCpuValue : -1; }
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
export function cpuAvailable(cpu: i32): i32 { return <u32>cpu < <u32>nCpus ? u32At(pAvail, cpu) : EINVAL; }
export function cpuAllocated(cpu: i32): i32 { return <u32>cpu < <u32>nCpus ? u32At(pAllocated, cpu) : EINVAL; }
export function cpuManaged(cpu: i32): i32 { return <u32>cpu < <u32>nCpus ? u32At(pManaged, cpu) : EINVAL; }
export function cpuManagedAllocated(cpu: i32): i32 { return <u32>cpu < <u32>nCpus ? u32At(pManagedAl, cpu) : EINVAL; }
export function cpuLargestFree(cpu: i32): i32 { return <u32>cpu < <u32>nCpus ? u32At(pLargest, cpu) : EINVAL; }
/** Bit 0 online, bit 1 initialized. */
export function cpuFlags(cpu: i32): i32 {
  if (<u32>cpu >= <u32>nCpus) return EINVAL;
  return (isOnline(cpu) ? 1 : 0) | (testBit(pInit, cpu) ? 2 : 0);
}
// Pointers for the host's typed-array views (taken once: memory never grows after init).
export function allocMapPtr(): usize { return pAllocMap; }
export function managedMapPtr(): usize { return pManagedMap; }
export function systemMapPtr(): usize { return pSystem; }
export function masksPtr(): usize { return pMasks; }
export function maskWords(): i32 { return nWords; }
export function batchOpsPtr(): usize { return pBatchOps; }
export function batchResultsPtr(): usize { return pBatchRes; }
