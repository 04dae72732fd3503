// Scenario files (docs/DESIGN.md §4): parsed and validated field by field; every error
// names the field so a user can fix the file.

import type { EngineName } from '../alloc/core.js';

export type Policy = 'aligned' | 'linux' | 'linux-ir' | 'freebsd' | 'freebsd-legacy';
export const POLICIES: readonly Policy[] = ['aligned', 'linux', 'linux-ir', 'freebsd', 'freebsd-legacy'];

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
  /**
   * The error pci_alloc_irq_vectors() must return for this device (the policy refuses it): the run
   * then checks the refusal instead of the messages, and a grant fails it.
   */
  expectError?: DeviceErrno;
  /**
   * PCI_IRQ_AFFINITY (pci_alloc_irq_vectors_affinity): `pre`/`post` vectors keep the default affinity,
   * the rest are spread over the CPUs as managed vectors. `true` in the file means { pre: 0, post: 0 }.
   */
  affinity?: { pre: number; post: number };
}

/** What pci_alloc_irq_vectors() returns when it grants nothing (Linux drivers/pci/msi/api.c). */
export type DeviceErrno = 'ENOSPC' | 'EINVAL';
export const DEVICE_ERRNOS: readonly DeviceErrno[] = ['ENOSPC', 'EINVAL'];

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
  /** The guest kernel's generation (its vector layout, the matrix preset); absent means "6.10". */
  kernel?: KernelGeneration;
  /** How the guest's MSIs and I/O APIC entries name CPUs; absent means the kernel's own choice (defaultDestMode). */
  destMode?: DestMode;
  /**
   * A VT-d remapping unit and its DMAR table on the board, as the file says; absent means "only when the
   * policy needs it" (linux-ir). Other policies leave remapping off (intremap=off) with the unit present.
   */
  iommu?: boolean;
}

/** Whether the board has the remapping unit under `policy`: the scenario's word, else linux-ir's need. */
export function iommuPresent(sc: Pick<Scenario, 'iommu'>, policy: Policy): boolean {
  return sc.iommu ?? policy === 'linux-ir';
}

/**
 * A scenario as a file or a caller writes it: every field with a default may be left out (the
 * defaults are those of validateScenario), `affinity: true` means `{ pre: 0, post: 0 }`. A validated
 * Scenario is one too. Derived from Scenario, so a new scenario field is accepted here as well.
 */
export interface ScenarioInput extends Partial<Omit<Scenario, 'cpus' | 'devices'>> {
  cpus: number;
  description?: string;
  devices: DeviceInput[];
}

/** One device of a ScenarioInput (see DeviceSpec for the meaning of each field). */
export interface DeviceInput extends Omit<DeviceSpec, 'msi' | 'affinity'> {
  name?: string;
  msi?: { vectors: 1 | 2 | 4 | 8 | 16 | 32; is64?: boolean; pvm?: boolean };
  affinity?: true | { pre?: number; post?: number };
}

export type DestMode = 'physical' | 'logical';
export const DEST_MODES: readonly DestMode[] = ['physical', 'logical'];

/**
 * The destination mode the scenario's kernel picks at boot. Every generation modelled (6.1, 6.6,
 * 6.10; also 6.11) probes apic_physflat first: physflat_probe() wins when num_possible_cpus() > 8,
 * otherwise flat_probe() (flat logical) does (arch/x86/kernel/apic/apic_flat_64.c); in x2APIC mode
 * the x2apic drivers (physical or cluster) take over. Mainline 6.12 removed flat logical mode for
 * 64-bit (commit 838ba7733e4e, "x86/apic: Remove logical destination mode for 64-bit"): such a
 * kernel is `"destMode": "physical"`.
 */
export function defaultDestMode(sc: Pick<Scenario, 'cpus' | 'apic' | 'destMode'>): DestMode {
  return sc.destMode ?? (sc.apic === 'xapic' && sc.cpus <= 8 ? 'logical' : 'physical');
}

/** x86 vector layouts: < 6.6 (e.g. 6.1), 6.6..6.9, >= 6.10 (src/alloc/matrix.ts X86_PRESETS). */
export type KernelGeneration = '6.1' | '6.6' | '6.10';
export const KERNEL_GENERATIONS: readonly KernelGeneration[] = ['6.1', '6.6', '6.10'];

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

