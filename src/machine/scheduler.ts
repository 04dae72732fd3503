// The one virtual clock and the CPU scheduler: deterministic round robin in CPU order over the CPUs
// that can run, time advanced to the next event (a paused guest thread or an armed APIC timer) when
// none can. Idle CPUs cost nothing: only CPUs that may run are stepped and only armed APIC timers are
// clocked; every other APIC catches up when its CPU next touches it.

import { Cpu, CpuShutdown } from './cpu.js';
import type { GuestProgram } from './guest-interface.js';
import { BUS_CLOCK_NS } from './memory-map.js';

export type RunEnd = 'bsp-finished' | 'time-limit' | 'all-cpus-stopped' | 'bsp-shutdown';

/** Virtual time a polling iteration (a `spin` yield) costs. */
const SPIN_NS = 50;

export class Scheduler {
  /** Virtual time in ns (the TSC runs at 1 GHz). */
  time = 0;
  /** The CPU whose guest code runs (or ran last): device activity happens on its clock. */
  running: Cpu | null = null;
  // Scheduling sets: a bit per CPU, listed in CPU order into a reused buffer when a round (or a
  // search for the next event) starts and the set changed. Nothing lists them while a list is walked,
  // so a round steps exactly the CPUs that were active when it began.
  private readonly activeBits: Uint32Array;
  private readonly active: Int32Array;
  private activeCount = 0;
  private activeDirty = false;
  private readonly timedBits: Uint32Array;
  private readonly timed: Int32Array;
  private timedCount = 0;
  private timedDirty = false;
  /** Bus-clock ticks each local APIC has been clocked to. */
  private readonly tickedTo: Float64Array;
  /** True while run() is on the stack (a snapshot cannot be taken in the middle of guest code). */
  inRun = false;

  constructor(private readonly cpus: readonly Cpu[], private readonly timeLimit: number) {
    const words = (cpus.length + 31) >>> 5;
    this.activeBits = new Uint32Array(words);
    this.active = new Int32Array(cpus.length);
    this.timedBits = new Uint32Array(words);
    this.timed = new Int32Array(cpus.length);
    this.tickedTo = new Float64Array(cpus.length);
  }

  wake(cpu: Cpu): void {
    const i = cpu.index;
    const bit = 1 << (i & 31);
    if (!(this.activeBits[i >>> 5]! & bit)) {
      this.activeBits[i >>> 5]! |= bit;
      this.activeDirty = true;
    }
    this.noteTimer(cpu);
  }

  /** Tracks whether the CPU's APIC timer will raise something (periodic/one-shot count or TSC deadline). */
  private noteTimer(cpu: Cpu): void {
    const armed = cpu.lapic.ticksUntilNextEvent() !== null || (cpu.lapic.hasTscDeadline && cpu.lapic.tscDeadline !== 0n);
    const i = cpu.index;
    const bit = 1 << (i & 31);
    if (armed !== ((this.timedBits[i >>> 5]! & bit) !== 0)) {
      this.timedBits[i >>> 5]! ^= bit;
      this.timedDirty = true;
    }
  }

  syncApic(cpu: Cpu): void {
    const now = Math.floor(this.time / BUS_CLOCK_NS);
    const due = now - this.tickedTo[cpu.index]!;
    if (due > 0) {
      this.tickedTo[cpu.index] = now;
      cpu.lapic.tick(due);
    }
  }

  /** Lists the active CPUs into `active` if the set changed; returns how many there are. */
  private activeCpus(): number {
    if (this.activeDirty) {
      this.activeCount = listBits(this.activeBits, this.active);
      this.activeDirty = false;
    }
    return this.activeCount;
  }

  private timedCpus(): number {
    if (this.timedDirty) {
      this.timedCount = listBits(this.timedBits, this.timed);
      this.timedDirty = false;
    }
    return this.timedCount;
  }

  private deactivate(cpu: Cpu): void {
    const i = cpu.index;
    const bit = 1 << (i & 31);
    if (this.activeBits[i >>> 5]! & bit) {
      this.activeBits[i >>> 5]! &= ~bit;
      this.activeDirty = true;
    }
  }

  /** Advances virtual time to `t`, clocking every armed local APIC timer. */
  private advanceTo(t: number): void {
    this.time = t;
    // noteTimer() only marks the set dirty; it is listed again at the next timedCpus() call.
    const n = this.timedCpus();
    for (let k = 0; k < n; k++) {
      const c = this.cpus[this.timed[k]!]!;
      this.syncApic(c);
      this.noteTimer(c);
    }
  }

