// Moving a multi-MSI block to another CPU without interrupt remapping (Linux arch/x86/kernel/apic/msi.c
// msi_set_affinity, vector.c cleanup), as discrete guest steps. Left out: MSI-X, managed interrupts.
//
// A block of n messages shares one address/data pair (PCI 3.0 §6.8.1: the function replaces the low
// log2(n) data bits), so all n vectors live on one CPU and move together. Every protocol below is a
// list of steps that run on the block's current CPU with interrupts disabled — where Linux runs the
// deferred move of a non-remapped MSI (apic_ack_irq → irq_move_irq) — so a harness can let the device
// fire between any two of them.

import { MatrixError } from '../src/alloc/errors.js';
import type { VectorMatrix } from '../src/alloc/matrix.js';
import type { CpuContext, GuestYield } from '../src/machine/guest-interface.js';
import { IrqLayer, type IrqDesc } from './irq.js';
import { LapicDriver, REG_ICR_HIGH, REG_ICR_LOW } from './lapic.js';
import { msiAddressFor, type DestMode } from './msi.js';
import { PciBusDriver, type PciDevice } from './pci.js';
import { MAX_MSI_APIC_ID, VectorDomain, type Placement } from './vector-domain.js';
import { VectorShadow } from './vector-shadow.js';
import { allocRemapTargets, remapMoveSteps, remapSourceCpu, type RemapBinding } from './remap-affinity.js';
import { describeValue } from '../src/hw/describe.js';

export { VectorShadow };

/**
 * How a block moves. The first four reprogram the device's one address/data pair (no remapping); 'remap'
 * rewrites one IRTE per message behind a VT-d unit (remap-affinity.ts), the reference every real system
 * with interrupt remapping uses — it needs a binding with `remap`.
 */
export type MoveProtocol = 'naive' | 'linux' | 'linux-single' | 'safe' | 'remap';
export const MOVE_PROTOCOLS: readonly MoveProtocol[] = ['naive', 'linux', 'linux-single', 'safe', 'remap'];

/** Caller misuse or exhaustion: ENOSPC (no room), EBUSY (a previous move not cleaned up), EINVAL. */
export class AffinityError extends Error {
  override readonly name = 'AffinityError';
  constructor(readonly code: 'ENOSPC' | 'EBUSY' | 'EINVAL', detail: string) {
    super(`${code}: ${detail}`);
  }
}

/** Owner name of Linux's VECTOR_RETRIGGERED marker entries in vector_irq. */
export const RETRIGGERED_OWNER = '(retriggered)';

const MSI_FLAGS = 0x02;
const MSI_ADDRESS_LO = 0x04;
const MSI_ADDRESS_HI = 0x08;
const MSI_FLAGS_64BIT = 1 << 7;
const MSI_FLAGS_MASKBIT = 1 << 8;
const APIC_IRR = 0x200;
const APIC_ISR = 0x100;
const X2APIC_ICR_MSR = 0x830;
const ICR_DELIVERY_PENDING = 1 << 12;

/** A device's MSI block as the kernel tracks it (one msi_desc, n irq descs). */
export interface MsiBlockBinding {
  dev: PciDevice;
  /** Config offset of the MSI capability. */
  cap: number;
  is64: boolean;
  pvm: boolean;
  cpu: number;
  base: number;
  count: number;
  /** Message i → its irq descriptor. */
  descs: IrqDesc[];
  /** Blocks retired by the last move on `cpu`, freed once that CPU has no request pending for them. */
  retired: { cpu: number; blocks: Placement[] } | null;
  /**
   * Behind an interrupt-remapping unit: the device holds a remappable handle, each message its own IRTE
   * and vector (then `cpu`/`base` name where message 0 points; the messages need not be contiguous).
   */
  remap?: RemapBinding;
}

export interface AffinityContext {
  pci: PciBusDriver;
  lapic: LapicDriver;
  irq: IrqLayer;
  domain: VectorDomain;
  apicIds: readonly number[];
  /** How the block's address names its CPU, as the boot chose (default physical). */
  destMode?: DestMode;
  /** Instrumentation: told about every software re-raise (retrigger, forward) just before its IPI. */
  onReraise?: (r: { fromCpu: number; fromVector: number; toCpu: number; toVector: number }) => void;
}

