// Local APIC access paths: xAPIC MMIO page (SDM vol. 3A §11.4.1, Table 11-1), x2APIC MSRs and their #GP
// rules (§11.12.1, Table 11-6), IA32_APIC_BASE mode transitions (§11.4.3, §11.12.5), snapshots.
// Not modelled: focus-processor checks. The embedder decodes the MMIO window at `mmioBase` (relocatable).
import { ApicUsageError, GeneralProtectionFault, type GpReason } from './errors.js';
import { describeValue } from '../describe.js';
import type { ApicMode } from './lapic-core.js';
import { LapicSources } from './lapic-sources.js';
import { formatInfoLapic } from './info-lapic.js';
import { LAPIC_STATE_FORMAT, validateLapicState, type LocalApicState } from './lapic-state.js';
import * as R from './registers.js';

export type { ApicMode, LapicEvent, LapicEventKind, LapicRouter, LocalApicOptions } from './lapic-core.js';
export type { LocalApicState } from './lapic-state.js';
export { GeneralProtectionFault } from './errors.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * One local APIC: a state machine driven by register accesses, bus messages, LINT pins and tick(n).
 * Outputs go to the injected LapicSink (the CPU's pins) and to the bus it is connected to.
 */
export class LocalApic extends LapicSources {
  /** Whether `msr` belongs to the local APIC (IA32_APIC_BASE, IA32_TSC_DEADLINE, x2APIC range). */
  static handlesMsr(msr: number): boolean {
    checkMsr(msr);
    return msr === R.MSR_IA32_APIC_BASE || msr === R.MSR_IA32_TSC_DEADLINE || (msr >= R.X2APIC_MSR_FIRST && msr <= R.X2APIC_MSR_LAST);
  }

  /**
   * 32-bit MMIO read at `offset` in the 4 KiB page. Reserved/unaligned offsets (0x2F0 too without CMCI)
   * latch ESR bit 7 and read 0; write-only EOI reads 0. Outside xAPIC mode the page is not decoded
   * (§11.4.1, §11.12.1): a read that still gets here returns all ones, as an unclaimed address does.
   */
  read(offset: number): number {
    checkOffset(offset);
    if (this.apicMode !== 'xapic') {
      this.report('mmio-unavailable', `MMIO read of 0x${offset.toString(16)} in ${this.apicMode} mode`);
      return 0xffff_ffff;
    }
    const access = this.mmioAccess(offset);
    if (access === null) {
      this.illegalRegister(offset, 'read');
      return 0;
    }
    return access === 'wo' ? 0 : this.readReg(offset) >>> 0;
  }

  /** 32-bit MMIO write. Reserved bits are dropped; writes to read-only registers are ignored (and reported). */
  write(offset: number, value: number): void {
    checkOffset(offset);
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) {
      throw new ApicUsageError(`MMIO value must be a 32-bit integer, got ${describeValue(value)}`);
    }
    if (this.apicMode !== 'xapic') {
      this.report('mmio-unavailable', `MMIO write of 0x${offset.toString(16)} in ${this.apicMode} mode`);
      return;
    }
    if (offset === R.REG_EOI) return this.eoi(); // write-only, any value: the one register written per interrupt
    const access = this.mmioAccess(offset);
    if (access === null) this.illegalRegister(offset, 'write');
    else if (access === 'ro') this.report('read-only-write', `write of 0x${(value >>> 0).toString(16)} to read-only 0x${offset.toString(16)}`);
    else this.writeReg(offset, value >>> 0);
  }

  rdmsr(msr: number): bigint {
    checkMsr(msr);
    if (msr === R.MSR_IA32_APIC_BASE) return this.apicBaseValue();
    if (msr === R.MSR_IA32_TSC_DEADLINE) {
      if (!this.hasTscDeadline) gp(msr, 'not-an-apic-msr', 'TSC-deadline mode is not supported (no tsc source)');
      return this.timerMode === 2 ? this.deadline : 0n; // reads 0 outside TSC-deadline mode (§11.5.4.1)
    }
    const offset = this.x2apicOffset(msr);
    const access = R.x2apicMsrAccess(msr);
    if (access === 'wo') gp(msr, 'write-only', 'RDMSR of a write-only register');
    if (offset === R.REG_ICR_LOW) return (BigInt(this.icrHigh) << 32n) | BigInt(this.icrLow);
    return BigInt(this.readReg(offset) >>> 0);
  }

  wrmsr(msr: number, value: bigint): void {
    checkMsr(msr);
    if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
      throw new ApicUsageError(`MSR value must be a bigint in [0, 2^64), got ${describeValue(value)}`);
    }
    if (msr === R.MSR_IA32_APIC_BASE) return this.writeApicBase(value);
    if (msr === R.MSR_IA32_TSC_DEADLINE) {
      if (!this.hasTscDeadline) gp(msr, 'not-an-apic-msr', 'TSC-deadline mode is not supported (no tsc source)');
      if (this.timerMode !== 2) return; // ignored outside TSC-deadline mode (§11.5.4.1)
      this.deadline = value; // 0 disarms; a deadline already passed fires at once
      this.pollDeadline();
      return;
    }
    const offset = this.x2apicOffset(msr);
    if (R.x2apicMsrAccess(msr) === 'ro') gp(msr, 'read-only', 'WRMSR to a read-only register');
    if (offset === R.REG_ICR_LOW) {
      const low = Number(value & 0xffff_ffffn);
      if (low & R.ICR_LOW_RESERVED_X2APIC) gp(msr, 'reserved-bits', `ICR bits 0x${((low & R.ICR_LOW_RESERVED_X2APIC) >>> 0).toString(16)}`);
      this.icrLow = low & R.ICR_LOW_WRITABLE; // bit 12 (delivery status) is ignored on write
      this.icrHigh = Number(value >> 32n);
      this.sendIpi();
      return;
    }
    if (value > 0xffff_ffffn) gp(msr, 'reserved-bits', 'bits 63:32 are reserved in all x2APIC registers but the ICR');
    const v = Number(value);
    if ((offset === R.REG_EOI || offset === R.REG_ESR) && v !== 0) gp(msr, 'non-zero-write', `value 0x${v.toString(16)}`);
    const reserved = this.x2apicReserved(offset);
    if (v & reserved) gp(msr, 'reserved-bits', `bits 0x${((v & reserved) >>> 0).toString(16)}`);
    this.writeReg(offset, v);
  }

  /** RESET#: power-up state, xAPIC mode at 0xFEE00000; an AP waits for SIPI again. LINT levels are kept. */
  reset(): void {
    this.apicMode = 'xapic';
    this.baseAddr = R.APIC_DEFAULT_BASE;
    this.syncWindow();
    this.xapicId = this.hwId & 0xff;
    this.initReset();
    this.sipiWait = !this.bsp;
  }

  /** Whether a logical destination (MDA) selects this APIC (§11.6.2.2; x2APIC §11.12.10.2). */
  matchesLogical(mda: number, x2apic: boolean): boolean {
    checkDestination(mda, x2apic);
    if (this.apicMode === 'disabled') return false;
    if (x2apic ? mda === 0xffff_ffff : (mda & 0xff) === 0xff) return true; // broadcast
    if (this.apicMode === 'x2apic') {
      // An xAPIC-format (8-bit) MDA addresses cluster 0 members 7:0 of x2APIC logical IDs.
      const ldr = R.x2apicLogicalId(this.hwId);
      const m = x2apic ? mda >>> 0 : mda & 0xff;
      return ldr >>> 16 === m >>> 16 && (ldr & m & 0xffff) !== 0;
    }
    const m = mda & 0xff;
    const logical = this.ldr >>> 24;
    if (this.dfr >>> 28 === R.DFR_MODEL_FLAT) return (logical & m) !== 0;
    // Cluster model: MDA 7:4 = cluster (must equal), 3:0 = member bitmap.
    return logical >>> 4 === m >>> 4 && (logical & m & 0xf) !== 0;
  }

  /** Whether a physical destination ID selects this APIC (0xFF / 0xFFFFFFFF broadcast). */
  matchesPhysical(id: number, x2apic = false): boolean {
    checkDestination(id, x2apic);
    if (this.apicMode === 'disabled') return false;
    if (x2apic ? id === 0xffff_ffff : id === 0xff) return true;
    return this.physicalId === id >>> 0; // an xAPIC-format ID only reaches IDs 0–254 (or 15 bits with extended IDs)
  }

  saveState(): LocalApicState {
    const lvt = {} as Record<R.LvtName, number>;
    R.LVT_NAMES.forEach((name, i) => {
      if (i !== R.Lvt.Cmci || this.hasCmci) lvt[name] = this.lvt[i]!;
    });
    return {
      format: LAPIC_STATE_FORMAT,
      apicId: this.hwId,
      bsp: this.bsp,
      version: this.versionReg,
      apicBase: '0x' + this.apicBaseValue().toString(16),
      xapicId: this.xapicId,
      tpr: this.tpr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      irr: Array.from(this.irr),
      isr: Array.from(this.isr),
      tmr: Array.from(this.tmr),
      esr: this.esr,
      esrPending: this.esrPending,
      errorArmed: this.errorArmed,
      icrLow: this.icrLow,
      icrHigh: this.icrHigh,
      lvt,
      timer: {
        initialCount: this.timer.initialCount,
        currentCount: this.timer.currentCount,
        phase: this.timer.phase,
        divideConfig: this.timer.divideConfig,
      },
      tscDeadline: this.deadline.toString(),
      lint: [this.lintLevel[0], this.lintLevel[1]],
      waitingForSipi: this.sipiWait,
    };
  }

  /**
   * This APIC in the layout of QEMU's monitor command `info lapic` (without its first line,
   * `dumping local APIC state for CPU n`, which names the CPU and is the caller's to print).
   */
  infoLapic(): string {
    return formatInfoLapic(this.saveState(), { ppr: this.ppr, x2apic: this.apicMode === 'x2apic', ldr: this.logicalId });
  }

  /** Restores a snapshot after validating it (ApicStateError, state untouched, if impossible). */
  loadState(state: LocalApicState): void {
    const s = validateLapicState(state, {
      apicId: this.hwId, bsp: this.bsp, tscDeadline: this.hasTscDeadline, version: this.versionReg,
    });
    const base = BigInt(s.apicBase);
    this.apicMode = !(base & R.APIC_BASE_EN) ? 'disabled' : base & R.APIC_BASE_EXTD ? 'x2apic' : 'xapic';
    this.baseAddr = base & R.APIC_BASE_ADDRESS_MASK;
    this.syncWindow();
    this.xapicId = s.xapicId;
    this.tpr = s.tpr;
    this.ldr = s.ldr;
    this.dfr = s.dfr;
    this.svr = s.svr;
    this.irr.set(s.irr);
    this.isr.set(s.isr);
    this.tmr.set(s.tmr);
    this.recomputeTops();
    this.esr = s.esr;
    this.esrPending = s.esrPending;
    this.errorArmed = s.errorArmed;
    this.icrLow = s.icrLow;
    this.icrHigh = s.icrHigh;
    R.LVT_NAMES.forEach((name, i) => (this.lvt[i] = s.lvt[name] ?? R.LVT_RESET)); // an absent CMCI LVT stays at reset
    this.timer.divideConfig = s.timer.divideConfig;
    this.timer.initialCount = s.timer.initialCount;
    this.timer.currentCount = s.timer.currentCount;
    this.timer.phase = s.timer.phase;
    this.deadline = BigInt(s.tscDeadline);
    this.lintLevel[0] = s.lint[0];
    this.lintLevel[1] = s.lint[1];
    this.sipiWait = s.waitingForSipi;
    this.router?.topologyChanged?.();
    this.updateIntr(); // the INTR line follows the restored registers
  }

  // ---- internals ----

  private apicBaseValue(): bigint {
    let v = this.baseAddr | (this.bsp ? R.APIC_BASE_BSP : 0n);
    if (this.apicMode !== 'disabled') v |= R.APIC_BASE_EN;
    if (this.apicMode === 'x2apic') v |= R.APIC_BASE_EXTD;
    return v;
  }

  /** IA32_APIC_BASE write: the EN/EXTD state machine of §11.12.5 (Figure 11-30). BSP bit 8 is read-only. */
  private writeApicBase(value: bigint): void {
    const msr = R.MSR_IA32_APIC_BASE;
    if (value & R.APIC_BASE_RESERVED) gp(msr, 'reserved-bits', `bits 0x${(value & R.APIC_BASE_RESERVED).toString(16)}`);
    const en = (value & R.APIC_BASE_EN) !== 0n;
    const extd = (value & R.APIC_BASE_EXTD) !== 0n;
    if (!en && extd) gp(msr, 'invalid-transition', 'EN=0 with EXTD=1 is invalid');
    const from = this.apicMode;
    const to: ApicMode = !en ? 'disabled' : extd ? 'x2apic' : 'xapic';
    if (from === 'x2apic' && to === 'xapic') gp(msr, 'invalid-transition', 'x2APIC → xAPIC requires disabling the APIC first');
    if (from === 'disabled' && to === 'x2apic') gp(msr, 'invalid-transition', 'disabled → x2APIC must pass through xAPIC');
    this.baseAddr = value & R.APIC_BASE_ADDRESS_MASK;
    this.apicMode = to;
    this.syncWindow(); // a relocation without a mode change moves the window too
    if (to === from) return;
    if (to === 'disabled') {
      // Clearing EN returns the APIC to its power-up state (§11.4.3); re-enabling starts from there.
      this.xapicId = this.hwId & 0xff;
      this.initReset();
      return;
    }
    // disabled → xAPIC keeps the power-up registers; xAPIC → x2APIC keeps all but ID/LDR (§11.12.5.1).
    this.router?.topologyChanged?.();
    this.updateIntr();
  }

  /** Common x2APIC MSR checks: mode first (§11.12.1.1), then the reserved numbers of Table 11-6. */
  private x2apicOffset(msr: number): number {
    if (msr < R.X2APIC_MSR_FIRST || msr > R.X2APIC_MSR_LAST) gp(msr, 'not-an-apic-msr', 'not implemented by the local APIC');
    if (this.apicMode !== 'x2apic') gp(msr, 'not-x2apic-mode', `the APIC is in ${this.apicMode} mode`);
    if (R.x2apicMsrAccess(msr) === null) gp(msr, 'reserved-msr', 'no x2APIC register at this address');
    if (msr === R.MSR_LVT_CMCI && !this.hasCmci) gp(msr, 'reserved-msr', 'no CMCI LVT: the version register reports Max LVT < 6');
    return R.offsetForMsr(msr);
  }

  /** Table 11-1 access of an MMIO offset; the CMCI LVT offset is reserved when the LVT does not exist. */
  private mmioAccess(offset: number): R.MsrAccess | null {
    return offset === R.REG_LVT_CMCI && !this.hasCmci ? null : R.xapicRegisterAccess(offset);
  }

  private syncWindow(): void {
    this.window = this.apicMode === 'xapic' ? Number(this.baseAddr) : -1;
  }

  /** Reserved bits of writable 32-bit x2APIC registers (read-only LVT bits are ignored, not reserved). */
  private x2apicReserved(offset: number): number {
    switch (offset) {
      case R.REG_TPR: return ~R.TPR_WRITABLE;
      case R.REG_SVR: return ~R.svrWritable(this.versionReg);
      case R.REG_TIMER_DIVIDE: return ~R.DIVIDE_WRITABLE;
      case R.REG_SELF_IPI: return ~R.ICR_VECTOR;
      default: {
        const i = R.lvtIndexForOffset(offset);
        return i < 0 ? 0 : ~(R.lvtWritable(i, this.hasTscDeadline) | R.lvtReadOnly(i));
      }
    }
  }

  private illegalRegister(offset: number, what: 'read' | 'write'): void {
    this.report('illegal-register', `${what} of reserved offset 0x${offset.toString(16)}`);
    this.signalError(R.ESR_ILLEGAL_REGISTER_ADDRESS);
  }

  /** Register read with the semantics shared by MMIO and MSR paths (offset already validated). */
  protected readReg(offset: number): number {
    switch (offset) {
      case R.REG_ID: return this.apicMode === 'x2apic' ? this.hwId : (this.xapicId << 24) >>> 0;
      case R.REG_VERSION: return this.versionReg;
      case R.REG_TPR: return this.tpr;
      case R.REG_APR: return this.apr;
      case R.REG_PPR: return this.ppr;
      case R.REG_LDR: return this.logicalId;
      case R.REG_DFR: return this.dfr;
      case R.REG_SVR: return this.svr;
      case R.REG_ESR: return this.esr;
      case R.REG_ICR_LOW: return this.icrLow;
      case R.REG_ICR_HIGH: return this.icrHigh;
      case R.REG_TIMER_INITIAL: return this.timer.initialCount;
      case R.REG_TIMER_CURRENT: return this.timerMode === 2 ? 0 : this.timer.currentCount;
      case R.REG_TIMER_DIVIDE: return this.timer.divideConfig;
    }
    const word = (offset & 0x70) >>> 4;
    if (offset >= R.REG_ISR0 && offset < R.REG_TMR0) return this.isr[word]!;
    if (offset >= R.REG_TMR0 && offset < R.REG_IRR0) return this.tmr[word]!;
    if (offset >= R.REG_IRR0 && offset < R.REG_IRR0 + 0x80) return this.irr[word]!;
    const i = R.lvtIndexForOffset(offset);
    return i >= 0 ? this.lvt[i]! : 0; // RRD reads 0 (remote read is P6-only)
  }

  /** Register write with the semantics shared by MMIO and MSR paths (access already validated). */
  protected writeReg(offset: number, value: number): void {
    switch (offset) {
      case R.REG_ID: this.xapicId = value >>> 24; this.router?.topologyChanged?.(); return;
      case R.REG_TPR: this.tpr = value & R.TPR_WRITABLE; this.updateIntr(); return;
      case R.REG_EOI: this.eoi(); return;
      case R.REG_LDR: this.ldr = (value & R.LDR_XAPIC_WRITABLE) >>> 0; this.router?.topologyChanged?.(); return;
      case R.REG_DFR: this.dfr = (value | ~R.DFR_MODEL_WRITABLE) >>> 0; this.router?.topologyChanged?.(); return;
      case R.REG_SVR: this.writeSvr(value); return;
      case R.REG_ESR: this.latchEsr(); return;
      case R.REG_ICR_LOW: this.icrLow = value & R.ICR_LOW_WRITABLE; this.sendIpi(); return;
      case R.REG_ICR_HIGH: this.icrHigh = (value & R.ICR_HIGH_XAPIC_WRITABLE) >>> 0; return;
      case R.REG_TIMER_INITIAL: if (this.timerMode !== 2) this.timer.start(value); return; // ignored in TSC-deadline mode
      case R.REG_TIMER_DIVIDE: this.timer.setDivideConfig(value & R.DIVIDE_WRITABLE); return;
      case R.REG_SELF_IPI: this.selfIpi(value & R.ICR_VECTOR); return;
    }
    const i = R.lvtIndexForOffset(offset);
    if (i >= 0) this.writeLvt(i, value);
  }

  /** §11.4.7.2: software disable masks every LVT and keeps them masked until software unmasks them. */
  private writeSvr(value: number): void {
    const was = this.isSoftwareEnabled;
    this.svr = value & R.svrWritable(this.versionReg);
    if (was && !this.isSoftwareEnabled) for (let i = 0; i < R.LVT_COUNT; i++) this.lvt[i] |= R.LVT_MASKED;
  }

  private writeLvt(i: number, value: number): void {
    const old = this.lvt[i]!;
    let v = (value & R.lvtWritable(i, this.hasTscDeadline)) | (old & R.LVT_REMOTE_IRR);
    if (!this.isSoftwareEnabled) v |= R.LVT_MASKED; // mask cannot be cleared while software-disabled
    this.lvt[i] = v >>> 0;
    if (i === R.Lvt.Timer) {
      const from = (old & R.LVT_TIMER_MODE) >>> R.LVT_TIMER_MODE_SHIFT;
      const to = (v & R.LVT_TIMER_MODE) >>> R.LVT_TIMER_MODE_SHIFT;
      // §11.5.4.1: switching into or out of TSC-deadline mode disarms the timer.
      if ((from === 2) !== (to === 2)) {
        this.timer.stop();
        this.deadline = 0n;
      }
      if (to === 3 && from !== 3) this.report('reserved-timer-mode', 'LVT timer mode 11b is reserved; counting as one-shot');
    } else if (i === R.Lvt.Lint0 || i === R.Lvt.Lint1) {
      this.lintRecheck(i === R.Lvt.Lint0 ? 0 : 1, (old & R.LVT_MASKED) !== 0 && (v & R.LVT_MASKED) === 0);
    }
  }
}

function gp(msr: number, reason: GpReason, detail: string): never {
  throw new GeneralProtectionFault(msr, reason, detail);
}

function checkOffset(offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset >= R.XAPIC_PAGE_SIZE) {
    throw new ApicUsageError(`MMIO offset must be an integer in [0, 0x1000), got ${describeValue(offset)}`);
  }
}

function checkMsr(msr: number): void {
  if (!Number.isInteger(msr) || msr < 0 || msr > 0xffff_ffff) throw new ApicUsageError(`MSR number must be a 32-bit unsigned integer, got ${describeValue(msr)}`);
}

/** A destination ID or MDA (32 bits; an xAPIC-format one uses the low 8) and its format flag. */
function checkDestination(id: number, x2apic: boolean): void {
  if (typeof id !== 'number' || id >>> 0 !== id || typeof x2apic !== 'boolean') {
    throw new ApicUsageError(`destination must be a 32-bit unsigned ID and x2apic a boolean, got ${describeValue(id)}, ${describeValue(x2apic)}`);
  }
}
