// An MSI storm on a machine booted by the guest kernel: after boot, a guest program on the BSP rings
// the endpoints' doorbells while it masks and unmasks messages (MSI per-vector mask bits, MSI-X vector
// control and function mask) and moves them between CPUs and vectors (reprogramming address/data
// between messages). A reference model of PCI 3.0 §6.8 — a message fired while masked becomes pending,
// pending messages coalesce, unmasking sends each pending message once to where it points then —
// predicts how often every (CPU, vector) must take an interrupt; the CPUs' own counters must agree:
// nothing lost, nothing duplicated. Used by the test suite (small) and `npm run fuzz -- --long`.

import { createMatrixSync } from '../../../src/alloc/matrix.js';
import { RESULT_MARKER } from '../../../firmware/console.js';
import { kernelMain } from '../../../firmware/kernel.js';
import { MsiEndpoint } from '../../../src/hw/pci/msi-endpoint.js';
import type { CpuContext, GuestYield } from '../../../src/machine/guest-interface.js';
import { createMachine, type Machine } from '../../../src/machine/machine.js';
import { ECAM_BASE } from '../../../src/machine/memory-map.js';
import { mulberry32 } from '../../../src/util/random.js';

export interface StormOptions {
  /** Stop once the reference expects at least this many interrupts. */
  deliveries: number;
  seed: number;
  cpus?: number;
  apic?: 'xapic' | 'x2apic';
  /** Guest operations per checked batch (counts compared after each). */
  batch?: number;
  onProgress?: (c: StormCounts) => void;
}

export interface StormCounts {
  seed: number;
  cpus: number;
  batches: number;
  ops: number;
  /** Doorbells rung. */
  rings: number;
  /** Interrupts the reference expects, and what the CPUs took on the storm's vectors. */
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** Rings that found their message masked (set or re-set a pending bit). */
  pended: number;
  /** Pending messages sent by an unmask (each must arrive once). */
  flushed: number;
  masks: number;
  unmasks: number;
  functionMasks: number;
  moves: number;
  /** MSI writes the host bridge saw (one per expected interrupt: catches duplicates that merged in an IRR). */
  messages: number;
  /** MSI writes the APIC bus refused (the storm only programs valid messages: must stay 0). */
  dropped: number;
  /** First discrepancies, for the report. */
  problems: string[];
}

const SPIN: GuestYield = { kind: 'spin' };

/** Vector blocks each device may be moved between (never shared, so no two messages meet in one IRR bit). */
interface MsiDev {
  kind: 'msi';
  bdf: string;
  ep: MsiEndpoint;
  ecam: number;
  cap: number;
  dataOff: number;
  maskOff: number | null;
  count: number;
  blocks: [number, number];
  cpu: number;
  block: 0 | 1;
  mask: number;
  pending: number;
  bar0: number;
}

interface MsixDev {
  kind: 'msix';
  bdf: string;
  ep: MsiEndpoint;
  ecam: number;
  cap: number;
  size: number;
  bar0: number;
  bar1: number;
  entries: { cpu: number; alt: 0 | 1; masked: boolean; pending: boolean }[];
  fmask: boolean;
}

type Dev = MsiDev | MsixDev;

const DEVICES = [
  { bdf: '00:03.0', msi: { vectors: 32, is64: true, pvm: true }, blocks: [0x40, 0xa0] },
  { bdf: '00:04.0', msi: { vectors: 8, is64: false, pvm: true }, blocks: [0x60, 0xc0] },
  { bdf: '00:05.0', msi: { vectors: 4, is64: true, pvm: false }, blocks: [0x68, 0xc8] },
  { bdf: '00:06.0', msi: { vectors: 2, is64: true, pvm: true }, blocks: [0x6c, 0xcc] },
  { bdf: '00:07.0', msix: 16, blocks: [0x70, 0xd0] },
] as const;
const VECTOR_SET = (() => {
  const s = new Set<number>();
  for (const d of DEVICES) {
    const n = 'msix' in d ? d.msix : d.msi.vectors;
    for (const b of d.blocks) for (let i = 0; i < n; i++) s.add(b + i);
  }
  return [...s].sort((a, b) => a - b);
})();

