// A VT-d remapping hardware unit, interrupt-remapping subset (VT-d spec rev. 4.x ch. 5, §6.5.2, ch. 7,
// §9.10, §10.4): the register page, interrupt translation through an IRTE cache, queued invalidation and
// fault logging. Left out: DMA remapping (TE/SRTP only set their status bits), posted interrupts (CAP.PI = 0),
// advanced fault logging, IQER details, page requests, more than one unit per machine.
import { checkBool, checkFunction, checkInt, checkOptions, checkU32Pattern, checkBigint } from '../check.js';
import { describeValue } from '../describe.js';
import { RemappingUsageError } from './errors.js';
import { FaultLog, type FaultRecording } from './fault-log.js';
import { InvalidationQueue, physical, type QueueErrorCause, type RemappingMemory } from './invalidation-queue.js';
import { irteHasReservedBits, MSI_HANDLE15, MSI_REMAPPABLE, MSI_SHV, sourceIdMatches, IRTE_P, IRTE_FPD, IRTE_DM, IRTE_RH, IRTE_TM, IRTE_DLM_SHIFT, IRTE_VECTOR_SHIFT } from './irte.js';
import * as R from './registers.js';
import { loadUnitState, saveUnitState, type RemappingUnitState, type UnitInternals } from './unit-state.js';

export interface RemappingUnitOptions {
  /** Guest-physical memory: IRTEs and descriptors are read from it, wait status is written to it. */
  memory: RemappingMemory;
  /** The unit's own interrupts (fault event, invalidation completion): compatibility-format MSIs. */
  interrupt?: (addressLo: number, addressHi: number, data: number) => void;
  /** ECAP.EIM: 32-bit x2APIC destinations (IRTA.EIME). Default true. */
  eim?: boolean;
  /** ECAP.MHMV: largest IEC index mask (and Linux's largest IRTE block, 2^MHMV). Default 15, as QEMU. */
  mhmv?: number;
  /** ECAP.QI. Default true; false makes a unit the spec does not allow with IR (for negative tests of a guest). */
  qi?: boolean;
  /** Fault recording registers (CAP.NFR + 1), 1..128. Default 8. */
  faultRecords?: number;
  /** CAP.ESIRTPS: SIRTP also invalidates the interrupt entry cache. Default false. */
  esirtps?: boolean;
  onEvent?: (event: RemappingEvent) => void;
}

/** The configuration a unit was built with (part of its snapshot). */
export interface RemappingUnitConfig {
  eim: boolean;
  mhmv: number;
  qi: boolean;
  faultRecords: number;
  esirtps: boolean;
}

/** Guest behaviour the hardware tolerates, faults, and the unit's own interrupts — reported, never thrown. */
export type RemappingEvent =
  | { kind: 'fault'; reason: R.FaultReason; name: R.FaultName; index: number; sourceId: number; recording: FaultRecording | 'suppressed' }
  | { kind: 'queue-error'; cause: QueueErrorCause; head: number }
  | { kind: 'event-interrupt'; source: 'fault' | 'completion'; addressLo: number; addressHi: number; data: number }
  | { kind: 'unsupported-access'; offset: number; size: number; access: 'read' | 'write' }
  | { kind: 'reserved-offset'; offset: number; access: 'read' | 'write' }
  | { kind: 'read-only-register'; offset: number; value: number }
  | { kind: 'ignored-command'; command: string; why: string };

/** Everything the unit did with interrupt requests and invalidations; every blocked request is here. */
export interface RemappingCounters {
  /** Requests seen by interrupt(). */
  requests: number;
  translated: number;
  /** Forwarded untranslated: remapping off, or compatibility format while CFIS = 1. */
  passedThrough: number;
  /** Requests blocked by a fault (= the sum of `faults`). */
  blocked: number;
  faults: Record<R.FaultName, number>;
  /** Of the faults: written to a record, suppressed by FPD, overflowed (set PFO), lost (PFO already set). */
  recorded: number;
  suppressed: number;
  overflowed: number;
  lost: number;
  cacheHits: number;
  cacheMisses: number;
  iecGlobal: number;
  iecIndexed: number;
  /** Cached IRTEs dropped by invalidations (IEC descriptors, SIRTP with ESIRTPS). */
  iecEntriesDropped: number;
  waits: number;
  /** Context-cache, IOTLB, device-TLB and PASID descriptors: accepted, nothing to do. */
  otherDescriptors: number;
  queueErrors: number;
  faultEvents: number;
  completionEvents: number;
}

