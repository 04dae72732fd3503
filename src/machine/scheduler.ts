// The one virtual clock and the CPU scheduler: deterministic round robin in CPU order over the CPUs
// that can run, time advanced to the next event (a paused guest thread or an armed APIC timer) when
// none can. Idle CPUs cost nothing: only CPUs that may run are stepped and only armed APIC timers are
// clocked; every other APIC catches up when its CPU next touches it.

import { Cpu, CpuShutdown } from './cpu';
import type { GuestProgram } from './guest-interface';
import { BUS_CLOCK_NS } from './memory-map';

export type RunEnd = 'bsp-finished' | 'time-limit' | 'all-cpus-stopped' | 'bsp-shutdown';

/** Virtual time a polling iteration (a `spin` yield) costs. */
const SPIN_NS = 50;

export class Scheduler {
  /** Virtual time in ns (the TSC runs at 1 GHz). */
  time = 0;
  // Scheduling sets, kept in CPU order.
  private readonly isActive: Uint8Array;
  private active: number[] = [];
  private activeDirty = false;
  private readonly isTimed: Uint8Array;
  private timed: number[] = [];
  private timedDirty = false;
  /** Bus-clock ticks each local APIC has been clocked to. */
  private readonly tickedTo: Float64Array;

  constructor(private readonly cpus: readonly Cpu[], private readonly timeLimit: number) {
    this.isActive = new Uint8Array(cpus.length);
    this.isTimed = new Uint8Array(cpus.length);
    this.tickedTo = new Float64Array(cpus.length);
  }

  wake(cpu: Cpu): void {
    const i = cpu.index;
    if (!this.isActive[i]) {
      this.isActive[i] = 1;
      this.activeDirty = true;
    }
    this.noteTimer(cpu);
  }

  /** Tracks whether the CPU's APIC timer will raise something (periodic/one-shot count or TSC deadline). */
  private noteTimer(cpu: Cpu): void {
    const armed = cpu.lapic.ticksUntilNextEvent() !== null || (cpu.lapic.hasTscDeadline && cpu.lapic.tscDeadline !== 0n);
    if (armed !== (this.isTimed[cpu.index] === 1)) {
      this.isTimed[cpu.index] = armed ? 1 : 0;
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

  private activeCpus(): number[] {
    if (this.activeDirty) {
      this.active = [];
      for (let i = 0; i < this.cpus.length; i++) if (this.isActive[i]) this.active.push(i);
      this.activeDirty = false;
    }
    return this.active;
  }

  private timedCpus(): number[] {
    if (this.timedDirty) {
      this.timed = [];
      for (let i = 0; i < this.cpus.length; i++) if (this.isTimed[i]) this.timed.push(i);
      this.timedDirty = false;
    }
    return this.timed;
  }

  private deactivate(cpu: Cpu): void {
    if (this.isActive[cpu.index]) {
      this.isActive[cpu.index] = 0;
      this.activeDirty = true;
    }
  }

  /** Advances virtual time to `t`, clocking every armed local APIC timer. */
  private advanceTo(t: number): void {
    this.time = t;
    // Rebuilding a list after a change makes a new array, so iterating the current one is safe.
    for (const i of this.timedCpus()) {
      const c = this.cpus[i]!;
      this.syncApic(c);
      this.noteTimer(c);
    }
  }

  /** Earliest time something will happen without a CPU running: a paused thread or an APIC timer. */
  private nextEventTime(): number | null {
    let next: number | null = null;
    for (const i of this.activeCpus()) {
      const c = this.cpus[i]!;
      if (c.state === 'running' && c.wakeAt > this.time) next = next === null ? c.wakeAt : Math.min(next, c.wakeAt);
    }
    for (const i of this.timedCpus()) {
      const c = this.cpus[i]!;
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

  /** Starts `program` on the BSP and runs until it returns (APs keep whatever state they reach). */
  run(program: GuestProgram): RunEnd {
    const bsp = this.cpus[0]!;
    bsp.start(program);
    for (;;) {
      let progressed = false;
      for (const i of this.activeCpus()) if (this.step(this.cpus[i]!)) progressed = true;
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
