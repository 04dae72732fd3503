// /proc/interrupts against real kernels' output (test/data/real, README there): fed the values a real
// kernel printed, the formatter must print the same bytes; and a run of irqslice's comparable machine
// (examples/scenarios/linux-6.1-qemu.json: 4 CPUs, kernel 6.1, xHCI with 16 MSI messages, edu, ...)
// must print rows of the same shape. Expected values come from the samples, never from our output.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { formatProcInterrupts, guestProcInterrupts, irqColumnWidth, x86NrIrqs, type ArchCounts, type ProcInterruptsRow } from '../../src/formats/proc-interrupts.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { formatReport } from '../../src/scenario/report-text.js';
import { showInterrupts } from '../../src/formats/show.js';
import type { InterruptCounts } from '../../src/scenario/run-scenario.js';
import { publicSample, sample } from './real-samples.js';

const zeros = [0, 0, 0, 0];
/** The arch rows of the sample without remapping, copied from test/data/real/qemu-7.2-linux-6.1-q35-4cpu/proc-interrupts.txt. */
const ARCH_PLAIN: ArchCounts = {
  nmi: zeros, loc: [718, 873, 713, 586], spu: zeros, pmi: zeros, iwi: zeros, rtr: zeros, res: [26, 24, 33, 26],
  cal: [1182, 1051, 628, 649], tlb: [1, 2, 2, 1], trm: zeros, thr: zeros, dfr: zeros, mce: zeros, mcp: [1, 1, 1, 1],
  pin: zeros, npi: zeros, piw: zeros, err: 0, mis: 0,
};
const row = (irq: number, counts: number[], chip: string, hwirq: number, flow: string, action: string): ProcInterruptsRow => ({ irq, counts, chip, hwirq, flow, actions: [action] });

