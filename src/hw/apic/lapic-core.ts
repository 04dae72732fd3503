// Local APIC interrupt engine: Intel SDM vol. 3A §11.5 (LVT, error, timer), §11.6 (IPIs), §11.8 (IRR/ISR/
// TPR/PPR/EOI), §11.9 (SVR), §11.4.7 (reset/INIT). Register access paths (MMIO/MSR) live in local-apic.ts.
import type { ApicMessage, DeliveryMode, InterruptRouter, LapicSink } from '../signals';
import { ApicTimer } from './apic-timer';
import { ApicUsageError } from './errors';
import * as R from './registers';
import { clearVector, highestVector, newVectorBitmap, setVector, testVector } from './vector-bitmap';

export type ApicMode = 'disabled' | 'xapic' | 'x2apic';

/** The bus side of a local APIC: where its IPIs and EOI broadcasts go (ApicBus implements it). */
export interface LapicRouter extends InterruptRouter {
  eoiBroadcast(vector: number): void;
  /** The APIC's physical or logical identity changed (ID/LDR/DFR write, mode switch). */
  topologyChanged?(): void;
}

/** Guest actions that the SDM answers without a fault; reported so they are never silent. */
export type LapicEventKind =
  | 'illegal-register' // xAPIC access to a reserved offset (ESR bit 7 also latched)
  | 'read-only-write' // xAPIC write to a read-only register: ignored
  | 'mmio-unavailable' // MMIO while hardware-disabled or in x2APIC mode
  | 'message-dropped' // a bus message the APIC did not accept
  | 'sipi-ignored' // start-up IPI outside wait-for-SIPI
  | 'ipi-not-sent' // ICR write that sends nothing (reserved mode, INIT de-assert, no bus)
  | 'eoi-without-isr' // EOI with an empty ISR
  | 'lvt-unsupported-mode' // an LVT fired with a delivery mode its register does not support
  | 'reserved-timer-mode'; // LVT timer mode 11b (counts as one-shot)

export interface LapicEvent {
  kind: LapicEventKind;
  apicId: number;
  detail: string;
}

export interface LocalApicOptions {
  /** Initial (hardware) APIC ID: the x2APIC ID; the xAPIC ID register resets to its low 8 bits. */
  apicId: number;
  bsp?: boolean;
  sink: LapicSink;
  /** Time-stamp counter; without it TSC-deadline mode is absent (CPUID.01H:ECX[24] = 0). */
  tsc?: () => bigint;
  /** Version register value, default 0x00050014; bit 24 enables EOI-broadcast suppression (SVR bit 12). */
  version?: number;
  onEvent?: (event: LapicEvent) => void;
}

const ERROR_LVT_NAME: Record<number, string> = { 0: 'timer', 1: 'thermal', 2: 'PMC', 3: 'LINT0', 4: 'LINT1', 5: 'error', 6: 'CMCI' };

export class LapicCore {
  protected readonly hwId: number;
  protected readonly bsp: boolean;
  protected readonly sink: LapicSink;
  protected readonly tscSource: (() => bigint) | undefined;
  protected readonly versionReg: number;
  protected readonly onEvent: ((event: LapicEvent) => void) | undefined;
  protected router: LapicRouter | undefined;

  protected apicMode: ApicMode = 'xapic';
  protected baseAddr = R.APIC_DEFAULT_BASE;
  protected xapicId = 0;
  protected tpr = 0;
  protected ldr = 0;
  protected dfr = R.DFR_RESET;
  protected svr = R.SVR_RESET;
  protected readonly irr = newVectorBitmap();
  protected readonly isr = newVectorBitmap();
  protected readonly tmr = newVectorBitmap();
  /** Visible ESR, and the errors collected since the last ESR write (latched into it on write). */
  protected esr = 0;
  protected esrPending = 0;
  /** An ESR write re-arms the error interrupt (§11.5.3); it is consumed when one is delivered. */
  protected errorArmed = true;
  protected icrLow = 0;
  protected icrHigh = 0;
  protected readonly lvt = new Uint32Array(R.LVT_COUNT).fill(R.LVT_RESET);
  protected readonly timer = new ApicTimer();
  protected deadline = 0n;
  /** Electrical level of LINT0/LINT1 as driven by the platform. */
  protected readonly lintLevel: [boolean, boolean] = [false, false];
  protected sipiWait: boolean;
  protected intrLine = false;

