// The migration bench: three local APICs on an APIC bus, a PCI host with one MSI endpoint, and the
// guest firmware's interrupt layer, with every interrupt traced from the device to the handler it ran.
// Left out: I/O APIC, timers, RAM; CPUs are steps, not generators (the harness picks each step).
//
// Layout (x86 preset matrix, CPUs 0–2, APIC ID = CPU index): the device's block of n sits on CPU 1
// (A) at base P; another driver ("nbB") owns P..P+n−1 on CPU 2 (B), so a move to B needs a new base
// Q ≠ P — the case where the address and the data both change. With stale = 'busy', a third driver
// ("nbA") owns Q..Q+n−1 on A, where the Linux dance's intermediate message lands. With target =
// 'same-base' there is no nbB: the block can keep its base and only the address changes.
import { createMatrixSync, type VectorMatrix } from '../alloc/matrix.js';
import { ApicBus } from '../hw/apic/apic-bus.js';
import { LocalApic } from '../hw/apic/local-apic.js';
import type { MsiVectors } from '../hw/pci/msi-capability.js';
import { MsiEndpoint } from '../hw/pci/msi-endpoint.js';
import { PciHost } from '../hw/pci/pci-host.js';
import type { ApicMessage, Destination, LapicSink } from '../hw/signals.js';
import { ECAM_BASE, IOAPIC_BASE, LAPIC_BASE, PCI_MMIO_BASE } from '../machine/memory-map.js';
import { msiBlockBinding, planSetAffinity, type AffinityContext, type MoveProtocol, type MsiBlockBinding } from '../../firmware/affinity.js';
import { planOffline, StepQueue, type EvacItem } from '../../firmware/hotplug.js';
import { IoApicDriver } from '../../firmware/ioapic-driver.js';
import { IrqLayer } from '../../firmware/irq.js';
import { LapicDriver, SPURIOUS_VECTOR } from '../../firmware/lapic.js';
import { PCI_IRQ_MSI, pciAllocIrqVectors } from '../../firmware/msi.js';
import { ecamAccess, PciBusDriver } from '../../firmware/pci.js';
import { VectorDomain } from '../../firmware/vector-domain.js';
import { BenchCpu } from './bench-cpu.js';
import { BenchRemapping } from './bench-remap.js';
import { MigrateUsageError } from './errors.js';
import { CPU_TID, type TraceRecorder } from '../trace/chrome-trace.js';

export type BenchMode = 'affinity' | 'unplug';
export type Schedule = 'eager' | 'lazy';

export interface BenchOptions {
  protocol: MoveProtocol;
  /** 'affinity': A moves the block to B and stays online; 'unplug': A evacuates and goes offline. */
  mode: BenchMode;
  count: MsiVectors;
  pvm: boolean;
  is64: boolean;
  /** Q..Q+n−1 on A: unused ('free') or another driver's ('busy'). */
  stale: 'free' | 'busy';
  /** 'other-base' (default): another driver holds P on B; 'same-base': P is free on B too. */
  target?: 'other-base' | 'same-base';
  /** 'eager': every CPU takes a pending interrupt at once; 'lazy': B only when A's program is done. */
  schedule: Schedule;
  /** How the guest names CPUs in the block's address: 'physical' (default) or flat 'logical' (LDR = 1 << cpu). */
  destMode?: 'physical' | 'logical';
}

export const DEVICE_BDF = '00:03.0';
export const OLD_CPU = 1;
export const NEW_CPU = 2;
const CPUS = 3;
const PCI_MMIO_LIMIT = 0xafff_ffff; // below the bench's ECAM window

/** A message the device fired, and everything that became of it. */
export interface FireRecord {
  id: number;
  index: number;
  /** Guest step the message was fired after, numbered ('0. (start)' before the first). */
  after: string;
  result: 'sent' | 'pended' | 'suppressed';
  /** Each handler run that consumed a request this message caused: was it its own handler, reached by a re-raise? */
  services: { own: boolean; reraised: boolean; cpu: number; vector: number; owner: string | null }[];
}

interface Token {
  fire: FireRecord;
  reraised: boolean;
}

const NULL_SINK: LapicSink = { intr() {}, nmi() {}, init() {}, sipi() {}, extint() {} };

