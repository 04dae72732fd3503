// Hostile arguments to the reference allocators and to mask parsing: typed errors, short messages.

import { describe, expect, it } from 'vitest';
import { CpuMask } from '../../src/alloc/cpumask.js';
import { MatrixError } from '../../src/alloc/errors.js';
import { FreeBsdVectors, FreeBsdVectorsError } from '../../src/alloc/freebsd-reference.js';
import { KernelReference } from '../../src/alloc/kernel-reference.js';

describe('reference allocators refuse hostile constructor arguments with their typed errors', () => {
  it.each([[Symbol('x')], [null], ['4'], [0], [8193], [1.5], [NaN]])('KernelReference(%s)', (cpus) => {
    expect(() => new KernelReference(cpus as unknown as number)).toThrow(MatrixError);
  });
  it.each([[Symbol('x'), 0x20, 0xeb], [256, Symbol('y'), 0xeb], [256, 0x20, null], [256, 0xeb, 0x20]])('KernelReference(4, %s, %s, %s)', (bits, start, end) => {
    expect(() => new KernelReference(4, bits as number, start as number, end as number)).toThrow(MatrixError);
  });
  it.each([[null], ['index'], [42]])('FreeBsdVectors(2, %s)', (options) => {
    expect(() => new FreeBsdVectors(2, options as never)).toThrow(FreeBsdVectorsError);
  });
});

describe('cpulist errors quote the input briefly', () => {
  it('a 1 MB malformed cpulist gives a message under 200 characters', () => {
    const text = '0-3,'.repeat(250_000) + 'x';
    let err: unknown;
    try {
      CpuMask.parse(text, 8);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MatrixError);
    expect((err as MatrixError).message.length).toBeLessThan(200);
    expect((err as MatrixError).message).toContain(`(${text.length} characters)`);
  });
  it('control characters are escaped, never echoed', () => {
    expect(() => CpuMask.parse('1,\u0007\u001b[2J', 8)).toThrow(/\\x07\\x1b\[2J/);
  });
});