  constructor(options: LocalApicOptions) {
    const { apicId, bsp = false, sink, tsc, version = R.VERSION_DEFAULT, onEvent } = options ?? ({} as LocalApicOptions);
    // 0xFFFFFFFF is the x2APIC broadcast ID and can never be assigned (§11.12.2).
    if (!Number.isInteger(apicId) || apicId < 0 || apicId > 0xffff_fffe) {
      throw new ApicUsageError(`apicId must be an integer in [0, 0xFFFFFFFE], got ${String(apicId)}`);
    }
    for (const fn of ['intr', 'nmi', 'init', 'sipi', 'extint'] as const) {
      if (typeof sink?.[fn] !== 'function') throw new ApicUsageError(`sink.${fn} must be a function`);
    }
    if (tsc !== undefined && typeof tsc !== 'function') throw new ApicUsageError('tsc must be a function returning bigint');
    if (!Number.isInteger(version) || version < 0 || version > 0xffff_ffff) {
      throw new ApicUsageError(`version must be a 32-bit unsigned integer, got ${String(version)}`);
    }
    this.hwId = apicId;
    this.bsp = bsp;
    this.sink = sink;
    this.tscSource = tsc;
    this.versionReg = version >>> 0;
    this.onEvent = onEvent;
    this.xapicId = apicId & 0xff;
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
  get hasTscDeadline(): boolean { return this.tscSource !== undefined; }
  /** Armed IA32_TSC_DEADLINE value (0n = disarmed), for embedders that schedule by TSC. */
  get tscDeadline(): bigint { return this.deadline; }

  /** PPR (§11.8.3.1): TPR if its class is at least the highest in-service class, else that class. */
  get ppr(): number {
    const isrv = highestVector(this.isr);
    return isrv < 0 || (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr : isrv & 0xf0;
  }

  /** APR as defined for P6/Pentium 4 (§11.6.2.4 of older editions): TPR unless a pending/in-service class beats it. */
  get apr(): number {
    const irrv = Math.max(highestVector(this.irr), 0) & 0xf0;
    const isrv = Math.max(highestVector(this.isr), 0) & 0xf0;
    const tprClass = this.tpr & 0xf0;
    if (tprClass >= irrv && tprClass > isrv) return this.tpr;
    return Math.max(tprClass & isrv, irrv);
  }

  /** INTR: the highest pending fixed interrupt's class exceeds the PPR class (§11.8.3). */
  hasInterrupt(): boolean {
    if (this.apicMode === 'disabled') return false;
    const v = highestVector(this.irr);
    return v >= 0 && (v & 0xf0) > (this.ppr & 0xf0);
  }

  /** INTA cycle: moves the highest deliverable IRR bit to the ISR; the spurious vector when none (ISR untouched). */
  acknowledge(): number {
    if (!this.hasInterrupt()) return this.svr & R.SVR_VECTOR;
    const v = highestVector(this.irr);
    clearVector(this.irr, v);
    setVector(this.isr, v);
    this.updateIntr();
    return v;
  }

  connect(router: LapicRouter): void {
    if (typeof router?.deliver !== 'function' || typeof router.eoiBroadcast !== 'function') {
      throw new ApicUsageError('router must implement deliver() and eoiBroadcast()');
    }
    this.router = router;
  }

  /**
   * A message from the APIC bus, already matched to this APIC. Returns whether it was accepted
   * (false when dropped: hardware/software disabled, illegal vector, SIPI outside wait-for-SIPI).
   */
  accept(message: ApicMessage): boolean {
    const { vector, mode, trigger } = message ?? ({} as ApicMessage);
    if (!Number.isInteger(vector) || vector < 0 || vector > 0xff) throw new ApicUsageError(`message vector ${String(vector)} is not 0–255`);
    if (trigger !== 'edge' && trigger !== 'level') throw new ApicUsageError(`message trigger ${String(trigger)} is not edge|level`);
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
        this.raiseSmi();
        return true;
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
        throw new ApicUsageError(`message mode ${String(mode)} is not a delivery mode`);
    }
  }

  /** Drives LINT0/LINT1 (electrical level; LVT polarity applies). Hardware-disabled: the pins act as INTR/NMI. */
  setLint(pin: 0 | 1, level: boolean): void {
    if (pin !== 0 && pin !== 1) throw new ApicUsageError(`LINT pin must be 0 or 1, got ${String(pin)}`);
    const before = this.lintAsserted(pin);
    const beforeLevel = this.lintLevel[pin];
    this.lintLevel[pin] = !!level;
    if (this.apicMode === 'disabled') {
      // §11.4.3: without an APIC, LINT0 is the INTR pin (the PIC supplies the vector) and LINT1 the NMI pin.
      if (level && !beforeLevel) pin === 0 ? this.sink.extint() : this.sink.nmi();
      return;
    }
    if (this.lintAsserted(pin) && !before) this.lintDeliver(pin, 'edge');
  }

  /** Raises the thermal, performance-counter or CMCI local interrupt; returns whether it was delivered. */
  fireLvt(source: 'thermal' | 'pmc' | 'cmci'): boolean {
    const index = source === 'thermal' ? R.Lvt.Thermal : source === 'pmc' ? R.Lvt.Pmc : source === 'cmci' ? R.Lvt.Cmci : -1;
    if (index < 0) throw new ApicUsageError(`unknown LVT source ${String(source)}`);
    if (this.apicMode === 'disabled' || this.lvt[index] & R.LVT_MASKED) return false;
    const dm = this.lvt[index] & R.LVT_DELIVERY_MODE;
    let delivered: boolean;
    if (dm === R.DM_FIXED << 8) delivered = this.deliverLocalFixed(index, false);
    else if (dm === R.DM_SMI << 8) delivered = this.raiseSmi();
    else if (dm === R.DM_NMI << 8) { this.sink.nmi(); delivered = true; }
    else {
      this.report('lvt-unsupported-mode', `${source} LVT delivery mode ${dm >>> 8} is not supported for this entry`);
      return false;
    }
    // Intel: handling a PMI sets the LVTPC mask bit; the PMI handler unmasks it (KVM a16eb25b09c0 cites the SDM).
    if (index === R.Lvt.Pmc && delivered) this.lvt[index] |= R.LVT_MASKED;
    return delivered;
  }

  /** Advances the APIC timer by n bus-clock ticks (TSC-deadline mode: compares the injected TSC). */
  tick(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new ApicUsageError(`tick count must be a non-negative safe integer, got ${String(n)}`);
    if (this.apicMode === 'disabled') return;
    const mode = this.timerMode;
    if (mode === 2) {
      this.pollDeadline();
      return;
    }
    if (this.timer.advance(n, mode === 1) > 0) this.deliverLocalFixed(R.Lvt.Timer, false);
  }

  /** Bus ticks until the timer next raises an interrupt; null if it will not (stopped, masked, TSC-deadline). */
  ticksUntilNextEvent(): number | null {
    if (this.apicMode === 'disabled' || this.timerMode === 2 || this.lvt[R.Lvt.Timer] & R.LVT_MASKED) return null;
    return this.timer.ticksUntilExpiry();
  }

  // ---- internals shared with the access paths ----

  protected get timerMode(): number {
    return (this.lvt[R.Lvt.Timer] & R.LVT_TIMER_MODE) >>> R.LVT_TIMER_MODE_SHIFT;
  }

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
    if (level) setVector(this.tmr, vector);
    else clearVector(this.tmr, vector);
    this.updateIntr();
  }

