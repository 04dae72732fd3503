// CPU hot-unplug with multi-MSI blocks (Linux arch/x86 native_cpu_disable → lapic_can_unplug_cpu,
// fixup_irqs, lapic_offline; kernel/irq/cpuhotplug.c migrate_one_irq). Left out: managed interrupts, CPU 0.
//
// Linux decides "can this CPU go?" by counting: vectors allocated here ≤ vectors available elsewhere
// (its own comment: "not accurate accounting"). A block needs an aligned free run of its size on ONE
// other CPU, so counts can say yes while blocks do not fit. planEvacuation places every block and
// vector on a snapshot first — largest first, each placement visible to the next — and refuses with
// ENOSPC before anything is touched; the evacuation then follows that plan step by step.

import { VectorMatrix } from '../src/alloc/matrix.js';
import type { CpuContext, GuestYield } from '../src/machine/guest-interface.js';
import {
  AffinityError, checkBinding, checkContext, checkCpuContext, checkMask, checkProtocol, isMarker, pendingBits, planBlockMove,
  releaseBlocks, reserveAt, sendVector, targetCpus, VectorShadow,
  type AffinityContext, type MoveProtocol, type MoveStep, type MsiBlockBinding,
} from './affinity.js';
import type { IrqDesc } from './irq.js';
import { remapMoveSteps } from './remap-affinity.js';
import { REG_SVR, SVR_ENABLE } from './lapic.js';
import type { Placement } from './vector-domain.js';
import { describeValue } from '../src/hw/describe.js';

/** Something that owns vectors on the CPU going down. */
export interface EvacItem {
  base: number;
  count: number;
  /** CPUs it may go to (default: every online CPU but the one going down). */
  mask?: readonly number[];
  /** A device block, reprogrammed with the chosen protocol. */
  binding?: MsiBlockBinding;
  /** Otherwise another driver's vectors (message i ↔ base + i): re-pointed in vector_irq only. */
  descs?: readonly (IrqDesc | undefined)[];
  /** Another driver's block whose messages cannot be masked: the safe protocol must place it as it would a device's. */
  unmaskable?: boolean;
}

export interface EvacuationMove {
  item: EvacItem;
  to: Placement;
  /** Safe protocol, block without PVM: the intermediate block on the CPU going down. */
  via: Placement | null;
  /** Placed by the safe protocol's hop rule rather than the allocator's: reserved at exactly `to`. */
  exact: boolean;
  /** A remapped device: the new vector of each message (`to` is message 0's). */
  singles?: Placement[];
}

export interface EvacuationPlan {
  cpu: number;
  protocol: MoveProtocol;
  ok: boolean;
  moves: EvacuationMove[];
  /** The first item that found no room (when !ok). */
  failed: EvacItem | null;
  /** lapic_can_unplug_cpu: irq_matrix_allocated() against irq_matrix_available(cpudown). */
  countCheck: { toMove: number; available: number; ok: boolean };
}

function checkCpu(m: VectorMatrix, cpu: number): void {
  if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0 || cpu >= m.cpus) throw new AffinityError('EINVAL', `CPU ${describeValue(cpu)} does not exist`);
  if (cpu === 0) throw new AffinityError('EINVAL', 'CPU 0 holds the legacy ISA vectors and is not taken offline here');
  if (!m.isOnline(cpu)) throw new AffinityError('EINVAL', `CPU ${cpu} is not online`);
}

const ITEM_KEYS: readonly string[] = ['base', 'count', 'mask', 'binding', 'descs', 'unmaskable'];

/** The shape of every item (placement checks against the matrix come in checkItem). */
function checkItems(items: readonly EvacItem[]): void {
  if (!Array.isArray(items)) throw new AffinityError('EINVAL', `items must be an array, got ${describeValue(items)}`);
  items.forEach((item, i) => {
    if (typeof item !== 'object' || item === null) throw new AffinityError('EINVAL', `items[${i}] must be an object, got ${describeValue(item)}`);
    for (const k of Object.keys(item)) if (!ITEM_KEYS.includes(k)) throw new AffinityError('EINVAL', `items[${i}].${k} is not an item field`);
    if (item.mask !== undefined) checkMask(item.mask);
    if (item.binding !== undefined) checkBinding(item.binding);
    if (item.descs !== undefined && !Array.isArray(item.descs)) throw new AffinityError('EINVAL', `items[${i}].descs must be an array`);
    if (item.unmaskable !== undefined && typeof item.unmaskable !== 'boolean') throw new AffinityError('EINVAL', `items[${i}].unmaskable must be a boolean`);
  });
}

