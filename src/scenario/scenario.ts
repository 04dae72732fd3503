// Scenario files (DESIGN.md "Public contract"): parsed and validated field by field; every error
// names the field so a user can fix the file.

import type { EngineName } from '../alloc/core';

export type Policy = 'aligned' | 'linux' | 'freebsd';

export interface DeviceSpec {
  bdf: string;
  msi?: { vectors: 1 | 2 | 4 | 8 | 16 | 32; is64: boolean; pvm: boolean };
  msix?: { vectors: number };
  /** pci_alloc_irq_vectors max (default: every message the device has). */
  want?: number;
  /** pci_alloc_irq_vectors min (default 1). */
  min?: number;
  /** INTx pin 1..4 (INTA..INTD) or 0 for none; default 1. */
  intxPin?: number;
  /** Deliberately broken device behaviour, for negative tests. */
  quirks?: { ignoreMme?: boolean };
}

export interface Scenario {
  name?: string;
  cpus: number;
  apic: 'xapic' | 'x2apic';
  engine: EngineName;
  policy: Policy;
  devices: DeviceSpec[];
  /** Vectors per CPU other drivers already hold before the devices are probed. */
  fill: number;
  /** false: the platform builds no MCFG, so the guest enumerates with CF8/CFC. */
  mcfg: boolean;
  lowestPriority: 'lowest-ppr' | 'first-match';
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

const KNOWN_TOP = new Set(['name', 'description', 'cpus', 'apic', 'engine', 'policy', 'devices', 'fill', 'mcfg', 'lowestPriority']);
const KNOWN_DEV = new Set(['bdf', 'msi', 'msix', 'want', 'min', 'intxPin', 'quirks', 'name']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, field: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ScenarioError(field, `must be an integer, got ${JSON.stringify(v)}`);
  if (v < lo || v > hi) throw new ScenarioError(field, `must be ${lo}..${hi}, got ${v}`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !values.includes(v as T)) throw new ScenarioError(field, `must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ScenarioError(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates a parsed JSON value as a scenario. */
export function validateScenario(raw: unknown): Scenario {
  if (!isObj(raw)) throw new ScenarioError('(scenario)', 'must be a JSON object');
  for (const k of Object.keys(raw)) if (!KNOWN_TOP.has(k)) throw new ScenarioError(k, 'unknown field');
  const cpus = int(raw.cpus, 'cpus', 1, 1024);
  const apic = oneOf(raw.apic, 'apic', ['xapic', 'x2apic'] as const, cpus > 255 ? 'x2apic' : 'xapic');
  if (apic === 'xapic' && cpus > 255) throw new ScenarioError('apic', `${cpus} CPUs need APIC IDs above 254: use "x2apic"`);
  const engine = oneOf(raw.engine, 'engine', ['wasm', 'js'] as const, 'wasm');
  const policy = oneOf(raw.policy, 'policy', ['aligned', 'linux', 'freebsd'] as const, 'aligned');
  const fill = raw.fill === undefined ? 0 : int(raw.fill, 'fill', 0, 201);
  const mcfg = bool(raw.mcfg, 'mcfg', true);
  const lowestPriority = oneOf(raw.lowestPriority, 'lowestPriority', ['lowest-ppr', 'first-match'] as const, 'lowest-ppr');
  if (raw.name !== undefined && typeof raw.name !== 'string') throw new ScenarioError('name', 'must be a string');
  if (!Array.isArray(raw.devices)) throw new ScenarioError('devices', 'must be an array (it may be empty)');
  if (raw.devices.length > 256) throw new ScenarioError('devices', `at most 256 devices, got ${raw.devices.length}`);
  const seen = new Set<string>();
  const devices = raw.devices.map((d, i) => {
    const f = `devices[${i}]`;
    if (!isObj(d)) throw new ScenarioError(f, 'must be an object');
    for (const k of Object.keys(d)) if (!KNOWN_DEV.has(k)) throw new ScenarioError(`${f}.${k}`, 'unknown field');
    if (typeof d.bdf !== 'string') throw new ScenarioError(`${f}.bdf`, 'must be a string like "00:03.0"');
    const m = /^([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])$/.exec(d.bdf);
    if (!m || Number.parseInt(m[2]!, 16) > 31) throw new ScenarioError(`${f}.bdf`, `"${d.bdf}" is not bus:device.function (bus 00-ff, device 00-1f, function 0-7)`);
    const bdf = d.bdf.toLowerCase();
    if (seen.has(bdf)) throw new ScenarioError(`${f}.bdf`, `"${bdf}" appears twice`);
    seen.add(bdf);
    const spec: DeviceSpec = { bdf };
    if (d.msi !== undefined) {
      if (!isObj(d.msi)) throw new ScenarioError(`${f}.msi`, 'must be an object');
      for (const k of Object.keys(d.msi)) if (!['vectors', 'is64', 'pvm'].includes(k)) throw new ScenarioError(`${f}.msi.${k}`, 'unknown field');
      const v = int(d.msi.vectors, `${f}.msi.vectors`, 1, 32);
      if ((v & (v - 1)) !== 0) throw new ScenarioError(`${f}.msi.vectors`, `must be a power of two (1, 2, 4, 8, 16, 32), got ${v}`);
      spec.msi = { vectors: v as 1, is64: bool(d.msi.is64, `${f}.msi.is64`, true), pvm: bool(d.msi.pvm, `${f}.msi.pvm`, false) };
    }
    if (d.msix !== undefined) {
      if (!isObj(d.msix)) throw new ScenarioError(`${f}.msix`, 'must be an object');
      spec.msix = { vectors: int(d.msix.vectors, `${f}.msix.vectors`, 1, 2048) };
    }
    if (d.want !== undefined) spec.want = int(d.want, `${f}.want`, 1, 2048);
    if (d.min !== undefined) spec.min = int(d.min, `${f}.min`, 1, 2048);
    if (spec.min !== undefined && spec.want !== undefined && spec.min > spec.want) throw new ScenarioError(`${f}.min`, `min ${spec.min} exceeds want ${spec.want}`);
    if (d.intxPin !== undefined) spec.intxPin = int(d.intxPin, `${f}.intxPin`, 0, 4);
    if (d.quirks !== undefined) {
      if (!isObj(d.quirks)) throw new ScenarioError(`${f}.quirks`, 'must be an object');
      spec.quirks = { ignoreMme: bool(d.quirks.ignoreMme, `${f}.quirks.ignoreMme`, false) };
    }
    return spec;
  });
  return { ...(typeof raw.name === 'string' ? { name: raw.name } : {}), cpus, apic, engine, policy, devices, fill, mcfg, lowestPriority };
}

/** Parses scenario JSON text; syntax errors become ScenarioError too. */
export function parseScenario(text: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError('(json)', e instanceof Error ? e.message : String(e));
  }
  return validateScenario(raw);
}

/** The default scenario of `npm start`: 4 CPUs, devices with 32, 16, 8 and 1 messages. */
export const DEFAULT_SCENARIO: Scenario = {
  name: 'default: 4 CPUs, MSI devices with 32, 16, 8 and 1 messages',
  cpus: 4,
  apic: 'xapic',
  engine: 'wasm',
  policy: 'aligned',
  fill: 0,
  mcfg: true,
  lowestPriority: 'lowest-ppr',
  devices: [
    { bdf: '00:03.0', msi: { vectors: 32, is64: true, pvm: true } },
    { bdf: '00:04.0', msi: { vectors: 16, is64: true, pvm: false } },
    { bdf: '00:05.0', msi: { vectors: 8, is64: false, pvm: true } },
    { bdf: '00:06.0', msi: { vectors: 1, is64: false, pvm: false } },
  ],
};