const KNOWN_TOP = new Set(['name', 'description', 'cpus', 'apic', 'engine', 'policy', 'devices', 'fill', 'mcfg', 'lowestPriority', 'kernel', 'destMode', 'iommu']);
const KNOWN_MSI = new Set(['vectors', 'is64', 'pvm']);
const KNOWN_MSIX = new Set(['vectors']);
const KNOWN_QUIRKS = new Set(['ignoreMme']);
const KNOWN_AFFINITY = new Set(['pre', 'post']);
const KNOWN_DEV = new Set(['bdf', 'msi', 'msix', 'want', 'min', 'intxPin', 'quirks', 'name', 'expectError', 'affinity']);

/** A value as it may appear in a one-line message: JSON, cut short. */
function show(v: unknown): string {
  let t: string;
  try {
    t = JSON.stringify(v) ?? String(v);
  } catch {
    t = String(v);
  }
  return t.length > 60 ? `${t.slice(0, 45)}…(${t.length} chars)` : t;
}

/** `base.key`, or `base["key"]` for a key that is not a plain name. */
function path(base: string, key: string): string {
  const k = /^[A-Za-z_$][\w$]{0,40}$/.test(key) ? key : null;
  if (k) return base ? `${base}.${k}` : k;
  return `${base}[${show(key)}]`;
}

function noUnknown(obj: Record<string, unknown>, known: ReadonlySet<string>, base: string): void {
  for (const k of Object.keys(obj)) if (!known.has(k)) throw new ScenarioError(path(base, k), 'unknown field');
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, field: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ScenarioError(field, `must be an integer, got ${show(v)}`);
  if (v < lo || v > hi) throw new ScenarioError(field, `must be ${lo}..${hi}, got ${v}`);
  return v + 0; // -0 becomes 0
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !values.includes(v as T)) throw new ScenarioError(field, `must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${show(v)}`);
  return v as T;
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ScenarioError(field, `must be true or false, got ${show(v)}`);
  return v;
}