/** interrupt() results. */
export const REMAP_TRANSLATED = 0;
export const REMAP_PASSTHROUGH = 1;
export const REMAP_BLOCKED = 2;

/** The remapped interrupt of the last REMAP_TRANSLATED, or the fault of the last REMAP_BLOCKED. */
export interface RemapOutput {
  /** APIC ID / logical MDA: 8 bits when x2apic is false, 32 when true (IRTA.EIME). */
  dest: number;
  x2apic: boolean;
  logical: boolean;
  redirectionHint: boolean;
  /** Compatibility MSI data: vector 7:0, delivery mode 10:8, level assert 14, trigger 15. */
  data: number;
  /** The interrupt index the request named (handle, + sub-handle with SHV). */
  index: number;
  /** Fault reason of a blocked request (0 otherwise). */
  reason: number;
}

const FAULT_KEYS = Object.values(R.FAULT_NAMES);
const DEFAULT_FAULT_RECORDS = 8;
const MAX_FAULT_RECORDS = 128;
/** Host address width: 39 bits (CAP.MGAW = 38, DMAR HAW − 1 = 38), QEMU's default before 9.0. */
export const VTD_HOST_ADDRESS_WIDTH = 39;
const ONE_SHOT_UNSUPPORTED: readonly [number, string][] = [[R.GCMD_SFL, 'SFL'], [R.GCMD_EAFL, 'EAFL'], [R.GCMD_WBF, 'WBF']];

function zeroCounters(): RemappingCounters {
  const faults = Object.fromEntries(FAULT_KEYS.map((k) => [k, 0])) as Record<R.FaultName, number>;
  return {
    requests: 0, translated: 0, passedThrough: 0, blocked: 0, faults, recorded: 0, suppressed: 0, overflowed: 0, lost: 0,
    cacheHits: 0, cacheMisses: 0, iecGlobal: 0, iecIndexed: 0, iecEntriesDropped: 0, waits: 0, otherDescriptors: 0,
    queueErrors: 0, faultEvents: 0, completionEvents: 0,
  };
}

/**
 * Register semantics (documented contract; the README lists the choices):
 * - 32-bit accesses at 4-byte-aligned offsets are the guest's path (mmioRead/mmioWrite); 64-bit registers
 *   are two dwords (the low dword of IQT starts processing). read64/write64 serve embedders.
 * - Interrupt requests are processed synchronously: interrupt() translates or faults at once; an IQT
 *   write processes every descriptor up to the tail before it returns.
 * - The IRTE cache holds every present, well-formed entry on first use and forgets it only on an IEC
 *   invalidation covering it (or SIRTP with ESIRTPS): a guest that rewrites an IRTE without invalidating
 *   keeps getting the old one.
 */
export class RemappingUnit {
  readonly config: Readonly<RemappingUnitConfig>;
  /** Result of the last interrupt(); reused, never reallocated. */
  readonly out: RemapOutput = { dest: 0, x2apic: false, logical: false, redirectionHint: false, data: 0, index: 0, reason: 0 };
  private readonly memory: RemappingMemory;
  private readonly sendMsi: (addressLo: number, addressHi: number, data: number) => void;
  private readonly onEvent: (event: RemappingEvent) => void;
  private readonly capLo: number;
  private readonly capHi: number;
  private readonly ecap: number;
  private gsts = 0;
  private rtaddrLo = 0;
  private rtaddrHi = 0;
  private ccmdLo = 0;
  private ccmdHi = 0;
  private irtaLo = 0;
  private irtaHi = 0;
  /** The table latched by the last SIRTP (§10.4.31). */
  private tableLo = 0;
  private tableHi = 0;
  private tableEntries = 0;
  private eime = false;
  private readonly cache = new Map<number, Uint32Array>();
  private readonly irteBuf = new Uint8Array(16);
  private readonly irteView = new DataView(this.irteBuf.buffer);
  private counts: RemappingCounters = zeroCounters();
  private readonly faultLog: FaultLog;
  private readonly queue: InvalidationQueue;