/** Boots the machine through the guest kernel; throws if the boot or the probe failed. */
function boot(cpus: number, apic: 'xapic' | 'x2apic'): { machine: Machine; eps: Map<string, MsiEndpoint> } {
  const eps = new Map<string, MsiEndpoint>();
  const devices = DEVICES.map((d) => {
    const ep = new MsiEndpoint({ ...('msi' in d ? { msi: { ...d.msi } } : { msix: { tableSize: d.msix } }), intxPin: 0 });
    eps.set(d.bdf, ep);
    return { bdf: d.bdf, fn: ep };
  });
  // No virtual time limit: a long storm runs far beyond the 10 s default.
  const machine = createMachine({ cpus, apic, devices, traceWire: false, timeLimitNs: Number.MAX_SAFE_INTEGER });
  const run = machine.run(kernelMain({ policy: 'aligned', devices: {}, createMatrix: (n) => createMatrixSync({ cpus: n, engine: 'js', preset: 'x86' }) }));
  const done = run.console.split('\n').find((l) => l.startsWith(`${RESULT_MARKER}done `));
  if (run.end !== 'bsp-finished' || done !== `${RESULT_MARKER}done {"ok":true}`) {
    throw new Error(`msi storm: the guest kernel did not boot cleanly (${run.end}):\n${run.console.split('\n').filter((l) => /fail|error|"ok":false/.test(l)).slice(0, 5).join('\n')}`);
  }
  return { machine, eps };
}

function capOffset(ep: MsiEndpoint, id: number): number {
  let at = ep.configRead(0x34, 1) & ~3;
  while (at !== 0) {
    if (ep.configRead(at, 1) === id) return at;
    at = ep.configRead(at + 1, 1) & ~3;
  }
  throw new Error(`capability 0x${id.toString(16)} not found`);
}

const ecamOf = (bdf: string) => {
  const [bus, rest] = bdf.split(':') as [string, string];
  const [dev, fn] = rest.split('.') as [string, string];
  return (ECAM_BASE + ((Number.parseInt(bus, 16) << 20) | (Number.parseInt(dev, 16) << 15) | (Number(fn) << 12))) >>> 0;
};