  /** Earliest time something will happen without a CPU running: a paused thread or an APIC timer. */
  private nextEventTime(): number | null {
    let next: number | null = null;
    const na = this.activeCpus();
    for (let k = 0; k < na; k++) {
      const c = this.cpus[this.active[k]!]!;
      if (c.state === 'running' && c.wakeAt > this.time) next = next === null ? c.wakeAt : Math.min(next, c.wakeAt);
    }
    const nt = this.timedCpus();
    for (let k = 0; k < nt; k++) {
      const c = this.cpus[this.timed[k]!]!;
      const ticks = c.lapic.ticksUntilNextEvent();
      let t: number | null = null;
      if (ticks !== null) t = (Math.floor(this.time / BUS_CLOCK_NS) + Math.max(1, ticks)) * BUS_CLOCK_NS;
      else if (c.lapic.tscDeadline !== 0n) t = Math.max(this.time + 1, Number(c.lapic.tscDeadline));
      if (t !== null) next = next === null ? t : Math.min(next, t);
    }
    return next;
  }

  /** Resumes one CPU's guest thread until it yields; returns false if it could not run. */
  private step(cpu: Cpu): boolean {
    if (cpu.state === 'halted') {
      if (!cpu.canWake()) {
        this.deactivate(cpu);
        return false;
      }
      cpu.state = 'running';
    }
    if (cpu.state !== 'running' || !cpu.thread) {
      this.deactivate(cpu);
      return false;
    }
    if (cpu.wakeAt > this.time) return false;
    if (cpu.pendingHlt) {
      cpu.pendingHlt = false;
      if (!cpu.canWake()) {
        cpu.state = 'halted';
        return true;
      }
    }
    this.running = cpu;
    try {
      cpu.boundary();
      if (cpu.state !== 'running') return true;
      const r = cpu.thread.next();
      if (r.done) {
        cpu.state = 'finished';
        cpu.thread = null;
        return true;
      }
      const y = r.value;
      // Charge the time the code spent on bus accesses since its last yield.
      const busy = Math.ceil(cpu.busyNs);
      cpu.busyNs = 0;
      if (y.kind === 'hlt') {
        if (busy > 0) {
          // The CPU reaches the HLT only after the busy stretch: halt then, not now.
          cpu.wakeAt = this.time + busy;
          cpu.pendingHlt = true;
        } else if (!cpu.canWake()) cpu.state = 'halted';
      } else if (y.kind === 'pause') {
        cpu.wakeAt = this.time + busy + Math.max(1, Math.ceil(y.ns));
      } else {
        cpu.wakeAt = this.time + busy + SPIN_NS;
      }
    } catch (e) {
      if (e instanceof CpuShutdown) return true;
      cpu.shutdown(`guest fault: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
    return true;
  }

  /** Bus-clock ticks local APIC `index`'s timer has been brought up to (see syncApic). */
  apicTicks(index: number): number {
    return this.tickedTo[index]!;
  }

  /**
   * A restored clock: virtual time and each APIC's clocked-to tick (checked by the caller). The
   * scheduling sets are derived state: every CPU is woken, and one that cannot run drops out at its
   * first step, as after any other wake-up.
   */
  restoreClock(timeNs: number, apicTicks: readonly number[]): void {
    this.time = timeNs;
    this.tickedTo.set(apicTicks);
    this.activeBits.fill(0);
    this.timedBits.fill(0);
    this.activeDirty = true;
    this.timedDirty = true;
    for (const c of this.cpus) this.wake(c);
  }

  /** Starts `program` on the BSP and runs until it returns (APs keep whatever state they reach). */
  run(program: GuestProgram): RunEnd {
    this.inRun = true;
    try {
      return this.loop(program);
    } finally {
      this.inRun = false;
    }
  }

  private loop(program: GuestProgram): RunEnd {
    const bsp = this.cpus[0]!;
    bsp.start(program);
    for (;;) {
      let progressed = false;
      const n = this.activeCpus();
      for (let k = 0; k < n; k++) if (this.step(this.cpus[this.active[k]!]!)) progressed = true;
      if (bsp.state === 'finished') return 'bsp-finished';
      if (bsp.state === 'shutdown') return 'bsp-shutdown';
      if (progressed) continue;
      const next = this.nextEventTime();
      if (next === null) {
        // Nothing scheduled: look once at every CPU in case a wake-up came without a pin edge.
        let woke = false;
        for (const c of this.cpus) if (c.state === 'halted' && c.canWake()) (this.wake(c), (woke = true));
        if (woke) continue;
        return 'all-cpus-stopped';
      }
      if (next > this.timeLimit) {
        this.advanceTo(this.timeLimit);
        return 'time-limit';
      }
      this.advanceTo(next);
    }
  }
}

/** Writes the indexes of the set bits of `bits` into `out` in ascending order; returns their number. */
function listBits(bits: Uint32Array, out: Int32Array): number {
  let n = 0;
  for (let w = 0; w < bits.length; w++) {
    let x = bits[w]!;
    while (x !== 0) {
      const low = x & -x;
      out[n++] = (w << 5) | (31 - Math.clz32(low));
      x ^= low;
    }
  }
  return n;
}