  constructor(options: RemappingUnitOptions) {
    const E = RemappingUsageError;
    const o = checkOptions(E, 'RemappingUnit options', options, ['memory', 'interrupt', 'eim', 'mhmv', 'qi', 'faultRecords', 'esirtps', 'onEvent']);
    const memory = o.memory as RemappingMemory;
    if (typeof memory !== 'object' || memory === null || typeof memory.read !== 'function' || typeof memory.write !== 'function') {
      throw new E(`RemappingUnit options.memory must be { read(address, into), write(address, from) }, got ${describeValue(memory)}`);
    }
    if (o.interrupt !== undefined) checkFunction(E, 'RemappingUnit options.interrupt', o.interrupt);
    if (o.onEvent !== undefined) checkFunction(E, 'RemappingUnit options.onEvent', o.onEvent);
    this.config = Object.freeze({
      eim: checkBool(E, 'RemappingUnit options.eim', o.eim ?? true),
      mhmv: checkInt(E, 'RemappingUnit options.mhmv', o.mhmv ?? 15, 0, 15),
      qi: checkBool(E, 'RemappingUnit options.qi', o.qi ?? true),
      faultRecords: checkInt(E, 'RemappingUnit options.faultRecords', o.faultRecords ?? DEFAULT_FAULT_RECORDS, 1, MAX_FAULT_RECORDS),
      esirtps: checkBool(E, 'RemappingUnit options.esirtps', o.esirtps ?? false),
    });
    this.memory = memory;
    this.sendMsi = (o.interrupt as RemappingUnitOptions['interrupt']) ?? (() => {});
    this.onEvent = (o.onEvent as RemappingUnitOptions['onEvent']) ?? (() => {});
    const c = this.config;
    // CAP (§10.4.2): ND = 2, SAGAW = 4-level, MGAW, FRO, NFR, ESIRTPS; no PI, no RWBF, no AFL.
    this.capLo = ((2 << R.CAP_ND_SHIFT) | (0b00100 << R.CAP_SAGAW_SHIFT) | ((VTD_HOST_ADDRESS_WIDTH - 1) << R.CAP_MGAW_SHIFT) | ((R.FRCD_OFFSET >>> 4) << R.CAP_FRO_SHIFT)) >>> 0;
    this.capHi = (((R.FRCD_OFFSET >>> 4) >>> 8) | ((c.faultRecords - 1) << (R.CAP_NFR_SHIFT - 32)) | (c.esirtps ? 1 << (R.CAP_ESIRTPS_BIT - 32) : 0)) >>> 0;
    this.ecap = (R.ECAP_C | (c.qi ? R.ECAP_QI : 0) | R.ECAP_IR | (c.eim ? R.ECAP_EIM : 0) | ((R.IOTLB_REG_OFFSET >>> 4) << R.ECAP_IRO_SHIFT) | (c.mhmv << R.ECAP_MHMV_SHIFT)) >>> 0;
    this.faultLog = new FaultLog(c.faultRecords, {
      sendEvent: (lo, hi, data) => this.eventInterrupt('fault', lo, hi, data),
      queueErrorCleared: () => this.queue.process(),
    });
    this.queue = new InvalidationQueue({
      memory,
      mhmv: c.mhmv,
      invalidate: (global, index, mask) => this.invalidate(global, index, mask),
      queueError: (cause, head) => {
        this.counts.queueErrors++;
        this.onEvent({ kind: 'queue-error', cause, head });
        this.faultLog.raiseQueueError();
      },
      queueErrorPending: () => this.faultLog.queueError,
      sendCompletion: (lo, hi, data) => this.eventInterrupt('completion', lo, hi, data),
      processed: (type) => {
        if (type === R.DESC_WAIT) this.counts.waits++;
        else if (type !== R.DESC_IEC) this.counts.otherDescriptors++;
      },
    });
  }

