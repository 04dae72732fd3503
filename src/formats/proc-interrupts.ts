// /proc/interrupts exactly as a Linux kernel of the scenario's generation prints it: the generic
// rows of show_interrupts() (kernel/irq/proc.c) and x86's arch_show_interrupts()
// (arch/x86/kernel/irq.c). Real 6.1 output to compare with: test/data/real/*/proc-interrupts.txt.
//
// Layout (6.1, 6.6 and 6.10 alike; kernels of 2025 print each count as ` %10u` instead, one space
// fewer before the chip, which no generation modelled here does):
// - header: prec + 8 spaces, then `CPU%-8d` for every online CPU; prec is 3, one more per decade of
//   nr_irqs from 1000 on (at most 10);
// - a row per irq with an action or a count: `%*d: `, `%10u ` per online CPU, the chip name as
//   ` %8s`, the hwirq as ` %*lu` (prec wide), `-%-8s` with the flow handler's name (`edge`,
//   `fasteoi`), then `  ` and the action names joined by `, `;
// - the arch rows NMI … PIW: `%*s: `, `%10u ` per CPU and two spaces before the description; ERR and
//   MIS print one total. The set is that of a distribution kernel on a machine without Hyper-V, Xen
//   or a platform IPI callback (CONFIG_X86_MCE_AMD and CONFIG_KVM on, as in Debian's 6.1), which is
//   what the real sample shows; PMN (6.10's posted MSI) appears only with posted MSIs enabled, so never
//   here.
//
// MSI naming is what changes between generations. 6.1 has one global PCI-MSI domain: the chip is
// `PCI-MSI` for MSI and MSI-X alike and the hwirq is pci_msi_domain_calc_hwirq()'s
// `msi_index | pci_dev_id << 11 | domain << 27` (00:02.0 → 32768). From 6.2 on, x86 gives every device
// its own MSI domain whose chip is `PCI-MSI-<pci name>` or `PCI-MSIX-<pci name>` and whose hwirq is
// the MSI index; so 6.6 and 6.10 print `PCI-MSIX-0000:00:05.0   1-edge`. Under interrupt remapping the
// chips carry the remapping domain's prefix: `IR-IO-APIC`, `IR-PCI-MSI`, `IR-PCI-MSIX-0000:…`.

import type { InterruptCounts, ScenarioReport } from '../scenario/run-scenario.js';
import type { KernelGeneration } from '../scenario/scenario.js';

export interface ProcInterruptsRow {
  irq: number;
  /** Interrupts taken per online CPU, in `cpus` order. */
  counts: readonly number[];
  chip: string;
  /** The irq's hardware number in its domain; null for an irq without a domain (printed blank). */
  hwirq: number | null;
  /** desc->name: the flow handler's name, `edge` or `fasteoi`; null prints nothing. */
  flow: string | null;
  /** Names of the actions (request_irq's `name`), in request order. */
  actions: readonly string[];
}

/** The arch rows, per online CPU in `cpus` order; ERR and MIS are machine-wide totals. */
export interface ArchCounts {
  nmi: readonly number[];
  loc: readonly number[];
  spu: readonly number[];
  pmi: readonly number[];
  iwi: readonly number[];
  rtr: readonly number[];
  res: readonly number[];
  cal: readonly number[];
  tlb: readonly number[];
  trm: readonly number[];
  thr: readonly number[];
  dfr: readonly number[];
  mce: readonly number[];
  mcp: readonly number[];
  pin: readonly number[];
  npi: readonly number[];
  piw: readonly number[];
  err: number;
  mis: number;
}

export interface ProcInterrupts {
  /** Online CPU numbers, ascending. */
  cpus: readonly number[];
  /** nr_irqs: sets the width of the irq column. */
  nrIrqs: number;
  rows: readonly ProcInterruptsRow[];
  arch: ArchCounts;
}

