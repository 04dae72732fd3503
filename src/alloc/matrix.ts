// The public vector matrix: kernel/irq/matrix.c's API in camelCase over either engine, with input
// validation, typed errors and the debugfs dump. All policy lives in the engines; this layer only
// checks arguments, moves masks into engine slots and turns status codes into results or errors.
// It runs at the engine's speed: on success nothing is formatted and nothing allocated but the
// result; error text is composed when read; frozen masks stay encoded in engine slots.

import * as S from '../../assembly/status.js';
import type { EngineName, MatrixCore, Placement } from './core.js';
import { CpuMask, formatList, toCpuMask, type CpuMaskInput } from './cpumask.js';
import { MatrixError, statusError } from './errors.js';
import { JsMatrixCore } from './js-core.js';
import { compileMatrixModule, WasmMatrixCore } from './wasm/wasm-core.js';

export { compileMatrixModule };

/** x86-64 (Linux >= 6.10): irq_alloc_matrix(NR_VECTORS, FIRST_EXTERNAL_VECTOR, FIRST_SYSTEM_VECTOR). */
export const X86_MATRIX = { bits: 256, start: 0x20, end: 0xeb } as const;
/** System bits lapic_assign_system_vectors() sets inside the allocation range: PIC cascade, syscall. */
export const X86_SYSTEM_BITS: readonly number[] = [0x32, 0x80];
/** ISA_IRQ_VECTOR(0..15) minus the cascade (IRQ 2): the legacy vectors the BSP holds at boot. */
export const X86_LEGACY_VECTORS: readonly number[] = [0x30, 0x31, ...Array.from({ length: 13 }, (_, i) => 0x33 + i)];

/** Matrix presets: one x86 kernel generation each ('x86' = 'x86-6.10', the newest). */
export type MatrixPreset = 'x86' | 'x86-6.10' | 'x86-6.6' | 'x86-6.1';
export interface PresetLayout {
  readonly bits: number;
  readonly start: number;
  readonly end: number;
  /** Bits assigned as system vectors inside [start, end) before any CPU comes online. */
  readonly system: readonly number[];
}
/**
 * Per generation, from arch/x86/include/asm/irq_vectors.h and lapic_assign_system_vectors()
 * (arch/x86/kernel/apic/vector.c), matrix from arch_early_irq_init (kernel/irq/matrix.c):
 *  6.1 (and back to 4.15): FIRST_SYSTEM_VECTOR 0xEC; IRQ_MOVE_CLEANUP_VECTOR = 0x20 is a system vector.
 *  6.6..6.9: the move-cleanup vector is gone (cleanup runs from a timer), end still 0xEC.
 *  6.10+: POSTED_MSI_NOTIFICATION_VECTOR 0xEB becomes FIRST_SYSTEM_VECTOR.
 * All keep 0x32 (PIC cascade, with nr_legacy_irqs() > 1) and 0x80 (IA32_SYSCALL_VECTOR).
 */
export const X86_PRESETS: Readonly<Record<MatrixPreset, PresetLayout>> = Object.freeze({
  'x86': { ...X86_MATRIX, system: X86_SYSTEM_BITS },
  'x86-6.10': { ...X86_MATRIX, system: X86_SYSTEM_BITS },
  'x86-6.6': { bits: 256, start: 0x20, end: 0xec, system: X86_SYSTEM_BITS },
  'x86-6.1': { bits: 256, start: 0x20, end: 0xec, system: [0x20, ...X86_SYSTEM_BITS] },
});
export const MATRIX_PRESETS: readonly MatrixPreset[] = Object.freeze(Object.keys(X86_PRESETS) as MatrixPreset[]);

export interface MatrixOptions {
  /** Possible CPUs (1..8192); all start offline. */
  cpus: number;
  engine?: EngineName;
  bits?: number;
  start?: number;
  end?: number;
  /** Run placement inside the chosen CPU for allocBlock; default firstFit. */
  placement?: Placement;
  /**
   * An x86 kernel generation's geometry and in-range system bits (as `preset NAME` in a script):
   * 'x86' / 'x86-6.10' [0x20,0xEB) + 0x32, 0x80; 'x86-6.6' [0x20,0xEC) + 0x32, 0x80;
   * 'x86-6.1' [0x20,0xEC) + 0x20, 0x32, 0x80.
   */
  preset?: MatrixPreset;
}

