// Boot-and-probe: build the machine a scenario describes, boot the guest kernel on it, and turn the
// guest's console output into the report of docs/DESIGN.md §4 (plus the boot log and the checks).

import { compileMatrixModule, createMatrixSync, type MatrixPreset } from '../alloc/matrix.js';
import { firstMatchPolicy, lowestPprPolicy } from '../hw/apic/apic-bus.js';
import { MsiEndpoint } from '../hw/pci/msi-endpoint.js';
import type { AcpiFaults } from '../machine/acpi/tables.js';
import type { RemappingCounters } from '../hw/iommu/remapping-unit.js';
import { createMachine, type Machine, type MachineIommuConfig, type RunResult } from '../machine/machine.js';
import { kernelMain, type DeviceReport, type RemappingReport } from '../../firmware/kernel.js';
import { RESULT_MARKER } from '../../firmware/console.js';
import type { MessageResult } from '../../firmware/probe.js';
import { checkPolicy, defaultDestMode, iommuPresent, parseScenario, validateScenario, type DestMode, type DeviceErrno, type DeviceSpec, type KernelGeneration, type Policy, type Scenario, type ScenarioInput } from './scenario.js';
import { unpackVectorMap, type PackedVectorMap, type VectorMap } from '../../firmware/vector-map.js';

/** The guest links the matrix preset of its kernel generation. */
const KERNEL_PRESET: Readonly<Record<KernelGeneration, MatrixPreset>> = { '6.1': 'x86-6.1', '6.6': 'x86-6.6', '6.10': 'x86' };

export interface MessageReport {
  index: number;
  vector: number | null;
  cpu: number | null;
  ok: boolean;
  expected: { vector: number; cpu: number };
  /** Under interrupt remapping: the IRTE this message went through. */
  irte?: number;
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
  /** MSI under interrupt remapping: the IRTE block, `count` = its rounded-up size (`vectors` is the grant). */
  irte?: { index: number; count: number };
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
  /** NMIs the guest took per CPU (absent from guests that did not count them). */
  nmi?: Record<string, number>;
}

export interface ScenarioReport {
  ok: boolean;
  devices: DeviceResult[];
  /** `devices`: how many the scenario declares (every one has a check). */
  scenario: { name: string | null; cpus: number; apic: string; engine: string; policy: Policy; devices: number; destMode: DestMode; iommu: boolean; kernel: KernelGeneration };
  /** The guest's interrupt remapping: on or why off, its units and the I/O APIC pins it remapped; null if never reported. */
  remapping: RemappingReport | null;
  checks: Check[];
  bootLog: string[];
  interrupts: InterruptCounts | null;
  vectors: string;
  /** The same vectors structured: per CPU, each vector's kind and owner, and the multi-MSI blocks (for viewers). */
  vectorMap: VectorMap | null;
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
    /** The remapping unit's own counters (requests, translated, blocked by fault reason, …); null without one. */
    iommu: RemappingCounters | null;
  };
  /** The guest kernel generation the run modelled (the scenario's `kernel`, default 6.10). */
  kernel: KernelGeneration;
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
  /** The remapping unit's capabilities when the board has one (default: EIM, MHMV 15, QI, 8 fault records). */
  iommu?: MachineIommuConfig;
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
  if (policy !== sc.policy) checkPolicy(sc, policy);
  const iommu = iommuPresent(sc, policy);
  const module = sc.engine === 'wasm' ? await compileMatrixModule() : undefined;
  const machine = createMachine({
    cpus: sc.cpus,
    apic: sc.apic,
    mcfg: sc.mcfg,
    ...(iommu ? { iommu: options.iommu ?? true, ramSize: IOMMU_RAM_SIZE } : {}),
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
      ...(iommu ? { ramEnd: IOMMU_RAM_SIZE } : {}),
      createMatrix: (cpus) => createMatrixSync({ cpus, engine: sc.engine, preset: KERNEL_PRESET[sc.kernel ?? '6.10'] }, module),
    }),
  );
  return buildReport(sc, policy, iommu, machine, run);
}

/**
 * RAM of a board with the remapping unit: Linux's 1 MiB remapping table (65536 IRTEs, aligned to its
 * size like any buddy block) sits at 2 MiB, above the first MiB the guest keeps and the queue pages.
 */
export const IOMMU_RAM_SIZE = 0x40_0000;

