// Local APIC interrupt acceptance: Intel SDM vol. 3A §11.8 (IRR/ISR/TMR, TPR/PPR, INTA, EOI), §11.5.3
// (ESR, error LVT), §11.6 message acceptance, §11.4.7 reset/INIT. Sources: lapic-sources; access: local-apic.
import type { ApicMessage, LapicSink } from '../signals.js';
import { ApicTimer } from './apic-timer.js';
import { ApicUsageError } from './errors.js';
import { checkBool, checkFunction, checkInt, checkOptions } from '../check.js';
import { describeValue } from '../describe.js';
import { ACCEPT_FIXED } from '../internal.js';
import type { ApicMode, LapicEvent, LapicEventKind, LapicRouter, LocalApicOptions } from './lapic-types.js';
import * as R from './registers.js';
import { clearVector, highestVector, highestVectorFrom, newVectorBitmap, setVector, testVector } from './vector-bitmap.js';

export type { ApicMode, LapicEvent, LapicEventKind, LapicRouter, LocalApicOptions } from './lapic-types.js';

const DELIVERY_MODES: ReadonlySet<string> = new Set(['fixed', 'lowest', 'smi', 'nmi', 'init', 'sipi', 'extint']);
/** A bus message as ApicMessage describes it (shared with the bus, which checks before routing). */
export function checkMessage(message: ApicMessage): void {
  if (typeof message !== 'object' || message === null) throw new ApicUsageError(`message must be { vector, mode, trigger, level? }, got ${describeValue(message)}`);
  const m = message as unknown as Record<string, unknown>;
  checkInt(ApicUsageError, 'message.vector', m.vector, 0, 0xff);
  if (typeof m.mode !== 'string' || !DELIVERY_MODES.has(m.mode)) throw new ApicUsageError(`message.mode must be a delivery mode (${[...DELIVERY_MODES].join(', ')}), got ${describeValue(m.mode)}`);
  if (m.trigger !== 'edge' && m.trigger !== 'level') throw new ApicUsageError(`message.trigger must be 'edge' or 'level', got ${describeValue(m.trigger)}`);
  if (m.level !== undefined) checkBool(ApicUsageError, 'message.level', m.level);
}

/**
 * The version register (§11.4.8) must describe this model: an integrated APIC (version 1XH), Max LVT
 * entry 5 (timer, thermal, PMC, LINT0, LINT1, error) or 6 (plus CMCI), bit 24 optional, the rest reserved.
 */
function checkVersion(version: number): void {
  const bad = (why: string) => new ApicUsageError(`version 0x${(version >>> 0).toString(16).padStart(8, '0')}: ${why}`);
  if ((version & 0xf0) !== 0x10) throw bad('bits 7:0 must be 0x10–0x1F (an integrated APIC)');
  const maxLvt = (version >>> 16) & 0xff;
  if (maxLvt !== R.LVT_MAX_WITH_CMCI - 1 && maxLvt !== R.LVT_MAX_WITH_CMCI) throw bad(`Max LVT entry (bits 23:16) must be 5 or 6, got ${maxLvt}`);
  if (version & ~(0xff | 0xff_0000 | R.VERSION_EOI_SUPPRESSION)) throw bad('bits 15:8 and 31:25 are reserved');
}

export abstract class LapicCore {
  protected readonly hwId: number;
  protected readonly bsp: boolean;
  protected readonly sink: LapicSink;
  protected readonly tscSource: (() => bigint) | undefined;
  protected readonly versionReg: number;
  protected readonly onEvent: ((event: LapicEvent) => void) | undefined;
  protected router: LapicRouter | undefined;

  protected apicMode: ApicMode = 'xapic';
  protected baseAddr = R.APIC_DEFAULT_BASE;
  /** Where the xAPIC page is decoded, as a number (-1: not decoded); kept with apicMode/baseAddr. */
  protected window = Number(R.APIC_DEFAULT_BASE);
  protected xapicId = 0;
  protected tpr = 0;
  protected ldr = 0;
  protected dfr = R.DFR_RESET;
  protected svr = R.SVR_RESET;
  protected readonly irr = newVectorBitmap();
  protected readonly isr = newVectorBitmap();
  protected readonly tmr = newVectorBitmap();
  /** Highest set IRR / ISR vector (−1: none), kept with every change so no path rescans 256 bits. */
  protected irrTop = -1;
  protected isrTop = -1;
  /** Visible ESR, and the errors collected since the last ESR write (latched into it on write). */
  protected esr = 0;
  protected esrPending = 0;
  /** An ESR write re-arms the error interrupt (§11.5.3); it is consumed when one is delivered. */
  protected errorArmed = true;
  protected icrLow = 0;
  protected icrHigh = 0;
  protected readonly lvt: Uint32Array = new Uint32Array(R.LVT_COUNT).fill(R.LVT_RESET);
  protected readonly timer = new ApicTimer();
  protected deadline = 0n;
  /** Electrical level of LINT0/LINT1 as driven by the platform. */
  protected readonly lintLevel: [boolean, boolean] = [false, false];
  protected sipiWait: boolean;
  protected intrLine = false;

