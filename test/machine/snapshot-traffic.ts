// Host-side device traffic for the snapshot tests, as data: the test process and a fresh Node process
// (snapshot-child.ts, bundled) drive the same operations through the embedding API and record what
// each one does — every MSI on the wire (address, data, outcome), each CPU's IRR/ISR/TMR, the I/O APIC's
// redirection entries and the endpoints' counters — so two machines can be compared bit for bit.
import { createMachine, MsiEndpoint, type Machine, type MachineConfig } from '../../src/index.js';

/** A machine's shape as JSON: what a fresh process needs to build "the same configuration". */
export interface MachineSpec {
  cpus: number;
  apic: 'xapic' | 'x2apic';
  mcfg: boolean;
  /** A VT-d remapping unit with the default options. */
  iommu?: boolean;
  devices: { bdf: string; msi?: { vectors: 1 | 2 | 4 | 8 | 16 | 32; is64: boolean; pvm: boolean }; msix?: { tableSize: number }; intxPin: 0 | 1 | 2 | 3 | 4; barSize?: number }[];
}

/** The spec of a machine whose functions are all MsiEndpoints (as runScenario builds them). */
export function specOf(m: Machine): MachineSpec {
  return {
    cpus: m.config.cpus,
    apic: m.config.apic ?? 'xapic',
    mcfg: m.config.mcfg !== false,
    ...(m.config.iommu ? { iommu: true } : {}),
    devices: m.pci.functions().map(({ bdf, fn }) => {
      const ep = fn as MsiEndpoint;
      return {
        bdf,
        ...(ep.msi ? { msi: { vectors: ep.msi.vectors, is64: ep.msi.is64, pvm: ep.msi.pvm } } : {}),
        ...(ep.msix ? { msix: { tableSize: ep.msix.tableSize } } : {}),
        intxPin: ep.interruptPin as 0 | 1 | 2 | 3 | 4,
      };
    }),
  };
}

export function buildMachine(spec: MachineSpec, extra: Partial<MachineConfig> = {}): Machine {
  return createMachine({
    cpus: spec.cpus,
    apic: spec.apic,
    mcfg: spec.mcfg,
    ...(spec.iommu ? { iommu: true } : {}),
    devices: spec.devices.map((d) => ({
      bdf: d.bdf,
      fn: new MsiEndpoint({ ...(d.msi ? { msi: d.msi } : {}), ...(d.msix ? { msix: d.msix } : {}), intxPin: d.intxPin, ...(d.barSize ? { barSize: d.barSize } : {}) }),
    })),
    ...extra,
  });
}

export type TrafficOp =
  | { kind: 'ring'; bdf: string; index: number } // MsiEndpoint.ring(): what the DOORBELL register does
  | { kind: 'doorbell'; bdf: string; index: number } // a store to BAR0 + 0 through the board's decode
  | { kind: 'intx-ack'; bdf: string } // a store to BAR0 + 4 (INTX_ACK)
  | { kind: 'config'; bdf: string; offset: number; size: 1 | 2 | 4; value: number } // CF8/CFC
  | { kind: 'msix-entry'; bdf: string; entry: number; dword: number; value: number } // BAR1 table store
  | { kind: 'pin'; pin: number; level: boolean } // an I/O APIC input
  | { kind: 'ioapic'; offset: number; value: number } // a store to the I/O APIC window
  | { kind: 'pic'; irq: number; level: boolean } // an ISA line at the 8259 pair
  | { kind: 'ack'; cpu: number } // INTA at a local APIC (when something is deliverable)
  | { kind: 'eoi'; cpu: number } // EOI at a local APIC (when something is in service)
  | { kind: 'tick'; cpu: number; ticks: number } // clock a local APIC timer
  | { kind: 'lapic'; cpu: number; reg: number; value: number } // a local APIC register store (MMIO or x2APIC MSR)
  | { kind: 'ram'; address: number; value: number } // a CPU store to RAM (or any MMIO: the DMAR unit)
  | { kind: 'message'; bdf: string; address: number; data: number }; // a function's own DWORD write upstream

/** What one operation left behind. */
export interface Observation {
  op: number;
  wire: { address: string; data: number; outcome: unknown }[];
  irr: number[][];
  isr: number[][];
  tmr: number[][];
  rte: number[];
  counters: unknown[];
  /** The remapping unit's state, when the machine has one. */
  iommu: unknown;
  intx: boolean[];
}

