// APIC bus / system bus interrupt fabric: destination decode (SDM vol. 3A §11.6.2), lowest-priority
// arbitration (§11.6.2.4), MSI decode (§11.11), EOI broadcast to I/O APICs, and delivery of interrupts a VT-d
// remapping unit has translated (src/hw/iommu). No focus processor.
import type { ApicMessage, DeliveryMode, Destination, EoiListener, InterruptRouter, MsiOutcome } from '../signals.js';
import { ApicUsageError } from './errors.js';
import { checkBool, checkFunction, checkInt, checkOptions } from '../check.js';
import { describeValue } from '../describe.js';
import { checkMessage } from './lapic-core.js';
import { ACCEPT_FIXED, DELIVER_DECODED, DELIVER_MSI, LAST_ACCEPTED } from '../internal.js';
import { LocalApic } from './local-apic.js';
import type { LapicRouter } from './lapic-types.js';
import {
  MSI_ADDRESS_DM_LOGICAL, MSI_ADDRESS_EXT_DEST_MASK, MSI_ADDRESS_EXT_DEST_SHIFT, MSI_ADDRESS_IR_FORMAT,
  MSI_ADDRESS_RH, MSI_ADDRESS_WINDOW, MSI_DATA_LEVEL_ASSERT, MSI_DATA_TRIGGER_LEVEL,
} from './msi-format.js';

/**
 * Picks the one APIC that takes a lowest-priority message. `candidates` are the matching, enabled-or-not
 * APICs in ascending APIC ID order (never empty). Returning undefined drops the message.
 */
export type LowestPriorityPolicy = (candidates: readonly LocalApic[], message: ApicMessage) => LocalApic | undefined;

/** SDM-recommended arbitration: lowest PPR among software-enabled APICs, lowest APIC ID on ties. */
export const lowestPprPolicy: LowestPriorityPolicy = (candidates) => {
  let best: LocalApic | undefined;
  let bestPpr = 0x100;
  for (const c of candidates) {
    if (!c.isSoftwareEnabled) continue; // a disabled APIC would only drop it (KVM skips them too)
    const p = c.ppr;
    if (p < bestPpr) {
      best = c;
      bestPpr = p;
    }
  }
  return best ?? candidates[0]; // none enabled: the first one reports the drop
};

/** QEMU's hw/intc/apic.c behaviour: the first matching APIC by ascending ID, priorities ignored. */
export const firstMatchPolicy: LowestPriorityPolicy = (candidates) => candidates[0];

export interface ApicBusOptions {
  lowestPriority?: LowestPriorityPolicy;
  /**
   * Decode MSI address bits 11:5 as destination ID bits 14:8 (KVM_FEATURE_MSI_EXT_DEST_ID). Off by
   * default: the SDM reserves those bits and hardware without an IOMMU ignores them.
   */
  extendedDestId?: boolean;
}