/** The APIC bus, with IPIs observed so a software re-raise carries its requests along. */
class TracingBus extends ApicBus {
  constructor(private readonly onIpi: (accepted: number[], msg: ApicMessage) => void) {
    super();
  }
  override deliver(dest: Destination, msg: ApicMessage): number[] {
    const ids = super.deliver(dest, msg);
    this.onIpi(ids, msg);
    return ids;
  }
}

export class MigrationBench {
  readonly matrix: VectorMatrix;
  readonly lapics: LocalApic[];
  readonly cpus: BenchCpu[];
  readonly endpoint: MsiEndpoint;
  readonly irq: IrqLayer;
  readonly binding: MsiBlockBinding;
  readonly ctx: AffinityContext;
  readonly program: StepQueue;
  readonly fires: FireRecord[] = [];
  /** What happened, in order: guest steps and device messages. */
  readonly trace: string[] = [];
  /** Handler runs of the device with no request of its own behind them. */
  extraOwnRuns = 0;
  /** Handler runs (or APIC spurious vectors) that served none of the requests behind them. */
  spuriousRuns = 0;
  /** When set, the run is recorded as trace events: guest step s at s µs, a message fired after it at s + 0.75 µs. */
  recorder: TraceRecorder | null = null;
  /** Vectors held beyond the starting layout, peak over the run, on A and on B. */
  readonly peakExtra = { old: 0, new: 0 };
  private readonly bus: TracingBus;
  /** Protocol 'remap': the VT-d unit the device's requests go through, its RAM and the guest's driver. */
  readonly remapping: BenchRemapping | null;
  private readonly pendingFires: FireRecord[][];
  private readonly irr = new Map<number, Token[]>();
  private readonly baseline: { old: number; new: number };
  private ringing: FireRecord | null = null;
  private reraiseFrom: number | null = null;
  private clock = 0;
  private last = '0. (start)';

  constructor(readonly options: BenchOptions) {
    const n = options.count;
    this.matrix = createMatrixSync({ cpus: CPUS, engine: 'js', preset: 'x86' });
    this.bus = new TracingBus((ids, msg) => this.ipiLanded(ids, msg));
    this.lapics = Array.from({ length: CPUS }, (_, i) => new LocalApic({ apicId: i, bsp: i === 0, sink: NULL_SINK }));
    for (const l of this.lapics) this.bus.attach(l);
    this.remapping = options.protocol === 'remap' ? new BenchRemapping(this.bus) : null;
    const host = new PciHost({ upstream: { memoryWrite: (a, d) => this.deviceWrite(a, d, -1), memoryWriteFrom: (rid, a, d) => this.deviceWrite(a, d, rid), intx: () => {} } });
    this.endpoint = new MsiEndpoint({ msi: { vectors: n, is64: options.is64, pvm: options.pvm } });
    host.add(DEVICE_BDF, this.endpoint);
    this.pendingFires = Array.from({ length: 32 }, () => []);
    this.cpus = this.lapics.map((l, i) => new BenchCpu(i, l, host, () => this.clock, this.remapping));
    const lapic = new LapicDriver(LAPIC_BASE);
    this.irq = new IrqLayer(CPUS, new Map(this.lapics.map((l, i) => [l.apicId, i])), lapic);
    this.irq.recording = true; // every arrival is judged
    const destMode = options.destMode ?? 'physical';
    for (const c of this.cpus) {
      if (destMode === 'logical') lapic.initFlatLdr(c, c.index);
      lapic.enable(c);
      c.lidt(this.irq.idt);
    }
    const apicIds = this.lapics.map((l) => l.apicId);
    const domain = new VectorDomain('aligned', this.matrix, apicIds);
    for (let c = 0; c < CPUS; c++) domain.online(c);
    const pci = new PciBusDriver(ecamAccess(ECAM_BASE), PCI_MMIO_BASE, PCI_MMIO_LIMIT);
    const dev = pci.enumerate(this.cpus[0]!, 0, 0, () => {})[0];
    if (dev === undefined) throw new MigrateUsageError('the bench endpoint was not enumerated');
    this.ctx = { pci, lapic, irq: this.irq, domain, apicIds, destMode, onReraise: (r) => (this.reraiseFrom = key(r.fromCpu, r.fromVector)) };
    this.remapping?.enable(this.cpus[0]!);

    if (options.target !== 'same-base') {
      const nbB = this.matrix.allocBlock([NEW_CPU], n);
      this.bindOther('nbB', nbB.cpu, nbB.base, n);
    }
    const log = () => {};
    const dctx = { cpu: this.cpus[0]!, pci, domain, irq: this.irq, ioapic: new IoApicDriver(IOAPIC_BASE, 0), apicIds, destMode, log };
    const alloc = pciAllocIrqVectors(dctx, dev, n, n, PCI_IRQ_MSI, () => {});
    const block = alloc?.block;
    if (!alloc || !block || block.cpu !== OLD_CPU || block.count !== n) {
      throw new MigrateUsageError(`bench layout: expected the device's ${n} vectors on CPU ${OLD_CPU}`);
    }
    const items: EvacItem[] = [];
    if (options.stale === 'busy') {
      const nbA = this.matrix.allocBlock([OLD_CPU], n);
      items.push({ base: nbA.base, count: n, descs: this.bindOther('nbA', OLD_CPU, nbA.base, n) });
    }
    this.binding = msiBlockBinding(this.ctx, this.cpus[OLD_CPU]!, dev, block, alloc.vectors.map((v) => v.desc));
    this.remapping?.remapDevice(this.ctx, this.cpus[0]!, dev, this.binding);
    this.baseline = { old: this.matrix.allocated(OLD_CPU), new: this.matrix.allocated(NEW_CPU) };
    for (const c of this.cpus) if (c.index !== OLD_CPU) c.sti();
    if (options.mode === 'affinity') {
      this.program = new StepQueue(planSetAffinity(this.ctx, this.binding, [NEW_CPU], options.protocol).steps);
    } else {
      items.unshift({ base: block.base, count: n, binding: this.binding, mask: [OLD_CPU, NEW_CPU] });
      this.program = planOffline(this.ctx, OLD_CPU, items, options.protocol).queue;
    }
    this.track();
  }

