// The migration bench's interrupt-remapping world (protocol 'remap'): a VT-d unit between the PCI host
// and the APIC bus, guest RAM for its table and invalidation queue, and the guest's IR driver enabled
// as Linux enables it. The device keeps its vectors where the other protocols start (the block on the
// old CPU, so the runs compare), but is programmed as intel_irq_remapping_alloc does: a remappable
// handle, data = sub-handle 0, and one IRTE per message. Left out: posted interrupts, the I/O APIC.

import type { ApicBus } from '../hw/apic/apic-bus.js';
import { RemappingUnit, REMAP_BLOCKED, REMAP_TRANSLATED } from '../hw/iommu/remapping-unit.js';
import { VTD_MMIO_SIZE } from '../hw/iommu/registers.js';
import type { MsiOutcome } from '../hw/signals.js';
import { DMAR_UNIT_BASE } from '../machine/memory-map.js';
import type { CpuContext } from '../machine/guest-interface.js';
import type { AffinityContext, MsiBlockBinding } from '../../firmware/affinity.js';
import { DRHD_INCLUDE_PCI_ALL } from '../../firmware/dmar.js';
import { encodeIrte, IrUnit, remappableMsiAddress } from '../../firmware/intel-ir.js';
import { requesterId } from '../../firmware/msi-ir.js';
import { apicDest } from '../../firmware/msi.js';
import type { PciDevice } from '../../firmware/pci.js';
import { PhysPages } from '../../firmware/phys-pages.js';
import type { BenchMemory } from './bench-cpu.js';
import { MigrateUsageError } from './errors.js';

/** Enough RAM above the first MiB for the queue, its status page and Linux's 1 MiB table (1 MiB aligned). */
const RAM_END = 0x40_0000;
const PAGE = 0x1000;

/** Guest RAM as 4 KiB pages made on first write: a bench per interleaving must stay cheap. */
class SparseRam {
  private readonly pages = new Map<number, Uint8Array>();

  private page(a: number, create: boolean): Uint8Array | undefined {
    let p = this.pages.get(a >>> 12);
    if (p === undefined && create) this.pages.set(a >>> 12, (p = new Uint8Array(PAGE)));
    return p;
  }

  inRange(a: number, n: number): boolean {
    return a >= 0 && a + n <= RAM_END;
  }

  read(a: number, into: Uint8Array): void {
    for (let i = 0; i < into.length; i++) into[i] = this.page(a + i, false)?.[(a + i) & (PAGE - 1)] ?? 0;
  }

  write(a: number, from: Uint8Array): void {
    for (let i = 0; i < from.length; i++) this.page(a + i, true)![(a + i) & (PAGE - 1)] = from[i]!;
  }
}

export class BenchRemapping implements BenchMemory {
  readonly unit: RemappingUnit;
  private readonly ram = new SparseRam();
  private readonly scratch = new Uint8Array(4);
  private readonly scratchView = new DataView(this.scratch.buffer);
  /** The guest's driver for the unit, once enable() ran. */
  driver: IrUnit | null = null;
  /** Invalidations the driver had sent when the device was set up (the move's are counted from here). */
  private setupInvalidations = 0;

  constructor(bus: ApicBus) {
    this.unit = new RemappingUnit({
      eim: false,
      memory: {
        read: (a, into) => this.ram.inRange(a, into.length) && (this.ram.read(a, into), true),
        write: (a, from) => this.ram.inRange(a, from.length) && (this.ram.write(a, from), true),
      },
      // Fault events and wait completions would be compatibility MSIs; the bench's guest polls instead.
      interrupt: (lo, hi, data) => void bus.msiWrite((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), data),
    });
  }

  // ---- BenchMemory: RAM and the unit's register page -------------------------------------------

  read(address: number, size: 1 | 2 | 4): number | null {
    if (address >= DMAR_UNIT_BASE && address < DMAR_UNIT_BASE + VTD_MMIO_SIZE) return this.unit.mmioRead(address - DMAR_UNIT_BASE, size);
    if (!this.ram.inRange(address, size)) return null;
    this.ram.read(address, this.scratch.subarray(0, size));
    const v = this.scratchView;
    return size === 4 ? v.getUint32(0, true) : size === 2 ? v.getUint16(0, true) : v.getUint8(0);
  }