/** One guest step; 'wait' means "not yet, run me again later" (nothing was changed). */
export interface MoveStep {
  label: string;
  run(cpu: CpuContext): 'done' | 'wait';
}

export interface BlockMove {
  protocol: MoveProtocol;
  binding: MsiBlockBinding;
  from: Placement;
  to: Placement;
  /** Safe protocol without PVM: the intermediate block (old CPU, new base), reserved and bound. */
  via: Placement | null;
  /** CPU index every step must run on (the block's CPU before the move). */
  cpu: number;
  steps: MoveStep[];
}

/** Reads the capability and builds the binding for a block programmed by pci_alloc_irq_vectors. */
export function msiBlockBinding(ctx: AffinityContext, cpu: CpuContext, dev: PciDevice, block: Placement, descs: IrqDesc[]): MsiBlockBinding {
  checkContext(ctx);
  checkCpuContext(cpu);
  if (typeof dev !== 'object' || dev === null || !(dev.capabilities instanceof Map)) fail(`dev must be an enumerated PciDevice, got ${describeValue(dev)}`);
  checkPlacement(block, 'block');
  if (!Array.isArray(descs)) fail(`descs must be an array of irq descriptors, got ${describeValue(descs)}`);
  const cap = dev.capabilities.get(0x05);
  if (cap === undefined) throw new AffinityError('EINVAL', `${dev.bdf} has no MSI capability`);
  if (descs.length !== block.count) throw new AffinityError('EINVAL', `${descs.length} descriptors for a block of ${block.count}`);
  const ctrl = ctx.pci.read(cpu, dev, cap + MSI_FLAGS, 2);
  return {
    dev, cap, is64: (ctrl & MSI_FLAGS_64BIT) !== 0, pvm: (ctrl & MSI_FLAGS_MASKBIT) !== 0,
    cpu: block.cpu, base: block.base, count: block.count, descs, retired: null,
  };
}

// ---- Argument checks (the exported entry points take caller-built contexts) -----------------

const fail = (why: string): never => {
  throw new AffinityError('EINVAL', why);
};
const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

export function checkContext(ctx: AffinityContext): void {
  if (typeof ctx !== 'object' || ctx === null) fail(`the affinity context must be an object, got ${describeValue(ctx)}`);
  if (!(ctx.pci instanceof PciBusDriver)) fail('context.pci must be the guest\'s PciBusDriver');
  if (!(ctx.lapic instanceof LapicDriver)) fail('context.lapic must be the guest\'s LapicDriver');
  if (!(ctx.irq instanceof IrqLayer)) fail('context.irq must be the guest\'s IrqLayer');
  if (!(ctx.domain instanceof VectorDomain)) fail('context.domain must be the guest\'s VectorDomain');
  if (!Array.isArray(ctx.apicIds) || !ctx.apicIds.every((id) => isInt(id, 0, 0xffff_fffe))) fail('context.apicIds must list APIC IDs by CPU index');
  if (ctx.destMode !== undefined && ctx.destMode !== 'physical' && ctx.destMode !== 'logical') fail(`context.destMode must be 'physical' or 'logical', got ${describeValue(ctx.destMode)}`);
  if (ctx.onReraise !== undefined && typeof ctx.onReraise !== 'function') fail(`context.onReraise must be a function, got ${describeValue(ctx.onReraise)}`);
}

/** A CPU mask as the planners take it: CPU indexes (duplicates and CPUs not online are ignored). */
export function checkMask(mask: readonly number[]): void {
  if (!Array.isArray(mask)) fail(`a CPU mask must be an array of CPU indexes, got ${describeValue(mask)}`);
  mask.forEach((c, i) => isInt(c, 0, 8191) || fail(`mask[${i}] must be a CPU index 0..8191, got ${describeValue(c)}`));
}

export function checkProtocol(protocol: MoveProtocol): void {
  if (!MOVE_PROTOCOLS.includes(protocol)) fail(`protocol must be one of ${MOVE_PROTOCOLS.join(', ')}, got ${describeValue(protocol)}`);
}

export function checkPlacement(p: Placement, what: string): void {
  if (typeof p !== 'object' || p === null) fail(`${what} must be { cpu, base, count }, got ${describeValue(p)}`);
  if (!isInt(p.cpu, 0, 8191) || !isInt(p.base, 0, 255) || !isInt(p.count, 1, 32) || (p.count & (p.count - 1)) !== 0 || p.base % p.count !== 0) {
    fail(`${what} must be an aligned block { cpu, base, count = 1..32, a power of two }, got { cpu: ${describeValue(p.cpu)}, base: ${describeValue(p.base)}, count: ${describeValue(p.count)} }`);
  }
}

