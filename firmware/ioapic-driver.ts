// Guest driver for the I/O APIC (82093AA §3.2): indirect IOREGSEL/IOWIN access, RTE programming.

import type { CpuContext } from '../src/machine/guest-interface.js';

const IOREGSEL = 0x00;
const IOWIN = 0x10;
/** EOI register of version >= 0x20 parts: writing a vector clears remote IRR of matching level RTEs. */
const IOAPIC_EOI = 0x40;

export class IoApicDriver {
  constructor(readonly address: number, readonly gsiBase: number) {}

  read(cpu: CpuContext, index: number): number {
    cpu.write32(this.address + IOREGSEL, index);
    return cpu.read32(this.address + IOWIN);
  }

  write(cpu: CpuContext, index: number, value: number): void {
    cpu.write32(this.address + IOREGSEL, index);
    cpu.write32(this.address + IOWIN, value >>> 0);
  }

  private version: number | null = null;

  /**
   * __eoi_ioapic_pin: on a version >= 0x20 part, write the RTE's vector field to the EOI register; on
   * older parts (82093AA, 0x11) mask the entry and make it edge, which clears remote IRR, then restore it.
   */
  eoiPin(cpu: CpuContext, pin: number): void {
    this.version ??= this.read(cpu, 1) & 0xff;
    const low = this.read(cpu, 0x10 + 2 * pin);
    if (this.version >= 0x20) {
      cpu.write32(this.address + IOAPIC_EOI, low & 0xff);
      return;
    }
    const high = this.read(cpu, 0x11 + 2 * pin);
    this.write(cpu, 0x11 + 2 * pin, high);
    this.write(cpu, 0x10 + 2 * pin, (low | (1 << 16)) & ~(1 << 15));
    this.write(cpu, 0x11 + 2 * pin, high);
    this.write(cpu, 0x10 + 2 * pin, low);
  }

  pins(cpu: CpuContext): number {
    return ((this.read(cpu, 1) >>> 16) & 0xff) + 1;
  }

  maskAll(cpu: CpuContext): void {
    const n = this.pins(cpu);
    for (let p = 0; p < n; p++) this.write(cpu, 0x10 + 2 * p, 1 << 16);
  }

  /**
   * Fixed delivery; PCI INTx is level-triggered, active low. `dest` is an APIC ID (physical) or a
   * flat logical mask (`logical`: RTE bit 11, as io_apic.c writes apic->dest_mode_logical).
   */
  route(cpu: CpuContext, gsi: number, vector: number, dest: number, level: boolean, activeLow: boolean, logical = false): void {
    const pin = gsi - this.gsiBase;
    const low = vector | (logical ? 1 << 11 : 0) | (activeLow ? 1 << 13 : 0) | (level ? 1 << 15 : 0);
    this.write(cpu, 0x10 + 2 * pin, low | (1 << 16)); // masked while the destination is written
    this.write(cpu, 0x11 + 2 * pin, (dest & 0xff) << 24);
    this.write(cpu, 0x10 + 2 * pin, low);
  }
}

/**
 * The ISA IRQs the I/O APIC serves, as mp_config_acpi_legacy_irqs() (arch/x86/kernel/acpi/boot.c)
 * maps them: each MADT override first, then IRQ n on GSI n unless that IRQ or pin is taken already
 * (so with the usual IRQ 0 → GSI 2 override, IRQ 2 has no pin). GSIs beyond `pins` are skipped.
 */
export function legacyIsaIrqs(overrides: ReadonlyArray<{ irq: number; gsi: number }>, gsiBase: number, pins: number): Array<{ irq: number; gsi: number }> {
  const out: Array<{ irq: number; gsi: number }> = [];
  const onPin = (gsi: number) => gsi >= gsiBase && gsi < gsiBase + pins;
  for (const o of overrides) if (o.irq < 16 && onPin(o.gsi) && !out.some((e) => e.irq === o.irq || e.gsi === o.gsi)) out.push({ irq: o.irq, gsi: o.gsi });
  for (let irq = 0; irq < 16; irq++) {
    if (!onPin(irq) || out.some((e) => e.irq === irq || e.gsi === irq)) continue;
    out.push({ irq, gsi: irq });
  }
  return out.sort((a, b) => a.irq - b.irq);
}