  // ---- status for reports --------------------------------------------------------------------

  /** GSTS.IRES: remapping is on. */
  get enabled(): boolean {
    return (this.gsts & R.GCMD_IRE) !== 0;
  }

  /** A copy of the counters. */
  counters(): RemappingCounters {
    return { ...this.counts, faults: { ...this.counts.faults } };
  }

  /** Indices of the cached IRTEs, ascending. */
  cachedIndices(): number[] {
    return [...this.cache.keys()].sort((a, b) => a - b);
  }

  // ---- interrupt requests (ch. 5) -------------------------------------------------------------

  /**
   * An interrupt request (a DWORD write to 0xFEExxxxx, or an I/O APIC message) from requester `sourceId`
   * (bus << 8 | dev << 3 | fn). REMAP_TRANSLATED: `out` holds the remapped interrupt; REMAP_PASSTHROUGH:
   * deliver the request unchanged; REMAP_BLOCKED: a fault (`out.reason`), recorded unless suppressed.
   */
  interrupt(addressLo: number, addressHi: number, data: number, sourceId: number): number {
    const E = RemappingUsageError;
    const lo = checkU32Pattern(E, 'interrupt address (low dword)', addressLo);
    const hi = checkU32Pattern(E, 'interrupt address (high dword)', addressHi);
    const d = checkU32Pattern(E, 'interrupt data', data);
    checkInt(E, 'interrupt source-id', sourceId, 0, 0xffff);
    return this.remap(lo, hi, d, sourceId);
  }

  private remap(lo: number, hi: number, data: number, sid: number): number {
    const c = this.counts;
    c.requests++;
    const out = this.out;
    out.reason = 0;
    out.index = 0;
    // §5.1: with IRES clear every request passes untranslated (QEMU: vtd_interrupt_remap_msi "do_not_translate").
    if (!(this.gsts & R.GCMD_IRE)) {
      c.passedThrough++;
      return REMAP_PASSTHROUGH;
    }
    if (hi !== 0 || lo >>> 20 !== 0xfee) return this.fault(R.FR_RESERVED_REQUEST, 0, sid, false);
    if (!(lo & MSI_REMAPPABLE)) {
      // §5.1.2.1: compatibility format passes only while CFIS = 1, and never in x2APIC mode (QEMU).
      if (this.eime || !(this.gsts & R.GCMD_CFI)) return this.fault(R.FR_COMPAT_BLOCKED, 0, sid, false);
      c.passedThrough++;
      return REMAP_PASSTHROUGH;
    }
    // §5.1.2.2: handle[14:0] in 19:5, handle[15] in bit 2; with SHV the sub-handle (data 15:0) is added.
    const handle = ((lo >>> 5) & 0x7fff) | ((lo & MSI_HANDLE15) << 13);
    let index = handle;
    if (lo & MSI_SHV) {
      if (data >>> 16 !== 0) return this.fault(R.FR_RESERVED_REQUEST, handle, sid, false);
      index = handle + (data & 0xffff);
    }
    out.index = index;
    if (index >= this.tableEntries) return this.fault(R.FR_INDEX_BEYOND_TABLE, index, sid, false);
    let e = this.cache.get(index);
    if (e === undefined) {
      c.cacheMisses++;
      const base = physical(this.tableLo, this.tableHi);
      if (base < 0 || !this.memory.read(base + index * 16, this.irteBuf)) return this.fault(R.FR_TABLE_READ, index, sid, false);
      const v = this.irteView;
      const w0 = v.getUint32(0, true);
      const w1 = v.getUint32(4, true);
      const w2 = v.getUint32(8, true);
      const w3 = v.getUint32(12, true);
      if (!(w0 & IRTE_P)) return this.fault(R.FR_NOT_PRESENT, index, sid, (w0 & IRTE_FPD) !== 0);
      if (irteHasReservedBits(w0, w1, w2, w3, this.eime)) return this.fault(R.FR_RESERVED_IRTE, index, sid, (w0 & IRTE_FPD) !== 0);
      e = Uint32Array.of(w0, w1, w2);
      this.cache.set(index, e); // only present, well-formed entries are cached
    } else {
      c.cacheHits++;
    }
    const w0 = e[0]!;
    if (!sourceIdMatches(e[2]!, sid)) return this.fault(R.FR_SOURCE_ID, index, sid, (w0 & IRTE_FPD) !== 0);
    out.x2apic = this.eime;
    out.dest = this.eime ? e[1]! >>> 0 : (e[1]! >>> 8) & 0xff;
    out.logical = (w0 & IRTE_DM) !== 0;
    out.redirectionHint = (w0 & IRTE_RH) !== 0;
    // Level messages assert (bit 14); trigger from TM (bit 15), delivery mode from DLM.
    const tm = w0 & IRTE_TM ? 0xc000 : 0;
    out.data = (((w0 >>> IRTE_VECTOR_SHIFT) & 0xff) | (((w0 >>> IRTE_DLM_SHIFT) & 7) << 8) | tm) >>> 0;
    c.translated++;
    return REMAP_TRANSLATED;
  }