/** Runs the storm; returns the counts (lost/duplicated/dropped/problems say whether it passed). */
export function runMsiStorm(o: StormOptions): StormCounts {
  const cpus = o.cpus ?? 4;
  const batch = o.batch ?? 2000;
  const rnd = mulberry32(o.seed);
  const pick = (n: number) => Math.floor(rnd() * n);
  const { machine, eps } = boot(cpus, o.apic ?? 'xapic');
  const apicId = (c: number) => machine.cpus[c]!.apicId;
  const counts: StormCounts = {
    seed: o.seed, cpus, batches: 0, ops: 0, rings: 0, expected: 0, delivered: 0, lost: 0, duplicated: 0, pended: 0, flushed: 0,
    masks: 0, unmasks: 0, functionMasks: 0, moves: 0, messages: 0, dropped: 0, problems: [],
  };
  const devs: Dev[] = DEVICES.map((d, k) => {
    const ep = eps.get(d.bdf)!;
    const bar0 = (ep.configRead(0x10, 4) & ~0xf) >>> 0;
    if ('msix' in d) {
      return {
        kind: 'msix', bdf: d.bdf, ep, ecam: ecamOf(d.bdf), cap: capOffset(ep, 0x11), size: d.msix, bar0, bar1: (ep.configRead(0x14, 4) & ~0xf) >>> 0,
        entries: Array.from({ length: d.msix }, (_, i) => ({ cpu: (k + i) % cpus, alt: 0 as const, masked: false, pending: false })), fmask: false,
      };
    }
    const is64 = d.msi.is64;
    return {
      kind: 'msi', bdf: d.bdf, ep, ecam: ecamOf(d.bdf), cap: capOffset(ep, 0x05), dataOff: is64 ? 0x0c : 0x08,
      maskOff: d.msi.pvm ? (is64 ? 0x10 : 0x0c) : null, count: d.msi.vectors, blocks: [d.blocks[0], d.blocks[1]], cpu: k % cpus, block: 0, mask: 0, pending: 0, bar0,
    };
  });
  // expected[cpu * 256 + vector] for the current batch.
  const expected = new Int32Array(cpus * 256);
  const baseline = new Uint32Array(cpus * 256);
  let batchExpected = 0;
  let writesBefore = 0;
  const snapshot = () => {
    for (let c = 0; c < cpus; c++) for (const v of VECTOR_SET) baseline[c * 256 + v] = machine.cpus[c]!.taken[v]!;
    batchExpected = counts.expected;
    writesBefore = machine.msiWrites;
  };
  const expect1 = (cpu: number, vector: number) => {
    expected[cpu * 256 + vector]!++;
    counts.expected++;
  };
  const busy = () => machine.cpus.some((c) => c.lapic.hasInterrupt());

  // ---- guest steps (each runs on the BSP through CpuContext; the model follows) ----

  /** Writes the address (destination CPU) and/or data (vector block) registers: a move may be torn. */
  function* programMsi(cpu: CpuContext, d: MsiDev, address = true, data = true): Generator<GuestYield, void, void> {
    if (address) {
      cpu.write32(d.ecam + d.cap + 4, (0xfee0_0000 | (apicId(d.cpu) << 12)) >>> 0);
      if (d.dataOff === 0x0c) cpu.write32(d.ecam + d.cap + 8, 0);
    }
    if (data) cpu.write16(d.ecam + d.cap + d.dataOff, d.blocks[d.block]);
    yield SPIN;
  }
  function setMsiMask(cpu: CpuContext, d: MsiDev, mask: number): void {
    const now = mask >>> 0;
    const unmasked = d.mask & ~now;
    counts.masks += popcount(now & ~d.mask);
    counts.unmasks += popcount(unmasked);
    // §6.8.1.8: an unmasked pending message is sent, once, to what the registers say now.
    const go = d.pending & unmasked;
    for (let i = 0; i < d.count; i++) {
      if (go & (1 << i)) {
        expect1(d.cpu, d.blocks[d.block] + i);
        counts.flushed++;
      }
    }
    d.pending &= ~go;
    d.mask = now;
    cpu.write32(d.ecam + d.cap + d.maskOff!, now);
  }
  const entryVector = (d: MsixDev, i: number) => (d.entries[i]!.alt ? 0xd0 : 0x70) + i;
  function flushMsix(d: MsixDev): void {
    if (d.fmask) return;
    d.entries.forEach((e, i) => {
      if (e.pending && !e.masked) {
        e.pending = false;
        expect1(e.cpu, entryVector(d, i));
        counts.flushed++;
      }
    });
  }
  function setEntryMask(cpu: CpuContext, d: MsixDev, i: number, masked: boolean): void {
    const e = d.entries[i]!;
    if (masked !== e.masked) masked ? counts.masks++ : counts.unmasks++;
    e.masked = masked;
    cpu.write32(d.bar1 + 16 * i + 12, masked ? 1 : 0);
    flushMsix(d);
  }
  function programEntry(cpu: CpuContext, d: MsixDev, i: number): void {
    const e = d.entries[i]!;
    cpu.write32(d.bar1 + 16 * i, (0xfee0_0000 | (apicId(e.cpu) << 12)) >>> 0);
    cpu.write32(d.bar1 + 16 * i + 4, 0);
    cpu.write32(d.bar1 + 16 * i + 8, entryVector(d, i));
  }
  function setFunctionMask(cpu: CpuContext, d: MsixDev, on: boolean): void {
    if (on !== d.fmask) counts.functionMasks++;
    d.fmask = on;
    cpu.write16(d.ecam + d.cap + 2, 0x8000 | (on ? 0x4000 : 0));
    flushMsix(d);
  }

  /** Takes over every device from the kernel: all messages enabled (MME = MMC), unmasked, placed. */
  function* takeOver(cpu: CpuContext): Generator<GuestYield, void, void> {
    cpu.sti();
    for (const d of devs) {
      cpu.write16(d.ecam + 4, 0x0006); // memory decode, bus master
      if (d.kind === 'msi') {
        if (d.maskOff !== null) setMsiMask(cpu, d, 0);
        yield* programMsi(cpu, d);
        cpu.write16(d.ecam + d.cap + 2, (Math.log2(d.count) << 4) | 1);
      } else {
        setFunctionMask(cpu, d, true);
        for (let i = 0; i < d.size; i++) {
          setEntryMask(cpu, d, i, true);
          programEntry(cpu, d, i);
          setEntryMask(cpu, d, i, false);
        }
        setFunctionMask(cpu, d, false);
      }
    }
    while (busy()) yield SPIN;
  }

  function* step(cpu: CpuContext): Generator<GuestYield, void, void> {
    const d = devs[pick(devs.length)]!;
    const r = pick(100);
    counts.ops++;
    if (r < 60) {
      // Ring message i: sent where it points, or pending if masked.
      const n = d.kind === 'msi' ? d.count : d.size;
      const i = pick(n);
      counts.rings++;
      if (d.kind === 'msi') {
        if (d.mask & (1 << i)) {
          d.pending |= 1 << i;
          counts.pended++;
        } else expect1(d.cpu, d.blocks[d.block] + i);
      } else {
        const e = d.entries[i]!;
        if (d.fmask || e.masked) {
          e.pending = true;
          counts.pended++;
        } else expect1(e.cpu, entryVector(d, i));
      }
      cpu.write32(d.bar0, i);
    } else if (r < 78) {
      // Mask or unmask: one message, or a whole new mask word.
      if (d.kind === 'msi') {
        if (d.maskOff === null) {
          counts.ops--;
          return yield* step(cpu);
        }
        const all = d.count === 32 ? 0xffff_ffff : (1 << d.count) - 1;
        setMsiMask(cpu, d, pick(4) === 0 ? Math.floor(rnd() * 0x1_0000_0000) & all : d.mask ^ (1 << pick(d.count)));
      } else if (pick(6) === 0) {
        setFunctionMask(cpu, d, !d.fmask);
      } else {
        const i = pick(d.size);
        setEntryMask(cpu, d, i, !d.entries[i]!.masked);
      }
    } else {
      // Affinity move: another CPU, the other vector block; pending messages follow the new programming.
      counts.moves++;
      if (d.kind === 'msi') {
        // Address and data are separate registers: half the moves rewrite one of them only, so
        // messages also run between the two halves of a move (new CPU with the old vectors, or the reverse).
        const what = pick(4);
        if (what !== 1) d.cpu = pick(cpus);
        if (what !== 0) d.block = pick(2) as 0 | 1;
        yield* programMsi(cpu, d, what !== 1, what !== 0);
      } else {
        // Linux masks an MSI-X entry around its update (changing an unmasked entry is undefined, §6.8.2).
        const i = pick(d.size);
        const e = d.entries[i]!;
        const wasMasked = e.masked;
        if (!wasMasked) setEntryMask(cpu, d, i, true);
        e.cpu = pick(cpus);
        e.alt = pick(2) as 0 | 1;
        programEntry(cpu, d, i);
        if (!wasMasked) setEntryMask(cpu, d, i, false);
      }
    }
    // Let every target take what arrived before the next message (two interrupts on one vector
    // before the first is taken would merge in the IRR, architecturally).
    do yield SPIN;
    while (busy());
  }

  function batchProgram(ops: number) {
    return function* (cpu: CpuContext): Generator<GuestYield, void, void> {
      cpu.sti();
      for (let k = 0; k < ops; k++) yield* step(cpu);
      while (busy()) yield SPIN;
    };
  }

  const check = (): void => {
    let lost = 0;
    let dup = 0;
    for (let c = 0; c < cpus; c++) {
      for (const v of VECTOR_SET) {
        const got = machine.cpus[c]!.taken[v]! - baseline[c * 256 + v]!;
        const want = expected[c * 256 + v]!;
        counts.delivered += got;
        if (got < want) lost += want - got;
        if (got > want) dup += got - want;
        if (got !== want && counts.problems.length < 10) {
          counts.problems.push(`batch ${counts.batches} (seed ${o.seed}): CPU ${c} vector 0x${v.toString(16)} took ${got}, expected ${want}`);
        }
      }
    }
    // On the wire: exactly one MSI write per expected interrupt.
    const writes = machine.msiWrites - writesBefore;
    const want = counts.expected - batchExpected;
    counts.messages += writes;
    if (writes !== want && counts.problems.length < 10) counts.problems.push(`batch ${counts.batches} (seed ${o.seed}): ${writes} MSI writes for ${want} expected messages`);
    counts.lost += Math.max(lost, want - writes);
    counts.duplicated += Math.max(dup, writes - want);
    expected.fill(0);
  };

  snapshot();
  const dropsBefore = machine.msiDropped;
  const first = machine.run(takeOver);
  if (first.end !== 'bsp-finished') throw new Error(`msi storm: take-over run ended ${first.end}`);
  check();
  while (counts.expected < o.deliveries) {
    snapshot();
    const left = o.deliveries - counts.expected;
    const r = machine.run(batchProgram(Math.min(batch, Math.max(50, Math.ceil(left / 0.55)))));
    if (r.end !== 'bsp-finished') {
      counts.problems.push(`batch ${counts.batches}: run ended ${r.end}`);
      break;
    }
    check();
    counts.batches++;
    counts.dropped = machine.msiDropped - dropsBefore;
    o.onProgress?.(counts);
    if (counts.problems.length > 0) break;
  }
  counts.dropped = machine.msiDropped - dropsBefore;
  return counts;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/** Whether a storm's counts are a pass: everything expected arrived once and nothing was refused. */
export function stormPassed(c: StormCounts): boolean {
  return c.lost === 0 && c.duplicated === 0 && c.dropped === 0 && c.problems.length === 0 && c.delivered === c.expected && c.messages === c.expected;
}
