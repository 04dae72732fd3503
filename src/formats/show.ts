// `irqslice run --show LIST`: a finished run's machine printed in the real tools' formats, so it can be
// set beside the same view of a real machine: lspci -vv, QEMU's `info lapic` and `info pic`, and the
// guest kernel's /proc/interrupts.

import type { Machine } from '../machine/machine.js';
import type { ScenarioReport } from '../scenario/run-scenario.js';
import { formatLspci, type LspciEntry } from './lspci.js';
import { formatProcInterrupts, GUEST_DRIVER_NAME, guestProcInterrupts, runIsRemapped } from './proc-interrupts.js';

export const SHOW_FORMATS = ['lspci', 'lapic', 'pic', 'interrupts'] as const;
export type ShowFormat = (typeof SHOW_FORMATS)[number];

/** Every emulated function as `lspci -vv`, with the IRQ and driver the guest kernel gave it. */
export function showLspci(machine: Machine, report: ScenarioReport): string {
  // Under remapping the IOMMU driver puts each function in a group, numbered in probe (bus) order here.
  const remapped = runIsRemapped(report.scenario);
  const order = machine.pci.functions().map((f) => f.bdf).sort();
  const entries: LspciEntry[] = machine.pci.functions().map(({ bdf, fn }) => {
    const dev = report.devices.find((d) => d.bdf === bdf);
    // Linux's dev->irq is the first MSI irq while MSI is on; MSI-X and INTx leave the INTx GSI there.
    const msi = dev?.mode === 'msi' ? report.interrupts?.irqs.find((i) => i.owner === bdf && i.kind === 'msi' && i.index === 0) : undefined;
    const driver = dev !== undefined && dev.mode !== 'none' ? GUEST_DRIVER_NAME : null;
    return { bdf, fn, irq: msi?.irq ?? null, driver, iommuGroup: remapped ? order.indexOf(bdf) : null };
  });
  return formatLspci(entries);
}

/** `info lapic` for every CPU, each after QEMU's `dumping local APIC state for CPU n` line. */
export function showLapic(machine: Machine): string {
  return machine.cpus.map((c) => `dumping local APIC state for CPU ${String(c.index).padEnd(2)}\n\n${c.lapic.infoLapic()}`).join('');
}

/** `info pic`: the I/O APIC, then the 8259 pair, in the order QEMU lists them. */
export function showPic(machine: Machine): string {
  return machine.ioapic.infoPic() + machine.pic.infoPic();
}

/** /proc/interrupts as the run's guest kernel counted and would print it. */
export function showInterrupts(report: ScenarioReport): string {
  if (!report.interrupts) return '';
  return formatProcInterrupts(guestProcInterrupts(report.interrupts, { kernel: report.kernel ?? '6.10', remapped: runIsRemapped(report.scenario) }));
}

export function formatShow(format: ShowFormat, machine: Machine, report: ScenarioReport): string {
  switch (format) {
    case 'lspci': return showLspci(machine, report);
    case 'lapic': return showLapic(machine);
    case 'pic': return showPic(machine);
    case 'interrupts': return showInterrupts(report);
  }
}