function checkItem(m: VectorMatrix, cpu: number, item: EvacItem): void {
  const { base, count } = item;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 32 || (count & (count - 1)) !== 0 || typeof base !== 'number' || !Number.isInteger(base) || base < 0 || base % count !== 0) {
    throw new AffinityError('EINVAL', `item ${describeValue(base)}+${describeValue(count)} is not an aligned power-of-two block`);
  }
  const remap = item.binding?.remap;
  const vectors = remap ? remap.places.map((p) => p.vector) : Array.from({ length: count }, (_, i) => base + i);
  for (const v of vectors) {
    if (v >= m.bits || !m.isAllocated(cpu, v)) throw new AffinityError('EINVAL', `vector 0x${v.toString(16)} is not allocated on CPU ${cpu}`);
  }
  if (remap && remap.places.some((p) => p.cpu !== cpu)) throw new AffinityError('EINVAL', `${item.binding!.dev.bdf} has messages on other CPUs than ${cpu}`);
  if (item.binding && (item.binding.cpu !== cpu || item.binding.base !== base || item.binding.count !== count)) {
    throw new AffinityError('EINVAL', `${item.binding.dev.bdf} is not the block at 0x${base.toString(16)} on CPU ${cpu}`);
  }
  if (item.binding?.retired) throw new AffinityError('EBUSY', `${item.binding.dev.bdf}: the previous move is not cleaned up`);
}

/** Every vector allocated on `cpu`: the given device blocks there, the rest as single vectors of other drivers. */
export function evacuationItems(ctx: AffinityContext, cpu: number, bindings: readonly MsiBlockBinding[]): EvacItem[] {
  checkContext(ctx);
  checkCpu(ctx.domain.matrix, cpu);
  if (!Array.isArray(bindings)) throw new AffinityError('EINVAL', `bindings must be an array, got ${describeValue(bindings)}`);
  bindings.forEach(checkBinding);
  const items: EvacItem[] = [];
  const covered = new Set<number>();
  for (const b of bindings) {
    if (b.cpu !== cpu) continue;
    items.push({ base: b.base, count: b.count, binding: b });
    for (let i = 0; i < b.count; i++) covered.add(b.remap ? b.remap.places[i]!.vector : b.base + i);
  }
  for (const v of ctx.domain.matrix.vectors(cpu)) {
    if (!covered.has(v)) items.push({ base: v, count: 1, descs: [ctx.irq.vectorIrq[cpu]!.get(v)] });
  }
  return items;
}

/**
 * Block-aware lapic_can_unplug_cpu: places every item on a snapshot of the matrix exactly as the
 * evacuation will, largest first. Pure: the matrix is not touched.
 */