const ARCH_ROWS: ReadonlyArray<[keyof ArchCounts, string, string]> = [
  ['nmi', 'NMI', 'Non-maskable interrupts'],
  ['loc', 'LOC', 'Local timer interrupts'],
  ['spu', 'SPU', 'Spurious interrupts'],
  ['pmi', 'PMI', 'Performance monitoring interrupts'],
  ['iwi', 'IWI', 'IRQ work interrupts'],
  ['rtr', 'RTR', 'APIC ICR read retries'],
  ['res', 'RES', 'Rescheduling interrupts'],
  ['cal', 'CAL', 'Function call interrupts'],
  ['tlb', 'TLB', 'TLB shootdowns'],
  ['trm', 'TRM', 'Thermal event interrupts'],
  ['thr', 'THR', 'Threshold APIC interrupts'],
  ['dfr', 'DFR', 'Deferred Error APIC interrupts'],
  ['mce', 'MCE', 'Machine check exceptions'],
  ['mcp', 'MCP', 'Machine check polls'],
];
const KVM_ROWS: ReadonlyArray<[keyof ArchCounts, string, string]> = [
  ['pin', 'PIN', 'Posted-interrupt notification event'],
  ['npi', 'NPI', 'Nested posted-interrupt event'],
  ['piw', 'PIW', 'Posted-interrupt wakeup event'],
];

/** show_interrupts()'s width of the irq column for `nrIrqs`. */
export function irqColumnWidth(nrIrqs: number): number {
  let prec = 3;
  for (let j = 1000; prec < 10 && j <= nrIrqs; j *= 10) prec++;
  return prec;
}

/**
 * arch_probe_nr_irqs() (arch/x86/kernel/apic/vector.c) for `cpus` possible CPUs, I/O APIC GSIs up to
 * `gsiTop` and the 16 legacy IRQs of a PC with an 8259 pair, raised to cover the highest irq in use as
 * irq_expand_nr_irqs() does when sparse irqs outgrow it.
 */
export function x86NrIrqs(cpus: number, gsiTop: number, highestIrq = -1): number {
  const legacy = 16;
  let nr = gsiTop + legacy + 8 * cpus;
  nr += gsiTop <= legacy ? 8 * cpus : gsiTop * 16; // CONFIG_PCI_MSI
  return Math.max(Math.min(nr, 256 * cpus), highestIrq + 1);
}

const u10 = (n: number) => String(n >>> 0).padStart(10);

export function formatProcInterrupts(p: ProcInterrupts): string {
  const prec = irqColumnWidth(p.nrIrqs);
  let out = ' '.repeat(prec + 8) + p.cpus.map((c) => `CPU${String(c).padEnd(8)}`).join('') + '\n';
  for (const r of [...p.rows].sort((a, b) => a.irq - b.irq)) {
    out += `${String(r.irq).padStart(prec)}: ` + r.counts.map((n) => u10(n) + ' ').join('');
    out += ` ${r.chip.padStart(8)}`;
    out += ` ${(r.hwirq === null ? '' : String(r.hwirq)).padStart(prec)}`;
    if (r.flow !== null) out += `-${r.flow.padEnd(8)}`;
    if (r.actions.length) out += `  ${r.actions.join(', ')}`;
    out += '\n';
  }
  const perCpu = ([key, label, text]: [keyof ArchCounts, string, string]) => {
    const v = p.arch[key] as readonly number[];
    out += `${label.padStart(prec)}: ` + p.cpus.map((_, i) => u10(v[i] ?? 0) + ' ').join('') + `  ${text}\n`;
  };
  ARCH_ROWS.forEach(perCpu);
  out += `${'ERR'.padStart(prec)}: ${u10(p.arch.err)}\n`;
  out += `${'MIS'.padStart(prec)}: ${u10(p.arch.mis)}\n`;
  KVM_ROWS.forEach(perCpu);
  return out;
}

// ---- from a boot-and-probe run --------------------------------------------------------------------

/** The name irqslice's guest driver gives its interrupts (request_irq's `name`), as xhci_hcd does. */
export const GUEST_DRIVER_NAME = 'irqslice';

export interface GuestInterruptsOptions {
  kernel: KernelGeneration;
  /** Interrupt remapping on: chips get the `IR-` prefix. */
  remapped: boolean;
  /** I/O APIC GSIs (gsi_top); 24 on the irqslice board. */
  gsiTop?: number;
}

function pciName(bdf: string): { devid: number; name: string } {
  const m = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(bdf);
  if (!m) return { devid: 0, name: bdf };
  const bus = parseInt(m[2]!, 16);
  const dev = parseInt(m[3]!, 16);
  const fn = Number(m[4]);
  const domain = m[1] ?? '0000';
  return { devid: (bus << 8) | (dev << 3) | fn, name: `${domain.toLowerCase()}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}.${fn}` };
}

