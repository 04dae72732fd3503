// Local APIC interrupt sources: LVT LINT0/1 pins, thermal/PMC/CMCI, the timer (one-shot, periodic,
// TSC-deadline) and IPIs from the ICR — SDM vol. 3A §11.5.1, §11.5.4, §11.6.1. Acceptance is in lapic-core.
import type { DeliveryMode } from '../signals.js';
import { ApicUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { LapicCore } from './lapic-core.js';
import * as R from './registers.js';

export abstract class LapicSources extends LapicCore {
  /** Drives LINT0/LINT1 (electrical level; LVT polarity applies). Hardware-disabled: the pins act as INTR/NMI. */
  setLint(pin: 0 | 1, level: boolean): void {
    if (pin !== 0 && pin !== 1) throw new ApicUsageError(`LINT pin must be 0 or 1, got ${describeValue(pin)}`);
    // An electrical level, as IoApic.setIrq takes it: anything but a boolean is a caller bug.
    if (typeof level !== 'boolean') throw new ApicUsageError(`setLint(${pin}): level must be a boolean, got ${describeValue(level)}`);
    const before = this.lintAsserted(pin);
    const beforeLevel = this.lintLevel[pin];
    this.lintLevel[pin] = level;
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
    if (index < 0) throw new ApicUsageError(`LVT source must be 'thermal', 'pmc' or 'cmci', got ${describeValue(source)}`);
    if (index === R.Lvt.Cmci && !this.hasCmci) {
      this.report('lvt-absent', 'CMCI raised but this APIC has no CMCI LVT (version Max LVT < 6): ignored');
      return false;
    }
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
    if (!Number.isSafeInteger(n) || n < 0) throw new ApicUsageError(`tick count must be a non-negative safe integer, got ${describeValue(n)}`);
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

  protected get timerMode(): number {
    return (this.lvt[R.Lvt.Timer] & R.LVT_TIMER_MODE) >>> R.LVT_TIMER_MODE_SHIFT;
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
        this.report('lvt-unsupported-mode', `${R.LVT_NAMES[index]} LVT delivery mode ${dm} is reserved`);
    }
  }

  /** EOI of a level-triggered vector clears LINT remote IRR and re-delivers while the pin stays asserted. */
  protected levelEoi(vector: number): void {
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
    const self = f.shorthand === 'self';
    if (this.illegalSend(f.mode, f.vector, self)) return;
    const message = { vector: f.vector, mode: f.mode, trigger: 'edge' as const, level: true };
    if (self) {
      this.accept(message); // self IPIs never leave the APIC
      return;
    }
    if (!this.router) {
      this.report('ipi-not-sent', 'the APIC is not attached to a bus');
      return;
    }
    this.router.deliver({ id: f.destination, mode: f.destinationMode, shorthand: f.shorthand, source: this.hwId, x2apic: x2 }, message);
  }

  /** SELF IPI register (x2APIC only): a fixed edge interrupt to this APIC. */
  protected selfIpi(vector: number): void {
    if (!this.illegalSend('fixed', vector, true)) this.accept({ vector, mode: 'fixed', trigger: 'edge', level: true });
  }

  /** §11.5.3: fixed/lowest IPIs need vector ≥ 16; a self-interrupt is then both sent and received illegally. */
  private illegalSend(mode: DeliveryMode, vector: number, self: boolean): boolean {
    if ((mode !== 'fixed' && mode !== 'lowest') || vector >= R.FIRST_LEGAL_VECTOR) return false;
    this.signalError(R.ESR_SEND_ILLEGAL_VECTOR | (self ? R.ESR_RECEIVE_ILLEGAL_VECTOR : 0));
    return true;
  }
}
