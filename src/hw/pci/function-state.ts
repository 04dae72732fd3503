// Snapshot format of a PCI function (PCI Local Bus 3.0 §6.1–§6.2): its configuration bytes, the state of
// each capability that keeps state of its own (MSI, MSI-X table and PBA), and a device model's registers.
// What a restore may change is what hardware could have changed: writable and RW1C bits, the interrupt
// status bit and the registers a capability's own state implies; every other byte must read the same.
import type { CapabilityRegister, PciCapability } from './capability.js';
import type { ConfigSpace } from './config-space.js';
import { CONFIG_SPACE_SIZE } from './config-space.js';
import { PCI_STATUS, PCI_STATUS_INTERRUPT } from './header.js';
import { PciStateError } from './errors.js';
import { describeValue } from '../describe.js';

export const PCI_FUNCTION_STATE_FORMAT = 'irqslice.pci-function/1';

export interface PciFunctionState {
  format: typeof PCI_FUNCTION_STATE_FORMAT;
  /** The implemented BARs (the function's shape: a state loads only into a function with the same). */
  bars: PciBarShape[];
  /** The 4 KiB configuration space as lower-case hex, trailing zero bytes left out. */
  config: string;
  /** Every capability that has a state of its own (saveState), in list order. */
  capabilities: { offset: number; id: number; state: unknown }[];
  /** A device model's own registers (e.g. the MSI test endpoint's counters); absent when it has none. */
  device?: unknown;
}

export interface PciBarShape {
  index: number;
  kind: 'memory32' | 'memory64' | 'io';
  /** Size in bytes as lower-case hex ("0x1000"): a 64-bit BAR may decode more than 2^53 bytes. */
  size: string;
  prefetchable: boolean;
}

/** A checked state: the decoded config bytes and, per stateful capability, its state. */
export interface CheckedFunctionState {
  bytes: Uint8Array;
  capabilities: { cap: PciCapability; state: unknown }[];
  device: unknown;
}

const KEYS: readonly string[] = ['format', 'bars', 'config', 'capabilities', 'device'];
const CAP_KEYS: readonly string[] = ['offset', 'id', 'state'];

/** Capabilities that snapshot themselves (saveState, checkState and loadState all present). */
export function statefulCapabilities(caps: readonly { offset: number; cap: PciCapability }[]): { offset: number; cap: PciCapability }[] {
  return caps.filter(({ cap }) => typeof cap.saveState === 'function' && typeof cap.checkState === 'function' && typeof cap.loadState === 'function');
}

export function encodeConfig(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let hex = '';
  for (let i = 0; i < end; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return hex;
}

function decodeConfig(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v)) throw new PciStateError('expected lower-case hex, two digits a byte', 'config');
  if (v.length > 2 * CONFIG_SPACE_SIZE) throw new PciStateError(`${v.length / 2} bytes, more than the ${CONFIG_SPACE_SIZE} of a config space`, 'config');
  const bytes = new Uint8Array(CONFIG_SPACE_SIZE);
  for (let i = 0; i < v.length / 2; i++) bytes[i] = parseInt(v.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const hex = (v: number, digits = 2) => `0x${v.toString(16).padStart(digits, '0')}`;

/**
 * Validates `raw` against a function with this config space and these capabilities, and `device`
 * through the model's own check (`hasDevice` says whether the model keeps device state at all).
 */
export function checkFunctionState(
  raw: unknown,
  bars: readonly PciBarShape[],
  config: ConfigSpace,
  caps: readonly { offset: number; cap: PciCapability }[],
  hasDevice: boolean,
  checkDevice: (state: unknown) => void,
): CheckedFunctionState {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PciStateError(`expected an object, got ${describeValue(raw)}`, '$');
  const s = raw as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!KEYS.includes(k)) throw new PciStateError('unknown field', k);
  if (s.format !== PCI_FUNCTION_STATE_FORMAT) throw new PciStateError(`expected '${PCI_FUNCTION_STATE_FORMAT}'`, 'format');
  if (JSON.stringify(s.bars) !== JSON.stringify(bars)) {
    throw new PciStateError(`the state's BARs are ${JSON.stringify(s.bars) ?? 'missing'}; this function implements ${JSON.stringify(bars)}`, 'bars');
  }
  const bytes = decodeConfig(s.config);

  // Each stateful capability: same place and ID, a state it accepts, and the registers it implies.
  const stateful = statefulCapabilities(caps);
  const list = s.capabilities;
  if (!Array.isArray(list)) throw new PciStateError(`expected an array, got ${describeValue(list)}`, 'capabilities');
  if (list.length !== stateful.length) throw new PciStateError(`this function has ${stateful.length} capabilities with state, the state lists ${list.length}`, 'capabilities');
  const implied = new Map<number, { value: number; field: string }>(); // config byte → value a capability state implies
  const checked = stateful.map(({ offset, cap }, i) => {
    const path = `capabilities[${i}]`;
    const e = list[i] as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new PciStateError(`expected { offset, id, state }, got ${describeValue(e)}`, path);
    for (const k of Object.keys(e)) if (!CAP_KEYS.includes(k)) throw new PciStateError('unknown field', `${path}.${k}`);
    if (e.offset !== offset || e.id !== cap.id) {
      throw new PciStateError(`capability ${describeValue(e.id)} at ${describeValue(e.offset)}; this function has ID ${hex(cap.id)} at ${hex(offset)}`, path);
    }
    let regs: readonly CapabilityRegister[];
    try {
      regs = cap.checkState!(e.state);
    } catch (err) {
      if (!(err instanceof PciStateError)) throw err;
      throw new PciStateError(err.message, `${path}.state`, { cause: err });
    }
    for (const r of regs) {
      for (let b = 0; b < r.size; b++) implied.set(offset + r.offset + b, { value: (r.value >>> (8 * b)) & 0xff, field: `${path}.state` });
    }
    return { cap, state: e.state };
  });

  // Every byte: what a capability state implies, else only bits hardware could have changed may differ.
  const live = config.snapshot();
  for (let at = 0; at < CONFIG_SPACE_SIZE; at++) {
    const want = implied.get(at);
    const name = config.fieldAt(at);
    const where = `config[${hex(at, 3)}]`;
    const label = name === undefined ? 'an unimplemented byte' : `'${name}'`;
    if (want !== undefined) {
      if (bytes[at] !== want.value) throw new PciStateError(`${label} reads ${hex(bytes[at]!)} but ${want.field} implies ${hex(want.value)}`, where);
      continue;
    }
    let free = config.writableMask(at, 1) | config.writeOneToClearMask(at, 1);
    if (at === PCI_STATUS) free |= PCI_STATUS_INTERRUPT; // the device's own interrupt request
    const fixed = (bytes[at]! ^ live[at]!) & ~free & 0xff;
    if (fixed !== 0) throw new PciStateError(`${label} reads ${hex(bytes[at]!)}, this function's read-only bits give ${hex(live[at]!)}`, where);
  }

  if (hasDevice !== ('device' in s)) throw new PciStateError(hasDevice ? 'missing: this device model keeps state of its own' : 'this function keeps no device state', 'device');
  if (hasDevice) {
    try {
      checkDevice(s.device);
    } catch (err) {
      if (!(err instanceof PciStateError)) throw err;
      throw new PciStateError(err.detail, err.field === undefined ? 'device' : `device.${err.field}`, { cause: err });
    }
  }
  return { bytes, capabilities: checked, device: s.device };
}