export function planEvacuation(apicIds: readonly number[], m: VectorMatrix, cpu: number, items: readonly EvacItem[], protocol: MoveProtocol): EvacuationPlan {
  if (!Array.isArray(apicIds) || !apicIds.every((id) => typeof id === 'number' && Number.isInteger(id) && id >= 0)) {
    throw new AffinityError('EINVAL', 'apicIds must list APIC IDs by CPU index');
  }
  if (!(m instanceof VectorMatrix)) throw new AffinityError('EINVAL', `the matrix must be a VectorMatrix, got ${describeValue(m)}`);
  checkCpu(m, cpu);
  checkItems(items);
  checkProtocol(protocol);
  const s = m.cpu(cpu);
  const toMove = s.allocated - s.managedAllocated;
  const available = m.available(true, cpu);
  const countCheck = { toMove, available, ok: available >= toMove };
  const shadow = VectorShadow.of(m);
  shadow.online[cpu] = false;
  const all = Array.from({ length: m.cpus }, (_, c) => c);
  const order = [...items].sort((a, b) => b.count - a.count || a.base - b.base);
  const moves: EvacuationMove[] = [];
  for (const item of order) checkItem(m, cpu, item);
  for (const item of order) {
    const cpus = targetCpus(apicIds, m, item.mask ?? all).filter((c) => c !== cpu);
    const from = { cpu, base: item.base, count: item.count };
    let to: Placement | null;
    let via: Placement | null = null;
    let exact = false;
    const unmaskable = item.binding ? !item.binding.pvm : item.unmaskable === true;
    if (item.binding?.remap) {
      // Each message of a remapped device is its own irq: one vector each, placed one after another.
      const singles: Placement[] = [];
      for (let i = 0; i < item.count; i++) {
        const p = shadow.pickBlock(cpus, 1);
        if (p === null) return { cpu, protocol, ok: false, moves, failed: item, countCheck };
        shadow.take(p.cpu, p.base, 1);
        singles.push(p);
      }
      for (const p of item.binding.remap.places) shadow.release(cpu, p.vector, 1);
      moves.push({ item, to: singles[0]!, via: null, exact: false, singles });
      continue;
    }
    if (protocol === 'safe' && unmaskable) {
      const hop = shadow.pickHop(from, cpus);
      to = hop?.to ?? null;
      via = hop?.via ?? null;
      exact = true;
    } else {
      to = shadow.pickBlock(cpus, item.count);
    }
    if (to === null) return { cpu, protocol, ok: false, moves, failed: item, countCheck };
    shadow.take(to.cpu, to.base, to.count);
    // Each old block (and intermediate) is released right after its move: room for the next one.
    shadow.release(cpu, from.base, from.count);
    moves.push({ item, to, via, exact });
  }
  return { cpu, protocol, ok: true, moves, failed: null, countCheck };
}

/**
 * The evacuation of `cpu` as a step queue for that CPU (interrupts disabled throughout, as in
 * take_cpu_down): every move, then the protocol's handling of requests still pending here, then
 * the matrix offline and the APIC soft-disabled. Throws ENOSPC, untouched, when the plan fails.
 */
export function planOffline(ctx: AffinityContext, cpu: number, items: readonly EvacItem[], protocol: MoveProtocol): { plan: EvacuationPlan; queue: StepQueue } {
  checkContext(ctx);
  const m = ctx.domain.matrix;
  const plan = planEvacuation(ctx.apicIds, m, cpu, items, protocol);
  if (!plan.ok) {
    const f = plan.failed!;
    throw new AffinityError('ENOSPC', `CPU ${cpu}: no room for the block of ${f.count} at 0x${f.base.toString(16)} (count check ${plan.countCheck.ok ? 'passes' : 'fails'}: ${plan.countCheck.toMove} to move, ${plan.countCheck.available} available)`);
  }
  /** Where each other driver's descriptor lives now (for fixup_irqs' retrigger). */
  const home = new Map<IrqDesc, { cpu: number; vector: number }>();
  // With remapping Linux runs the same fixup_irqs: requests pending on the dying CPU are retriggered.
  const linuxLike = protocol === 'linux' || protocol === 'linux-single' || protocol === 'remap';
  const queue = new StepQueue();
  const steps: MoveStep[] = plan.moves.map((mv) => (mv.item.binding ? deviceMove(ctx, queue, cpu, mv, protocol) : virtualMove(ctx, cpu, mv, protocol, home)));
  steps.push({
    label: linuxLike ? 'fixup_irqs: retrigger requests pending here, clear the vector table' : 'clear this CPU\'s vector table',
    run: (c) => {
      for (const [v, desc] of [...ctx.irq.vectorIrq[cpu]!]) {
        if (isMarker(desc)) continue; // VECTOR_RETRIGGERED entries stay until the CPU comes back
        if (linuxLike && pendingBits(ctx, c, { cpu, base: v, count: 1 })) {
          const at = home.get(desc) ?? deviceHome(plan, desc);
          if (at) reraise(ctx, c, cpu, v, at.cpu, at.vector);
        }
        ctx.irq.unbind(cpu, v);
      }
      return 'done';
    },
  });
  steps.push({
    label: `take CPU ${cpu} offline (matrix offline, APIC soft-disabled)`,
    run: (c) => {
      m.offline(cpu);
      // After fixup_irqs, as Linux orders it: a soft-disabled APIC would drop requests it still needs.
      ctx.lapic.write(c, REG_SVR, ctx.lapic.read(c, REG_SVR) & ~SVR_ENABLE);
      return 'done';
    },
  });
  queue.insertNext(steps.map((s) => onCpu(ctx, cpu, s)));
  return { plan, queue };
}