  write(address: number, size: 1 | 2 | 4, value: number): boolean {
    if (address >= DMAR_UNIT_BASE && address < DMAR_UNIT_BASE + VTD_MMIO_SIZE) {
      this.unit.mmioWrite(address - DMAR_UNIT_BASE, size, value >>> 0);
      return true;
    }
    if (!this.ram.inRange(address, size)) return false;
    const v = this.scratchView;
    if (size === 4) v.setUint32(0, value >>> 0, true);
    else if (size === 2) v.setUint16(0, value & 0xffff, true);
    else v.setUint8(0, value & 0xff);
    this.ram.write(address, this.scratch.subarray(0, size));
    return true;
  }

  // ---- the guest side ----------------------------------------------------------------------------

  /** intel_enable_irq_remapping for the one unit: QI, the table (xAPIC destinations), IRE. */
  enable(cpu: CpuContext): IrUnit {
    const d = new IrUnit({ flags: DRHD_INCLUDE_PCI_ALL, segment: 0, base: DMAR_UNIT_BASE, scopes: [] }, cpu);
    d.allocMemory(new PhysPages(RAM_END));
    d.enableQi(cpu);
    d.setTable(cpu, false);
    d.enableIr(cpu);
    return (this.driver = d);
  }

  /**
   * Puts `b`'s messages behind the unit where they already are: an aligned IRTE block (alloc_irte),
   * one IRTE per message pointing at its current vector, then the device's address = the handle and
   * data = sub-handle 0 (MME and enable untouched). Returns `b` with its `remap` binding.
   */
  remapDevice(ctx: AffinityContext, cpu: CpuContext, dev: PciDevice, b: MsiBlockBinding): MsiBlockBinding {
    const d = this.driver;
    if (d === null) throw new MigrateUsageError('remapDevice before enable()');
    const block = d.allocIrte(b.count);
    if (block === null) throw new MigrateUsageError(`no IRTE block of ${b.count}`);
    const sid = requesterId(dev);
    const places = Array.from({ length: b.count }, (_, i) => ({ cpu: b.cpu, vector: b.base + i }));
    places.forEach((p, i) => d.modifyIrte(cpu, block.index + i, encodeIrte({ vector: p.vector, dest: apicDest(ctx, p.cpu), logical: ctx.destMode === 'logical', sid }, false)));
    ctx.pci.write(cpu, dev, b.cap + 0x04, 4, remappableMsiAddress(block.index));
    if (b.is64) ctx.pci.write(cpu, dev, b.cap + 0x08, 4, 0);
    ctx.pci.write(cpu, dev, b.cap + (b.is64 ? 0x0c : 0x08), 2, 0);
    b.remap = { unit: d, index: block.index, sid, eim: false, places };
    this.setupInvalidations = d.invalidations;
    return b;
  }

  /** What the move cost the remapping side: invalidation requests (each IEC + wait) and blocked requests. */
  cost(): { invalidations: number; faults: number } {
    return { invalidations: (this.driver?.invalidations ?? 0) - this.setupInvalidations, faults: this.unit.counters().blocked };
  }

  /**
   * A device's interrupt request through the unit onto the bus: translated requests go out as the
   * compatibility message the IRTE describes; a blocked one is a dropped outcome naming the fault.
   */
  deliver(bus: ApicBus, address: bigint, data: number, sid: number): MsiOutcome {
    const r = this.unit.interrupt(Number(address & 0xffff_ffffn), Number(address >> 32n), data >>> 0, sid);
    const o = this.unit.out;
    if (r === REMAP_BLOCKED) return { delivered: false, reason: 'remapping-fault', detail: `fault 0x${o.reason.toString(16)} at IRTE ${o.index}` };
    if (r !== REMAP_TRANSLATED) return bus.msiWrite(address, data);
    const compat = 0xfee0_0000 | ((o.dest & 0xff) << 12) | (o.redirectionHint ? 1 << 3 : 0) | (o.logical ? 1 << 2 : 0);
    return bus.msiWrite(BigInt(compat >>> 0), o.data);
  }
}
