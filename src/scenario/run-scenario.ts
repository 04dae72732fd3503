// Boot-and-probe: build the machine a scenario describes, boot the guest kernel on it, and turn the
// guest's console output into the report of docs/DESIGN.md §4 (plus the boot log and the checks).

import { compileMatrixModule, createMatrixSync, type MatrixPreset } from '../alloc/matrix.js';
import { firstMatchPolicy, lowestPprPolicy } from '../hw/apic/apic-bus.js';
import { MsiEndpoint } from '../hw/pci/msi-endpoint.js';
import type { AcpiFaults } from '../machine/acpi/tables.js';
import { createMachine, type Machine, type RunResult } from '../machine/machine.js';
import { kernelMain, type DeviceReport } from '../../firmware/kernel.js';
import { RESULT_MARKER } from '../../firmware/console.js';
import type { MessageResult } from '../../firmware/probe.js';
import { checkAffinity, defaultDestMode, parseScenario, validateScenario, type DestMode, type DeviceErrno, type DeviceSpec, type KernelGeneration, type Policy, type Scenario, type ScenarioInput } from './scenario.js';

/** The guest links the matrix preset of its kernel generation. */
const KERNEL_PRESET: Readonly<Record<KernelGeneration, MatrixPreset>> = { '6.1': 'x86-6.1', '6.6': 'x86-6.6', '6.10': 'x86' };

export interface MessageReport {
  index: number;
  vector: number | null;
  cpu: number | null;
  ok: boolean;
  expected: { vector: number; cpu: number };
  problem?: string;
}

