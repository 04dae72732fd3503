// attachToV86: irqslice PCI functions on v86's PCI bus 0, their BARs in v86's memory map and port
// space, their MSI/MSI-X writes into v86's local APIC, their INTx through v86's PIRQ routing.
// Host limits (v86 0.5.462): one CPU, bus 0 only, no extended config space, no interrupt remapping.
import type { AccessSize, PciEvent, PciFunction } from '../../index.js';
import type { V86Cpu, V86Emulator, V86MmioRead, V86MmioWrite, V86Pci, V86Port } from './v86-internals.js';
import { APIC_IRR_DWORD, APIC_STRUCT_DWORDS, APIC_TMR_DWORD, MMAP_BLOCK_SHIFT, MMAP_BLOCK_SIZE } from './v86-internals.js';
import { applyAcpiHotplugWorkaround } from './acpi.js';
import { formatBdf } from '../../index.js';
import { V86AttachError } from './errors.js';

export interface V86AttachOptions {
  /** Device numbers (0–31) on bus 0, one per function (function number 0); default: free slots from 0x10 up. */
  slots?: number[];
  /**
   * Set when v86 runs with `acpi: true`: installs the workaround for v86's PCI-hotplug registers
   * (acpi.ts says why). Without it Linux's acpiphp ejects the attached functions at the first SCI.
   */
  acpi?: boolean;
  /** Everything the adapter drops or refuses, and every PciEvent a function reports. */
  onEvent?: (event: V86Event) => void;
}

export type V86Event =
  | { kind: 'pci'; event: PciEvent }
  | { kind: 'msi-dropped'; bdf: string; address: number; data: number; reason: 'not-apic-address' | 'illegal-vector' | 'unsupported-delivery-mode' }
  | { kind: 'bar-unmappable'; bdf: string; bar: number; base: bigint; reason: 'above-4g' | 'in-ram' };

/** One delivered MSI, as the adapter saw it (address/data as the function wrote them). */
export interface V86MsiRecord {
  bdf: string;
  address: number;
  data: number;
  vector: number;
}

export interface V86Attachment {
  /** The functions with the BDF each got, in the order given. */
  readonly functions: readonly { bdf: string; fn: PciFunction }[];
  /** MSIs delivered to v86's APIC so far, oldest first (bounded to the last 4096). */
  readonly delivered: readonly V86MsiRecord[];
  /** Deliver queued interrupts now (normally done from a macrotask); for hosts that step v86 manually. */
  flush(): void;
}

const MSI_WINDOW_BASE = 0xfee0_0000;
const MSI_WINDOW_MASK = 0xfff0_0000;
const MSI_DATA_VECTOR = 0xff;
const MSI_DATA_DELIVERY_SHIFT = 8;
const MSI_DATA_LEVEL_TRIGGER = 1 << 15;
/** Fixed (0) and lowest priority (1) reduce to "the one CPU" here; NMI/SMI/INIT/ExtINT are not modelled by the adapter. */
const DELIVERY_FIXED = 0;
const DELIVERY_LOWEST = 1;
const FIRST_FREE_SLOT = 0x10;
const RECORD_LIMIT = 4096;

type Pending = { kind: 'msi'; vector: number; level: boolean } | { kind: 'intx'; pciId: number; level: boolean };

interface Slot {
  pciId: number;
  bdf: string;
  fn: PciFunction;
}

/**
 * Place `functions` on v86's bus. Call it from the `emulator-loaded` listener of a V86 created with
 * `autostart: false`, before `emulator.run()`, so SeaBIOS and the guest find them when they scan.
 */