export interface Allocation { cpu: number; vector: number }
export interface BlockAllocation { cpu: number; base: number; count: number }
export interface MatrixStats {
  onlineMaps: number;
  globalAvailable: number;
  globalReserved: number;
  totalAllocated: number;
  systembitsInalloc: number;
}
export interface CpuStats {
  cpu: number;
  online: boolean;
  initialized: boolean;
  available: number;
  allocated: number;
  managed: number;
  managedAllocated: number;
  /** Largest free aligned block (0, 1, 2, 4, 8, 16 or 32 vectors). */
  largestFreeBlock: number;
}

function checkInt(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new MatrixError('EINVAL', `${name} must be an integer, got ${String(v)}`);
  if (v < lo || v > hi) throw new MatrixError('EINVAL', `${name} ${v} is outside ${lo}..${hi}`);
  return v;
}

/** The fast-path check: an integer in [0, limit). */
function isIndex(v: unknown, limit: number): v is number {
  return typeof v === 'number' && (v | 0) === v && v >= 0 && v < limit;
}

/** The fast-path check of a block size. */
function isBlockCount(n: unknown): n is number {
  return n === 1 || n === 2 || n === 4 || n === 8 || n === 16 || n === 32;
}

/** A block size: a power of two 1..32. */
function countArg(count: unknown): number {
  const n = checkInt('count', count, 1, S.MAX_BLOCK);
  if ((n & (n - 1)) !== 0) throw new MatrixError('EINVAL', `count ${n} is not a power of two`);
  return n;
}

function checkBool(name: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'boolean') throw new MatrixError('EINVAL', `${name} must be a boolean, got ${String(v)}`);
  return v ? 1 : 0;
}

/** Slot 0 takes each call's transient mask; the others cache frozen masks, reused round robin. */
const TRANSIENT_SLOT = 0;

export class VectorMatrix {
  readonly cpus: number;
  readonly bits: number;
  readonly start: number;
  readonly end: number;
  /** The frozen mask held in each engine slot (index 0 unused). */
  private readonly slotMasks: Array<CpuMask | null> = new Array<CpuMask | null>(S.MASK_SLOTS).fill(null);
  private nextSlot = 1;

  constructor(
    /** The engine; exposed for benchmarks and differential tests. */
    readonly core: MatrixCore,
    readonly placement: Placement,
  ) {
    this.cpus = core.cpus;
    this.bits = core.bits;
    this.start = core.start;
    this.end = core.end;
  }

  get engine(): EngineName {
    return this.core.engine;
  }

  private cpuArg(cpu: unknown): number {
    return checkInt('cpu', cpu, 0, this.cpus - 1);
  }
  private bitArg(bit: unknown, name = 'bit'): number {
    return checkInt(name, bit, 0, this.bits - 1);
  }
  /** A bit the engine range-checks itself (the kernel WARNs outside [start, end)): any safe integer >= 0. */
  private rangeBitArg(bit: unknown, name = 'bit'): number {
    return checkInt(name, bit, 0, 0x7fffffff);
  }
  /**
   * A frozen mask over this matrix's CPUs, validated once: pass it to alloc, allocBlock,
   * allocManaged, reserveManaged or removeManaged and the engine uses it without re-encoding.
   */
  mask(input: CpuMaskInput): CpuMask {
    const m = toCpuMask(input, this.cpus);
    const out = m.nbits === this.cpus && m.frozen ? m : CpuMask.of(this.cpus, []);
    if (out !== m) out.words.set(m.words.subarray(0, out.words.length));
    out.freeze();
    this.slotOf(out);
    return out;
  }

  /** The engine slot holding `input`: a frozen mask's own slot, or slot 0 re-encoded for this call. */
  private slotOf(input: CpuMaskInput): number {
    if (input instanceof CpuMask && input.frozen) {
      const slot = input.encodedSlot;
      if (input.encodedIn === this && this.slotMasks[slot] === input) return slot;
      return this.encodeFrozen(input);
    }
    this.core.writeMask(TRANSIENT_SLOT, toCpuMask(input, this.cpus).words);
    return TRANSIENT_SLOT;
  }