  constructor(options: LocalApicOptions) {
    const o = checkOptions(ApicUsageError, 'LocalApic options', options, ['apicId', 'bsp', 'sink', 'tsc', 'version', 'onEvent']);
    const { apicId, bsp = false, sink, tsc, version = R.VERSION_DEFAULT, onEvent } = o as Partial<LocalApicOptions>;
    // 0xFFFFFFFF is the x2APIC broadcast ID and can never be assigned (§11.12.2).
    checkInt(ApicUsageError, 'apicId', apicId, 0, 0xffff_fffe);
    // The BSP flag is IA32_APIC_BASE bit 8, fixed by hardware: only a real boolean (saveState() records it).
    checkBool(ApicUsageError, 'bsp', bsp);
    if (typeof sink !== 'object' || sink === null) throw new ApicUsageError(`sink must be an object with intr, nmi, init, sipi, extint, got ${describeValue(sink)}`);
    for (const fn of ['intr', 'nmi', 'init', 'sipi', 'extint'] as const) checkFunction(ApicUsageError, `sink.${fn}`, sink[fn]);
    if (sink.smi !== undefined) checkFunction(ApicUsageError, 'sink.smi', sink.smi);
    if (tsc !== undefined) checkFunction(ApicUsageError, 'tsc (returning the TSC as a bigint)', tsc);
    checkInt(ApicUsageError, 'version', version, 0, 0xffff_ffff);
    checkVersion(version);
    if (onEvent !== undefined) checkFunction(ApicUsageError, 'onEvent', onEvent);
    this.hwId = apicId as number;
    this.bsp = bsp;
    this.sink = sink as LapicSink;
    this.tscSource = tsc;
    this.versionReg = version >>> 0;
    this.onEvent = onEvent;
    this.xapicId = (apicId as number) & 0xff;
    this.sipiWait = !bsp; // after RESET, APs wait for a start-up IPI (§9.4)
  }

  // ---- identity and status ----
  get apicId(): number { return this.hwId; }
  get isBsp(): boolean { return this.bsp; }
  get mode(): ApicMode { return this.apicMode; }
  /** ID the bus matches physical destinations against: x2APIC ID, or the xAPIC ID register byte. */
  get physicalId(): number { return this.apicMode === 'x2apic' ? this.hwId : this.xapicId; }
  /** Logical destination: derived x2APIC LDR, or the xAPIC LDR (bits 31:24 meaningful). */
  get logicalId(): number { return this.apicMode === 'x2apic' ? R.x2apicLogicalId(this.hwId) : this.ldr; }
  get isSoftwareEnabled(): boolean { return this.apicMode !== 'disabled' && (this.svr & R.SVR_APIC_ENABLED) !== 0; }
  get waitingForSipi(): boolean { return this.sipiWait; }
  get baseAddress(): bigint { return this.baseAddr; }
  /**
   * Physical address of this APIC's xAPIC MMIO page, or -1 while it is not decoded (hardware-disabled
   * or x2APIC mode, §11.4.1, §11.12.1): the embedder routes [mmioBase, mmioBase + 0x1000) of this CPU's
   * accesses here, ahead of RAM, and sends the rest of the address space elsewhere.
   */
  get mmioBase(): number { return this.window; }
  /** Whether the CMCI LVT exists: the version register's Max LVT entry (bits 23:16) is at least 6 (§11.5.1). */
  get hasCmci(): boolean { return ((this.versionReg >>> 16) & 0xff) >= R.LVT_MAX_WITH_CMCI; }
  get hasTscDeadline(): boolean { return this.tscSource !== undefined; }
  /** Armed IA32_TSC_DEADLINE value (0n = disarmed), for embedders that schedule by TSC. */
  get tscDeadline(): bigint { return this.deadline; }