describe('/proc/interrupts: the layout of show_interrupts() and arch_show_interrupts()', () => {
  it('reproduces Linux 6.1 on QEMU q35 (4 CPUs, no IOMMU) byte for byte from the values it printed', () => {
    const rows = [
      row(0, [97, 0, 0, 0], 'IO-APIC', 2, 'edge', 'timer'),
      row(1, [0, 0, 0, 9], 'IO-APIC', 1, 'edge', 'i8042'),
      row(4, [0, 16, 0, 0], 'IO-APIC', 4, 'edge', 'ttyS0'),
      row(8, [1, 0, 0, 0], 'IO-APIC', 8, 'edge', 'rtc0'),
      row(9, zeros, 'IO-APIC', 9, 'fasteoi', 'acpi'),
      row(12, [0, 0, 3, 0], 'IO-APIC', 12, 'edge', 'i8042'),
      row(24, zeros, 'PCI-MSI', 32768, 'edge', 'xhci_hcd'),
      row(25, [0, 0, 0, 12], 'PCI-MSI', 512000, 'edge', 'ahci[0000:00:1f.2]'),
      row(26, zeros, 'PCI-MSI', 65536, 'edge', 'virtio0-config'),
      row(27, [0, 2, 0, 0], 'PCI-MSI', 65537, 'edge', 'virtio0-input'),
    ];
    // nr_irqs of that kernel: 4 possible CPUs, 24 I/O APIC GSIs (arch_probe_nr_irqs) → 456, prec 3.
    expect(x86NrIrqs(4, 24)).toBe(456);
    const text = formatProcInterrupts({ cpus: [0, 1, 2, 3], nrIrqs: x86NrIrqs(4, 24), rows, arch: ARCH_PLAIN });
    expect(text).toBe(sample('qemu-7.2-linux-6.1-q35-4cpu', 'proc-interrupts.txt'));
  });

  it('reproduces the same machine with interrupt remapping (IR-IO-APIC, IR-PCI-MSI, DMAR-MSI)', () => {
    const real = sample('qemu-7.2-linux-6.1-q35-4cpu-ir', 'proc-interrupts.txt');
    const rows = [
      row(0, [101, 0, 0, 0], 'IR-IO-APIC', 2, 'edge', 'timer'),
      row(1, [0, 0, 0, 9], 'IR-IO-APIC', 1, 'edge', 'i8042'),
      row(4, [0, 0, 9, 0], 'IR-IO-APIC', 4, 'edge', 'ttyS0'),
      row(8, [0, 1, 0, 0], 'IR-IO-APIC', 8, 'edge', 'rtc0'),
      row(9, zeros, 'IR-IO-APIC', 9, 'fasteoi', 'acpi'),
      row(12, [0, 0, 3, 0], 'IR-IO-APIC', 12, 'edge', 'i8042'),
      row(24, zeros, 'DMAR-MSI', 0, 'edge', 'dmar0'),
      row(25, zeros, 'IR-PCI-MSI', 32768, 'edge', 'xhci_hcd'),
      row(26, [13, 0, 0, 0], 'IR-PCI-MSI', 512000, 'edge', 'ahci[0000:00:1f.2]'),
      row(27, zeros, 'IR-PCI-MSI', 65536, 'edge', 'virtio0-config'),
      row(28, [0, 0, 3, 0], 'IR-PCI-MSI', 65537, 'edge', 'virtio0-input'),
    ];
    const arch = { ...ARCH_PLAIN, loc: [811, 865, 716, 656], res: [20, 23, 16, 46], cal: [634, 1163, 726, 1007], tlb: [1, 1, 1, 0] };
    expect(formatProcInterrupts({ cpus: [0, 1, 2, 3], nrIrqs: 456, rows, arch })).toBe(real);
  });

  it('joins the actions of a shared irq with ", " as the root port row (PCIe PME, aerdrv)', () => {
    const rows = [
      row(0, [159, 0, 0, 0], 'IO-APIC', 2, 'edge', 'timer'),
      row(1, [9, 0, 0, 0], 'IO-APIC', 1, 'edge', 'i8042'),
      row(4, [0, 0, 12, 0], 'IO-APIC', 4, 'edge', 'ttyS0'),
      row(8, [0, 1, 0, 0], 'IO-APIC', 8, 'edge', 'rtc0'),
      row(9, zeros, 'IO-APIC', 9, 'fasteoi', 'acpi'),
      row(12, [0, 0, 0, 3], 'IO-APIC', 12, 'edge', 'i8042'),
      { ...row(24, zeros, 'PCI-MSI', 32768, 'edge', 'PCIe PME'), actions: ['PCIe PME', 'aerdrv'] },
      row(25, zeros, 'PCI-MSI', 49152, 'edge', 'xhci_hcd'),
      row(26, [13, 0, 0, 0], 'PCI-MSI', 512000, 'edge', 'ahci[0000:00:1f.2]'),
    ];
    const arch = { ...ARCH_PLAIN, loc: [959, 1075, 940, 641], res: [22, 32, 26, 19], cal: [1237, 1061, 590, 749], tlb: [1, 0, 0, 1] };
    expect(formatProcInterrupts({ cpus: [0, 1, 2, 3], nrIrqs: 456, rows, arch })).toBe(sample('qemu-7.2-linux-6.1-q35-4cpu-rootport', 'proc-interrupts.txt'));
  });

  it('reproduces the per-device MSI-X domain rows of a newer kernel under remapping (igb patch mail, 2 CPUs)', () => {
    const real = publicSample('igb-proc-interrupts.txt').split('\n').filter(Boolean);
    const names = ['enp2s0', 'enp2s0-TxRx-0', 'enp2s0-TxRx-1', 'enp2s0-TxRx-2', 'enp2s0-TxRx-3'];
    const counts = [[0, 1], [0, 7], [0, 0], [0, 5], [0, 0]];
    const rows = names.map((n, i) => row(123 + i, counts[i]!, 'IR-PCI-MSIX-0000:02:00.0', i, 'edge', n));
    const ours = formatProcInterrupts({ cpus: [0, 1], nrIrqs: 128, rows, arch: { ...ARCH_PLAIN, ...Object.fromEntries(Object.keys(ARCH_PLAIN).map((k) => [k, [0, 0]])), err: 0, mis: 0 } as ArchCounts }).split('\n').slice(1, 6);
    // That 2025 kernel prints each count as ` %10u` (seq_put_decimal_ull_width with a leading space)
    // where 6.1–6.10 print `%10u ` and a `%*d: ` label: its rows have one space fewer before the chip.
    // Up to the last count and from the chip on, the bytes are the same.
    for (let i = 0; i < 5; i++) {
      expect(ours[i]!.slice(ours[i]!.indexOf(' IR-'))).toBe(real[i]!.slice(real[i]!.indexOf(' IR-')));
      expect(ours[i]!.slice(0, ours[i]!.indexOf(' IR-')).trimEnd()).toBe(real[i]!.slice(0, real[i]!.indexOf(' IR-')));
    }
  });

  it('widens the irq column by one per decade of nr_irqs from 1000 (prec 3..10)', () => {
    expect([999, 1000, 9999, 10000, 10 ** 12].map(irqColumnWidth)).toEqual([3, 4, 4, 5, 10]);
    // More CPUs raise nr_irqs: 128 CPUs with 24 GSIs give 24 + 16 + 1024 + 384 = 1448 → a 4-wide column.
    expect(x86NrIrqs(128, 24)).toBe(1448);
    expect(formatProcInterrupts({ cpus: [0], nrIrqs: 1448, rows: [], arch: { ...ARCH_PLAIN, ...Object.fromEntries(Object.keys(ARCH_PLAIN).map((k) => [k, [0]])), err: 0, mis: 0 } as ArchCounts }).split('\n')[1]).toBe(' NMI:          0   Non-maskable interrupts');
  });
});

