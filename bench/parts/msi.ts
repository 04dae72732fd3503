// Part 4: end-to-end MSI delivery on a booted machine — a guest doorbell write, the endpoint's MSI
// memory write, MSI decode on the APIC bus, LAPIC IRR, INTA, the guest kernel's handler and its EOI.

import type { PartContext, PartResult, TargetLine } from '../lib/context';
import { measure, type MeasureConfig } from '../lib/measure';
import { fmtNs, type Summary } from '../lib/stats';
import { EP_DOORBELL } from '../../src/hw/pci/msi-endpoint';
import type { Machine } from '../../src/machine/machine';
import type { CpuContext, GuestYield } from '../../src/machine/guest-interface';
import { runScenario } from '../../src/scenario/run-scenario';

const BDF = '00:02.0';
const MESSAGES = 32;
const TARGET_PER_S = 5_000_000;

/** 'round': the BSP yields one polling iteration after each doorbell (any target CPU);
 *  'burst': doorbells back to back, each taken at the next instruction boundary (BSP target only). */
type Pacing = 'round' | 'burst';

interface MsiCase {
  cpus: number;
  pacing: Pacing;
  targetCpu: number;
  base: number;
  messagesPerCall: number;
  result: Summary;
  messagesPerSecond: number;
}

/** Boots a machine with one 32-message MSI endpoint through the guest kernel; returns it booted. */
async function booted(cpus: number): Promise<{ machine: Machine; cpu: number; base: number; bar0: number }> {
  let machine: Machine | undefined;
  const report = await runScenario(
    { name: `bench msi ${cpus}`, cpus, devices: [{ bdf: BDF, msi: { vectors: MESSAGES, is64: true, pvm: true } }] },
    { onMachine: (m) => (machine = m) },
  );
  const dev = report.devices[0];
  if (!report.ok || !machine || !dev || dev.cpu === null || dev.base === null || dev.vectors !== MESSAGES) {
    throw new Error(`msi bench: boot of ${cpus} CPU(s) failed: ${report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
  }
  const fn = machine.pci.functions().find((f) => f.bdf === BDF)!.fn;
  return { machine, cpu: dev.cpu, base: dev.base, bar0: (fn.configRead(0x10, 4) & ~0xf) >>> 0 };
}

/** BSP guest code: ring message k % 32, n times, paced as `pacing` says. */
function doorbells(bar0: number, n: number, pacing: Pacing) {
  if (pacing === 'burst') {
    return function* burst(cpu: CpuContext): Generator<GuestYield, void, void> {
      cpu.sti();
      for (let k = 0; k < n; k++) cpu.write32(bar0 + EP_DOORBELL, k % MESSAGES);
      yield* cpu.spin(); // the boundary after the last write takes the last message
    };
  }
  return function* ring(cpu: CpuContext): Generator<GuestYield, void, void> {
    cpu.sti();
    for (let k = 0; k < n; k++) {
      cpu.write32(bar0 + EP_DOORBELL, k % MESSAGES);
      yield* cpu.spin();
    }
  };
}

function takenOn(machine: Machine, cpu: number, base: number): number {
  let n = 0;
  for (let v = base; v < base + MESSAGES; v++) n += machine.cpus[cpu]!.taken[v]!;
  return n;
}

export async function runMsi(ctx: PartContext): Promise<PartResult> {
  const cfg: MeasureConfig = ctx.mode === 'quick'
    ? { timeMs: 150, warmupMs: 30, iterations: 5, rounds: ctx.rounds }
    : { timeMs: 1000, warmupMs: 200, iterations: 10, rounds: ctx.rounds };
  const perCall = 256;
  const cases: MsiCase[] = [];
  const plan: Array<[number, Pacing]> = [[1, 'round'], [1, 'burst'], [64, 'round']];
  for (const [cpus, pacing] of plan) {
    const { machine, cpu, base, bar0 } = await booted(cpus);
    if (pacing === 'burst' && cpu !== 0) throw new Error(`msi bench: burst pacing needs the block on the BSP, got CPU ${cpu}`);
    // One checked run first: every doorbell must become exactly one interrupt on the programmed CPU.
    const before = takenOn(machine, cpu, base);
    const dropsBefore = machine.msiDropped;
    const r = machine.run(doorbells(bar0, perCall, pacing));
    const arrived = takenOn(machine, cpu, base) - before;
    const dropped = machine.msiDropped - dropsBefore;
    if (r.end !== 'bsp-finished' || arrived !== perCall || dropped !== 0) {
      throw new Error(`msi bench (${cpus} CPUs, ${pacing}): run ended ${r.end}, ${arrived}/${perCall} interrupts on CPU ${cpu}, ${dropped} dropped`);
    }
    const res = measure([{ name: 'msi', fn: () => machine.run(doorbells(bar0, perCall, pacing)), opsPerCall: perCall }], cfg);
    const s = res.msi!;
    cases.push({ cpus, pacing, targetCpu: cpu, base, messagesPerCall: perCall, result: s, messagesPerSecond: 1e9 / s.medianNs });
  }
  ctx.out.json('msi', {
    part: 'msi',
    mode: ctx.mode,
    machine: ctx.machine,
    units: 'ns per message (median, min, max over pooled tinybench samples); messagesPerSecond = 1e9 / median',
    method: {
      measure: cfg,
      path: 'guest write32 to the endpoint doorbell (BAR0) → MSI memory write → APIC bus MSI decode → LAPIC IRR → INTA at the next instruction boundary → guest kernel IDT stub and handler → EOI',
      setup: `runScenario boots the guest kernel (ACPI, SMP bring-up, PCI enumeration, pci_alloc_irq_vectors) with one ${MESSAGES}-message MSI endpoint at ${BDF}; the BSP then rings message k % ${MESSAGES}`,
      pacing: { round: 'one polling iteration (a machine scheduling round) after each doorbell, so a halted AP target is scheduled', burst: 'doorbells back to back; each message is taken at the next instruction boundary of the BSP (1 CPU only)' },
    },
    cases,
  });
  const md = ['## 4. End-to-end MSI delivery', ''];
  md.push('Doorbell write → MSI decode → LAPIC IRR → INTA → guest handler → EOI, on a machine booted by the guest kernel. Pacing "round": one machine scheduling round per message; "burst": doorbells back to back on the BSP.', '');
  md.push('| CPUs | pacing | message target | ns per message (median) | min | max | samples | messages/s |', '|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    md.push(`| ${c.cpus} | ${c.pacing} | CPU ${c.targetCpu}, vectors 0x${c.base.toString(16)}–0x${(c.base + MESSAGES - 1).toString(16)} | ${fmtNs(c.result.medianNs)} | ${fmtNs(c.result.minNs)} | ${fmtNs(c.result.maxNs)} | ${c.result.samples} | ${(c.messagesPerSecond / 1e6).toFixed(2)} M |`);
  }
  md.push('');
  const targets: TargetLine[] = cases.map((c) => ({
    target: `end-to-end ≥ 5 M MSI messages/s (${c.cpus} CPU${c.cpus > 1 ? 's' : ''}, ${c.pacing})`,
    measured: `${(c.messagesPerSecond / 1e6).toFixed(2)} M/s (${fmtNs(c.result.medianNs)} per message)`,
    met: c.messagesPerSecond >= TARGET_PER_S,
  }));
  return { markdown: md.join('\n'), targets };
}