export function checkBinding(b: MsiBlockBinding): void {
  if (typeof b !== 'object' || b === null) fail(`the block binding must be an object (msiBlockBinding()), got ${describeValue(b)}`);
  if (typeof b.dev !== 'object' || b.dev === null || typeof b.dev.bdf !== 'string') fail('binding.dev must be an enumerated PciDevice');
  if (!isInt(b.cap, 0x40, 0xff) || typeof b.is64 !== 'boolean' || typeof b.pvm !== 'boolean') fail('binding.cap/is64/pvm must describe the MSI capability');
  if (b.remap !== undefined) checkRemap(b);
  else checkPlacement({ cpu: b.cpu, base: b.base, count: b.count }, 'the binding\'s block');
  if (!Array.isArray(b.descs) || b.descs.length !== b.count) fail(`binding.descs must hold ${describeValue(b.count)} descriptors`);
}

function checkRemap(b: MsiBlockBinding): void {
  const r = b.remap!;
  if (typeof r !== 'object' || r === null || typeof r.unit?.flushIec !== 'function') fail('binding.remap must name the guest\'s IrUnit');
  if (!isInt(b.count, 1, 32) || (b.count & (b.count - 1)) !== 0) fail(`binding.count must be a power of two 1..32, got ${describeValue(b.count)}`);
  if (!isInt(r.index, 0, 0xffff) || r.index % b.count !== 0 || !isInt(r.sid, 0, 0xffff) || typeof r.eim !== 'boolean') fail('binding.remap must hold an aligned IRTE index, a source-id and eim');
  if (!Array.isArray(r.places) || r.places.length !== b.count || !r.places.every((p) => isInt(p?.cpu, 0, 8191) && isInt(p?.vector, 0x10, 0xff))) {
    fail(`binding.remap.places must give a { cpu, vector } for each of the ${describeValue(b.count)} messages`);
  }
}

export function checkCpuContext(cpu: CpuContext): void {
  if (typeof cpu !== 'object' || cpu === null || typeof cpu.cpuid !== 'function' || typeof cpu.read32 !== 'function') {
    fail(`a CpuContext (the cpu argument of guest code) is required, got ${describeValue(cpu)}`);
  }
}

// ---- Placement on a snapshot of the matrix ---------------------------------------------------

// ---- Planning --------------------------------------------------------------------------------

/** Reserves `p` in the matrix at exactly that place (irq_matrix_assign, bit by bit; rolled back on failure). */
export function reserveAt(m: VectorMatrix, p: Placement): void {
  for (let i = 0; i < p.count; i++) {
    try {
      m.assign(p.cpu, p.base + i);
    } catch (e) {
      for (let j = 0; j < i; j++) m.free(p.cpu, p.base + j);
      throw e instanceof MatrixError ? new AffinityError('ENOSPC', `vector 0x${(p.base + i).toString(16)} on CPU ${p.cpu}: ${e.message}`) : e;
    }
  }
}

const single = (a: { cpu: number; vector: number }): Placement => ({ cpu: a.cpu, base: a.vector, count: 1 });

/** MSI-addressable online CPUs of `mask` (APIC ID ≤ 254: no remapping, 8-bit destination). */
export function targetCpus(apicIds: readonly number[], m: VectorMatrix, mask: readonly number[]): number[] {
  return [...new Set(mask)].filter((c) => apicIds[c] !== undefined && apicIds[c]! <= MAX_MSI_APIC_ID && m.isOnline(c)).sort((a, b) => a - b);
}

/**
 * Allocates the new block (and the safe protocol's intermediate one) and returns the steps that move
 * `b` there. Nothing is touched on failure. `expect`, if given, is the target a planner predicted.
 */