/** Validates a parsed JSON value as a scenario. */
export function validateScenario(raw: unknown): Scenario {
  if (!isObj(raw)) throw new ScenarioError('(scenario)', 'must be a JSON object');
  noUnknown(raw, KNOWN_TOP, '');
  const cpus = int(raw.cpus, 'cpus', 1, 1024);
  const apic = oneOf(raw.apic, 'apic', ['xapic', 'x2apic'] as const, cpus > 255 ? 'x2apic' : 'xapic');
  if (apic === 'xapic' && cpus > 255) throw new ScenarioError('apic', `${cpus} CPUs need APIC IDs above 254: use "x2apic"`);
  const engine = oneOf(raw.engine, 'engine', ['wasm', 'js'] as const, 'wasm');
  const policy = oneOf(raw.policy, 'policy', POLICIES, 'aligned');
  const iommu = raw.iommu === undefined ? undefined : bool(raw.iommu, 'iommu', false);
  const fill = raw.fill === undefined ? 0 : int(raw.fill, 'fill', 0, 201);
  const mcfg = bool(raw.mcfg, 'mcfg', true);
  const lowestPriority = oneOf(raw.lowestPriority, 'lowestPriority', ['lowest-ppr', 'first-match'] as const, 'lowest-ppr');
  const kernel = raw.kernel === undefined ? undefined : oneOf(raw.kernel, 'kernel', KERNEL_GENERATIONS, '6.10');
  const destMode = raw.destMode === undefined ? undefined : oneOf(raw.destMode, 'destMode', DEST_MODES, 'physical');
  // Linux never programs flat logical mode in x2APIC mode (no DFR; without remapping the x2apic
  // drivers are physical) nor above 8 CPUs (one LDR bit per CPU).
  if (destMode === 'logical' && apic === 'x2apic') throw new ScenarioError('destMode', '"logical" (flat) needs "apic": "xapic": x2APIC mode has no flat model, and Linux uses physical destinations there without interrupt remapping');
  if (destMode === 'logical' && cpus > 8) throw new ScenarioError('destMode', `"logical" (flat) names at most 8 CPUs (one bit each in the logical ID), got ${cpus} CPUs`);
  if (raw.name !== undefined && typeof raw.name !== 'string') throw new ScenarioError('name', 'must be a string');
  if (raw.description !== undefined && typeof raw.description !== 'string') throw new ScenarioError('description', 'must be a string');
  if (!Array.isArray(raw.devices)) throw new ScenarioError('devices', 'must be an array (it may be empty)');
  if (raw.devices.length > 256) throw new ScenarioError('devices', `at most 256 devices, got ${raw.devices.length}`);
  const seen = new Set<string>();
  const devices = raw.devices.map((d, i) => {
    const f = `devices[${i}]`;
    if (!isObj(d)) throw new ScenarioError(f, 'must be an object');
    noUnknown(d, KNOWN_DEV, f);
    if (d.name !== undefined && typeof d.name !== 'string') throw new ScenarioError(`${f}.name`, 'must be a string');
    if (typeof d.bdf !== 'string') throw new ScenarioError(`${f}.bdf`, 'must be a string like "00:03.0"');
    const m = /^([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])$/.exec(d.bdf);
    if (!m || Number.parseInt(m[2]!, 16) > 31) throw new ScenarioError(`${f}.bdf`, `${show(d.bdf)} is not bus:device.function (bus 00-ff, device 00-1f, function 0-7)`);
    const bdf = d.bdf.toLowerCase();
    if (seen.has(bdf)) throw new ScenarioError(`${f}.bdf`, `"${bdf}" appears twice`);
    seen.add(bdf);
    const spec: DeviceSpec = { bdf };
    if (d.msi !== undefined) {
      if (!isObj(d.msi)) throw new ScenarioError(`${f}.msi`, 'must be an object');
      noUnknown(d.msi, KNOWN_MSI, `${f}.msi`);
      const v = int(d.msi.vectors, `${f}.msi.vectors`, 1, 32);
      if ((v & (v - 1)) !== 0) throw new ScenarioError(`${f}.msi.vectors`, `must be a power of two (1, 2, 4, 8, 16, 32), got ${v}`);
      spec.msi = { vectors: v as 1, is64: bool(d.msi.is64, `${f}.msi.is64`, true), pvm: bool(d.msi.pvm, `${f}.msi.pvm`, false) };
    }
    if (d.msix !== undefined) {
      if (!isObj(d.msix)) throw new ScenarioError(`${f}.msix`, 'must be an object');
      noUnknown(d.msix, KNOWN_MSIX, `${f}.msix`);
      spec.msix = { vectors: int(d.msix.vectors, `${f}.msix.vectors`, 1, 2048) };
    }
    if (d.want !== undefined) spec.want = int(d.want, `${f}.want`, 1, 2048);
    if (d.min !== undefined) spec.min = int(d.min, `${f}.min`, 1, 2048);
    if (spec.min !== undefined && spec.want !== undefined && spec.min > spec.want) throw new ScenarioError(`${f}.min`, `min ${spec.min} exceeds want ${spec.want}`);
    if (d.intxPin !== undefined) spec.intxPin = int(d.intxPin, `${f}.intxPin`, 0, 4);
    if (d.quirks !== undefined) {
      if (!isObj(d.quirks)) throw new ScenarioError(`${f}.quirks`, 'must be an object');
      noUnknown(d.quirks, KNOWN_QUIRKS, `${f}.quirks`);
      spec.quirks = { ignoreMme: bool(d.quirks.ignoreMme, `${f}.quirks.ignoreMme`, false) };
    }
    if (d.expectError !== undefined) spec.expectError = oneOf(d.expectError, `${f}.expectError`, DEVICE_ERRNOS, 'ENOSPC');
    if (d.affinity !== undefined) {
      if (d.affinity === true) spec.affinity = { pre: 0, post: 0 };
      else if (isObj(d.affinity)) {
        noUnknown(d.affinity, KNOWN_AFFINITY, `${f}.affinity`);
        const side = (k: 'pre' | 'post') => (d.affinity as Record<string, unknown>)[k] === undefined ? 0 : int((d.affinity as Record<string, unknown>)[k], `${f}.affinity.${k}`, 0, 2048);
        spec.affinity = { pre: side('pre'), post: side('post') };
      } else throw new ScenarioError(`${f}.affinity`, `must be true or { "pre": n, "post": n }, got ${show(d.affinity)}`);
    }
    return spec;
  });
  checkPolicy({ devices, ...(iommu === undefined ? {} : { iommu }) }, policy);
  // INTx-only devices whose pins swizzle to one GSI would share a level-triggered line, which the
  // guest kernel does not support (one handler per GSI): the line would never be quieted and the run
  // would storm. Refused here until shared INTx exists.
  const lines = new Map<number, number>();
  devices.forEach((d, i) => {
    const pin = d.intxPin ?? 1;
    if (d.msi || d.msix || pin === 0) return;
    const gsi = 16 + ((Number.parseInt(d.bdf.slice(3, 5), 16) + pin - 1) % 4);
    const other = lines.get(gsi);
    if (other !== undefined) {
      throw new ScenarioError(`devices[${i}].intxPin`, `"${d.bdf}" INT${'ABCD'[pin - 1]} and "${devices[other]!.bdf}" (INTx only, no MSI) both route to GSI ${gsi}; shared INTx lines are not supported: use another device number or pin`);
    }
    lines.set(gsi, i);
  });
  // Enumeration reads functions 1..7 of a slot only when function 0 exists and says multi-function
  // (PCI Local Bus 3.0 §6.2.1): such a function would vanish from the run, so refuse it here.
  devices.forEach((d, i) => {
    if (d.bdf.endsWith('.0')) return;
    const fn0 = `${d.bdf.slice(0, -2)}.0`;
    if (!seen.has(fn0)) throw new ScenarioError(`devices[${i}].bdf`, `"${d.bdf}" is function ${d.bdf.slice(-1)} of a slot with no function 0: enumeration never looks past a missing function 0, so declare "${fn0}" too`);
  });
  return {
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    cpus, apic, engine, policy, devices, fill, mcfg, lowestPriority,
    ...(kernel ? { kernel } : {}),
    ...(destMode ? { destMode } : {}),
    ...(iommu === undefined ? {} : { iommu }),
  };
}