export function attachToV86(emulator: V86Emulator, functions: readonly PciFunction[], options: V86AttachOptions = {}): V86Attachment {
  const cpu = emulator?.v86?.cpu;
  if (cpu === undefined || typeof cpu.get_apic_addr !== 'function' || cpu.devices?.pci === undefined) {
    throw new V86AttachError('attachToV86 needs a loaded V86 emulator (call it on "emulator-loaded"; v86 0.5.x internals: v86.cpu.devices.pci)');
  }
  const pci = cpu.devices.pci;
  const onEvent = options.onEvent ?? (() => {});
  const slots = chooseSlots(pci, functions.length, options.slots);
  const bySlot = new Map<number, Slot>();
  const queue: Pending[] = [];
  const delivered: V86MsiRecord[] = [];
  let scheduled = false;

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    macrotask(flush);
  };

  // Interrupts reach v86 from a macrotask: a function fires inside a guest MMIO or port write, and
  // v86 must not take an interrupt (handle_irqs) in the middle of that instruction.
  function flush(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const apic = new Int32Array(cpu.wasm_memory.buffer, cpu.get_apic_addr(), APIC_STRUCT_DWORDS);
    for (const p of queue.splice(0)) {
      if (p.kind === 'intx') {
        if (p.level) pci.raise_irq(p.pciId);
        else pci.lower_irq(p.pciId);
        continue;
      }
      const word = p.vector >>> 5;
      const bit = 1 << (p.vector & 31);
      apic[APIC_IRR_DWORD + word]! |= bit;
      if (p.level) apic[APIC_TMR_DWORD + word]! |= bit;
      else apic[APIC_TMR_DWORD + word]! &= ~bit;
    }
    cpu.handle_irqs();
    // Wake a main loop idling in HLT until its next timer: the interrupt is due now.
    const m = emulator.v86;
    if (m.running && !m.stopping) m.next_tick(0);
  }

  functions.forEach((fn, i) => {
    const pciId = slots[i]! << 3;
    const bdf = formatBdf({ bus: 0, dev: slots[i]!, fn: 0 });
    const slot: Slot = { pciId, bdf, fn };
    bySlot.set(pciId, slot);
    fn.bind({
      label: bdf,
      report: (event) => onEvent({ kind: 'pci', event }),
      upstream: {
        memoryWrite: (address, data) => deliverMsi(slot, Number(address & 0xffff_ffffn), address >> 32n === 0n, data),
        memoryWriteParts: (lo, hi, data) => deliverMsi(slot, lo >>> 0, hi === 0, data >>> 0),
        intx: (_pin, level) => {
          queue.push({ kind: 'intx', pciId, level });
          schedule();
        },
      },
    });
    // v86's own record of the slot: only its interrupt-pin byte is used (by raise_irq's PIRQ swizzle).
    pci.register_device({ pci_id: pciId, pci_space: Array.from(fn.config.snapshot().subarray(0, 64)), pci_bars: [], name: `irqslice ${bdf}` });
  });

  function deliverMsi(slot: Slot, address: number, below4g: boolean, data: number): boolean {
    if (!below4g || (address & MSI_WINDOW_MASK) >>> 0 !== MSI_WINDOW_BASE) {
      onEvent({ kind: 'msi-dropped', bdf: slot.bdf, address, data, reason: 'not-apic-address' });
      return false; // no DMA into guest memory: the write is not claimed (master abort)
    }
    const vector = data & MSI_DATA_VECTOR;
    const mode = (data >>> MSI_DATA_DELIVERY_SHIFT) & 7;
    if (mode !== DELIVERY_FIXED && mode !== DELIVERY_LOWEST) {
      onEvent({ kind: 'msi-dropped', bdf: slot.bdf, address, data, reason: 'unsupported-delivery-mode' });
      return true;
    }
    if (vector < 16) {
      // SDM §11.5.3: vectors 0–15 are illegal; the APIC records an error instead of accepting it.
      onEvent({ kind: 'msi-dropped', bdf: slot.bdf, address, data, reason: 'illegal-vector' });
      return true;
    }
    // One CPU: every destination (physical 0, flat logical bit 0, broadcast) names it.
    queue.push({ kind: 'msi', vector, level: (data & MSI_DATA_LEVEL_TRIGGER) !== 0 });
    if (delivered.length >= RECORD_LIMIT) delivered.shift();
    delivered.push({ bdf: slot.bdf, address, data, vector });
    schedule();
    return true;
  }

  const mmio = new MmioDispatch(cpu);
  const io = new IoDispatch(cpu);
  wrapConfigAccess(pci, bySlot, (slot) => mapBars(cpu, slot, onEvent, mmio, io));
  if (options.acpi === true) applyAcpiHotplugWorkaround(cpu);
  return {
    functions: [...bySlot.values()].map(({ bdf, fn }) => ({ bdf, fn })),
    delivered,
    flush,
  };
}