const MSIX_TABLE_BAR = 1;
const ENTRY_BYTES = 16;

function endpoint(m: Machine, bdf: string): MsiEndpoint {
  const fn = m.pci.get(bdf);
  if (!(fn instanceof MsiEndpoint)) throw new Error(`no endpoint at ${bdf}`);
  return fn;
}

function barBase(m: Machine, bdf: string, bar: number): number {
  return Number(endpoint(m, bdf).bar(bar)!.base());
}

export function apply(m: Machine, op: TrafficOp): void {
  const cpu0 = m.cpus[0]!;
  switch (op.kind) {
    case 'ring':
      endpoint(m, op.bdf).ring(op.index);
      return;
    case 'doorbell':
      m.memWrite(cpu0, barBase(m, op.bdf, 0), 4, op.index);
      return;
    case 'intx-ack':
      m.memWrite(cpu0, barBase(m, op.bdf, 0) + 4, 4, 1);
      return;
    case 'config': {
      const [bus, rest] = op.bdf.split(':') as [string, string];
      const [dev, fn] = rest.split('.') as [string, string];
      const address = (0x8000_0000 | (parseInt(bus, 16) << 16) | (parseInt(dev, 16) << 11) | (parseInt(fn, 16) << 8) | (op.offset & 0xfc)) >>> 0;
      m.ioWrite(0xcf8, 4, address);
      m.ioWrite(0xcfc + (op.offset & 3), op.size, op.value);
      return;
    }
    case 'msix-entry':
      m.memWrite(cpu0, barBase(m, op.bdf, MSIX_TABLE_BAR) + op.entry * ENTRY_BYTES + op.dword * 4, 4, op.value);
      return;
    case 'pin':
      m.ioapic.setIrq(op.pin, op.level);
      return;
    case 'ioapic':
      m.memWrite(cpu0, 0xfec0_0000 + op.offset, 4, op.value);
      return;
    case 'pic':
      m.pic.setIrq(op.irq, op.level);
      return;
    case 'ack': {
      const l = m.cpus[op.cpu]!.lapic;
      if (l.hasInterrupt()) l.acknowledge();
      return;
    }
    case 'eoi': {
      const l = m.cpus[op.cpu]!.lapic;
      if (!l.saveState().isr.some((w) => w !== 0)) return;
      if (l.mode === 'x2apic') l.wrmsr(0x80b, 0n);
      else l.write(0xb0, 0);
      return;
    }
    case 'tick':
      m.cpus[op.cpu]!.lapic.tick(op.ticks);
      return;
    case 'lapic': {
      const l = m.cpus[op.cpu]!.lapic;
      if (l.mode === 'x2apic') l.wrmsr(0x800 + (op.reg >> 4), BigInt(op.value));
      else l.write(op.reg, op.value);
      return;
    }
    case 'ram':
      m.memWrite(cpu0, op.address, 4, op.value);
      return;
    case 'message':
      endpoint(m, op.bdf).sendMessageParts(op.address, 0, op.data);
      return;
  }
}

function wireTotal(m: Machine): number {
  return m.wire.length + m.wireDropped;
}

/** Applies `ops` in order and records the outcome of each. */
export function drive(m: Machine, ops: readonly TrafficOp[]): Observation[] {
  return ops.map((op, i) => {
    const before = wireTotal(m);
    apply(m, op);
    const added = wireTotal(m) - before;
    const lapics = m.cpus.map((c) => c.lapic.saveState());
    return {
      op: i,
      wire: m.wire.slice(m.wire.length - added).map((w) => ({ address: `0x${w.address.toString(16)}`, data: w.data, outcome: w.outcome })),
      irr: lapics.map((s) => s.irr),
      isr: lapics.map((s) => s.isr),
      tmr: lapics.map((s) => s.tmr),
      rte: m.ioapic.saveState().redirection.map((r) => r.low),
      counters: m.pci.functions().map(({ fn }) => (fn as MsiEndpoint).counters()),
      intx: m.pci.functions().map(({ fn }) => fn.intxAsserted),
      iommu: m.iommu?.saveState() ?? null,
    };
  });
}