/**
 * What a policy demands of a scenario, checked for the file's policy and again for a --policy:
 * linux-ir needs the remapping unit (`"iommu": false` contradicts it), and the affinity rules below.
 */
export function checkPolicy(sc: Pick<Scenario, 'devices' | 'iommu'>, policy: Policy): void {
  if (policy === 'linux-ir' && sc.iommu === false) {
    throw new ScenarioError('iommu', 'false contradicts policy "linux-ir", which remaps interrupts through the VT-d unit: drop "iommu" or set it to true');
  }
  sc.devices.forEach((d, i) => checkAffinity(d, policy, i));
}

/**
 * PCI_IRQ_AFFINITY on a device with MSI but no MSI-X: under 'linux' its one vector is managed, under
 * 'linux-ir' every message has its own IRTE and so its own managed vector; the block policies would
 * have to spread one multi-MSI block, which cannot be (one address, one CPU).
 */
export function checkAffinity(d: DeviceSpec, policy: Policy, i: number): void {
  if (d.affinity && d.msi && !d.msix && policy !== 'linux' && policy !== 'linux-ir') {
    throw new ScenarioError(`devices[${i}].affinity`, `"${d.bdf}" has MSI without MSI-X: under policy "${policy}" its vectors are one block, which cannot be spread over CPUs (only "linux", with one managed vector, and "linux-ir", with one IRTE per message, take it)`);
  }
}

/** Parses scenario JSON text; syntax errors become ScenarioError too. */
export function parseScenario(text: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // V8's message quotes the offending input; escape it so a library user never prints raw bytes.
    const msg = e instanceof Error ? e.message : String(e);
    throw new ScenarioError('(json)', msg.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  }
  checkDuplicateKeys(text);
  return validateScenario(raw);
}

/**
 * JSON.parse keeps the last of two equal keys; a scenario saying `"cpus"` twice is ambiguous, so it
 * is refused with the key's path. Walks text that already parsed, without recursion.
 */
function checkDuplicateKeys(text: string): void {
  type Frame = { keys: Set<string> | null; key: string; index: number; wantKey: boolean };
  const stack: Frame[] = [];
  const where = () =>
    stack.reduce((p, f, i) => (i === stack.length - 1 ? p : f.keys ? path(p, f.key) : `${p}[${f.index}]`), '');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push({ keys: c === 0x7b ? new Set() : null, key: '', index: 0, wantKey: c === 0x7b });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const f = stack[stack.length - 1]!;
      if (f.keys) f.wantKey = true;
      else f.index++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const f = stack[stack.length - 1];
      if (f?.keys && f.wantKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (f.keys.has(key)) throw new ScenarioError(path(where(), key), 'appears twice in one object');
        f.keys.add(key);
        f.key = key;
        f.wantKey = false;
      }
      i = j;
    }
  }
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