  /** PPR (§11.8.3.1): TPR if its class is at least the highest in-service class, else that class. */
  get ppr(): number {
    const isrv = this.isrTop;
    return isrv < 0 || (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr : isrv & 0xf0;
  }

  /** APR as defined for P6/Pentium 4 (§11.6.2.4 of older editions): TPR unless a pending/in-service class beats it. */
  get apr(): number {
    const irrv = Math.max(this.irrTop, 0) & 0xf0;
    const isrv = Math.max(this.isrTop, 0) & 0xf0;
    const tprClass = this.tpr & 0xf0;
    if (tprClass >= irrv && tprClass > isrv) return this.tpr;
    return Math.max(tprClass & isrv, irrv);
  }

  /** INTR: the highest pending fixed interrupt's class exceeds the PPR class (§11.8.3). */
  hasInterrupt(): boolean {
    const v = this.irrTop;
    if (v < 0 || this.apicMode === 'disabled') return false;
    // PPR class = max(TPR class, ISR class); the IRR class must exceed both.
    const cls = v & 0xf0;
    return cls > (this.tpr & 0xf0) && (this.isrTop < 0 || cls > (this.isrTop & 0xf0));
  }

  /** INTA cycle: moves the highest deliverable IRR bit to the ISR; the spurious vector when none (ISR untouched). */
  acknowledge(): number {
    if (!this.hasInterrupt()) return this.svr & R.SVR_VECTOR;
    const v = this.irrTop;
    clearVector(this.irr, v);
    this.irrTop = highestVectorFrom(this.irr, v >>> 5);
    setVector(this.isr, v);
    if (v > this.isrTop) this.isrTop = v;
    this.updateIntr();
    return v;
  }

  connect(router: LapicRouter): void {
    if (typeof router !== 'object' || router === null || typeof router.deliver !== 'function' || typeof router.eoiBroadcast !== 'function') {
      throw new ApicUsageError('router must implement deliver() and eoiBroadcast()');
    }
    this.router = router;
  }

  /**
   * A message from the APIC bus, already matched to this APIC. Returns whether it was accepted
   * (false when dropped: hardware/software disabled, illegal vector, SIPI outside wait-for-SIPI).
   */
  /**
   * accept() of a fixed (or lowest-priority) message, for the bus's MSI fast path: the same checks,
   * drops and reports, without a message object. `deassert`: a level-triggered de-assert.
   */
  acceptFixedMessage(vector: number, levelTriggered: boolean, deassert: boolean, lowest: boolean): boolean {
    if (typeof vector !== 'number' || vector >>> 0 !== vector || vector > 0xff || typeof levelTriggered !== 'boolean' || typeof deassert !== 'boolean' || typeof lowest !== 'boolean') {
      throw new ApicUsageError(`acceptFixedMessage(vector 0..255, three booleans), got ${[vector, levelTriggered, deassert, lowest].map(describeValue).join(', ')}`);
    }
    return this[ACCEPT_FIXED](vector, levelTriggered, deassert, lowest);
  }

  /** acceptFixedMessage() for the bus, which computed the arguments itself. */
  [ACCEPT_FIXED](vector: number, levelTriggered: boolean, deassert: boolean, lowest: boolean): boolean {
    if (this.apicMode === 'disabled') return this.drop(`${lowest ? 'lowest' : 'fixed'} message while hardware-disabled`);
    if (deassert) return this.drop(`level de-assert for vector 0x${vector.toString(16)}`);
    if (!this.isSoftwareEnabled) return this.drop(`fixed vector 0x${vector.toString(16)} while software-disabled`);
    if (vector < R.FIRST_LEGAL_VECTOR) {
      this.signalError(R.ESR_RECEIVE_ILLEGAL_VECTOR);
      return false;
    }
    this.acceptFixed(vector, levelTriggered);
    return true;
  }

  accept(message: ApicMessage): boolean {
    checkMessage(message);
    const { vector, mode, trigger } = message;
    const deassert = trigger === 'level' && message.level === false;
    if (this.apicMode === 'disabled') return this.drop(`${mode} message while hardware-disabled`);
    switch (mode) {
      case 'fixed':
      case 'lowest':
        if (deassert) return this.drop(`level de-assert for vector 0x${vector.toString(16)}`);
        // §11.4.7.2: a software-disabled APIC holds IRR/ISR but takes no new fixed interrupts.
        if (!this.isSoftwareEnabled) return this.drop(`fixed vector 0x${vector.toString(16)} while software-disabled`);
        if (vector < R.FIRST_LEGAL_VECTOR) {
          this.signalError(R.ESR_RECEIVE_ILLEGAL_VECTOR);
          return false;
        }
        this.acceptFixed(vector, trigger === 'level');
        return true;
      case 'nmi':
        this.sink.nmi();
        return true;
      case 'smi':
        return this.raiseSmi();
      case 'init':
        if (deassert) return true; // INIT level de-assert: arbitration-ID sync on old CPUs, no effect since P4
        this.init();
        return true;
      case 'sipi':
        if (!this.sipiWait) {
          this.report('sipi-ignored', `start-up vector 0x${vector.toString(16)} outside wait-for-SIPI`);
          return false;
        }
        this.sipiWait = false;
        this.sink.sipi(vector);
        return true;
      case 'extint':
        this.sink.extint();
        return true;
      default:
        return false; // unreachable: the mode was validated above
    }
  }

  // ---- internals shared with the interrupt sources and access paths ----

  protected report(kind: LapicEventKind, detail: string): void {
    this.onEvent?.({ kind, apicId: this.hwId, detail });
  }

  private drop(detail: string): false {
    this.report('message-dropped', detail);
    return false;
  }

  protected updateIntr(): void {
    const now = this.hasInterrupt();
    if (now !== this.intrLine) {
      this.intrLine = now;
      this.sink.intr(now);
    }
  }

  /** §11.8.4: the TMR bit records the trigger mode of the interrupt accepted into the IRR. */
  protected acceptFixed(vector: number, level: boolean): void {
    setVector(this.irr, vector);
    if (vector > this.irrTop) this.irrTop = vector;
    if (level) setVector(this.tmr, vector);
    else clearVector(this.tmr, vector);
    this.updateIntr();
  }

  protected raiseSmi(): boolean {
    if (this.sink.smi) {
      this.sink.smi();
      return true;
    }
    this.report('message-dropped', 'SMI: the sink has no smi() input');
    return false;
  }

  /** An LVT-sourced fixed interrupt (timer, error, LINT, thermal, PMC, CMCI). */
  protected deliverLocalFixed(index: number, level: boolean): boolean {
    const entry = this.lvt[index];
    if (entry & R.LVT_MASKED) return false;
    const vector = entry & R.LVT_VECTOR;
    if (vector < R.FIRST_LEGAL_VECTOR) {
      if (index === R.Lvt.Error) this.esrPending |= R.ESR_RECEIVE_ILLEGAL_VECTOR; // no recursion into the error LVT
      else this.signalError(R.ESR_RECEIVE_ILLEGAL_VECTOR);
      return false;
    }
    this.acceptFixed(vector, level);
    return true;
  }

  /** Records an APIC error (§11.5.3); the error LVT fires once until the next ESR write re-arms it. */
  protected signalError(bits: number): void {
    this.esrPending |= bits;
    if (!this.errorArmed || this.apicMode === 'disabled') return;
    if (this.deliverLocalFixed(R.Lvt.Error, false)) this.errorArmed = false;
  }

  /** ESR write: the collected errors become visible, the collector clears, the error interrupt re-arms. */
  protected latchEsr(): void {
    this.esr = this.esrPending;
    this.esrPending = 0;
    this.errorArmed = true;
  }

  protected eoi(): void {
    const v = this.isrTop;
    if (v < 0) {
      this.report('eoi-without-isr', 'EOI with no interrupt in service');
      return;
    }
    clearVector(this.isr, v);
    this.isrTop = highestVectorFrom(this.isr, v >>> 5);
    if (testVector(this.tmr, v)) {
      // §11.8.5: level-triggered EOI goes to the I/O APICs unless broadcast suppression is on.
      if (!(this.svr & R.SVR_EOI_BROADCAST_SUPPRESSION)) this.router?.eoiBroadcast(v);
      this.levelEoi(v);
    }
    this.updateIntr();
  }

  /** INIT: APIC reset, then the CPU resets; an AP then waits for a start-up IPI, the BSP restarts (§9.4). */
  protected init(): void {
    this.initReset();
    this.sipiWait = !this.bsp;
    this.sink.init();
  }

  /** INIT (§11.4.7.3): registers to power-up values except the APIC ID and IA32_APIC_BASE. */
  protected initReset(): void {
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = R.DFR_RESET;
    this.svr = R.SVR_RESET;
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.irrTop = -1;
    this.isrTop = -1;
    this.esr = 0;
    this.esrPending = 0;
    this.errorArmed = true;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.fill(R.LVT_RESET);
    this.timer.stop();
    this.timer.setDivideConfig(0);
    this.deadline = 0n;
    this.router?.topologyChanged?.();
    this.updateIntr();
  }

  /** After IRR/ISR were replaced wholesale (state restore). */
  protected recomputeTops(): void {
    this.irrTop = highestVector(this.irr);
    this.isrTop = highestVector(this.isr);
  }

  /** A level-triggered vector was EOI'd (after the I/O APIC broadcast): LINT remote IRR hook. */
  protected abstract levelEoi(vector: number): void;
}