function onCpu(ctx: AffinityContext, cpu: number, s: MoveStep): MoveStep {
  return {
    label: s.label,
    run: (c) => {
      if (ctx.irq.cpuIndex(c) !== cpu) throw new AffinityError('EINVAL', `the evacuation of CPU ${cpu} must run on that CPU`);
      return s.run(c);
    },
  };
}

function reraise(ctx: AffinityContext, c: CpuContext, fromCpu: number, fromVector: number, toCpu: number, toVector: number): void {
  ctx.onReraise?.({ fromCpu, fromVector, toCpu, toVector });
  sendVector(ctx, c, toCpu, toVector);
}

function deviceHome(plan: EvacuationPlan, desc: IrqDesc): { cpu: number; vector: number } | null {
  for (const mv of plan.moves) {
    const b = mv.item.binding;
    const i = b ? b.descs.indexOf(desc) : -1;
    if (b && i >= 0) return b.remap ? { ...b.remap.places[i]! } : { cpu: b.cpu, vector: b.base + i };
  }
  return null;
}

/** A device block: allocate where the plan said, then the protocol's steps, then its old vectors. */
function deviceMove(ctx: AffinityContext, queue: StepQueue, cpu: number, mv: EvacuationMove, protocol: MoveProtocol): MoveStep {
  const b = mv.item.binding!;
  return {
    label: `allocate ${b.dev.bdf}'s new block on CPU ${mv.to.cpu}`,
    run: () => {
      const move = b.remap ? remapEvacuation(ctx, b, mv) : planBlockMove(ctx, b, [mv.to.cpu], protocol, mv.to);
      const after: MoveStep =
        protocol === 'safe'
          ? {
              label: 'forward requests pending on the old vectors, free them',
              run: (c) => {
                for (const p of b.retired!.blocks) {
                  const bits = pendingBits(ctx, c, p);
                  for (let i = 0; i < p.count; i++) if (bits & (1 << i)) reraise(ctx, c, cpu, p.base + i, b.cpu, b.base + i);
                }
                releaseBlocks(ctx, b);
                return 'done';
              },
            }
          : protocol === 'naive'
            ? { label: 'free the old vectors', run: () => (releaseBlocks(ctx, b), 'done') }
            : // Linux: the old CPU is already offline for the allocator, its vectors are freed at once;
              // vector_irq keeps them for fixup_irqs' IRR scan.
              { label: 'free the old vectors in the matrix (vector_irq kept for fixup_irqs)', run: () => (releaseBlocks(ctx, b, false), 'done') };
      queue.insertNext([...move.steps, after].map((s) => onCpu(ctx, cpu, s)));
      return 'done';
    },
  };
}

/** A remapped device's messages to the singles the plan chose (allocated in plan order, checked). */
function remapEvacuation(ctx: AffinityContext, b: MsiBlockBinding, mv: EvacuationMove): { steps: MoveStep[] } {
  const m = ctx.domain.matrix;
  const targets = mv.singles!.map((p) => {
    const got = m.alloc([p.cpu]);
    if (got.vector !== p.base) throw new AffinityError('EINVAL', `planner diverged: predicted CPU ${p.cpu} 0x${p.base.toString(16)}, got 0x${got.vector.toString(16)}`);
    return got;
  });
  return { steps: remapMoveSteps(ctx, b, targets) };
}