export function planBlockMove(ctx: AffinityContext, b: MsiBlockBinding, mask: readonly number[], protocol: MoveProtocol, expect?: Placement): BlockMove {
  checkContext(ctx);
  checkBinding(b);
  checkMask(mask);
  checkProtocol(protocol);
  if (expect !== undefined) checkPlacement(expect, 'expect');
  if (b.retired !== null) throw new AffinityError('EBUSY', `${b.dev.bdf}: the previous move's vectors on CPU ${b.retired.cpu} are not cleaned up yet`);
  if ((protocol === 'remap') !== (b.remap !== undefined)) {
    throw new AffinityError('EINVAL', protocol === 'remap' ? `${b.dev.bdf} is not behind an interrupt-remapping unit (its binding has no IRTE block)` : `${b.dev.bdf} is remapped: only the remap protocol moves it (its address names an IRTE, not a vector)`);
  }
  if (protocol === 'remap') return planRemapMove(ctx, b, mask, expect);
  const m = ctx.domain.matrix;
  const from: Placement = { cpu: b.cpu, base: b.base, count: b.count };
  const cpus = targetCpus(ctx.apicIds, m, mask).filter((c) => c !== from.cpu);
  if (cpus.length === 0) throw new AffinityError('EINVAL', `mask ${mask.join(',')} names no other online MSI-addressable CPU`);
  let to: Placement;
  let via: Placement | null = null;
  if (protocol === 'safe' && !b.pvm) {
    const hop = VectorShadow.of(m).pickHop(from, cpus);
    if (hop === null) throw new AffinityError('ENOSPC', `no CPU of ${cpus.join(',')} has a block of ${b.count} reachable in single-register steps`);
    reserveAt(m, hop.to);
    if (hop.via !== null) {
      try {
        reserveAt(m, hop.via);
      } catch (e) {
        m.freeBlock(hop.to.cpu, hop.to.base, hop.to.count);
        throw e;
      }
    }
    [to, via] = [hop.to, hop.via];
  } else {
    try {
      // One message is an ordinary vector (irq_matrix_alloc); a block takes an aligned run.
      to = b.count === 1 ? single(m.alloc(cpus)) : m.allocBlock(cpus, b.count);
    } catch (e) {
      if (e instanceof MatrixError && e.code === 'ENOSPC') throw new AffinityError('ENOSPC', `no aligned block of ${b.count} on CPUs ${cpus.join(',')}`);
      throw e;
    }
  }
  if (expect && (expect.cpu !== to.cpu || expect.base !== to.base)) {
    m.freeBlock(to.cpu, to.base, to.count);
    if (via) m.freeBlock(via.cpu, via.base, via.count);
    throw new AffinityError('EINVAL', `planner diverged from the allocator: predicted CPU ${expect.cpu} 0x${expect.base.toString(16)}, got CPU ${to.cpu} 0x${to.base.toString(16)}`);
  }
  return { protocol, binding: b, from, to, via, cpu: from.cpu, steps: moveSteps(ctx, b, protocol, from, to, via) };
}

/** planBlockMove for a remapped binding: a new vector per message, then one IRTE rewrite each. */
function planRemapMove(ctx: AffinityContext, b: MsiBlockBinding, mask: readonly number[], expect?: Placement): BlockMove {
  const fromCpu = remapSourceCpu(b);
  const cpus = targetCpus(ctx.apicIds, ctx.domain.matrix, mask).filter((c) => c !== fromCpu);
  if (cpus.length === 0) throw new AffinityError('EINVAL', `mask ${mask.join(',')} names no other online CPU`);
  const targets = allocRemapTargets(ctx, b, expect ? [expect.cpu] : cpus);
  const first = targets[0]!;
  if (expect && (expect.cpu !== first.cpu || expect.base !== first.vector)) {
    for (const t of targets) ctx.domain.matrix.free(t.cpu, t.vector);
    throw new AffinityError('EINVAL', `planner diverged from the allocator: predicted CPU ${expect.cpu} 0x${expect.base.toString(16)}, got CPU ${first.cpu} 0x${first.vector.toString(16)}`);
  }
  const from: Placement = { cpu: fromCpu, base: b.remap!.places[0]!.vector, count: 1 };
  const to: Placement = { cpu: first.cpu, base: first.vector, count: 1 };
  const guard = (s: MoveStep): MoveStep => ({ label: s.label, run: (c) => (onCpu(ctx, c, fromCpu), s.run(c)) });
  return { protocol: 'remap', binding: b, from, to, via: null, cpu: fromCpu, steps: remapMoveSteps(ctx, b, targets).map(guard) };
}

// ---- Steps -----------------------------------------------------------------------------------

const hex = (v: number) => `0x${v.toString(16)}`;