  private encodeFrozen(m: CpuMask): number {
    toCpuMask(m, this.cpus); // validates CPUs beyond this matrix once
    const slot = this.nextSlot;
    this.nextSlot = slot + 1 < S.MASK_SLOTS ? slot + 1 : 1;
    const old = this.slotMasks[slot];
    if (old && old.encodedIn === this) old.encodedIn = null;
    this.slotMasks[slot] = m;
    m.encodedIn = this;
    m.encodedSlot = slot;
    this.core.writeMask(slot, m.words);
    return slot;
  }

  /** The mask as text for an error message (composed only when the error is read). */
  private maskText(input: CpuMaskInput): string {
    return input instanceof CpuMask ? input.toString() : toCpuMask(input, this.cpus).toString();
  }
  private check(status: number, context: string): number {
    if (status < 0) throw statusError(status, context);
    return status;
  }

  /** irq_matrix_online. */
  online(cpu: number): void {
    this.check(this.core.online(this.cpuArg(cpu)), `online ${cpu}`);
  }
  /** irq_matrix_offline. */
  offline(cpu: number): void {
    this.check(this.core.offline(this.cpuArg(cpu)), `offline ${cpu}`);
  }
  /** irq_matrix_assign_system; `replace` takes the bit back from CPU 0's allocations. */
  assignSystem(bit: number, replace = false): void {
    const b = checkInt('bit', bit, 0, 0x7fffffff);
    this.check(this.core.assignSystem(b, checkBool('replace', replace)), `assign_system ${bit}`);
  }
  /** irq_matrix_assign on `cpu` (the kernel's local CPU); a bit outside the range is a WARN, as there. */
  assign(cpu: number, bit: number): void {
    this.check(this.core.assign(this.cpuArg(cpu), this.rangeBitArg(bit)), `assign ${cpu} ${bit}`);
  }
  /** irq_matrix_reserve: book-keeping only. */
  reserve(): void {
    this.check(this.core.reserve(), 'reserve');
  }
  /** irq_matrix_remove_reserved. */
  removeReserved(): void {
    this.check(this.core.removeReserved(), 'remove_reserved');
  }
  /** irq_matrix_reserve_managed: one managed bit on every CPU of the mask (offline CPUs too), all or nothing. */
  reserveManaged(mask: CpuMaskInput): void {
    const st = this.core.reserveManaged(this.slotOf(mask));
    if (st < 0) throw statusError(st, () => `reserve_managed ${this.maskText(mask)}`);
  }
  /** irq_matrix_remove_managed. */
  removeManaged(mask: CpuMaskInput): void {
    const st = this.core.removeManaged(this.slotOf(mask));
    if (st < 0) {
      const cpu = this.core.lastCpu();
      throw statusError(st, () => `remove_managed ${this.maskText(mask)} (CPU ${cpu})`);
    }
  }
  /** irq_matrix_alloc. */
  alloc(mask: CpuMaskInput, reserved = false): Allocation {
    const slot = this.slotOf(mask);
    const vector = this.core.alloc(slot, reserved === false ? 0 : checkBool('reserved', reserved));
    if (vector < 0) throw statusError(vector, () => `alloc ${this.maskText(mask)}`);
    return { cpu: this.core.lastCpu(), vector };
  }
  /** irq_matrix_alloc_managed. */
  allocManaged(mask: CpuMaskInput): Allocation {
    const vector = this.core.allocManaged(this.slotOf(mask));
    if (vector < 0) throw statusError(vector, () => `alloc_managed ${this.maskText(mask)}`);
    return { cpu: this.core.lastCpu(), vector };
  }
  /** irq_matrix_free. */
  free(cpu: number, bit: number, managed = false): void {
    const c = isIndex(cpu, this.cpus) ? cpu : this.cpuArg(cpu);
    const b = isIndex(bit, 0x80000000) ? bit : this.rangeBitArg(bit);
    const st = this.core.free(c, b, managed === false ? 0 : checkBool('managed', managed));
    if (st < 0) throw statusError(st, () => `free ${cpu} ${bit}${managed ? ' managed' : ''}`);
  }
  /** Extension: `count` (1..32, power of two) vectors at a base aligned to `count`, on one CPU. */
  allocBlock(mask: CpuMaskInput, count: number, reserved = false): BlockAllocation {
    if (!isBlockCount(count)) countArg(count);
    const slot = this.slotOf(mask);
    const base = this.core.allocBlock(slot, count, reserved === false ? 0 : checkBool('reserved', reserved));
    if (base < 0) throw statusError(base, () => `alloc_block ${this.maskText(mask)} ${count}`);
    return { cpu: this.core.lastCpu(), base, count };
  }
  /** Frees a block from allocBlock (all of its bits must be allocated, none managed). */
  freeBlock(cpu: number, base: number, count: number): void {
    if (!isBlockCount(count)) countArg(count);
    const b = isIndex(base, 0x80000000) ? base : this.rangeBitArg(base, 'base');
    if ((b & (count - 1)) !== 0) throw new MatrixError('EINVAL', `base ${b} is not aligned to ${count}`);
    const c = isIndex(cpu, this.cpus) ? cpu : this.cpuArg(cpu);
    const st = this.core.freeBlock(c, b, count);
    if (st < 0) throw statusError(st, () => `free_block ${cpu} ${base} ${count}`);
  }
  /** irq_matrix_available; with cpudown, less what `cpu` (the CPU going down) has. */
  available(cpudown = false, cpu = 0): number {
    return this.check(this.core.available(checkBool('cpudown', cpudown), this.cpuArg(cpu)), 'available');
  }
  /** irq_matrix_reserved. */
  reserved(): number {
    return this.core.globalReserved();
  }
  /** irq_matrix_allocated for `cpu`. */
  allocated(cpu: number): number {
    return this.core.cpuAllocated(this.cpuArg(cpu));
  }