describe('/proc/interrupts of a guest run, named as its kernel generation names MSIs', () => {
  const ints: InterruptCounts = {
    cpus: 4,
    irqs: [
      { irq: 24, owner: '00:02.0', index: 0, kind: 'msi', counts: {} },
      { irq: 25, owner: '00:1f.2', index: 0, kind: 'msi', counts: { 3: 12 } },
      { irq: 26, owner: '00:04.0', index: 0, kind: 'msix', counts: {} },
      { irq: 27, owner: '00:04.0', index: 1, kind: 'msix', counts: { 1: 2 } },
      { irq: 28, owner: '(retriggered)', index: 0x41, kind: 'ipi', counts: {} },
    ],
    spurious: {},
    unexpected: {},
  };

  it('6.1: one PCI-MSI chip for MSI and MSI-X, hwirq = pci_dev_id << 11 | index, as the real rows show', () => {
    const real = sample('qemu-7.2-linux-6.1-q35-4cpu', 'proc-interrupts.txt').split('\n');
    const ours = formatProcInterrupts(guestProcInterrupts(ints, { kernel: '6.1', remapped: false })).split('\n');
    // Same irq, counts, chip and hwirq as the real kernel gave these four functions: only the action
    // name (the driver's) differs, and the retrigger marker is no irq.
    for (const irq of [24, 25, 26, 27]) {
      const r = real.find((l) => l.startsWith(` ${irq}:`))!;
      const o = ours.find((l) => l.startsWith(` ${irq}:`))!;
      expect(o.replace(/ {2}\S+$/, '')).toBe(r.replace(/ {2}\S+$/, ''));
      expect(o.endsWith('  irqslice')).toBe(true);
    }
    expect(ours.some((l) => l.startsWith(' 28:'))).toBe(false);
  });

  it('6.6 and 6.10: per-device PCI-MSI-/PCI-MSIX- chips with the MSI index as hwirq, IR- under remapping (as the igb rows)', () => {
    const igb: InterruptCounts = { cpus: 2, irqs: [0, 1, 2].map((i) => ({ irq: 123 + i, owner: '02:00.0', index: i, kind: 'msix', counts: {} })), spurious: {}, unexpected: {} };
    const real = publicSample('igb-proc-interrupts.txt').split('\n');
    for (const kernel of ['6.6', '6.10'] as const) {
      const ours = formatProcInterrupts(guestProcInterrupts(igb, { kernel, remapped: true })).split('\n');
      for (let i = 0; i < 3; i++) {
        // The real rows from the chip name up to the action: ` IR-PCI-MSIX-0000:02:00.0   0-edge      `.
        const mid = (l: string) => l.slice(l.indexOf(' IR-'), l.lastIndexOf(' ') + 1);
        expect(mid(ours[1 + i]!)).toBe(mid(real[i]!));
      }
    }
    const msi = formatProcInterrupts(guestProcInterrupts(ints, { kernel: '6.10', remapped: false }));
    expect(msi).toContain('  PCI-MSI-0000:00:02.0   0-edge      irqslice');
    expect(msi).toContain('  PCI-MSIX-0000:00:04.0   1-edge      irqslice');
  });

  it('a run of the comparable scenario prints the real header, the real arch rows in order, and real-shaped MSI rows', async () => {
    const sc = JSON.parse(readFileSync(new URL('../../examples/scenarios/linux-6.1-qemu.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const r = await runScenario(JSON.stringify({ ...sc, engine: 'js' }));
    const ours = formatProcInterrupts(guestProcInterrupts(r.interrupts!, { kernel: '6.1', remapped: false })).split('\n');
    const real = sample('qemu-7.2-linux-6.1-q35-4cpu', 'proc-interrupts.txt').split('\n');
    expect(ours[0]).toBe(real[0]); // '           CPU0       CPU1       CPU2       CPU3       '
    const label = (l: string) => l.slice(0, 5);
    const arch = (lines: string[]) => lines.filter((l) => /^[A-Z]{3}:/.test(l)).map((l) => label(l) + l.replace(/^.*\d {3}/, '').replace(/^[A-Z]{3}: +\d+$/, ''));
    expect(arch(ours)).toEqual(arch(real));
    // An MSI row as the real kernel prints one: `%*d: `, four `%10u `, ` %8s` chip, ` %*lu` hwirq, `-%-8s`, `  ` name.
    const shape = /^ {0,2}\d+: ( {0,9}\d+ ){4} {2}PCI-MSI \d+-edge {6}\S+$/;
    expect(real.filter((l) => l.includes('PCI-MSI')).every((l) => shape.test(l))).toBe(true);
    const msiRows = ours.filter((l) => l.includes('PCI-MSI'));
    expect(msiRows.length).toBeGreaterThan(0);
    for (const l of msiRows) expect(l).toMatch(shape);
    // IRQ 0, the timer Linux requests on I/O APIC pin 2 (the MADT override): the real row but for its
    // count (no PIT ticks in irqslice).
    const zeroCounts = (l: string) => l.replace(/^(.{5})( +\d+ ){4}/, (_, head: string) => head + '         0 '.repeat(4));
    expect(ours.find((l) => l.startsWith('  0:'))).toBe(zeroCounts(real.find((l) => l.startsWith('  0:'))!));
    // 00:03.0 (the 16-message xHCI in the scenario) gets pci_dev_id 0x18 << 11 = 49152, as 00:02.0 got 32768 in the sample.
    expect(ours.find((l) => l.startsWith(' 24:'))).toMatch(/ PCI-MSI 49152-edge {6}irqslice$/);
    // The text report's interrupt table is this same /proc/interrupts (report-text.ts calls the module).
    expect(formatReport(r, { verbose: true })).toContain('Interrupts (/proc/interrupts as the guest counted them)\n' + showInterrupts(r));
  });
});
