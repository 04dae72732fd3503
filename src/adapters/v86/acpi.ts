// Workaround for v86 0.5.462 with `acpi: true` (v86 src/acpi.js): SeaBIOS's DSDT (QEMU's PIIX4 one)
// has a GPE handler that reads QEMU's PCI-hotplug registers at 0xAE00–0xAE0F (PCI_UP, PCI_DOWN, EJ,
// RMV) and notifies/ejects every slot whose bit is set. v86 implements no such registers, so they
// read all ones, and its GPE status (0xAFE0/0xAFE1) is stored rather than write-1-to-clear, so the
// GPE stays raised: at the next SCI Linux's acpiphp sees "device gone" on every slot and removes
// every PCI function but 00:00.0, ours included. Reading the hotplug block as 0 (no events, as QEMU
// does when nothing is hot-plugged) makes that handler a no-op; writes (eject requests) are ignored.
import type { V86Cpu } from './v86-internals.js';

export const PIIX4_HOTPLUG_BASE = 0xae00;
export const PIIX4_HOTPLUG_LENGTH = 0x10;

export function applyAcpiHotplugWorkaround(cpu: V86Cpu): void {
  for (let p = PIIX4_HOTPLUG_BASE; p < PIIX4_HOTPLUG_BASE + PIIX4_HOTPLUG_LENGTH; p++) {
    const e = cpu.io.ports[p]!;
    e.read8 = () => 0;
    e.read16 = () => 0;
    e.read32 = () => 0;
    e.write8 = () => {};
    e.write16 = () => {};
    e.write32 = () => {};
  }
}