  get onlineMaps(): number { return this.core.onlineMaps(); }
  get globalAvailable(): number { return this.core.globalAvailable(); }
  get globalReserved(): number { return this.core.globalReserved(); }
  get totalAllocated(): number { return this.core.totalAllocated(); }
  get systembitsInalloc(): number { return this.core.systembitsInalloc(); }

  stats(): MatrixStats {
    return {
      onlineMaps: this.onlineMaps,
      globalAvailable: this.globalAvailable,
      globalReserved: this.globalReserved,
      totalAllocated: this.totalAllocated,
      systembitsInalloc: this.systembitsInalloc,
    };
  }

  cpu(cpu: number): CpuStats {
    const c = this.cpuArg(cpu);
    const flags = this.core.cpuFlags(c);
    return {
      cpu: c,
      online: (flags & 1) !== 0,
      initialized: (flags & 2) !== 0,
      available: this.core.cpuAvailable(c),
      allocated: this.core.cpuAllocated(c),
      managed: this.core.cpuManaged(c),
      managedAllocated: this.core.cpuManagedAllocated(c),
      largestFreeBlock: this.core.cpuLargestFree(c),
    };
  }

  isOnline(cpu: number): boolean {
    return (this.core.cpuFlags(this.cpuArg(cpu)) & 1) !== 0;
  }

  private bitsOf(word: (i: number) => number): number[] {
    const out: number[] = [];
    for (let i = 0; i < 8; i++) {
      let w = word(i) >>> 0;
      while (w !== 0) {
        const b = 31 - Math.clz32(w & -w);
        out.push(i * 32 + b);
        w = (w & (w - 1)) >>> 0;
      }
    }
    return out;
  }
  /** Bits set in the CPU's alloc_map, ascending. */
  vectors(cpu: number): number[] {
    const c = this.cpuArg(cpu);
    return this.bitsOf((i) => this.core.allocWord(c, i));
  }
  /** Bits set in the CPU's managed_map (reserved for managed interrupts), ascending. */
  managedVectors(cpu: number): number[] {
    const c = this.cpuArg(cpu);
    return this.bitsOf((i) => this.core.managedWord(c, i));
  }
  /** Bits set in the system_map, ascending. */
  systemVectors(): number[] {
    return this.bitsOf((i) => this.core.systemWord(i));
  }
  isAllocated(cpu: number, bit: number): boolean {
    const c = this.cpuArg(cpu);
    const b = this.bitArg(bit);
    return ((this.core.allocWord(c, b >>> 5) >>> (b & 31)) & 1) === 1;
  }
  largestFreeBlock(cpu: number): number {
    return this.core.cpuLargestFree(this.cpuArg(cpu));
  }

