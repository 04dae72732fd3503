// Count-down core of the local APIC timer in one-shot/periodic mode: Intel SDM vol. 3A §11.5.4. Time is
// bus-clock ticks handed in by the caller; TSC-deadline mode and interrupt delivery live in LocalApic.
import { divisorFor } from './registers.js';

/**
 * The current-count register decrements once every `divisor` bus ticks; reaching 0 is an expiry. The
 * prescaler phase restarts on every initial-count or divide write (hardware's free-running prescaler
 * phase is unobservable to software and would make runs non-deterministic).
 */
export class ApicTimer {
  initialCount = 0;
  currentCount = 0;
  /** Bus ticks elapsed since the last decrement, 0 ≤ phase < divisor. */
  phase = 0;
  divideConfig = 0;

  get divisor(): number {
    return divisorFor(this.divideConfig);
  }

  /** Counting: a non-zero current count (one-shot stops at 0; periodic reloads). */
  get running(): boolean {
    return this.currentCount !== 0;
  }

  /** Initial-count write: loads the counter and starts counting; 0 stops the timer (§11.5.4). */
  start(initialCount: number): void {
    this.initialCount = initialCount >>> 0;
    this.currentCount = this.initialCount;
    this.phase = 0;
  }

  stop(): void {
    this.initialCount = 0;
    this.currentCount = 0;
    this.phase = 0;
  }

  setDivideConfig(dcr: number): void {
    this.divideConfig = dcr;
    this.phase = 0;
  }

  /** Bus ticks until the next expiry, or null when not counting. */
  ticksUntilExpiry(): number | null {
    return this.currentCount === 0 ? null : this.currentCount * this.divisor - this.phase;
  }

  /**
   * Advances by n bus ticks and returns how many expiries happened (0, 1 or, in periodic mode with a
   * long step, more). A periodic counter reloads from the initial count at the instant it reaches 0.
   */
  advance(n: number, periodic: boolean): number {
    if (this.currentCount === 0 || n === 0) return 0;
    const div = this.divisor;
    const toExpiry = this.currentCount * div - this.phase;
    if (n < toExpiry) {
      this.consume(n, div);
      return 0;
    }
    let rest = n - toExpiry;
    if (!periodic || this.initialCount === 0) {
      this.currentCount = 0;
      this.phase = 0;
      return 1;
    }
    const period = this.initialCount * div;
    const extra = Math.floor(rest / period);
    rest -= extra * period;
    this.currentCount = this.initialCount;
    this.phase = 0;
    this.consume(rest, div); // rest < period, so the count stays ≥ 1
    return 1 + extra;
  }

  private consume(n: number, div: number): void {
    const total = this.phase + n;
    this.currentCount -= Math.floor(total / div);
    this.phase = total % div;
  }
}