  private fault(reason: number, index: number, sid: number, fpd: boolean): number {
    const c = this.counts;
    const name = R.FAULT_NAMES[reason as R.FaultReason];
    c.blocked++;
    c.faults[name]++;
    let recording: FaultRecording | 'suppressed';
    if (fpd && R.QUALIFIED_FAULTS.has(reason)) {
      recording = 'suppressed';
      c.suppressed++;
    } else {
      recording = this.faultLog.record(reason, index, sid);
      if (recording === 'recorded') c.recorded++;
      else if (recording === 'overflow') c.overflowed++;
      else c.lost++;
    }
    this.out.reason = reason;
    this.out.index = index;
    this.onEvent({ kind: 'fault', reason: reason as R.FaultReason, name, index, sourceId: sid, recording });
    return REMAP_BLOCKED;
  }

  /** IEC invalidation (§6.5.2.7): global, or the 2^mask entries of the aligned block holding `index`. */
  private invalidate(global: boolean, index: number, mask: number): void {
    if (global) {
      this.counts.iecGlobal++;
      this.counts.iecEntriesDropped += this.cache.size;
      this.cache.clear();
      return;
    }
    this.counts.iecIndexed++;
    const first = index & ~((1 << mask) - 1);
    const end = first + (1 << mask);
    if (this.cache.size < end - first) {
      for (const k of [...this.cache.keys()]) if (k >= first && k < end && this.cache.delete(k)) this.counts.iecEntriesDropped++;
    } else {
      for (let k = first; k < end; k++) if (this.cache.delete(k)) this.counts.iecEntriesDropped++;
    }
  }

  private eventInterrupt(source: 'fault' | 'completion', lo: number, hi: number, data: number): void {
    if (source === 'fault') this.counts.faultEvents++;
    else this.counts.completionEvents++;
    this.onEvent({ kind: 'event-interrupt', source, addressLo: lo >>> 0, addressHi: hi >>> 0, data: data >>> 0 });
    this.sendMsi(lo >>> 0, hi >>> 0, data >>> 0);
  }

  // ---- register page (§10.4) -----------------------------------------------------------------

