// A VT-d remapping hardware unit, interrupt-remapping subset (VT-d spec rev. 4.x ch. 5, §6.5.2, ch. 7,
// §9.10, §10.4): the register page, interrupt translation through an IRTE cache, queued invalidation and
// fault logging. Left out: DMA remapping (TE/SRTP only set their status bits), posted interrupts (CAP.PI = 0),
// advanced fault logging, IQER details, page requests, more than one unit per machine.
import { checkBool, checkFunction, checkInt, checkOptions, checkU32Pattern, checkBigint } from '../check.js';
import { describeValue } from '../describe.js';
import { RemappingUsageError } from './errors.js';
import { FaultLog, type FaultRecording } from './fault-log.js';
import { InvalidationQueue, type RemappingMemory } from './invalidation-queue.js';
import { MSI_REMAPPABLE } from './irte.js';
import * as R from './registers.js';
import { FAULT_FPD, Translator, type RemapOutput } from './translator.js';
import { loadUnitState, saveUnitState, type RemappingUnitState, type UnitInternals } from './unit-state.js';
import { FAULT_KEYS, REMAP_BLOCKED, REMAP_PASSTHROUGH, REMAP_TRANSLATED, zeroCounters, type RemappingCounters, type RemappingEvent, type RemappingUnitConfig, type RemappingUnitOptions } from './types.js';

export { REMAP_BLOCKED, REMAP_PASSTHROUGH, REMAP_TRANSLATED } from './types.js';
export type { RemapOutput, RemappingCounters, RemappingEvent, RemappingUnitConfig, RemappingUnitOptions } from './types.js';

const DEFAULT_FAULT_RECORDS = 8;
const MAX_FAULT_RECORDS = 128;
/** Host address width: 39 bits (CAP.MGAW = 38, DMAR HAW − 1 = 38), QEMU's default before 9.0. */
export const VTD_HOST_ADDRESS_WIDTH = 39;
const ONE_SHOT_UNSUPPORTED: readonly [number, string][] = [[R.GCMD_SFL, 'SFL'], [R.GCMD_EAFL, 'EAFL'], [R.GCMD_WBF, 'WBF']];

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
  /** Result of the last interrupt(): the remapped interrupt, or the index and reason of a fault. Reused, never reallocated. */
  readonly out: RemapOutput;
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
  private readonly xlate: Translator;
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
    this.xlate = new Translator(memory);
    this.out = this.xlate.out;
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
    return { ...this.counts, faults: { ...this.counts.faults }, cacheHits: this.xlate.cacheHits, cacheMisses: this.xlate.cacheMisses };
  }

  /** Indices of the cached IRTEs, ascending. */
  cachedIndices(): number[] {
    return [...this.xlate.cache.keys()].sort((a, b) => a - b);
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
      if (this.xlate.eime || !(this.gsts & R.GCMD_CFI)) return this.fault(R.FR_COMPAT_BLOCKED, 0, sid, false);
      c.passedThrough++;
      return REMAP_PASSTHROUGH;
    }
    // §5.1.2.2: a remappable request names an IRTE.
    const f = this.xlate.translate(lo, data, sid);
    if (f !== 0) return this.fault(f & 0xff, out.index, sid, f >= FAULT_FPD);
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

  /** An IEC descriptor (§6.5.2.7): global, or the aligned block of 2^mask entries holding `index`. */
  private invalidate(global: boolean, index: number, mask: number): void {
    if (global) this.counts.iecGlobal++;
    else this.counts.iecIndexed++;
    this.counts.iecEntriesDropped += this.xlate.invalidate(global, index, mask);
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
      if (v & R.GCMD_IRE && !(this.gsts & R.GCMD_SIRTP)) this.onEvent({ kind: 'command-warning', command: 'IRE', why: 'enabled before any SIRTP: no table is latched, every remappable request faults (0x21)' });
      this.gsts ^= R.GCMD_IRE;
    }
    if (changed & R.GCMD_CFI) this.gsts ^= R.GCMD_CFI;
    if (changed & R.GCMD_TE) {
      if (v & R.GCMD_TE) this.onEvent({ kind: 'command-warning', command: 'TE', why: 'DMA remapping is not modelled: TES is set, DMA passes untranslated' });
      this.gsts ^= R.GCMD_TE;
    }
    this.gsts >>>= 0;
  }

  /** SIRTP (§10.4.4): latch IRTA; EIME only where ECAP.EIM allows it. */
  private latchTable(): void {
    this.xlate.latch(this.irtaLo, this.irtaHi, this.config.eim);
    if (this.irtaLo & R.IRTA_EIME && !this.config.eim) this.onEvent({ kind: 'ignored-command', command: 'IRTA.EIME', why: 'ECAP.EIM = 0: xAPIC mode latched' });
    this.gsts |= R.GCMD_SIRTP;
    if (this.config.esirtps) this.counts.iecEntriesDropped += this.xlate.invalidate(true, 0, 0); // not an IEC descriptor: not counted as one
  }

  // ---- debugging and snapshots ---------------------------------------------------------------

  /** The state as a few lines of text. */
  dump(): string {
    const h = (n: number) => `0x${(n >>> 0).toString(16)}`;
    const c = this.counts;
    return [
      `vtd gsts=${h(this.gsts)} table=${h(this.xlate.baseHi)}:${h(this.xlate.baseLo)} entries=${this.xlate.entries} eime=${this.xlate.eime ? 1 : 0} fsts=${h(this.faultLog.fsts)} iqh=${h(this.queue.iqh)} iqt=${h(this.queue.tail)}`,
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
      cache: this.xlate.cache,
      get: () => ({
        gsts: this.gsts, rtaddrLo: this.rtaddrLo, rtaddrHi: this.rtaddrHi, ccmdLo: this.ccmdLo, ccmdHi: this.ccmdHi,
        irtaLo: this.irtaLo, irtaHi: this.irtaHi, tableLo: this.xlate.baseLo, tableHi: this.xlate.baseHi, tableEntries: this.xlate.entries,
        eime: this.xlate.eime, counters: this.counters(),
      }),
      set: (r) => {
        this.gsts = r.gsts;
        this.rtaddrLo = r.rtaddrLo;
        this.rtaddrHi = r.rtaddrHi;
        this.ccmdLo = r.ccmdLo;
        this.ccmdHi = r.ccmdHi;
        this.irtaLo = r.irtaLo;
        this.irtaHi = r.irtaHi;
        this.xlate.baseLo = r.tableLo;
        this.xlate.baseHi = r.tableHi;
        this.xlate.entries = r.tableEntries;
        this.xlate.eime = r.eime;
        this.xlate.cacheHits = r.counters.cacheHits;
        this.xlate.cacheMisses = r.counters.cacheMisses;
        this.counts = { ...r.counters, faults: { ...r.counters.faults } };
      },
    };
  }
}