function onCpu(ctx: AffinityContext, cpu: CpuContext, want: number): void {
  const idx = ctx.irq.cpuIndex(cpu);
  if (idx !== want) throw new AffinityError('EINVAL', `move step runs on CPU ${idx}, must run on CPU ${want} (the block's old CPU)`);
}

/** __pci_write_msi_msg: Message Control (MME rewritten), address, upper address, data; then a read-back. */
function writeMsgSteps(ctx: AffinityContext, b: MsiBlockBinding, cpuIdx: number, base: number): MoveStep[] {
  const { pci } = ctx;
  const dev = b.dev;
  const apic = ctx.apicIds[cpuIdx]!;
  const steps: MoveStep[] = [
    { label: 'write Message Control (MME unchanged)', run: (c) => (pci.write(c, dev, b.cap + MSI_FLAGS, 2, pci.read(c, dev, b.cap + MSI_FLAGS, 2)), 'done') },
    { label: `write address (APIC ${apic}, CPU ${cpuIdx})`, run: (c) => (pci.write(c, dev, b.cap + MSI_ADDRESS_LO, 4, msiAddressFor(ctx, cpuIdx)), 'done') },
  ];
  if (b.is64) steps.push({ label: 'write upper address (0)', run: (c) => (pci.write(c, dev, b.cap + MSI_ADDRESS_HI, 4, 0), 'done') });
  const dataOff = b.cap + (b.is64 ? 0x0c : 0x08);
  steps.push({
    label: `write data (base ${hex(base)})`,
    run: (c) => {
      pci.write(c, dev, dataOff, 2, base & 0xffff);
      pci.read(c, dev, b.cap + MSI_FLAGS, 2); // posting flush, as Linux does
      return 'done';
    },
  });
  return steps;
}

function bindStep(ctx: AffinityContext, b: MsiBlockBinding, blocks: Placement[]): MoveStep {
  const where = blocks.map((p) => `CPU ${p.cpu} ${hex(p.base)}`).join(' and ');
  return {
    label: `install handlers at ${where}`,
    run: () => {
      for (const p of blocks) for (let i = 0; i < p.count; i++) ctx.irq.bind(p.cpu, p.base + i, b.descs[i]!);
      return 'done';
    },
  };
}

/** Sends `vector` to CPU `toCpu` as a fixed IPI (Linux's apic_retrigger_irq → __apic_send_IPI). */
export function sendVector(ctx: AffinityContext, cpu: CpuContext, toCpu: number, vector: number): void {
  const dest = ctx.apicIds[toCpu]!;
  if (ctx.lapic.mode(cpu) === 'x2apic') {
    cpu.wrmsr(X2APIC_ICR_MSR, (BigInt(dest >>> 0) << 32n) | BigInt(vector));
    return;
  }
  for (let i = 0; i < 1000 && ctx.lapic.read(cpu, REG_ICR_LOW) & ICR_DELIVERY_PENDING; i++); // wait_icr_idle
  ctx.lapic.write(cpu, REG_ICR_HIGH, (dest & 0xff) << 24);
  ctx.lapic.write(cpu, REG_ICR_LOW, vector);
}

/** IRR (or ISR) bits of the executing CPU's APIC for vectors base..base+count−1 (an aligned block sits in one register). */
export function pendingBits(ctx: AffinityContext, cpu: CpuContext, p: Placement, reg: 'irr' | 'isr' = 'irr'): number {
  const word = ctx.lapic.read(cpu, (reg === 'irr' ? APIC_IRR : APIC_ISR) + 0x10 * (p.base >>> 5));
  const mask = p.count >= 32 ? 0xffff_ffff : ((1 << p.count) - 1) << (p.base & 31);
  return ((word & mask) >>> (p.base & 31)) >>> 0;
}

/**
 * One marker descriptor per vector and interrupt layer, made on first use: Linux's VECTOR_RETRIGGERED
 * is a constant, not an irq, and a fresh descriptor per move would grow the irq tables without bound.
 */
const markers = new WeakMap<IrqLayer, IrqDesc[]>();

/** Installs Linux's VECTOR_RETRIGGERED marker: the next interrupt on it is swallowed and the entry freed. */
function markRetriggered(ctx: AffinityContext, cpuIdx: number, vector: number): void {
  const irq = ctx.irq;
  let byVector = markers.get(irq);
  if (byVector === undefined) markers.set(irq, (byVector = []));
  const desc = (byVector[vector] ??= irq.newDesc(RETRIGGERED_OWNER, vector, 'ipi', (c, d) => irq.unbind(irq.cpuIndex(c), d.index)));
  irq.bind(cpuIdx, vector, desc);
}