export interface DeviceResult {
  bdf: string;
  mode: 'msi' | 'msix' | 'intx' | 'none';
  vectors: number;
  cpu: number | null;
  base: number | null;
  /** What the device could send (MSI messages or MSI-X entries) and what the driver asked for. */
  capable: number;
  /** The message the device was programmed with (MSI, or MSI-X entry 0), read back; null for INTx and refusals. */
  address: number | null;
  data: number | null;
  /** MSI under 'aligned': vectors of the rounded-up block beyond the grant, reserved so a message the device may still send hits no one else (0 when none). */
  reservedTail: number;
  messages: MessageReport[];
  /** pci_alloc_irq_vectors() granted nothing and returned this error (mode 'none'). */
  error?: DeviceErrno;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface InterruptCounts {
  cpus: number;
  irqs: Array<{ irq: number; owner: string; index: number; kind: string; counts: Record<string, number> }>;
  spurious: Record<string, number>;
  unexpected: Record<string, number>;
}

export interface ScenarioReport {
  ok: boolean;
  devices: DeviceResult[];
  /** `devices`: how many the scenario declares (every one has a check). */
  scenario: { name: string | null; cpus: number; apic: string; engine: string; policy: Policy; devices: number; destMode: DestMode };
  checks: Check[];
  bootLog: string[];
  interrupts: InterruptCounts | null;
  vectors: string;
  machine: {
    end: RunResult['end'];
    timeNs: number;
    msiWrites: number;
    msiDropped: number;
    events: number;
    /** Machine events beyond the machine's eventLimit (10 000), not kept and not counted in `events`. */
    eventsDropped: number;
    shutdowns: string[];
    /** The 8259 pair as the guest left it: interrupt masks and spurious IRQ 7 / 15 seen at INTA. */
    pic: { masterMask: number; slaveMask: number; spuriousIrq7: number; spuriousIrq15: number };
  };
}

export interface RunOptions {
  /** Override the scenario's policy (used by `npm start` to run both). */
  policy?: Policy;
  /** Give the caller the machine before it boots (tests inject broken devices this way). */
  onMachine?: (machine: Machine) => void;
  /** Deliberately malformed firmware tables, to exercise the guest's validation. */
  acpiFaults?: AcpiFaults;
  /** Keep every MSI write in machine.wire (off by default: the report needs only the counters). */
  traceWire?: boolean;
}

/**
 * Runs one scenario to completion: a ScenarioInput (a validated Scenario is one) or scenario JSON
 * text. Either is validated first (ScenarioError); a value of unknown shape goes through
 * validateScenario, which returns a Scenario.
 */
export async function runScenario(input: ScenarioInput | string, options: RunOptions = {}): Promise<ScenarioReport> {
  const sc = typeof input === 'string' ? parseScenario(input) : validateScenario(input);
  const policy = options.policy ?? sc.policy;
  // A policy given here (--policy) must take the scenario's affinity requests too.
  if (policy !== sc.policy) sc.devices.forEach((d, i) => checkAffinity(d, policy, i));
  const module = sc.engine === 'wasm' ? await compileMatrixModule() : undefined;
  const machine = createMachine({
    cpus: sc.cpus,
    apic: sc.apic,
    mcfg: sc.mcfg,
    ...(options.acpiFaults ? { acpiFaults: options.acpiFaults } : {}),
    traceWire: options.traceWire ?? false,
    lowestPriority: sc.lowestPriority === 'first-match' ? firstMatchPolicy : lowestPprPolicy,
    devices: sc.devices.map((d) => ({
      bdf: d.bdf,
      fn: new MsiEndpoint({
        ...(d.msi ? { msi: d.msi } : {}),
        ...(d.msix ? { msix: { tableSize: d.msix.vectors } } : {}),
        intxPin: (d.intxPin ?? 1) as 0 | 1 | 2 | 3 | 4,
        ...(d.quirks ? { quirks: d.quirks } : {}),
      }),
    })),
  });
  options.onMachine?.(machine);
  const devices: Record<string, { min?: number; max?: number; affinity?: { pre: number; post: number } }> = {};
  for (const d of sc.devices) devices[d.bdf] = { ...(d.min ? { min: d.min } : {}), ...(d.want ? { max: d.want } : {}), ...(d.affinity ? { affinity: d.affinity } : {}) };
  const run = machine.run(
    kernelMain({
      policy,
      devices,
      fillPerCpu: sc.fill,
      destMode: defaultDestMode(sc),
      createMatrix: (cpus) => createMatrixSync({ cpus, engine: sc.engine, preset: KERNEL_PRESET[sc.kernel ?? '6.10'] }, module),
    }),
  );
  return buildReport(sc, policy, machine, run);
}

function buildReport(sc: Scenario, policy: Policy, machine: Machine, run: RunResult): ScenarioReport {
  const bootLog: string[] = [];
  const checks: Check[] = [];
  const devices: DeviceResult[] = [];
  let interrupts: InterruptCounts | null = null;
  let vectors = '';
  let done: boolean | null = null;
  for (const line of run.console.split('\n')) {
    if (!line.startsWith(RESULT_MARKER)) {
      if (line) bootLog.push(line);
      continue;
    }
    const rest = line.slice(RESULT_MARKER.length);
    const sp = rest.indexOf(' ');
    const kind = rest.slice(0, sp);
    const payload = JSON.parse(rest.slice(sp + 1)) as unknown;
    if (kind === 'device') devices.push(toDevice(payload as DeviceReport, sc));
    else if (kind === 'check') checks.push(payload as Check);
    else if (kind === 'interrupts') interrupts = payload as InterruptCounts;
    else if (kind === 'vectors') vectors = (payload as { text: string }).text;
    else if (kind === 'done') done = (payload as { ok: boolean }).ok;
    else if (kind === 'boot_error') {
      const p = payload as { stage: string; message: string };
      checks.push({ name: `boot (${p.stage})`, ok: false, detail: p.message });
    }
  }
  checks.push(...accountFor(sc, devices));
  const pending = pendingInterrupts(machine);
  checks.push({
    name: 'no-pending',
    ok: pending.length === 0,
    detail: pending.length === 0 ? 'no interrupt left pending in any local APIC' : `left pending at the end (never taken): ${pending.slice(0, 8).join(', ')}${pending.length > 8 ? `, … (${pending.length})` : ''}`,
  });
  const shutdowns = machine.cpus.filter((c) => c.state === 'shutdown').map((c) => `CPU ${c.index}: ${c.shutdownReason}`);
  checks.push({
    name: 'machine',
    ok: run.end === 'bsp-finished' && shutdowns.length === 0 && done !== null,
    detail: run.end === 'bsp-finished' ? (shutdowns.length ? shutdowns.join('; ') : 'guest kernel ran to completion') : `run ended: ${run.end}`,
  });
  // The guest's own verdict counts a refused device as a failure; a refusal the scenario expects is
  // judged by its check instead, so only a guest that never finished fails here by itself.
  const expected = devices.some((d) => d.error !== undefined && sc.devices.find((x) => x.bdf === d.bdf)?.expectError === d.error);
  const ok = checks.every((c) => c.ok) && (done === true || (done === false && expected));
  return {
    ok,
    devices,
    scenario: { name: sc.name ?? null, cpus: sc.cpus, apic: sc.apic, engine: sc.engine, policy, devices: sc.devices.length, destMode: defaultDestMode(sc) },
    checks,
    bootLog,
    interrupts,
    vectors,
    machine: {
      end: run.end,
      timeNs: run.timeNs,
      msiWrites: machine.msiWrites,
      msiDropped: machine.msiDropped,
      events: machine.events.length,
      eventsDropped: machine.eventsDropped,
      shutdowns,
      pic: {
        masterMask: machine.pic.masks.master,
        slaveMask: machine.pic.masks.slave,
        spuriousIrq7: machine.pic.spurious.irq7,
        spuriousIrq15: machine.pic.spurious.irq15,
      },
    },
  };
}

/**
 * One check per declared device, so none can vanish from a report: not found by enumeration, refused
 * by the policy (with the errno, unless the scenario expects it), or its messages as probed.
 */
function accountFor(sc: Scenario, devices: DeviceResult[]): Check[] {
  const checks: Check[] = [];
  const byBdf = new Map(devices.map((d) => [d.bdf, d]));
  for (const spec of sc.devices) {
    const d = byBdf.get(spec.bdf);
    if (!d) {
      checks.push({ name: `${spec.bdf} found`, ok: false, detail: 'declared in the scenario but not found by PCI enumeration' });
      continue;
    }
    const limits = `min ${spec.min ?? 1}, max ${spec.want ?? d.capable}`;
    if (d.mode === 'none') {
      const ok = spec.expectError === d.error;
      checks.push({
        name: `${d.bdf} ${ok ? 'refused' : 'none'}`,
        ok,
        detail: ok
          ? `pci_alloc_irq_vectors(${limits}) returned -${d.error} as the scenario expects`
          : `pci_alloc_irq_vectors(${limits}) returned -${d.error}${spec.expectError ? `, expected -${spec.expectError}` : ''}: no interrupt set up`,
      });
      continue;
    }
    if (spec.expectError) {
      checks.push({ name: `${d.bdf} refused`, ok: false, detail: `expected pci_alloc_irq_vectors(${limits}) to return -${spec.expectError}, but it granted ${d.vectors} ${d.mode} vector(s)` });
    }
    const good = d.messages.filter((m) => m.ok).length;
    const probed = d.messages.length === d.vectors;
    const where = d.mode === 'msi' ? `CPU ${d.cpu} vectors 0x${hex(d.base!)}..0x${hex(d.base! + d.vectors - 1)}${d.reservedTail ? `, ${d.reservedTail} more reserved` : ''}` : `${d.vectors} vector(s)`;
    checks.push({
      name: `${d.bdf} ${d.mode}`,
      ok: probed && good === d.vectors,
      detail: probed ? `${good}/${d.messages.length} message(s) arrived as programmed (${where})` : `${d.messages.length} of ${d.vectors} vector(s) probed (${where}): the rest were never rung`,
    });
  }
  for (const d of devices) {
    if (!sc.devices.some((x) => x.bdf === d.bdf)) checks.push({ name: `${d.bdf} ${d.mode}`, ok: false, detail: 'reported but not declared in the scenario' });
  }
  return checks;
}

/**
 * The errno Linux's pci_alloc_irq_vectors() returns when it grants nothing: -ENOSPC once MSI or
 * MSI-X was tried and could not be met (or no vector was left), -EINVAL for a device with neither
 * capability whose INTx cannot serve the request (no pin, or min > 1).
 */
export function refusalErrno(spec: DeviceSpec | undefined): DeviceErrno {
  if (!spec || spec.msi || spec.msix) return 'ENOSPC';
  return (spec.intxPin ?? 1) !== 0 && (spec.min ?? 1) <= 1 ? 'ENOSPC' : 'EINVAL';
}

/** Interrupts accepted by a local APIC (IRR) or in service (ISR) when the run ended. */
function pendingInterrupts(machine: Machine): string[] {
  const out: string[] = [];
  for (const c of machine.cpus) {
    const st = c.lapic.saveState() as { irr: number[]; isr: number[] };
    for (const [what, words] of [['IRR', st.irr], ['ISR', st.isr]] as const) {
      words.forEach((w, i) => {
        for (let b = 0; w !== 0 && b < 32; b++) if ((w >>> b) & 1) out.push(`CPU ${c.index} ${what} 0x${(i * 32 + b).toString(16)}`);
      });
    }
  }
  return out;
}

function hex(n: number): string {
  return n.toString(16);
}

function toDevice(r: DeviceReport, sc: Scenario): DeviceResult {
  const spec = sc.devices.find((d) => d.bdf === r.bdf);
  return {
    bdf: r.bdf,
    mode: r.mode,
    vectors: r.vectors,
    cpu: r.cpu,
    base: r.base,
    capable: spec?.msix?.vectors ?? spec?.msi?.vectors ?? 1,
    address: r.address ?? null,
    data: r.data ?? null,
    reservedTail: r.reservedTail ?? 0,
    ...(r.mode === 'none' ? { error: refusalErrno(spec) } : {}),
    messages: r.messages.map((m: MessageResult) => ({
      index: m.index,
      vector: m.vector,
      cpu: m.cpu,
      ok: m.ok,
      expected: { vector: m.expectedVector, cpu: m.expectedCpu },
      ...(m.problem ? { problem: m.problem } : {}),
    })),
  };
}
