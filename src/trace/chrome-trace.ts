// Chrome trace-event JSON (the format chrome://tracing and ui.perfetto.dev open): one process per run,
// one thread (track) per CPU and one per PCI function. CPUs carry INTA as instant events, each handler
// as a complete event (ph "X" with its duration), EOIs and IPIs; functions carry configuration writes,
// BAR writes (the endpoint's doorbell) and the MSI writes they master, address and data in args.
// Timestamps are virtual time in microseconds, as the format wants.

import type { MsiOutcome } from '../hw/signals.js';
import type { Machine } from '../machine/machine.js';
import type { MachineTracer } from '../machine/tracer.js';
import { EP_DOORBELL } from '../hw/pci/msi-endpoint.js';

export interface TraceEvent {
  name: string;
  /** Phase: 'X' complete (with dur), 'i' instant (with s), 'M' metadata. */
  ph: 'X' | 'i' | 'M';
  /** Microseconds. */
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  /** Scope of an instant event: 't' its thread. */
  s?: 't';
  cat?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
}

/** Track ids: CPU i is tid CPU_TID + i, the k-th PCI function DEVICE_TID + k. */
export const CPU_TID = 1;
export const DEVICE_TID = 10_000;

const DELIVERY_MODES = ['fixed', 'lowest-priority', 'smi', 'reserved', 'nmi', 'init', 'startup', 'reserved'];
const SHORTHANDS = ['destination', 'self', 'all', 'all-but-self'];

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** Records one machine's run as one trace process. */
export class TraceRecorder implements MachineTracer {
  /** Events of this process (metadata first), in the order they happened. */
  readonly events: TraceEvent[] = [];
  private readonly deviceTid = new Map<string, number>();
  /** Per CPU, the handlers running (nested ones on top) and when each began (ns). */
  private readonly open: { event: TraceEvent; startNs: number }[][] = [];

  constructor(
    readonly pid: number,
    readonly processName: string,
  ) {
    this.meta(0, 'process_name', { name: processName });
  }

  /** Names a track for each CPU and PCI function of `machine` and starts observing it. */
  attach(machine: Machine): void {
    machine.cpus.forEach((c, i) => this.cpuTrack(i, `CPU ${i} (APIC ID ${c.apicId})`));
    for (const { bdf } of machine.pci.functions()) this.deviceTrack(bdf);
    machine.tracer = this;
  }

  /** Declares CPU track `cpu` (the bench has CPUs without a Machine). */
  cpuTrack(cpu: number, name = `CPU ${cpu}`): void {
    this.meta(CPU_TID + cpu, 'thread_name', { name });
    this.meta(CPU_TID + cpu, 'thread_sort_index', { sort_index: cpu });
    this.open[cpu] = [];
  }

  /** The track of function `bdf`, declared on first use. */
  deviceTrack(bdf: string): number {
    let tid = this.deviceTid.get(bdf);
    if (tid === undefined) {
      tid = DEVICE_TID + this.deviceTid.size;
      this.deviceTid.set(bdf, tid);
      this.meta(tid, 'thread_name', { name: `PCI ${bdf}` });
      this.meta(tid, 'thread_sort_index', { sort_index: tid });
    }
    return tid;
  }

  private meta(tid: number, name: string, args: Record<string, unknown>): void {
    this.events.push({ name, ph: 'M', ts: 0, pid: this.pid, tid, args });
  }

  /** An instant event on a track; usable by harnesses that are not a Machine (the migration bench). */
  instant(tid: number, name: string, timeNs: number, cat: string, args?: Record<string, unknown>): TraceEvent {
    const e: TraceEvent = { name, ph: 'i', s: 't', ts: timeNs / 1000, pid: this.pid, tid, cat, ...(args ? { args } : {}) };
    this.events.push(e);
    return e;
  }

  /** A complete event of known duration. */
  complete(tid: number, name: string, timeNs: number, durNs: number, cat: string, args?: Record<string, unknown>): void {
    this.events.push({ name, ph: 'X', ts: timeNs / 1000, dur: Math.max(0, durNs) / 1000, pid: this.pid, tid, cat, ...(args ? { args } : {}) });
  }