export function isMarker(desc: IrqDesc | undefined): boolean {
  return desc?.owner === RETRIGGERED_OWNER;
}

/** Mask `bits` of the block (read-modify-write), rewrite the message, restore the mask: pending ones go out. */
function maskedUpdate(ctx: AffinityContext, b: MsiBlockBinding, to: Placement, bits: number): MoveStep[] {
  const maskOff = b.cap + (b.is64 ? 0x10 : 0x0c);
  let saved = 0;
  return [
    {
      label: `mask message(s) 0x${(bits >>> 0).toString(16)} (PVM)`,
      run: (c) => {
        saved = ctx.pci.read(c, b.dev, maskOff, 4);
        ctx.pci.write(c, b.dev, maskOff, 4, (saved | bits) >>> 0);
        return 'done';
      },
    },
    ...writeMsgSteps(ctx, b, to.cpu, to.base),
    { label: 'unmask (pending messages go out to the new place)', run: (c) => (ctx.pci.write(c, b.dev, maskOff, 4, saved), 'done') },
  ];
}

/**
 * msi_set_affinity's dance for a block: mark the new vectors on the local (old) CPU
 * VECTOR_RETRIGGERED where unused, new base with the old destination, then the new destination,
 * then retrigger whatever the local IRR holds for the first `n` new vectors.
 */
function dance(ctx: AffinityContext, b: MsiBlockBinding, A: number, to: Placement, n: number): MoveStep[] {
  const seen: number[] = [];
  return [
    {
      label: `mark unused ${hex(to.base)}..+${n - 1} on CPU ${A} VECTOR_RETRIGGERED`,
      run: () => {
        for (let i = 0; i < n; i++) if (!ctx.irq.vectorIrq[A]!.get(to.base + i)) markRetriggered(ctx, A, to.base + i);
        return 'done';
      },
    },
    ...writeMsgSteps(ctx, b, A, to.base),
    ...writeMsgSteps(ctx, b, to.cpu, to.base),
    {
      label: `check IRR of ${hex(to.base)}..+${n - 1} on CPU ${A}`,
      run: (c) => {
        const bits = pendingBits(ctx, c, { cpu: A, base: to.base, count: b.count });
        seen.length = 0;
        for (let i = 0; i < n; i++) if (bits & (1 << i)) seen.push(i);
        return 'done';
      },
    },
    {
      label: 'retrigger what was pending',
      run: (c) => {
        for (const i of seen) {
          ctx.onReraise?.({ fromCpu: A, fromVector: to.base + i, toCpu: to.cpu, toVector: to.base + i });
          sendVector(ctx, c, to.cpu, to.base + i);
        }
        return 'done';
      },
    },
  ];
}

function moveSteps(ctx: AffinityContext, b: MsiBlockBinding, protocol: MoveProtocol, from: Placement, to: Placement, via: Placement | null): MoveStep[] {
  const A = from.cpu;
  const guard = (s: MoveStep): MoveStep => ({ label: s.label, run: (c) => (onCpu(ctx, c, A), s.run(c)) });
  const steps: MoveStep[] = [bindStep(ctx, b, via ? [to, via] : [to])];
  const linuxLike = protocol === 'linux' || protocol === 'linux-single';
  const direct = to.base === from.base || to.cpu === from.cpu; // msi_set_affinity's direct-update cases
  const all = b.count >= 32 ? 0xffff_ffff : (1 << b.count) - 1;
  if (protocol === 'naive') {
    steps.push(...writeMsgSteps(ctx, b, to.cpu, to.base));
  } else if (b.pvm) {
    // Maskable MSI: Linux updates directly while __irq_move_irq holds the moving irq masked — only
    // that irq's message ('linux-single'); the block-adapted form and the safe protocol mask them all.
    steps.push(...maskedUpdate(ctx, b, to, protocol === 'linux-single' ? 1 : all));
  } else if (linuxLike && direct) {
    steps.push(...writeMsgSteps(ctx, b, to.cpu, to.base));
  } else if (linuxLike) {
    steps.push(...dance(ctx, b, A, to, protocol === 'linux' ? b.count : 1));
  } else {
    // Each write changes one register, and every (address, data) pair the device can see is a
    // reserved block with the handlers installed: (A, old) → (A, via) → (B, via), or (A, old) → (B, old).
    if (via) steps.push(...writeMsgSteps(ctx, b, A, via.base));
    steps.push(...writeMsgSteps(ctx, b, to.cpu, to.base));
  }
  const last = steps[steps.length - 1]!;
  const retired = via ? [from, via] : [from];
  steps[steps.length - 1] = {
    label: last.label,
    run: (c) => {
      const r = last.run(c);
      Object.assign(b, { cpu: to.cpu, base: to.base, retired: { cpu: A, blocks: retired } });
      return r;
    },
  };
  return steps.map(guard);
}