  /**
   * A guest load of `size` bytes at `offset` in the register page. Aligned dwords are the architected
   * access; narrower reads return their byte lanes (registers have no read side effects); a read that
   * crosses a dword reads all ones. Both of the latter are reported as 'unsupported-access'.
   */
  mmioRead(offset: number, size: number): number {
    checkInt(RemappingUsageError, 'register offset', offset, 0, R.VTD_MMIO_SIZE - 1);
    if (size !== 1 && size !== 2 && size !== 4) throw new RemappingUsageError(`access size must be 1, 2 or 4, got ${describeValue(size)}`);
    if (size === 4 && (offset & 3) === 0) return this.read32(offset);
    this.onEvent({ kind: 'unsupported-access', offset, size, access: 'read' });
    if ((offset & 3) + size > 4 || offset + size > R.VTD_MMIO_SIZE) return size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
    return (this.read32(offset & ~3) >>> ((offset & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  }

  /** A guest store: only aligned dwords reach a register; anything else is dropped and reported. */
  mmioWrite(offset: number, size: number, value: number): void {
    checkInt(RemappingUsageError, 'register offset', offset, 0, R.VTD_MMIO_SIZE - 1);
    if (size !== 1 && size !== 2 && size !== 4) throw new RemappingUsageError(`access size must be 1, 2 or 4, got ${describeValue(size)}`);
    const v = checkU32Pattern(RemappingUsageError, 'register value', value);
    if (size === 4 && (offset & 3) === 0) this.write32(offset, v);
    else this.onEvent({ kind: 'unsupported-access', offset, size, access: 'write' });
  }

  /** The dword at 4-aligned `offset`. */
  read32(offset: number): number {
    this.checkAligned(offset, 4);
    switch (offset) {
      case R.VER: return R.VER_VALUE;
      case R.CAP: return this.capLo;
      case R.CAP + 4: return this.capHi;
      case R.ECAP: return this.ecap;
      case R.ECAP + 4: return 0;
      case R.GCMD: return 0; // write-only
      case R.GSTS: return this.gsts >>> 0;
      case R.RTADDR: return this.rtaddrLo;
      case R.RTADDR + 4: return this.rtaddrHi;
      case R.CCMD: return this.ccmdLo;
      case R.CCMD + 4: return this.ccmdHi;
      case R.FSTS: return this.faultLog.fsts;
      case R.FECTL: return this.faultLog.fectlValue;
      case R.FEDATA: return this.faultLog.readData('data');
      case R.FEADDR: return this.faultLog.readData('addr');
      case R.FEUADDR: return this.faultLog.readData('uaddr');
      case R.IQH: return this.queue.iqh;
      case R.IQT: return this.queue.tail;
      case R.IQA: return this.queue.iqaLo;
      case R.IQA + 4: return this.queue.iqaHi;
      case R.ICS: return this.queue.icsValue;
      case R.IECTL: return this.queue.iectlValue;
      case R.IEDATA: return this.queue.readData('data');
      case R.IEADDR: return this.queue.readData('addr');
      case R.IEUADDR: return this.queue.readData('uaddr');
      case R.IQH + 4: case R.IQT + 4: case R.IQER: case R.IQER + 4: return 0;
      case R.IRTA: return this.irtaLo;
      case R.IRTA + 4: return this.irtaHi;
    }
    if (offset >= R.IOTLB_REG_OFFSET && offset < R.IOTLB_REG_OFFSET + 16) return 0;
    const rec = this.recordAt(offset);
    if (rec >= 0) return this.faultLog.readRecord(rec, (offset - R.FRCD_OFFSET - rec * 16) >>> 2);
    this.onEvent({ kind: 'reserved-offset', offset, access: 'read' });
    return 0;
  }

  /** A dword store at 4-aligned `offset`. */
  write32(offset: number, value: number): void {
    this.checkAligned(offset, 4);
    const v = checkU32Pattern(RemappingUsageError, 'register value', value);
    switch (offset) {
      case R.VER: case R.CAP: case R.CAP + 4: case R.ECAP: case R.ECAP + 4: case R.GSTS: case R.IQH: case R.IQH + 4: case R.IQER: case R.IQER + 4:
        this.onEvent({ kind: 'read-only-register', offset, value: v });
        return;
      case R.GCMD: return this.command(v);
      case R.RTADDR: this.rtaddrLo = v; return;
      case R.RTADDR + 4: this.rtaddrHi = v; return;
      case R.CCMD: this.ccmdLo = v; return;
      case R.CCMD + 4: this.ccmdHi = (v & 0x7fff_ffff) >>> 0; return; // ICC (bit 63) clears at once: nothing to invalidate
      case R.FSTS: return this.faultLog.writeFsts(v);
      case R.FECTL: return this.faultLog.writeFectl(v);
      case R.FEDATA: return this.faultLog.writeData('data', v);
      case R.FEADDR: return this.faultLog.writeData('addr', v);
      case R.FEUADDR: return this.faultLog.writeData('uaddr', v);
      case R.IQT: return this.queue.writeIqt(v);
      case R.IQT + 4: return; // 63:19 reserved
      case R.IQA: case R.IQA + 4:
        // §10.4.24: IQA may change only while the queue is off; later writes are dropped and reported.
        if (this.gsts & R.GCMD_QIE) {
          this.onEvent({ kind: 'ignored-command', command: 'IQA write', why: 'queued invalidation is enabled (QIES = 1)' });
          return;
        }
        if (offset === R.IQA) this.queue.writeIqa(v, this.queue.iqaHi);
        else this.queue.writeIqa(this.queue.iqaLo, v);
        return;
      case R.ICS: return this.queue.writeIcs(v);
      case R.IECTL: return this.queue.writeIectl(v);
      case R.IEDATA: return this.queue.writeData('data', v);
      case R.IEADDR: return this.queue.writeData('addr', v);
      case R.IEUADDR: return this.queue.writeData('uaddr', v);
      case R.IRTA: this.irtaLo = (v & R.IRTA_LO_WRITABLE) >>> 0; return;
      case R.IRTA + 4: this.irtaHi = v; return;
    }
    if (offset >= R.IOTLB_REG_OFFSET && offset < R.IOTLB_REG_OFFSET + 16) return; // IOTLB: nothing cached
    const rec = this.recordAt(offset);
    if (rec >= 0) return this.faultLog.writeRecord(rec, (offset - R.FRCD_OFFSET - rec * 16) >>> 2, v);
    this.onEvent({ kind: 'reserved-offset', offset, access: 'write' });
  }

  /** A 64-bit register at 8-aligned `offset` (two dwords, low first). */
  read64(offset: number): bigint {
    this.checkAligned(offset, 8);
    return (BigInt(this.read32(offset + 4)) << 32n) | BigInt(this.read32(offset));
  }

  /** A 64-bit store: high dword first, so an IQT or IRTA write acts on the complete value. */
  write64(offset: number, value: bigint): void {
    this.checkAligned(offset, 8);
    checkBigint(RemappingUsageError, 'register value', value, 0n, 0xffff_ffff_ffff_ffffn);
    this.write32(offset + 4, Number(value >> 32n));
    this.write32(offset, Number(value & 0xffff_ffffn));
  }

  private checkAligned(offset: number, size: number): void {
    checkInt(RemappingUsageError, 'register offset', offset, 0, R.VTD_MMIO_SIZE - size);
    if (offset % size !== 0) throw new RemappingUsageError(`register offset 0x${offset.toString(16)} is not ${size}-byte aligned`);
  }

  private recordAt(offset: number): number {
    const n = (offset - R.FRCD_OFFSET) >> 4;
    return offset >= R.FRCD_OFFSET && n < this.config.faultRecords ? n : -1;
  }

  /**
   * GCMD (§10.4.4): one-shot bits act whenever written; lasting enables act when they differ from GSTS
   * (Linux writes its shadow of the enables with each one-shot bit).
   */
  private command(v: number): void {
    if (v & R.GCMD_SIRTP) this.latchTable();
    if (v & R.GCMD_SRTP) this.gsts |= R.GCMD_SRTP; // root table pointer: latched only as status
    for (const [bit, name] of ONE_SHOT_UNSUPPORTED) {
      if (v & bit) this.onEvent({ kind: 'ignored-command', command: name, why: 'not supported by this unit (CAP reports none of SFL/AFL/RWBF)' });
    }
    const changed = (v ^ this.gsts) & R.GCMD_LASTING;
    if (changed & R.GCMD_QIE) {
      if (!(v & R.GCMD_QIE)) {
        if (this.queue.disable()) this.gsts &= ~R.GCMD_QIE;
        else this.onEvent({ kind: 'ignored-command', command: 'QIE clear', why: 'descriptors pending (IQH ≠ IQT)' });
      } else if (!this.config.qi) {
        this.onEvent({ kind: 'ignored-command', command: 'QIE', why: 'ECAP.QI = 0' });
      } else {
        this.gsts |= R.GCMD_QIE;
        this.queue.enable();
      }
    }
    if (changed & R.GCMD_IRE) {
      if (v & R.GCMD_IRE && !(this.gsts & R.GCMD_SIRTP)) this.onEvent({ kind: 'ignored-command', command: 'IRE', why: 'enabled before any SIRTP: no table is latched, every remappable request faults (0x21)' });
      this.gsts ^= R.GCMD_IRE;
    }
    if (changed & R.GCMD_CFI) this.gsts ^= R.GCMD_CFI;
    if (changed & R.GCMD_TE) {
      if (v & R.GCMD_TE) this.onEvent({ kind: 'ignored-command', command: 'TE', why: 'DMA remapping is not modelled: TES is set, DMA passes untranslated' });
      this.gsts ^= R.GCMD_TE;
    }
    this.gsts >>>= 0;
  }

  /** SIRTP (§10.4.4): latch IRTA; EIME only where ECAP.EIM allows it. */
  private latchTable(): void {
    this.tableLo = (this.irtaLo & 0xffff_f000) >>> 0;
    this.tableHi = this.irtaHi;
    this.tableEntries = 2 ** ((this.irtaLo & R.IRTA_S_MASK) + 1);
    this.eime = (this.irtaLo & R.IRTA_EIME) !== 0 && this.config.eim;
    if (this.irtaLo & R.IRTA_EIME && !this.config.eim) this.onEvent({ kind: 'ignored-command', command: 'IRTA.EIME', why: 'ECAP.EIM = 0: xAPIC mode latched' });
    this.gsts |= R.GCMD_SIRTP;
    if (this.config.esirtps) this.invalidate(true, 0, 0);
  }

  // ---- debugging and snapshots ---------------------------------------------------------------

  /** The state as a few lines of text. */
  dump(): string {
    const h = (n: number) => `0x${(n >>> 0).toString(16)}`;
    const c = this.counts;
    return [
      `vtd gsts=${h(this.gsts)} table=${h(this.tableHi)}:${h(this.tableLo)} entries=${this.tableEntries} eime=${this.eime ? 1 : 0} fsts=${h(this.faultLog.fsts)} iqh=${h(this.queue.iqh)} iqt=${h(this.queue.tail)}`,
      `cache: ${this.cachedIndices().join(',') || '-'}`,
      `requests=${c.requests} translated=${c.translated} passed=${c.passedThrough} blocked=${c.blocked} ${FAULT_KEYS.map((k) => `${k}=${c.faults[k]}`).join(' ')}`,
    ].join('\n');
  }

  saveState(): RemappingUnitState {
    return saveUnitState(this.internals());
  }

  /** Restores a snapshot of a unit with the same configuration; rejects anything else with RemappingStateError. */
  loadState(state: unknown): void {
    loadUnitState(this.internals(), state);
  }

  private internals(): UnitInternals {
    return {
      config: this.config,
      faultLog: this.faultLog,
      queue: this.queue,
      cache: this.cache,
      get: () => ({
        gsts: this.gsts, rtaddrLo: this.rtaddrLo, rtaddrHi: this.rtaddrHi, ccmdLo: this.ccmdLo, ccmdHi: this.ccmdHi,
        irtaLo: this.irtaLo, irtaHi: this.irtaHi, tableLo: this.tableLo, tableHi: this.tableHi, tableEntries: this.tableEntries,
        eime: this.eime, counters: this.counters(),
      }),
      set: (r) => {
        this.gsts = r.gsts;
        this.rtaddrLo = r.rtaddrLo;
        this.rtaddrHi = r.rtaddrHi;
        this.ccmdLo = r.ccmdLo;
        this.ccmdHi = r.ccmdHi;
        this.irtaLo = r.irtaLo;
        this.irtaHi = r.irtaHi;
        this.tableLo = r.tableLo;
        this.tableHi = r.tableHi;
        this.tableEntries = r.tableEntries;
        this.eime = r.eime;
        this.counts = { ...r.counters, faults: { ...r.counters.faults } };
      },
    };
  }
}