  /** The kernel's debugfs view (irq_matrix_debug_show with its one-space indent). */
  dump(): string {
    const pad = (n: number, w: number) => String(n).padStart(w);
    const sys = this.systemVectors();
    const lines = [
      `Online bitmaps:   ${pad(this.onlineMaps, 6)}`,
      `Global available: ${pad(this.globalAvailable, 6)}`,
      `Global reserved:  ${pad(this.globalReserved, 6)}`,
      `Total allocated:  ${pad(this.totalAllocated, 6)}`,
      `System: ${sys.length}: ${formatList(sys)}`,
      ` | CPU | avl | man | mac | act | vectors`,
    ];
    for (let c = 0; c < this.cpus; c++) {
      if ((this.core.cpuFlags(c) & 1) === 0) continue;
      const s = this.cpu(c);
      lines.push(
        `  ${pad(c, 4)}  ${pad(s.available, 4)}  ${pad(s.managed, 4)}  ${pad(s.managedAllocated, 4)} ${pad(s.allocated, 4)}  ${formatList(this.vectors(c))}`,
      );
    }
    return lines.join('\n') + '\n';
  }
}

/** Creates a vector matrix on the chosen engine ('wasm' by default). */
export async function createMatrix(options: MatrixOptions): Promise<VectorMatrix> {
  return createMatrixSync(options, options?.engine === 'js' ? undefined : await compileMatrixModule());
}

/**
 * Synchronous createMatrix for callers that cannot await (guest firmware); the wasm engine needs
 * the module compiled beforehand with compileMatrixModule().
 */
export function createMatrixSync(options: MatrixOptions, wasmModule?: WebAssembly.Module): VectorMatrix {
  if (options === null || typeof options !== 'object') throw new MatrixError('EINVAL', 'createMatrix needs an options object');
  const cpus = checkInt('cpus', options.cpus, 1, S.MAX_CPUS);
  const geo = (typeof options.preset === 'string' && Object.hasOwn(X86_PRESETS, options.preset) ? X86_PRESETS[options.preset] : undefined) ?? X86_MATRIX;
  const bits = checkInt('bits', options.bits ?? geo.bits, 1, S.MAX_BITS);
  const start = checkInt('start', options.start ?? geo.start, 0, bits - 1);
  const end = checkInt('end', options.end ?? geo.end, start + 1, bits);
  const engine = options.engine ?? 'wasm';
  if (engine !== 'wasm' && engine !== 'js') throw new MatrixError('EINVAL', `engine must be "wasm" or "js", got ${String(engine)}`);
  const placement = options.placement ?? 'firstFit';
  if (placement !== 'firstFit' && placement !== 'bestFit') {
    throw new MatrixError('EINVAL', `placement must be "firstFit" or "bestFit", got ${String(placement)}`);
  }
  const preset = options.preset === undefined ? undefined : presetLayout(options.preset);
  if (preset && (bits !== preset.bits || start !== preset.start || end !== preset.end)) {
    throw new MatrixError('EINVAL', `preset ${options.preset} fixes the geometry to bits ${preset.bits}, start 0x${preset.start.toString(16)}, end 0x${preset.end.toString(16)}`);
  }
  const policy = placement === 'bestFit' ? S.POLICY_BEST_FIT : S.POLICY_FIRST_FIT;
  let core: MatrixCore;
  if (engine === 'wasm') {
    if (!wasmModule) throw new MatrixError('EINVAL', 'the wasm engine needs a compiled module (await compileMatrixModule())');
    core = WasmMatrixCore.createSync(wasmModule, cpus, bits, start, end, policy);
  } else {
    core = new JsMatrixCore(cpus, bits, start, end, policy);
  }
  const m = new VectorMatrix(core, placement);
  if (preset) for (const b of preset.system) m.assignSystem(b, false);
  return m;
}

/** The layout of a preset name; EINVAL naming the known ones otherwise. */
export function presetLayout(name: unknown): PresetLayout {
  if (typeof name !== 'string' || !Object.hasOwn(X86_PRESETS, name)) {
    throw new MatrixError('EINVAL', `preset must be one of ${MATRIX_PRESETS.map((p) => `"${p}"`).join(', ')}, got ${typeof name === 'string' ? JSON.stringify(name) : String(name)}`);
  }
  return X86_PRESETS[name as MatrixPreset];
}