/** The chip and hwirq Linux of `kernel` gives an interrupt of the guest's irq layer. */
function chipOf(kind: string, owner: string, index: number, irq: number, o: GuestInterruptsOptions): { chip: string; hwirq: number; flow: string } {
  const ir = o.remapped ? 'IR-' : '';
  if (kind === 'intx') return { chip: `${ir}IO-APIC`, hwirq: irq, flow: 'fasteoi' }; // PCI INTx: level, fasteoi
  if (kind === 'isa') return { chip: `${ir}IO-APIC`, hwirq: index, flow: 'edge' }; // index = the I/O APIC pin
  const { devid, name } = pciName(owner);
  if (o.kernel === '6.1') return { chip: `${ir}PCI-MSI`, hwirq: ((devid << 11) | index) >>> 0, flow: 'edge' };
  return { chip: `${ir}${kind === 'msix' ? 'PCI-MSIX' : 'PCI-MSI'}-${name}`, hwirq: index, flow: 'edge' };
}

/**
 * /proc/interrupts of a run from the counts its guest kernel kept (firmware/irq.ts): one row per irq
 * it requested (the timer's IRQ 0 and its drivers' interrupts), the NMI and spurious counts it took;
 * rows for devices the guest has no driver for (serial port, keyboard, RTC, ACPI) do not exist, as on
 * a kernel without those drivers. Vector-retrigger markers are no irqs and are left out.
 */
export function guestProcInterrupts(ints: InterruptCounts, o: GuestInterruptsOptions): ProcInterrupts {
  const cpus = Array.from({ length: ints.cpus }, (_, i) => i);
  const perCpu = (r: Record<string, number> | undefined) => cpus.map((c) => r?.[c] ?? 0);
  const byIrq = new Map<number, ProcInterruptsRow & { actions: string[] }>();
  for (const i of ints.irqs) {
    if (i.kind !== 'msi' && i.kind !== 'msix' && i.kind !== 'intx' && i.kind !== 'isa') continue;
    // A platform irq is named by its owner (`timer`); device irqs by the guest's driver.
    const action = i.kind === 'isa' ? i.owner : GUEST_DRIVER_NAME;
    const row = byIrq.get(i.irq);
    if (row) {
      row.actions.push(action); // a shared line: one more action on the same irq
      continue;
    }
    byIrq.set(i.irq, { irq: i.irq, counts: perCpu(i.counts), ...chipOf(i.kind, i.owner, i.index, i.irq, o), actions: [action] });
  }
  const zeros = cpus.map(() => 0);
  const rows = [...byIrq.values()];
  return {
    cpus,
    nrIrqs: x86NrIrqs(ints.cpus, o.gsiTop ?? 24, rows.reduce((m, r) => Math.max(m, r.irq), -1)),
    rows,
    arch: {
      nmi: perCpu(ints.nmi), loc: zeros, spu: perCpu(ints.spurious), pmi: zeros, iwi: zeros, rtr: zeros, res: zeros,
      cal: zeros, tlb: zeros, trm: zeros, thr: zeros, dfr: zeros, mce: zeros, mcp: zeros, pin: zeros, npi: zeros, piw: zeros,
      err: 0, mis: 0,
    },
  };
}

/** Whether a run's guest used interrupt remapping (the `linux-ir` policy, or `"iommu": true`). */
export function runIsRemapped(scenario: object): boolean {
  const s = scenario as { policy?: unknown; iommu?: unknown };
  return s.policy === 'linux-ir' || s.iommu === true;
}

/**
 * The report's /proc/interrupts, one string per line; interrupts on vectors the guest had no handler
 * for (Linux counts them in no row) are noted after the table.
 */
export function reportProcInterrupts(r: ScenarioReport): string[] {
  const ints = r.interrupts;
  if (!ints) return [];
  const table = guestProcInterrupts(ints, { kernel: r.kernel ?? '6.10', remapped: runIsRemapped(r.scenario) });
  const lines = formatProcInterrupts(table).replace(/\n$/, '').split('\n');
  const unexpected = Object.values(ints.unexpected).reduce((a, b) => a + b, 0);
  if (unexpected) lines.push(`  (${unexpected} interrupt(s) arrived on vectors with no handler: Linux counts them in no row)`);
  return lines;
}