  private raiseSmi(): boolean {
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
    const v = highestVector(this.isr);
    if (v < 0) {
      this.report('eoi-without-isr', 'EOI with no interrupt in service');
      return;
    }
    clearVector(this.isr, v);
    if (testVector(this.tmr, v)) {
      // §11.8.5: level-triggered EOI goes to the I/O APICs unless broadcast suppression is on.
      if (!(this.svr & R.SVR_EOI_BROADCAST_SUPPRESSION)) this.router?.eoiBroadcast(v);
      this.lintEoi(v);
    }
    this.updateIntr();
  }

  private lintAsserted(pin: 0 | 1): boolean {
    const entry = this.lvt[pin === 0 ? R.Lvt.Lint0 : R.Lvt.Lint1];
    return this.lintLevel[pin] !== ((entry & R.LVT_POLARITY_LOW) !== 0);
  }

  /**
   * LINT input asserted. `cause`: a new assertion edge, a level re-check after EOI, or the LVT just
   * unmasked. Edge-sensitive modes act only on edges; ExtINT (always level) also on unmask.
   */
  protected lintDeliver(pin: 0 | 1, cause: 'edge' | 'eoi' | 'unmask'): void {
    const index = pin === 0 ? R.Lvt.Lint0 : R.Lvt.Lint1;
    const entry = this.lvt[index];
    if (entry & R.LVT_MASKED) return;
    const dm = (entry & R.LVT_DELIVERY_MODE) >>> 8;
    // Only fixed mode honours the trigger bit, and LINT1 is always edge (§11.5.1).
    const levelFixed = dm === R.DM_FIXED && pin === 0 && (entry & R.LVT_TRIGGER_LEVEL) !== 0;
    if (cause !== 'edge' && !levelFixed && !(dm === R.DM_EXTINT && cause === 'unmask')) return;
    switch (dm) {
      case R.DM_FIXED:
        if (!levelFixed) {
          this.deliverLocalFixed(index, false);
          return;
        }
        if (entry & R.LVT_REMOTE_IRR) return;
        // Remote IRR goes up before delivery so a sink that INTAs and EOIs re-entrantly clears it again.
        this.lvt[index] = entry | R.LVT_REMOTE_IRR;
        if (!this.deliverLocalFixed(index, true)) this.lvt[index] &= ~R.LVT_REMOTE_IRR;
        return;
      case R.DM_SMI: this.raiseSmi(); return;
      case R.DM_NMI: this.sink.nmi(); return;
      case R.DM_INIT: this.init(); return;
      case R.DM_EXTINT: this.sink.extint(); return;
      default:
        this.report('lvt-unsupported-mode', `${ERROR_LVT_NAME[index]} LVT delivery mode ${dm} is reserved`);
    }
  }

