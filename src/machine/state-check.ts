// The typed error of whole-board snapshots (Machine.loadState) and the field checks that raise it:
// every error names the path of the offending field inside the state ("cpus[3].interruptsEnabled",
// "pic.master.imr", "ram.pages[2].data"), as LocalApic's ApicStateError does.
import { describeValue } from '../hw/describe.js';

/** A machine state that loadState() refuses; the machine is left exactly as it was. */
export class MachineStateError extends Error {
  override readonly name = 'MachineStateError';
  constructor(
    /** Path of the offending field from the root of the state ('$' for the root itself). */
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid machine state at ${field}: ${detail}`, options);
  }
}

/** `path` + `.key` ("$" is the root, so its fields have bare names). */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '$' ? key : `${path}.${key}`;
}

/** A plain object with no fields outside `keys` (a missing field is reported by its own check). */
export function record(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MachineStateError(path, `expected an object, got ${describeValue(v)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new MachineStateError(at(path, k), 'unknown field');
  return v as Record<string, unknown>;
}

/** An integer in [lo, hi] (a number: never a numeric string, bigint or boolean). */
export function int(v: unknown, path: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new MachineStateError(path, `expected an integer in ${lo}..${hi}, got ${describeValue(v)}`);
  }
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new MachineStateError(path, `expected a boolean, got ${describeValue(v)}`);
  return v;
}

/** An array of exactly `length` elements (any length when undefined). */
export function list(v: unknown, path: string, length?: number): unknown[] {
  if (!Array.isArray(v)) throw new MachineStateError(path, `expected an array, got ${describeValue(v)}`);
  if (length !== undefined && v.length !== length) throw new MachineStateError(path, `expected ${length} entries, got ${v.length}`);
  return v;
}