/** Shared result for "nobody accepted"; frozen, so callers must not push into it. */
const NONE: number[] = Object.freeze([] as number[]) as number[];
const MSI_MODES: readonly (DeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', null, 'extint'];
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** deliverMsi() results: delivered (accepted or dropped by the APIC itself), or why the bus refused it. */
export const MSI_DELIVERED = 0;
export const MSI_NOT_MSI_ADDRESS = 1;
export const MSI_RESERVED_BITS = 2;
export const MSI_RESERVED_DELIVERY_MODE = 3;
export const MSI_NO_DESTINATION = 4;
export const MSI_ILLEGAL_VECTOR = 5;

/** Not a 32-bit pattern (signed or unsigned integer in range): cheap enough for the message path. */
function notPattern(v: number): boolean {
  return typeof v !== 'number' || ((v | 0) !== v && v >>> 0 !== v);
}

const SHORTHANDS: readonly string[] = ['none', 'self', 'all', 'others'];

/** A Destination: id a 32-bit value, mode physical/logical, shorthand, source APIC ID, x2apic flag. */
function checkDestination(dest: Destination): void {
  if (typeof dest !== 'object' || dest === null) throw new ApicUsageError(`destination must be { id, mode, shorthand?, source?, x2apic? }, got ${describeValue(dest)}`);
  const shorthand = dest.shorthand ?? 'none';
  if (!SHORTHANDS.includes(shorthand)) throw new ApicUsageError(`destination shorthand must be one of ${SHORTHANDS.join(', ')}, got ${describeValue(shorthand)}`);
  if (dest.x2apic !== undefined) checkBool(ApicUsageError, 'destination x2apic', dest.x2apic);
  if (dest.source !== undefined) checkInt(ApicUsageError, 'destination source', dest.source, 0, 0xffff_fffe);
  if (shorthand !== 'none') return; // the shorthand alone selects (SDM Table 11-3)
  checkInt(ApicUsageError, 'destination id', dest.id, 0, 0xffff_ffff);
  if (dest.mode !== 'physical' && dest.mode !== 'logical') throw new ApicUsageError(`destination mode must be 'physical' or 'logical', got ${describeValue(dest.mode)}`);
}

export class ApicBus implements InterruptRouter {
  private readonly policy: LowestPriorityPolicy;
  private readonly extendedDestId: boolean;
  /** Attached APICs in ascending hardware APIC ID order. */
  private readonly sorted: LocalApic[] = [];
  private readonly byHwId = new Map<number, LocalApic>();
  /** Physical ID (as currently programmed) → APICs answering to it; disabled APICs are absent. */
  private readonly physical = new Map<number, LocalApic[]>();
  private readonly physicalKey = new Map<LocalApic, number>();
  /**
   * The MSI fast path's view of `physical`: index = destination ID an MSI can name (8 bits, 15 with
   * extended IDs); the APIC when exactly one answers to it, null when none or several do.
   */
  private readonly physicalTable: (LocalApic | null)[];
  /** Who accepted the last deliverMsi(): one APIC (fast path) or the route() result. */
  private acceptedOne: LocalApic | null = null;
  private acceptedIds: number[] | null = null;
  private readonly ioapics: EoiListener[] = [];
  /** Candidate scratch lists, one per re-entrancy depth (a sink may send an IPI while we deliver). */
  private readonly scratch: LocalApic[][] = [];
  private depth = 0;
  /** APICs whose destination matched in the last route() call (accepted or not). */
  private matched = 0;

  constructor(options: ApicBusOptions = {}) {
    const o = checkOptions(ApicUsageError, 'ApicBus options', options, ['lowestPriority', 'extendedDestId']);
    const policy = o.lowestPriority ?? lowestPprPolicy;
    checkFunction(ApicUsageError, 'lowestPriority', policy);
    this.policy = policy as LowestPriorityPolicy;
    this.extendedDestId = checkBool(ApicUsageError, 'extendedDestId', o.extendedDestId ?? false);
    this.physicalTable = new Array<LocalApic | null>(this.extendedDestId ? 0x8000 : 0x100).fill(null);
  }

  /** Attaches a local APIC; an I/O APIC (anything with eoi(vector)) is passed on to attachIoApic. */
  attach(lapic: LocalApic | (EoiListener & { connect?(router: InterruptRouter): void })): void {
    if (!(lapic instanceof LocalApic)) {
      if (typeof (lapic as EoiListener | undefined)?.eoi === 'function') return this.attachIoApic(lapic);
      throw new ApicUsageError('attach() takes a LocalApic or an I/O APIC');
    }
    if (this.byHwId.has(lapic.apicId)) throw new ApicUsageError(`APIC ID ${lapic.apicId} is already attached`);
    this.byHwId.set(lapic.apicId, lapic);
    let i = this.sorted.length;
    while (i > 0 && this.sorted[i - 1]!.apicId > lapic.apicId) i--;
    this.sorted.splice(i, 0, lapic);
    const router: LapicRouter = {
      deliver: (dest, msg) => this.deliver(dest, msg),
      eoiBroadcast: (vector) => this.eoiBroadcast(vector),
      topologyChanged: () => this.reindex(lapic),
    };
    lapic.connect(router);
    this.reindex(lapic);
  }

  /**
   * Registers an EOI listener (an I/O APIC); several may be attached. One that can send (has
   * connect(router), like IoApic) is connected to this bus as well.
   */
  attachIoApic(ioapic: EoiListener & { connect?(router: InterruptRouter): void }): void {
    if (typeof ioapic?.eoi !== 'function') throw new ApicUsageError('attachIoApic() takes an object with eoi(vector)');
    if (this.ioapics.includes(ioapic)) throw new ApicUsageError('this I/O APIC is already attached');
    this.ioapics.push(ioapic);
    ioapic.connect?.(this);
  }

  lapics(): readonly LocalApic[] {
    return this.sorted;
  }

  /** The APIC with this hardware (initial) APIC ID. */
  byId(id: number): LocalApic | undefined {
    checkInt(ApicUsageError, 'APIC ID', id, 0, 0xffff_fffe);
    return this.byHwId.get(id);
  }

  /** §11.8.5: a level-triggered EOI is broadcast to every I/O APIC. */
  eoiBroadcast(vector: number): void {
    checkInt(ApicUsageError, 'EOI vector', vector, 0, 0xff);
    for (const io of this.ioapics) io.eoi(vector);
  }

  /**
   * Delivers `msg` to the APICs selected by `dest`; returns the hardware IDs of those that accepted
   * it (the shared empty array when none did).
   */
  deliver(dest: Destination, msg: ApicMessage): number[] {
    checkDestination(dest);
    checkMessage(msg);
    return this.route(dest, msg, msg.mode === 'lowest');
  }

  /** A DWORD memory write by a bus master: decoded as an MSI if it targets 0xFEExxxxx (§11.11). */
  msiWrite(address: bigint, data: number): MsiOutcome {
    if (typeof address !== 'bigint' || address < 0n || address > U64_MAX) {
      throw new ApicUsageError(`MSI address must be a bigint in [0, 2^64), got ${describeValue(address)}`);
    }
    if (!Number.isInteger(data) || data < 0 || data > 0xffff_ffff) {
      throw new ApicUsageError(`MSI data must be a 32-bit unsigned integer, got ${describeValue(data)}`);
    }
    const lo = Number(address & 0xffff_ffffn);
    const hi = Number(address >> 32n);
    const code = this[DELIVER_MSI](lo, hi, data);
    if (code !== MSI_DELIVERED) return this.msiFailure(code, lo, hi, data);
    const apicIds = this.acceptedIds ?? (this.acceptedOne === null ? NONE : [this.acceptedOne.apicId]);
    return { delivered: true, apicIds, vector: data & 0xff, mode: MSI_MODES[(data >>> 8) & 7]!, trigger: data & MSI_DATA_TRIGGER_LEVEL ? 'level' : 'edge' };
  }

  /**
   * The machine-internal MSI entry point: the same decode and delivery as msiWrite() for a DWORD
   * write of `data` to address hi:lo, all three 32-bit patterns (signed or unsigned), with no BigInt
   * and no allocation on the physical-destination path. Returns MSI_DELIVERED or one of the
   * MSI_* failure codes; msiFailure() turns a code into msiWrite()'s outcome.
   */
  deliverMsi(lo: number, hi: number, data: number): number {
    if (notPattern(lo) || notPattern(hi) || notPattern(data)) {
      throw new ApicUsageError(`deliverMsi takes three 32-bit patterns (address low, address high, data), got ${[lo, hi, data].map(describeValue).join(', ')}`);
    }
    return this[DELIVER_MSI](lo, hi, data);
  }

  /** deliverMsi() for the board, whose halves are 32-bit patterns by construction. */
  [DELIVER_MSI](lo: number, hi: number, data: number): number {
    if (hi !== 0 || lo >>> 20 !== MSI_ADDRESS_WINDOW) return MSI_NOT_MSI_ADDRESS;
    if (lo & MSI_ADDRESS_IR_FORMAT) return MSI_RESERVED_BITS;
    const modeCode = (data >>> 8) & 7;
    if (modeCode === 3 || modeCode === 6) return MSI_RESERVED_DELIVERY_MODE;
    const vector = data & 0xff;
    const levelTriggered = (data & MSI_DATA_TRIGGER_LEVEL) !== 0;
    let id = (lo >>> 12) & 0xff;
    if (this.extendedDestId) id |= ((lo & MSI_ADDRESS_EXT_DEST_MASK) >>> MSI_ADDRESS_EXT_DEST_SHIFT) << 8;
    const fixedLike = modeCode <= 1;
    if (fixedLike && !(lo & MSI_ADDRESS_DM_LOGICAL) && id !== 0xff) {
      // Physical destination naming exactly one APIC: no arbitration even with RH or lowest priority
      // (as route() does for a unique physical ID), straight into that APIC's IRR.
      const lapic = this.physicalTable[id];
      if (lapic !== undefined && lapic !== null) {
        // The level bit matters only for level-triggered messages (§11.11.2); edge messages always assert.
        const ok = lapic[ACCEPT_FIXED](vector, levelTriggered, levelTriggered && (data & MSI_DATA_LEVEL_ASSERT) === 0, modeCode === 1);
        this.acceptedOne = ok ? lapic : null;
        this.acceptedIds = null;
        // Delivered so the receiver latches ESR "receive illegal vector", but nothing reaches a CPU.
        return vector < 16 ? MSI_ILLEGAL_VECTOR : MSI_DELIVERED;
      }
    }
    const mode = MSI_MODES[modeCode]!;
    const level = !levelTriggered || (data & MSI_DATA_LEVEL_ASSERT) !== 0;
    // DM is decoded even with RH = 0, as chipsets, QEMU and KVM do (Linux logical mode relies on it).
    const dm = lo & MSI_ADDRESS_DM_LOGICAL ? 'logical' : 'physical';
    const arbitrate = modeCode === 1 || (fixedLike && (lo & MSI_ADDRESS_RH) !== 0);
    const ids = this.route({ id, mode: dm }, { vector, mode, trigger: levelTriggered ? 'level' : 'edge', level }, arbitrate);
    if (this.matched === 0) return MSI_NO_DESTINATION;
    this.acceptedIds = ids;
    this.acceptedOne = null;
    return fixedLike && vector < 16 ? MSI_ILLEGAL_VECTOR : MSI_DELIVERED;
  }

  /**
   * The board's entry for an interrupt a remapping unit has translated (VT-d §5.1.4): destination `id`
   * (32 bits when `x2apic`, as IRTA.EIME selects), DM, RH and compatibility-format data. Same codes as
   * DELIVER_MSI; arguments are the unit's own output, already in range.
   */
  [DELIVER_DECODED](id: number, x2apic: boolean, logical: boolean, rh: boolean, data: number): number {
    const modeCode = (data >>> 8) & 7;
    if (modeCode === 3 || modeCode === 6) return MSI_RESERVED_DELIVERY_MODE;
    if (!x2apic && modeCode <= 1 && !logical && id !== 0xff) {
      const lapic = this.physicalTable[id];
      if (lapic !== undefined && lapic !== null) {
        const levelTriggered = (data & MSI_DATA_TRIGGER_LEVEL) !== 0;
        const vector = data & 0xff;
        const ok = lapic[ACCEPT_FIXED](vector, levelTriggered, levelTriggered && (data & MSI_DATA_LEVEL_ASSERT) === 0, modeCode === 1);
        this.acceptedOne = ok ? lapic : null;
        this.acceptedIds = null;
        return vector < 16 ? MSI_ILLEGAL_VECTOR : MSI_DELIVERED;
      }
    }
    return this.routeDecoded(id, x2apic, logical, rh, data);
  }

  /** APIC IDs that accepted the last DELIVER_MSI / DELIVER_DECODED (the shared empty array when none). */
  [LAST_ACCEPTED](): number[] {
    return this.acceptedIds ?? (this.acceptedOne === null ? NONE : [this.acceptedOne.apicId]);
  }

  /** DELIVER_DECODED's general path (DELIVER_MSI's, with an x2APIC destination possible): route() with arbitration for lowest priority, or RH on fixed/lowest. */
  private routeDecoded(id: number, x2apic: boolean, logical: boolean, rh: boolean, data: number): number {
    const modeCode = (data >>> 8) & 7;
    const fixedLike = modeCode <= 1;
    const vector = data & 0xff;
    const levelTriggered = (data & MSI_DATA_TRIGGER_LEVEL) !== 0;
    const mode = MSI_MODES[modeCode]!;
    const level = !levelTriggered || (data & MSI_DATA_LEVEL_ASSERT) !== 0;
    const arbitrate = modeCode === 1 || (fixedLike && rh);
    const dest: Destination = x2apic ? { id, mode: logical ? 'logical' : 'physical', x2apic: true } : { id, mode: logical ? 'logical' : 'physical' };
    const ids = this.route(dest, { vector, mode, trigger: levelTriggered ? 'level' : 'edge', level }, arbitrate);
    if (this.matched === 0) return MSI_NO_DESTINATION;
    this.acceptedIds = ids;
    this.acceptedOne = null;
    return fixedLike && vector < 16 ? MSI_ILLEGAL_VECTOR : MSI_DELIVERED;
  }

  /** msiWrite()'s outcome for a deliverMsi() failure code (the detail texts are part of reports). */
  msiFailure(code: number, lo: number, hi: number, data: number): MsiOutcome & { delivered: false } {
    if (notPattern(lo) || notPattern(hi) || notPattern(data)) {
      throw new ApicUsageError(`msiFailure takes three 32-bit patterns after the code, got ${[lo, hi, data].map(describeValue).join(', ')}`);
    }
    switch (code) {
      case MSI_NOT_MSI_ADDRESS:
        return hi !== 0
          ? { delivered: false, reason: 'not-msi-address', detail: `0x${((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16)}: upper address DWORD is not 0` }
          : { delivered: false, reason: 'not-msi-address', detail: `0x${(lo >>> 0).toString(16)} is outside 0xFEE00000–0xFEEFFFFF` };
      case MSI_RESERVED_BITS:
        return { delivered: false, reason: 'reserved-bits', detail: 'address bit 4 (remappable format) set without an IOMMU' };
      case MSI_RESERVED_DELIVERY_MODE:
        return { delivered: false, reason: 'reserved-delivery-mode', detail: `data delivery mode ${(data >>> 8) & 7} is reserved` };
      case MSI_NO_DESTINATION: {
        let id = (lo >>> 12) & 0xff;
        if (this.extendedDestId) id |= ((lo & MSI_ADDRESS_EXT_DEST_MASK) >>> MSI_ADDRESS_EXT_DEST_SHIFT) << 8;
        const dm = lo & MSI_ADDRESS_DM_LOGICAL ? 'logical' : 'physical';
        return { delivered: false, reason: 'no-destination', detail: `no APIC matches ${dm} destination 0x${id.toString(16)}` };
      }
      case MSI_ILLEGAL_VECTOR:
        return { delivered: false, reason: 'illegal-vector', detail: `vector ${data & 0xff} is below 16` };
      default:
        throw new ApicUsageError(`not an MSI failure code: ${describeValue(code)}`);
    }
  }

  // ---- internals ----

  private route(dest: Destination, msg: ApicMessage, arbitrate: boolean): number[] {
    const shorthand = dest.shorthand ?? 'none';
    if (shorthand !== 'none') return this.routeShorthand(shorthand, dest.source, msg, arbitrate);
    const id = dest.id;
    const x2 = dest.x2apic === true;
    if (dest.mode === 'physical' && !(x2 ? id === 0xffff_ffff : id === 0xff)) {
      // Fast path: one map lookup, no candidate list (a unique physical ID needs no arbitration).
      const list = this.physical.get(id);
      if (list === undefined) {
        this.matched = 0;
        return NONE;
      }
      if (list.length === 1) {
        const ok = list[0]!.accept(msg);
        this.matched = 1; // after accept(): a re-entrant route() may have overwritten it
        return ok ? [list[0]!.apicId] : NONE;
      }
      return this.dispatch(list, msg, arbitrate);
    }
    const c = this.candidates();
    for (const l of this.sorted) {
      if (dest.mode === 'physical' ? l.matchesPhysical(id, x2) : l.matchesLogical(id, x2)) c.push(l);
    }
    return this.dispatchScratch(c, msg, arbitrate);
  }

  private routeShorthand(shorthand: string, source: number | undefined, msg: ApicMessage, arbitrate: boolean): number[] {
    const src = source === undefined ? undefined : this.byHwId.get(source);
    if (src === undefined) throw new ApicUsageError(`shorthand '${shorthand}' needs the source APIC ID of an attached APIC, got ${describeValue(source)}`);
    if (shorthand === 'self') {
      const ok = src.accept(msg);
      this.matched = 1;
      return ok ? [src.apicId] : NONE;
    }
    if (shorthand !== 'all' && shorthand !== 'others') throw new ApicUsageError(`unknown shorthand ${shorthand}`);
    const c = this.candidates();
    for (const l of this.sorted) if (l.mode !== 'disabled' && (shorthand === 'all' || l !== src)) c.push(l);
    return this.dispatchScratch(c, msg, arbitrate);
  }

  private candidates(): LocalApic[] {
    const c = (this.scratch[this.depth] ??= []);
    c.length = 0;
    this.depth++;
    return c;
  }

  private dispatchScratch(c: LocalApic[], msg: ApicMessage, arbitrate: boolean): number[] {
    try {
      return this.dispatch(c, msg, arbitrate);
    } finally {
      c.length = 0;
      this.depth--;
    }
  }

  private dispatch(list: readonly LocalApic[], msg: ApicMessage, arbitrate: boolean): number[] {
    const matched = list.length;
    if (matched === 0) {
      this.matched = 0;
      return NONE;
    }
    if (arbitrate) {
      const winner = this.policy(list, msg);
      const ok = winner !== undefined && winner.accept(msg);
      this.matched = matched;
      return ok ? [winner.apicId] : NONE;
    }
    let out: number[] = NONE;
    for (const l of list) {
      if (l.accept(msg)) {
        if (out === NONE) out = [];
        out.push(l.apicId);
      }
    }
    this.matched = matched; // accept() may have re-entered route() and overwritten it
    return out;
  }

  /** Keeps the physical-ID index current after an ID write or a mode change of `lapic`. */
  private reindex(lapic: LocalApic): void {
    const old = this.physicalKey.get(lapic);
    const now = lapic.mode === 'disabled' ? undefined : lapic.physicalId;
    if (old === now) return;
    if (old !== undefined) {
      const list = this.physical.get(old)!;
      list.splice(list.indexOf(lapic), 1);
      if (list.length === 0) this.physical.delete(old);
      this.physicalKey.delete(lapic);
    }
    if (now !== undefined) {
      const list = this.physical.get(now);
      if (list === undefined) this.physical.set(now, [lapic]);
      else {
        list.push(lapic);
        list.sort((a, b) => a.apicId - b.apicId);
      }
      this.physicalKey.set(lapic, now);
    }
    if (old !== undefined) this.updateTable(old);
    if (now !== undefined) this.updateTable(now);
  }

  private updateTable(id: number): void {
    if (id >= this.physicalTable.length) return; // beyond what an MSI can name
    const list = this.physical.get(id);
    this.physicalTable[id] = list !== undefined && list.length === 1 ? list[0]! : null;
  }
}