function chooseSlots(pci: V86Pci, count: number, wanted: number[] | undefined): number[] {
  const taken = (dev: number) => [0, 1, 2, 3, 4, 5, 6, 7].some((f) => pci.devices[(dev << 3) | f] !== undefined);
  if (wanted !== undefined) {
    if (!Array.isArray(wanted) || wanted.length !== count) throw new V86AttachError(`slots must list one device number per function (${count})`);
    const seen = new Set<number>();
    for (const d of wanted) {
      if (!Number.isInteger(d) || d < 0 || d > 31) throw new V86AttachError(`slot ${String(d)} is not a device number 0–31`);
      if (taken(d) || seen.has(d)) throw new V86AttachError(`slot 0x${d.toString(16)} is already in use on v86's bus 0`);
      seen.add(d);
    }
    return [...wanted];
  }
  const out: number[] = [];
  for (let d = FIRST_FREE_SLOT; d < 32 && out.length < count; d++) if (!taken(d)) out.push(d);
  for (let d = 1; d < FIRST_FREE_SLOT && out.length < count; d++) if (!taken(d)) out.push(d);
  if (out.length < count) throw new V86AttachError(`v86's bus 0 has ${out.length} free slots, ${count} functions given`);
  return out;
}

/**
 * v86 answers config reads from the dword latched when CF8 is written (pci_query) and applies writes
 * through pci_write8/16/32. For our slots both go to the function's ConfigSpace (with its masks);
 * every other slot keeps v86's behaviour.
 */
function wrapConfigAccess(pci: V86Pci, bySlot: Map<number, Slot>, afterWrite: (slot: Slot) => void): void {
  const query = pci.pci_query.bind(pci);
  const w8 = pci.pci_write8.bind(pci);
  const w16 = pci.pci_write16.bind(pci);
  const w32 = pci.pci_write32.bind(pci);
  const latch = (slot: Slot) => {
    pci.pci_status32[0] = 0x8000_0000 | 0;
    pci.pci_response32[0] = slot.fn.configRead(pci.pci_addr[0]! & 0xfc, 4) | 0;
  };
  pci.pci_query = () => {
    const slot = bySlot.get((pci.pci_addr[2]! << 8) | pci.pci_addr[1]!);
    if (slot === undefined) query();
    else latch(slot);
  };
  const write = (orig: (a: number, v: number) => void, size: AccessSize) => (address: number, value: number) => {
    const slot = bySlot.get((address >> 8) & 0xffff);
    if (slot === undefined) return orig(address, value);
    slot.fn.configWrite(address & 0xff, size, size === 4 ? value | 0 : value & (size === 1 ? 0xff : 0xffff));
    afterWrite(slot);
    // A read that follows without a new CF8 write must see the written value.
    if (((pci.pci_addr[2]! << 8) | pci.pci_addr[1]!) === slot.pciId) latch(slot);
  };
  pci.pci_write8 = write(w8, 1);
  pci.pci_write16 = write(w16, 2);
  pci.pci_write32 = write(w32, 4);
}

/** Make every memory and I/O BAR of `slot` reachable at its programmed address (decode is checked per access). */
function mapBars(cpu: V86Cpu, slot: Slot, onEvent: (e: V86Event) => void, mmio: MmioDispatch, io: IoDispatch): void {
  for (let index = 0; index < 6; index++) {
    const bar = slot.fn.bar(index);
    if (bar === null || bar.index !== index) continue;
    const base = bar.base();
    if (base === 0n) continue;
    if (bar.isMemory) {
      // All ones written (BAR sizing): the top of 4 GiB is the BIOS ROM, never a place to map.
      if (base + bar.size === 0x1_0000_0000n) continue;
      if (base + bar.size > 0x1_0000_0000n) {
        onEvent({ kind: 'bar-unmappable', bdf: slot.bdf, bar: index, base, reason: 'above-4g' });
        continue;
      }
      if (Number(base) < cpu.memory_size[0]!) {
        onEvent({ kind: 'bar-unmappable', bdf: slot.bdf, bar: index, base, reason: 'in-ram' });
        continue;
      }
      mmio.cover(slot.fn, Number(base), Number(bar.size));
    } else if (base + bar.size <= 0x1_0000n) {
      io.cover(slot.fn, Number(base), Number(bar.size));
    }
  }
}

/**
 * v86 has no way to unmap a 128 KiB block, so each block a BAR ever touched gets one dispatcher that
 * asks our functions to decode the access (memory decode on, address inside a BAR) and otherwise
 * falls through to whatever handled the block before: moving a BAR needs no unregister.
 */
class MmioDispatch {
  private readonly blocks = new Map<number, PciFunction[]>();
  constructor(private readonly cpu: V86Cpu) {}

  cover(fn: PciFunction, base: number, size: number): void {
    const first = base >>> MMAP_BLOCK_SHIFT;
    const last = (base + size - 1) >>> MMAP_BLOCK_SHIFT;
    for (let b = first; b <= last; b++) {
      let fns = this.blocks.get(b);
      if (fns === undefined) {
        fns = [];
        this.blocks.set(b, fns);
        this.install(b, fns);
      }
      if (!fns.includes(fn)) fns.push(fn);
    }
  }