  private bindOther(owner: string, cpu: number, base: number, n: number) {
    return Array.from({ length: n }, (_, i) => {
      const d = this.irq.newDesc(owner, i, 'msi', () => {});
      this.irq.bind(cpu, base + i, d);
      return d;
    });
  }

  // ---- the device ----------------------------------------------------------------------------

  /** The device signals message `index` now (its doorbell logic, not a guest access). */
  fire(index: number): FireRecord {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.count) {
      throw new MigrateUsageError(`message ${String(index)} is outside the block of ${this.options.count}`);
    }
    const rec: FireRecord = { id: this.fires.length, index, after: this.last, result: 'suppressed', services: [] };
    this.fires.push(rec);
    this.ringing = rec;
    // Recorded before the ring, so the MSI write it causes follows it on the device's track.
    const ev = this.recorder?.instant(this.recorder.deviceTrack(DEVICE_BDF), `fire message ${index}`, this.clock * 1000 + 750, 'doorbell', { index, after: rec.after });
    const out = this.endpoint.ring(index);
    this.ringing = null;
    rec.result = out.result === 'pended' ? 'pended' : out.result === 'sent' ? 'sent' : 'suppressed';
    if (rec.result === 'pended') this.pendingFires[index]!.push(rec);
    if (rec.result !== 'sent') this.trace.push(`device: message ${index} ${rec.result}`);
    if (ev) (ev.name += `: ${rec.result}`), (ev.args!.result = rec.result);
    return rec;
  }

  /** Upstream of the PCI host: an MSI write, at ring time or when a masked message is released. */
  private deviceWrite(address: bigint, data: number, requesterId: number): void {
    const out = this.remapping ? this.remapping.deliver(this.bus, address, data, requesterId) : this.bus.msiWrite(address, data);
    let recs: FireRecord[];
    if (this.ringing !== null) recs = [this.ringing];
    else {
      const i = data & ((1 << (this.endpoint.msi!.multipleMessageEnable)) - 1);
      recs = this.pendingFires[i]!.splice(0);
    }
    const what = `device: message ${data & 0x1f & ((1 << this.endpoint.msi!.multipleMessageEnable) - 1)}${this.ringing ? '' : ' (was pending)'}`;
    if (this.recorder) {
      const args = { address: `0x${address.toString(16)}`, data: `0x${data.toString(16)}`, ...(out.delivered ? { vector: `0x${out.vector.toString(16)}`, apicIds: out.apicIds } : { reason: out.reason }) };
      const name = out.delivered ? `MSI 0x${out.vector.toString(16)} → ${out.apicIds.map((id) => `CPU ${id}`).join(', ') || 'not accepted'}` : `MSI dropped (${out.reason})`;
      this.recorder.instant(this.recorder.deviceTrack(DEVICE_BDF), name, this.ringing ? this.clock * 1000 + 750 : (this.clock + 1) * 1000 + 250, 'msi', args);
    }
    if (!out.delivered) {
      this.trace.push(`${what} → dropped (${out.reason})`);
      return;
    }
    this.trace.push(`${what} → ${out.apicIds.map((id) => `CPU ${id}`).join(', ') || 'not accepted'} vector 0x${out.vector.toString(16)}`);
    for (const id of out.apicIds) this.tokens(id, out.vector).push(...recs.map((fire) => ({ fire, reraised: false })));
  }

  private ipiLanded(ids: number[], msg: ApicMessage): void {
    const from = this.reraiseFrom;
    this.reraiseFrom = null;
    const carried = from === null ? [] : (this.irr.get(from) ?? []).map((t) => ({ fire: t.fire, reraised: true }));
    for (const id of ids) this.tokens(id, msg.vector).push(...carried);
  }

  private tokens(cpu: number, vector: number): Token[] {
    const k = key(cpu, vector);
    let t = this.irr.get(k);
    if (t === undefined) this.irr.set(k, (t = []));
    return t;
  }

  // ---- the guest -----------------------------------------------------------------------------

  /** Runs one guest step (an interrupt taken or a program step); null when no CPU can progress. */
  step(): string | null {
    const lazy = this.options.schedule === 'lazy';
    const order = lazy ? [OLD_CPU] : this.cpus.map((c) => c.index);
    for (const c of order) if (this.canTake(c)) return this.done(this.service(c), c, 'handler');
    const head = this.program.peek();
    if (head !== undefined && this.program.runNext(this.cpus[OLD_CPU]!) === 'done') return this.done(`CPU ${OLD_CPU}: ${head.label}`, OLD_CPU, 'step');
    if (lazy) for (const c of this.cpus) if (c.index !== OLD_CPU && this.canTake(c.index)) return this.done(this.service(c.index), c.index, 'handler');
    return null;
  }

  /** The program has steps left that cannot run (waiting forever). */
  get stuck(): boolean {
    return !this.program.empty;
  }

  private canTake(c: number): boolean {
    return this.cpus[c]!.interruptsEnabled && this.lapics[c]!.hasInterrupt();
  }

  private done(label: string, cpu: number, cat: 'handler' | 'step'): string {
    this.clock++;
    this.recorder?.complete(CPU_TID + cpu, label.replace(/^CPU \d+: /, ''), this.clock * 1000, 500, cat);
    this.last = `${this.clock}. ${label}`;
    this.trace.push(label);
    this.track();
    return label;
  }

  private track(): void {
    this.peakExtra.old = Math.max(this.peakExtra.old, this.matrix.allocated(OLD_CPU) - this.baseline.old);
    this.peakExtra.new = Math.max(this.peakExtra.new, this.matrix.allocated(NEW_CPU) - this.baseline.new);
  }

  private service(c: number): string {
    let taken: Token[] = [];
    const seen = this.irq.observations.length;
    const vector = this.cpus[c]!.takeInterrupt((v) => {
      taken = this.irr.get(key(c, v)) ?? [];
      this.irr.delete(key(c, v));
    });
    const obs = this.irq.observations.length > seen ? this.irq.observations[this.irq.observations.length - 1]! : null;
    const owner = obs?.owner ?? null;
    const ownFor = (i: number) => owner === DEVICE_BDF && obs?.index === i;
    for (const t of taken) t.fire.services.push({ own: ownFor(t.fire.index), reraised: t.reraised, cpu: c, vector, owner });
    if (vector === SPURIOUS_VECTOR) this.spuriousRuns++;
    else if (taken.length === 0) owner === DEVICE_BDF ? this.extraOwnRuns++ : this.spuriousRuns++;
    else if (!taken.some((t) => ownFor(t.fire.index))) this.spuriousRuns++;
    return `CPU ${c}: takes 0x${vector.toString(16)} → ${owner === null ? 'no handler' : `${owner}#${obs!.index}`}`;
  }
}

function key(cpu: number, vector: number): number {
  return cpu * 256 + vector;
}
