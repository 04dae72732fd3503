// Status codes shared by the AssemblyScript core and the TypeScript twin. Plain numeric constants
// only, so that both compilers (asc and tsc) accept this file unchanged.
//   >= 0  success (a bit number, a count, or OK)
//   < 0   failure; -22/-28 are the kernel's errno values, -1xx are kernel WARN_ON conditions,
//         -2xx kernel BUG_ON conditions (irqslice refuses them and leaves the state unchanged).

export const OK = 0;
export const EINVAL = -22;
export const ENOSPC = -28;

// WARN_ON_ONCE conditions of kernel/irq/matrix.c (and the ones irqslice adds where the kernel would
// silently corrupt its counters).
export const WARN_ASSIGN_RANGE = -101;
export const WARN_ASSIGN_TAKEN = -102;
export const WARN_ASSIGN_OFFLINE = -103;
export const WARN_FREE_RANGE = -104;
export const WARN_FREE_NOT_ALLOCATED = -105;
export const WARN_FREE_MANAGED_MISMATCH = -106;
export const WARN_REMOVE_MANAGED_NONE = -107;
export const WARN_REMOVE_MANAGED_ALL_ALLOCATED = -108;
export const WARN_RESERVED_UNDERFLOW = -109;
export const WARN_ASSIGN_RESERVED = -110;
export const WARN_AVAILABLE_UNDERFLOW = -111;

// BUG_ON conditions.
export const BUG_ONLINE_TWICE = -201;
export const BUG_OFFLINE_TWICE = -202;
export const BUG_SYSTEM_RANGE = -203;
export const BUG_SYSTEM_ONLINE = -204;
export const BUG_SYSTEM_NOT_ALLOCATED = -205;

// Placement policies for allocBlock.
export const POLICY_FIRST_FIT = 0;
export const POLICY_BEST_FIT = 1;

// Limits shared by both engines.
export const MAX_CPUS = 8192;
export const MAX_BITS = 256;
export const MAX_BLOCK = 32;
export const MASK_SLOTS = 16;

// Batch opcodes (runBatch): each op is 4 x i32 [opcode, a, b, c]; each result 2 x i32 [status, cpu].
export const OP_ALLOC = 1; // a = mask slot, b = reserved
export const OP_FREE = 2; // a = cpu, b = bit, c = managed
export const OP_ALLOC_BLOCK = 3; // a = mask slot, b = count, c = reserved
export const OP_FREE_BLOCK = 4; // a = cpu, b = base, c = count
export const OP_ALLOC_MANAGED = 5; // a = mask slot
export const MAX_BATCH = 4096;