/**
 * A deterministic workload for a probed machine: every message of every device by both doorbell
 * paths, masked messages left pending and then unmasked, INTx asserted through EOIs and acknowledged,
 * I/O APIC pins programmed from the host (edge and level), ISA lines, APIC timers clocked.
 */
export function workload(m: Machine): TrafficOp[] {
  const ops: TrafficOp[] = [];
  const n = m.cpus.length;
  const service = () => {
    for (let c = 0; c < n; c++) ops.push({ kind: 'ack', cpu: c }, { kind: 'eoi', cpu: c });
  };
  for (const { bdf, fn } of m.pci.functions()) {
    const ep = fn as MsiEndpoint;
    if (ep.msix !== null) {
      const size = ep.msix.tableSize;
      for (let i = 0; i < size; i++) ops.push({ kind: i % 2 ? 'doorbell' : 'ring', bdf, index: i });
      ops.push({ kind: 'ring', bdf, index: size }); // no such message
      ops.push({ kind: 'msix-entry', bdf, entry: 1, dword: 3, value: 1 }, { kind: 'ring', bdf, index: 1 }, { kind: 'ring', bdf, index: 0 });
      const ctrl = ep.msix.offset + 2;
      const c = ep.configRead(ctrl, 2);
      ops.push({ kind: 'config', bdf, offset: ctrl, size: 2, value: c | 0x4000 }, { kind: 'ring', bdf, index: 0 }, { kind: 'ring', bdf, index: size - 1 });
      ops.push({ kind: 'config', bdf, offset: ctrl, size: 2, value: c }, { kind: 'msix-entry', bdf, entry: 1, dword: 3, value: 0 });
    } else if (ep.msi !== null) {
      const count = 1 << ep.msi.multipleMessageEnable;
      for (let i = 0; i < count + 2; i++) ops.push({ kind: i % 2 ? 'doorbell' : 'ring', bdf, index: i });
      if (ep.msi.layout.mask !== null) {
        const mask = ep.msi.offset + ep.msi.layout.mask;
        ops.push({ kind: 'config', bdf, offset: mask, size: 4, value: 0b1010 }, { kind: 'ring', bdf, index: 1 }, { kind: 'ring', bdf, index: 3 }, { kind: 'ring', bdf, index: 0 });
        ops.push({ kind: 'config', bdf, offset: mask, size: 4, value: 0 });
      }
    } else {
      ops.push({ kind: 'ring', bdf, index: 0 }, { kind: 'doorbell', bdf, index: 0 });
      service(); // level-triggered: the EOI clears remote IRR and the still-asserted line comes back
      ops.push({ kind: 'intx-ack', bdf });
    }
    service();
  }
  // Host-programmed I/O APIC pins: 10 edge → vector 0x71 on APIC 5, 11 level → 0x72 on APIC 6.
  const rte = (pin: number, low: number, dest: number) => {
    ops.push({ kind: 'ioapic', offset: 0, value: 0x10 + 2 * pin + 1 }, { kind: 'ioapic', offset: 0x10, value: (dest << 24) >>> 0 });
    ops.push({ kind: 'ioapic', offset: 0, value: 0x10 + 2 * pin }, { kind: 'ioapic', offset: 0x10, value: low });
  };
  rte(10, 0x71, 5 % n);
  rte(11, 0x8072, 6 % n);
  ops.push({ kind: 'pin', pin: 10, level: true }, { kind: 'pin', pin: 10, level: false }, { kind: 'pin', pin: 10, level: true }, { kind: 'pin', pin: 11, level: true });
  service();
  ops.push({ kind: 'pin', pin: 11, level: false }, { kind: 'pic', irq: 1, level: true }, { kind: 'pic', irq: 1, level: false });
  // A one-shot timer (LVT 0x320 vector 0x74, divide by 1, count 500) on the last CPU, then every timer clocked.
  ops.push({ kind: 'lapic', cpu: n - 1, reg: 0x3e0, value: 0xb }, { kind: 'lapic', cpu: n - 1, reg: 0x320, value: 0x74 }, { kind: 'lapic', cpu: n - 1, reg: 0x380, value: 500 });
  for (let c = 0; c < n; c++) ops.push({ kind: 'tick', cpu: c, ticks: 1_000_000 });
  service();
  ops.push({ kind: 'ram', address: 0x5000, value: 0x1234_5678 });
  return ops;
}