  private install(block: number, fns: PciFunction[]): void {
    const c = this.cpu;
    const prev = {
      r8: c.memory_map_read8[block],
      w8: c.memory_map_write8[block],
      r32: c.memory_map_read32[block],
      w32: c.memory_map_write32[block],
    };
    const find = (address: number, size: number) => {
      for (const fn of fns) {
        const hit = fn.decodeMemory(BigInt(address >>> 0), size);
        if (hit !== null) return { fn, hit };
      }
      return null;
    };
    const r8: V86MmioRead = (a) => {
      const f = find(a, 1);
      return f !== null ? f.fn.barAccessRead(f.hit.bar, f.hit.offset, 1) & 0xff : (prev.r8?.(a) ?? 0xff);
    };
    const w8: V86MmioWrite = (a, v) => {
      const f = find(a, 1);
      if (f !== null) f.fn.barAccessWrite(f.hit.bar, f.hit.offset, 1, v & 0xff);
      else prev.w8?.(a, v);
    };
    const r32: V86MmioRead = (a) => {
      const f = (a & 3) === 0 ? find(a, 4) : null;
      if (f !== null) return f.fn.barAccessRead(f.hit.bar, f.hit.offset, 4) | 0;
      if (find(a, 1) !== null) return r8(a) | (r8(a + 1) << 8) | (r8(a + 2) << 16) | (r8(a + 3) << 24);
      return prev.r32 !== undefined ? prev.r32(a) : -1;
    };
    const w32: V86MmioWrite = (a, v) => {
      const f = (a & 3) === 0 ? find(a, 4) : null;
      if (f !== null) return f.fn.barAccessWrite(f.hit.bar, f.hit.offset, 4, v | 0);
      if (find(a, 1) !== null) {
        for (let i = 0; i < 4; i++) w8(a + i, (v >>> (8 * i)) & 0xff);
        return;
      }
      prev.w32?.(a, v);
    };
    c.io.mmap_register((block << MMAP_BLOCK_SHIFT) >>> 0, MMAP_BLOCK_SIZE, r8, w8, r32, w32);
  }
}

/** I/O BARs: each port a BAR ever covered gets a dispatcher in front of v86's previous port entry. */
class IoDispatch {
  private readonly ports = new Map<number, PciFunction[]>();
  constructor(private readonly cpu: V86Cpu) {}

  cover(fn: PciFunction, base: number, size: number): void {
    for (let p = base; p < base + size; p++) {
      let fns = this.ports.get(p);
      if (fns === undefined) {
        fns = [];
        this.ports.set(p, fns);
        this.install(p, fns);
      }
      if (!fns.includes(fn)) fns.push(fn);
    }
  }

  private install(port: number, fns: PciFunction[]): void {
    const entry: V86Port = this.cpu.io.ports[port]!;
    const prev = pickPort(entry);
    const find = (size: AccessSize) => {
      for (const fn of fns) {
        const hit = fn.decodeIo(port, size);
        if (hit !== null) return { fn, hit };
      }
      return null;
    };
    const reader = (size: AccessSize, fallback: () => number) => () => {
      const f = find(size);
      return f !== null ? f.fn.barAccessRead(f.hit.bar, f.hit.offset, size) : fallback();
    };
    const writer = (size: AccessSize, fallback: (v: number) => void) => (v: number) => {
      const f = find(size);
      if (f !== null) f.fn.barAccessWrite(f.hit.bar, f.hit.offset, size, size === 4 ? v | 0 : v & (size === 1 ? 0xff : 0xffff));
      else fallback(v);
    };
    entry.read8 = reader(1, prev.read8);
    entry.read16 = reader(2, prev.read16);
    entry.read32 = reader(4, prev.read32);
    entry.write8 = writer(1, prev.write8);
    entry.write16 = writer(2, prev.write16);
    entry.write32 = writer(4, prev.write32);
  }
}

/** The entry's handlers as v86 calls them (`this` = the entry's device, the port as argument). */
function pickPort(p: V86Port): { [K in Exclude<keyof V86Port, 'device'>]: V86Port[K] } {
  const d = p.device;
  return {
    read8: p.read8.bind(d),
    read16: p.read16.bind(d),
    read32: p.read32.bind(d),
    write8: p.write8.bind(d),
    write16: p.write16.bind(d),
    write32: p.write32.bind(d),
  };
}

function macrotask(fn: () => void): void {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  if (typeof g.setImmediate === 'function') g.setImmediate(fn);
  else setTimeout(fn, 0);
}
