// Argument checks shared by the hardware models: each throws the calling model's own error class with
// a message naming the argument and the value received (described safely, see describe.ts).
import { describeValue } from './describe.js';

export type ErrorClass = new (message: string) => Error;

/** An integer in [lo, hi] (a number, never a numeric string, bigint or boolean). */
export function checkInt(E: ErrorClass, what: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new E(`${what} must be an integer in ${fmt(lo)}..${fmt(hi)}, got ${describeValue(v)}`);
  }
  return v;
}

/** A 32-bit value given as a signed or unsigned pattern; returned unsigned. */
export function checkU32Pattern(E: ErrorClass, what: string, v: unknown): number {
  return checkInt(E, what, v, -0x8000_0000, 0xffff_ffff) >>> 0;
}

export function checkBool(E: ErrorClass, what: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new E(`${what} must be a boolean, got ${describeValue(v)}`);
  return v;
}

export function checkOptionalBool(E: ErrorClass, what: string, v: unknown): boolean | undefined {
  return v === undefined ? undefined : checkBool(E, what, v);
}

export function checkFunction(E: ErrorClass, what: string, v: unknown): void {
  if (typeof v !== 'function') throw new E(`${what} must be a function, got ${describeValue(v)}`);
}

/** A bigint in [lo, hi]. */
export function checkBigint(E: ErrorClass, what: string, v: unknown, lo: bigint, hi: bigint): bigint {
  if (typeof v !== 'bigint' || v < lo || v > hi) throw new E(`${what} must be a bigint in ${lo}..0x${hi.toString(16)}, got ${describeValue(v)}`);
  return v;
}

/** One of `values`. */
export function checkOneOf<T>(E: ErrorClass, what: string, v: unknown, values: readonly T[]): T {
  if (!values.includes(v as T)) throw new E(`${what} must be one of ${values.map((x) => describeValue(x)).join(', ')}, got ${describeValue(v)}`);
  return v as T;
}

/**
 * A plain options object (not null, not an array) whose own keys are all in `known`; `undefined` is
 * accepted as {} when `optional`. Unknown keys are refused: a misspelt option must not pass silently.
 */
export function checkOptions(E: ErrorClass, what: string, v: unknown, known: readonly string[], optional = false): Record<string, unknown> {
  if (v === undefined && optional) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new E(`${what} must be an object, got ${describeValue(v)}`);
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) throw new E(`${what}.${k} is not a known option (known: ${known.join(', ')})`);
    // No option takes null: it is a caller's bug, not "the default" (omit the field for that).
    if ((v as Record<string, unknown>)[k] === null) throw new E(`${what}.${k} is null (omit it to get the default)`);
  }
  return v as Record<string, unknown>;
}

function fmt(n: number): string {
  return Math.abs(n) >= 0x10000 && Number.isInteger(n) ? `${n < 0 ? '-' : ''}0x${Math.abs(n).toString(16)}` : String(n);
}