/** Another driver's vectors: re-pointed to the planned place (its device is not modelled). */
function virtualMove(ctx: AffinityContext, cpu: number, mv: EvacuationMove, protocol: MoveProtocol, home: Map<IrqDesc, { cpu: number; vector: number }>): MoveStep {
  const { item, to } = mv;
  return {
    label: `move ${item.count} vector(s) at 0x${item.base.toString(16)} to CPU ${to.cpu}`,
    run: (c) => {
      const m = ctx.domain.matrix;
      let got: Placement = to;
      if (mv.exact) reserveAt(m, to);
      else got = item.count === 1 ? { cpu: to.cpu, base: m.alloc([to.cpu]).vector, count: 1 } : m.allocBlock([to.cpu], item.count);
      if (got.base !== to.base) throw new AffinityError('EINVAL', `planner diverged: predicted 0x${to.base.toString(16)}, got 0x${got.base.toString(16)}`);
      const bits = pendingBits(ctx, c, { cpu, base: item.base, count: item.count });
      for (let i = 0; i < item.count; i++) {
        const d = item.descs?.[i];
        if (d === undefined) continue;
        ctx.irq.bind(to.cpu, to.base + i, d);
        home.set(d, { cpu: to.cpu, vector: to.base + i });
        if (protocol === 'safe' && bits & (1 << i)) reraise(ctx, c, cpu, item.base + i, to.cpu, to.base + i);
        if (protocol === 'safe' || protocol === 'naive') ctx.irq.unbind(cpu, item.base + i);
      }
      if (item.count === 1) m.free(cpu, item.base);
      else m.freeBlock(cpu, item.base, item.count);
      return 'done';
    },
  };
}

/** Takes `cpu` offline from guest code running on it: `yield*` it (interrupts stay disabled). */
export function offlineCpu(ctx: AffinityContext, cpu: CpuContext, items: readonly EvacItem[], protocol: MoveProtocol = 'safe'): Generator<GuestYield, EvacuationPlan, void> {
  // Checked at the call, not at the first step of the generator.
  checkContext(ctx);
  checkCpuContext(cpu);
  checkItems(items);
  checkProtocol(protocol);
  return runOffline(ctx, cpu, items, protocol);
}

function* runOffline(ctx: AffinityContext, cpu: CpuContext, items: readonly EvacItem[], protocol: MoveProtocol): Generator<GuestYield, EvacuationPlan, void> {
  const idx = ctx.irq.cpuIndex(cpu);
  const { plan, queue } = planOffline(ctx, idx, items, protocol);
  cpu.cli();
  while (!queue.empty) if (queue.runNext(cpu) === 'wait') yield* cpu.pause(1_000);
  return plan;
}

/** A guest program of move steps; a running step may insert further steps right after itself. */
export class StepQueue {
  private readonly q: MoveStep[];
  constructor(steps: readonly MoveStep[] = []) {
    checkSteps(steps);
    this.q = [...steps];
  }
  get empty(): boolean {
    return this.q.length === 0;
  }
  peek(): MoveStep | undefined {
    return this.q[0];
  }
  /** Runs the next step; it leaves the queue only when it reports 'done'. */
  runNext(cpu: CpuContext): 'done' | 'wait' | 'empty' {
    checkCpuContext(cpu);
    const s = this.q[0];
    if (s === undefined) return 'empty';
    const r = s.run(cpu);
    if (r === 'done') this.q.splice(this.q.indexOf(s), 1);
    return r;
  }
  /** Called from inside a running step: `steps` run next, right after it. */
  insertNext(steps: readonly MoveStep[]): void {
    checkSteps(steps);
    this.q.splice(1, 0, ...steps);
  }
}

function checkSteps(steps: readonly MoveStep[]): void {
  if (!Array.isArray(steps)) throw new AffinityError('EINVAL', `steps must be an array of { label, run }, got ${describeValue(steps)}`);
  steps.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || typeof s.label !== 'string' || typeof s.run !== 'function') {
      throw new AffinityError('EINVAL', `steps[${i}] must be { label: string, run(cpu) }, got ${describeValue(s)}`);
    }
  });
}