  // ---- MachineTracer ----

  interruptEnter(cpu: number, vector: number, timeNs: number): void {
    const tid = CPU_TID + cpu;
    this.instant(tid, `INTA ${hex(vector)}`, timeNs, 'inta', { vector: hex(vector) });
    const handler: TraceEvent = { name: `handler ${hex(vector)}`, ph: 'X', ts: timeNs / 1000, dur: 0, pid: this.pid, tid, cat: 'handler', args: { vector: hex(vector) } };
    this.events.push(handler);
    (this.open[cpu] ??= []).push({ event: handler, startNs: timeNs });
  }

  interruptExit(cpu: number, _vector: number, timeNs: number): void {
    const top = this.open[cpu]?.pop();
    if (top) top.event.dur = Math.max(0, timeNs - top.startNs) / 1000;
  }

  eoi(cpu: number, timeNs: number): void {
    this.instant(CPU_TID + cpu, 'EOI', timeNs, 'eoi');
  }

  ipi(cpu: number, icrLow: number, destination: number, timeNs: number): void {
    const vector = icrLow & 0xff;
    const mode = DELIVERY_MODES[(icrLow >>> 8) & 7]!;
    const shorthand = SHORTHANDS[(icrLow >>> 18) & 3]!;
    const to = shorthand === 'destination' ? `APIC ${hex(destination)}` : shorthand;
    this.instant(CPU_TID + cpu, `IPI ${mode === 'fixed' ? hex(vector) : mode} → ${to}`, timeNs, 'ipi', {
      icr: hex(icrLow >>> 0),
      vector: hex(vector),
      deliveryMode: mode,
      destinationMode: (icrLow >>> 11) & 1 ? 'logical' : 'physical',
      shorthand,
      destination: hex(destination),
    });
  }

  configWrite(bdf: string, reg: number, size: number, value: number, timeNs: number): void {
    this.instant(this.deviceTrack(bdf), `config write ${hex(reg)}`, timeNs, 'config', { register: hex(reg), size, value: hex(value) });
  }

  barWrite(bdf: string, bar: number, offset: number, size: number, value: number, timeNs: number): void {
    // irqslice's test endpoint (MsiEndpoint) rings message `value` through BAR 0 offset 0.
    const doorbell = bar === 0 && offset === EP_DOORBELL;
    this.instant(this.deviceTrack(bdf), doorbell ? `doorbell ${value}` : `BAR${bar} write +${hex(offset)}`, timeNs, doorbell ? 'doorbell' : 'bar', { bar, offset: hex(offset), size, value: hex(value) });
  }

  msiWrite(bdf: string, address: bigint, data: number, outcome: MsiOutcome, timeNs: number): void {
    const args: Record<string, unknown> = { address: hex(address), data: hex(data) };
    if (outcome.delivered) Object.assign(args, { delivered: true, vector: hex(outcome.vector), apicIds: outcome.apicIds, mode: outcome.mode, trigger: outcome.trigger });
    else Object.assign(args, { delivered: false, reason: outcome.reason, detail: outcome.detail });
    this.instant(this.deviceTrack(bdf), outcome.delivered ? `MSI ${hex(outcome.vector)} → APIC ${outcome.apicIds.map(hex).join(',') || 'none'}` : `MSI dropped (${outcome.reason})`, timeNs, 'msi', args);
  }
}

/**
 * The trace file: every recorder's events, metadata first, then each track in time order (a handler
 * keeps its place before the EOI it issued: the sort is stable).
 */
export function chromeTrace(recorders: readonly TraceRecorder[]): ChromeTrace {
  const all = recorders.flatMap((r) => r.events);
  const meta = all.filter((e) => e.ph === 'M');
  const timed = all
    .filter((e) => e.ph !== 'M')
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.pid - b.e.pid || a.e.tid - b.e.tid || a.e.ts - b.e.ts || a.i - b.i)
    .map((x) => x.e);
  return { traceEvents: [...meta, ...timed], displayTimeUnit: 'ns' };
}