  /** EOI of a level-triggered vector clears LINT remote IRR and re-delivers while the pin stays asserted. */
  private lintEoi(vector: number): void {
    for (const pin of [0, 1] as const) {
      const index = pin === 0 ? R.Lvt.Lint0 : R.Lvt.Lint1;
      const entry = this.lvt[index];
      if (!(entry & R.LVT_REMOTE_IRR) || (entry & R.LVT_VECTOR) !== vector) continue;
      this.lvt[index] = entry & ~R.LVT_REMOTE_IRR;
      if (this.lintAsserted(pin)) this.lintDeliver(pin, 'eoi');
    }
  }

  /** After an LVT LINT write: an asserted input re-evaluates (level-triggered fixed, or ExtINT just unmasked). */
  protected lintRecheck(pin: 0 | 1, unmasked: boolean): void {
    if (this.lintAsserted(pin)) this.lintDeliver(pin, unmasked ? 'unmask' : 'eoi');
  }

  protected pollDeadline(): void {
    if (this.deadline !== 0n && this.tscSource!() >= this.deadline) {
      this.deadline = 0n; // §11.5.4.1: the MSR reads 0 once the timer has fired
      this.deliverLocalFixed(R.Lvt.Timer, false);
    }
  }

  /** ICR command (§11.6.1). IPIs are always sent edge-triggered/asserted (trigger/level ignored since P4). */
  protected sendIpi(): void {
    const x2 = this.apicMode === 'x2apic';
    const f = R.decodeIcr(this.icrLow, this.icrHigh, x2);
    if (f.mode === null) {
      this.report('ipi-not-sent', `ICR delivery mode ${f.deliveryModeCode} is reserved`);
      return;
    }
    if (f.mode === 'init' && !f.level && f.trigger === 'level') {
      this.report('ipi-not-sent', 'INIT level de-assert has no effect on Pentium 4 and later');
      return;
    }
    if (f.mode === 'lowest' && x2) {
      this.signalError(R.ESR_REDIRECTABLE_IPI); // lowest-priority IPIs are reserved in x2APIC mode
      return;
    }
    const mode = f.mode;
    this.send(mode, f.vector, f.shorthand === 'self', () =>
      this.router!.deliver(
        { id: f.destination, mode: f.destinationMode, shorthand: f.shorthand, source: this.hwId, x2apic: x2 },
        { vector: f.vector, mode, trigger: 'edge', level: true },
      ),
    );
  }

  /** SELF IPI register (x2APIC only): a fixed edge interrupt to this APIC. */
  protected selfIpi(vector: number): void {
    this.send('fixed', vector, true, () => []);
  }

  private send(mode: DeliveryMode, vector: number, self: boolean, viaBus: () => number[]): void {
    if ((mode === 'fixed' || mode === 'lowest') && vector < R.FIRST_LEGAL_VECTOR) {
      // §11.5.3: a self-interrupt with an illegal vector is both sent and received illegally.
      this.signalError(R.ESR_SEND_ILLEGAL_VECTOR | (self ? R.ESR_RECEIVE_ILLEGAL_VECTOR : 0));
      return;
    }
    if (self) {
      this.accept({ vector, mode, trigger: 'edge', level: true });
      return;
    }
    if (!this.router) {
      this.report('ipi-not-sent', 'the APIC is not attached to a bus');
      return;
    }
    viaBus();
  }

  /** INIT: APIC reset, then the CPU resets; an AP then waits for a start-up IPI, the BSP restarts (§9.4). */
  private init(): void {
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
}