// ---- Completing an affinity change -----------------------------------------------------------

/**
 * __vector_cleanup with check_irr on the old CPU: wait while any retired vector is requested or in
 * service there, then remove its handlers and free it in the matrix.
 */
export function cleanupStep(ctx: AffinityContext, b: MsiBlockBinding): MoveStep {
  return {
    label: 'clean up the old vectors once their IRR/ISR bits are clear',
    run: (c) => {
      const r = b.retired;
      if (r === null) return 'done';
      onCpu(ctx, c, r.cpu);
      if (r.blocks.some((p) => pendingBits(ctx, c, p, 'irr') || pendingBits(ctx, c, p, 'isr'))) return 'wait';
      releaseBlocks(ctx, b);
      return 'done';
    },
  };
}

/** Removes the retired blocks' handlers (only entries still ours) and frees them in the matrix. */
export function releaseBlocks(ctx: AffinityContext, b: MsiBlockBinding, unbind = true): void {
  const r = b.retired;
  if (r === null) return;
  r.blocks.forEach((p, j) => {
    // A remapped binding retires one single vector per message, in message order.
    const desc = (i: number) => (b.remap !== undefined ? b.descs[j] : b.descs[i]);
    if (unbind) for (let i = 0; i < p.count; i++) if (ctx.irq.vectorIrq[p.cpu]!.get(p.base + i) === desc(i)) ctx.irq.unbind(p.cpu, p.base + i);
    ctx.domain.matrix.freeBlock(p.cpu, p.base, p.count);
  });
  b.retired = null;
}

/**
 * The full affinity change: move steps, then interrupts back on, then cleanup. Like Linux's
 * assign_vector_locked, a mask that still contains the block's online CPU moves nothing.
 */
export function planSetAffinity(ctx: AffinityContext, b: MsiBlockBinding, mask: readonly number[], protocol: MoveProtocol): BlockMove {
  checkContext(ctx);
  checkBinding(b);
  checkMask(mask);
  checkProtocol(protocol);
  if (b.retired === null && targetCpus(ctx.apicIds, ctx.domain.matrix, mask).includes(b.cpu)) {
    const here: Placement = { cpu: b.cpu, base: b.base, count: b.count };
    return { protocol, binding: b, from: here, to: here, via: null, cpu: b.cpu, steps: [] };
  }
  const mv = planBlockMove(ctx, b, mask, protocol);
  mv.steps.push({ label: 'enable interrupts (sti)', run: (c) => (c.sti(), 'done') }, cleanupStep(ctx, b));
  return mv;
}

/**
 * setAffinity for a whole block, run by guest code on the block's current CPU: `yield*` it from a
 * guest program (it disables interrupts for the move and waits, with them enabled, for the cleanup).
 */
export function setAffinity(ctx: AffinityContext, cpu: CpuContext, b: MsiBlockBinding, mask: readonly number[], protocol: MoveProtocol = 'safe'): Generator<GuestYield, BlockMove, void> {
  // Checked at the call, not at the first step of the generator.
  checkContext(ctx);
  checkCpuContext(cpu);
  checkBinding(b);
  checkMask(mask);
  checkProtocol(protocol);
  return runSetAffinity(ctx, cpu, b, mask, protocol);
}

function* runSetAffinity(ctx: AffinityContext, cpu: CpuContext, b: MsiBlockBinding, mask: readonly number[], protocol: MoveProtocol): Generator<GuestYield, BlockMove, void> {
  const mv = planSetAffinity(ctx, b, mask, protocol);
  cpu.cli();
  for (const s of mv.steps) while (s.run(cpu) === 'wait') yield* cpu.pause(1_000);
  return mv;
}
