// LocalApic.infoLapic() against QEMU 7.2's real `info lapic` (test/data/real/*/info-lapic.txt): four
// APICs put in the state Linux 6.1 left QEMU's in must print the same bytes.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { LocalApic, type LocalApicState } from '../../src/hw/apic/local-apic.js';
import { showLapic } from '../../src/formats/show.js';
import type { Machine as Board } from '../../src/machine/machine.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { sample } from './real-samples.js';

const sink = { intr: () => {}, nmi: () => {}, smi: () => {}, init: () => {}, sipi: () => {}, extint: () => {} };

/** What each CPU's APIC held when the sample was taken, copied from the sample's own lines. */
interface CpuValues { lint1: number; icrLow: number; icrHigh: number; initial: number; current: number }
const CPUS: CpuValues[] = [
  { lint1: 0x00400, icrLow: 0x8fb, icrHigh: 0x0800_0000, initial: 62210645, current: 32367466 },
  { lint1: 0x10400, icrLow: 0x8fb, icrHigh: 0x0400_0000, initial: 190692700, current: 43617479 },
  { lint1: 0x10400, icrLow: 0x8fb, icrHigh: 0x0200_0000, initial: 31457268, current: 4890671 },
  { lint1: 0x10400, icrLow: 0x8fb, icrHigh: 0x0200_0000, initial: 249698804, current: 182986571 },
];
/** The same from the machine with interrupt remapping (CPU 0's last IPI was a reschedule, 0xFD). */
const CPUS_IR: CpuValues[] = [
  { lint1: 0x00400, icrLow: 0x8fd, icrHigh: 0x0400_0000, initial: 11712505, current: 4144547 },
  { lint1: 0x10400, icrLow: 0x8fb, icrHigh: 0x0800_0000, initial: 249612601, current: 246220431 },
  { lint1: 0x10400, icrLow: 0x8fb, icrHigh: 0x0800_0000, initial: 249727576, current: 76108563 },
  { lint1: 0x10400, icrLow: 0x8fb, icrHigh: 0x0400_0000, initial: 235232720, current: 145598443 },
];

function linuxApic(cpu: number, table: CpuValues[] = CPUS): LocalApic {
  const apic = new LocalApic({ apicId: cpu, bsp: cpu === 0, sink });
  const c = table[cpu]!;
  const s: LocalApicState = {
    ...apic.saveState(),
    // Linux 6.1 with ≤ 8 CPUs: flat logical mode, LDR = 1 << cpu, TPR 0x10 (it masks class 1), SVR
    // enabled with vector 0xFF, error vector 0xFE, LINT0 ExtINT masked, timer vector 0xEC one-shot.
    tpr: 0x10,
    dfr: 0xffff_ffff,
    ldr: (1 << cpu) << 24,
    svr: 0x1ff,
    icrLow: c.icrLow, // the last IPI sent: CALL_FUNCTION_SINGLE (0xFB) or RESCHEDULE (0xFD), logical
    icrHigh: c.icrHigh,
    lvt: { timer: 0xec, thermal: 0x10000, pmc: 0x10000, lint0: 0x10700, lint1: c.lint1, error: 0xfe },
    timer: { initialCount: c.initial, currentCount: c.current, phase: 0, divideConfig: 3 },
  };
  apic.loadState(s);
  return apic;
}

describe("info lapic: QEMU's x86_cpu_dump_local_apic_state() layout", () => {
  it('reproduces the four APICs of Linux 6.1 on QEMU q35 byte for byte', () => {
    const ours = [0, 1, 2, 3].map((cpu) => `dumping local APIC state for CPU ${String(cpu).padEnd(2)}\n\n${linuxApic(cpu).infoLapic()}`).join('');
    expect(ours).toBe(sample('qemu-7.2-linux-6.1-q35-4cpu', 'info-lapic.txt'));
  });

  it('reproduces the four APICs of the machine with interrupt remapping byte for byte', () => {
    const ours = [0, 1, 2, 3].map((cpu) => `dumping local APIC state for CPU ${String(cpu).padEnd(2)}\n\n${linuxApic(cpu, CPUS_IR).infoLapic()}`).join('');
    expect(ours).toBe(sample('qemu-7.2-linux-6.1-q35-4cpu-ir', 'info-lapic.txt'));
  });

  it('prints pending and in-service vectors with (level) for TMR-set ones, as dump_apic_interrupt()', () => {
    const apic = linuxApic(0);
    const s = apic.saveState();
    s.irr[1] = 1 << 2; // vector 0x22
    s.isr[1] = 1 << 1; // vector 0x21
    s.tmr[1] = 1 << 1;
    apic.loadState(s);
    const lines = apic.infoLapic().split('\n');
    expect(lines).toContain('ISR\t 33(level) ');
    expect(lines).toContain('IRR\t 34 ');
    // The real sample's idle form of the same lines.
    expect(sample('qemu-7.2-linux-6.1-q35-4cpu', 'info-lapic.txt').split('\n')).toContain('IRR\t (none)');
  });

  it('a run of irqslice prints the real line sequence for every CPU', async () => {
    const sc = JSON.parse(readFileSync(new URL('../../examples/scenarios/linux-6.1-qemu.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    let board: Board | undefined;
    await runScenario(JSON.stringify({ ...sc, engine: 'js' }), { onMachine: (m) => (board = m) });
    const labels = (t: string) => t.split('\n').map((l) => l.replace(/[\t ].*$/, ''));
    expect(labels(showLapic(board!))).toEqual(labels(sample('qemu-7.2-linux-6.1-q35-4cpu', 'info-lapic.txt')));
  });
});