function buildReport(sc: Scenario, policy: Policy, iommu: boolean, machine: Machine, run: RunResult): ScenarioReport {
  let remapping: RemappingReport | null = null;
  const bootLog: string[] = [];
  const checks: Check[] = [];
  const devices: DeviceResult[] = [];
  let interrupts: InterruptCounts | null = null;
  let vectors = '';
  let vectorMap: VectorMap | null = null;
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
    else if (kind === 'vectormap') vectorMap = unpackVectorMap(payload as PackedVectorMap);
    else if (kind === 'done') done = (payload as { ok: boolean }).ok;
    else if (kind === 'remapping') remapping = payload as RemappingReport;
    else if (kind === 'boot_error') {
      const p = payload as { stage: string; message: string };
      checks.push({ name: `boot (${p.stage})`, ok: false, detail: p.message });
    }
  }
  checks.push(...accountFor(sc, devices));
  checks.push(...remappingChecks(policy, remapping, machine.iommu?.counters() ?? null));
  if (vectorMap) addDeviceOwners(vectorMap, devices);
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
    scenario: { name: sc.name ?? null, cpus: sc.cpus, apic: sc.apic, engine: sc.engine, policy, devices: sc.devices.length, destMode: defaultDestMode(sc), iommu, kernel: sc.kernel ?? '6.10' },
    remapping,
    checks,
    bootLog,
    interrupts,
    vectors,
    vectorMap,
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
      iommu: machine.iommu?.counters() ?? null,
    },
    kernel: sc.kernel ?? '6.10',
  };
}

/** GSTS after a good bring-up (VT-d §10.4.5): QIES, IRES and IRTPS set, CFIS clear (compatibility MSIs blocked). */
const GSTS_QIES = 1 << 26;
const GSTS_IRES = 1 << 25;
const GSTS_IRTPS = 1 << 24;
const GSTS_CFIS = 1 << 23;

/**
 * Under linux-ir: remapping must have come up (else the reason fails the run), every unit's status must
 * show the enables, and no fault may be recorded — a request the unit dropped is never silent.
 */
function remappingChecks(policy: Policy, m: RemappingReport | null, hw: RemappingCounters | null): Check[] {
  // With the unit present, a request it blocked fails the run whatever the policy: a drop is never silent.
  const blocked: Check[] = hw && hw.blocked > 0
    ? [{ name: 'remapping-blocked', ok: false, detail: `the remapping unit blocked ${hw.blocked} request(s): ${Object.entries(hw.faults).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')}` }]
    : [];
  if (policy !== 'linux-ir') return blocked;
  if (!m || !m.enabled) return [{ name: 'remapping', ok: false, detail: `interrupt remapping is off under linux-ir: ${m?.reason ?? 'the guest did not report it'}` }];
  const want = GSTS_QIES | GSTS_IRES | GSTS_IRTPS;
  const bad = m.units.filter((u) => (u.gsts & want) !== want || (u.gsts & GSTS_CFIS) !== 0);
  const faults = m.units.reduce((n, u) => n + u.faults.length, 0);
  const fsts = m.units.filter((u) => u.fsts !== 0);
  return [
    ...blocked,
    {
      name: 'remapping',
      ok: bad.length === 0,
      detail: bad.length === 0 ? `${m.units.length} unit(s) with QIES, IRES, IRTPS set and CFIS clear (${m.eim ? 'x2APIC' : 'xAPIC'} format)` : bad.map((u) => `unit 0x${u.base.toString(16)} GSTS 0x${u.gsts.toString(16)}`).join('; '),
    },
    {
      name: 'remapping-faults',
      ok: faults === 0 && fsts.length === 0,
      detail: faults === 0 && fsts.length === 0 ? 'no fault recorded' : `${faults} fault record(s): ${m.units.flatMap((u) => u.faults.map((f) => `reason 0x${f.reason.toString(16)} index ${f.index}`)).slice(0, 8).join(', ')}${fsts.length ? `; FSTS ${fsts.map((u) => `0x${u.fsts.toString(16)}`).join(',')}` : ''}`,
    },
  ];
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

/** Each probed MSI/MSI-X message owns the vector it was programmed with (its expected CPU and vector). */
function addDeviceOwners(map: VectorMap, devices: DeviceResult[]): void {
  for (const d of devices) {
    if (d.mode !== 'msi' && d.mode !== 'msix') continue;
    for (const m of d.messages) map.owners.push([m.expected.cpu, m.expected.vector, `${d.bdf}#${m.index}`]);
  }
  map.owners.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
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
    ...(r.irte ? { irte: r.irte } : {}),
    ...(r.mode === 'none' ? { error: refusalErrno(spec) } : {}),
    messages: r.messages.map((m: MessageResult) => ({
      index: m.index,
      vector: m.vector,
      cpu: m.cpu,
      ok: m.ok,
      expected: { vector: m.expectedVector, cpu: m.expectedCpu },
      ...(m.irte === undefined ? {} : { irte: m.irte }),
      ...(m.problem ? { problem: m.problem } : {}),
    })),
  };
}
