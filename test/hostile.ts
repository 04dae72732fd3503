// Shared by the hostile-call tests: table rows of calls that must throw a given typed error.

import { expect } from 'vitest';

export type ErrorClass = abstract new (...args: never[]) => Error;
export type Row = [string, () => unknown, ErrorClass];

/** Rows for `call(v)` with every value of `values`. */
export function each(label: string, values: [string, unknown][], call: (v: never) => unknown, E: ErrorClass): Row[] {
  return values.map(([name, v]) => [`${label} ← ${name}`, () => call(v as never), E]);
}

/** The call throws E, with a message that says something and never echoes a raw control byte. */
export function expectTyped(call: () => unknown, E: ErrorClass): void {
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'the call was accepted').toBeDefined();
  expect(thrown).toBeInstanceOf(E);
  expect((thrown as Error).message).toMatch(/\S/);
  expect((thrown as Error).message).not.toMatch(/[\u0000-\u0008\u000e-\u001f\u007f]/);
}

/** The error `call` throws (a test failure when it throws nothing), for checks of its fields. */
export function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to throw');
}
