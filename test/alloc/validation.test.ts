// Caller misuse of the matrix API (out-of-range CPU or bit, non-integers, NaN, malformed cpulists,
// bad createMatrix options): always MatrixError EINVAL with every counter, map and the dump unchanged.

import { describe, expect, it } from 'vitest';
import { CpuMask } from '../../src/alloc/cpumask.js';
import { MatrixError } from '../../src/alloc/errors.js';
import { createMatrix, type MatrixOptions, type VectorMatrix } from '../../src/alloc/matrix.js';
import { ENGINES, catchMatrixError, expectRefused, x86WithLegacy } from './helpers.js';

/** A busy 4-CPU state (CPU 3 offline) so that "unchanged" covers every kind of counter and map. */
async function busy(engine: (typeof ENGINES)[number]): Promise<VectorMatrix> {
  const m = await x86WithLegacy(engine, 4);
  m.alloc('0-3');
  m.allocBlock('1-2', 8);
  m.reserveManaged('0-3');
  m.allocManaged('0-1');
  m.reserve();
  m.offline(3);
  return m;
}

/** Casts a deliberately ill-typed argument past the compiler, as an untyped caller would pass it. */
const bad = <T>(v: unknown): T => v as T;

type Call = (m: VectorMatrix) => unknown;

const CPU_ARGS: Array<[string, Call]> = [
  ['online(-1)', (m) => m.online(-1)],
  ['online(4) with 4 CPUs', (m) => m.online(4)],
  ['online(1.5)', (m) => m.online(1.5)],
  ['online(NaN)', (m) => m.online(NaN)],
  ['online(Infinity)', (m) => m.online(Infinity)],
  ['online("3")', (m) => m.online(bad<number>('3'))],
  ['offline(4)', (m) => m.offline(4)],
  ['assign(4, 0x40)', (m) => m.assign(4, 0x40)],
  ['free(4, 0x20)', (m) => m.free(4, 0x20)],
  ['free(-1, 0x20)', (m) => m.free(-1, 0x20)],
  ['freeBlock(4, 0x28, 8)', (m) => m.freeBlock(4, 0x28, 8)],
  ['available(true, 4)', (m) => m.available(true, 4)],
  ['available(true, NaN)', (m) => m.available(true, NaN)],
  ['cpu(4)', (m) => m.cpu(4)],
];

const BIT_ARGS: Array<[string, Call]> = [
  ['assign(0, -1)', (m) => m.assign(0, -1)],
  ['assign(0, 0x40 + 0.5)', (m) => m.assign(0, 0x40 + 0.5)],
  ['assign(0, NaN)', (m) => m.assign(0, NaN)],
  ['free(0, NaN)', (m) => m.free(0, NaN)],
  ['free(0, 48.5)', (m) => m.free(0, 48.5)],
  ['freeBlock(1, NaN, 2)', (m) => m.freeBlock(1, NaN, 2)],
  ['freeBlock(1, 0x28, NaN)', (m) => m.freeBlock(1, 0x28, NaN)],
  ['freeBlock(1, 0x28, 1.5)', (m) => m.freeBlock(1, 0x28, 1.5)],
  ['assignSystem(-1)', (m) => m.assignSystem(-1)],
  ['assignSystem(0.5)', (m) => m.assignSystem(0.5)],
  ['assignSystem(NaN)', (m) => m.assignSystem(NaN)],
  ['allocBlock("0-3", NaN)', (m) => m.allocBlock('0-3', NaN)],
];

const FLAG_ARGS: Array<[string, Call]> = [
  ['alloc("0", 1)', (m) => m.alloc('0', bad<boolean>(1))],
  ['free(0, 0x30, "yes")', (m) => m.free(0, 0x30, bad<boolean>('yes'))],
  ['allocBlock("0", 2, 0)', (m) => m.allocBlock('0', 2, bad<boolean>(0))],
  ['available("true")', (m) => m.available(bad<boolean>('true'))],
];

const MASKS: Array<[string, Call]> = [
  ['alloc("0-")', (m) => m.alloc('0-')],
  ['alloc("a")', (m) => m.alloc('a')],
  ['alloc("3-1") (descending)', (m) => m.alloc('3-1')],
  ['alloc("0,,1")', (m) => m.alloc('0,,1')],
  ['alloc("-1")', (m) => m.alloc('-1')],
  ['alloc("1 2")', (m) => m.alloc('1 2')],
  ['alloc("0x1")', (m) => m.alloc('0x1')],
  ['alloc("0-3:1/2") (stride form, unsupported)', (m) => m.alloc('0-3:1/2')],
  ['alloc("4") beyond 4 CPUs', (m) => m.alloc('4')],
  ['alloc("0-3,8") beyond 4 CPUs', (m) => m.alloc('0-3,8')],
  ['alloc([1.5])', (m) => m.alloc([1.5])],
  ['alloc([NaN])', (m) => m.alloc([NaN])],
  ['alloc([4])', (m) => m.alloc([4])],
  ['alloc([-1])', (m) => m.alloc([-1])],
  ['alloc(null)', (m) => m.alloc(bad(null))],
  ['alloc(42)', (m) => m.alloc(bad(42))],
  ['alloc(CpuMask of 8 with CPU 6)', (m) => m.alloc(CpuMask.of(8, [1, 6]))],
  ['allocManaged("x")', (m) => m.allocManaged('x')],
  ['reserveManaged("0-4")', (m) => m.reserveManaged('0-4')],
  ['removeManaged("1-")', (m) => m.removeManaged('1-')],
  ['allocBlock("7", 2)', (m) => m.allocBlock('7', 2)],
];

describe.each(ENGINES)('%s engine: argument validation', (engine) => {
  describe.each([
    ['CPU argument', CPU_ARGS],
    ['bit or count argument', BIT_ARGS],
    ['boolean flag', FLAG_ARGS],
    ['CPU mask', MASKS],
  ] as const)('bad %s', (_, cases) => {
    it.each(cases)('%s → EINVAL, state unchanged', async (_, call) => {
      const m = await busy(engine);
      const err = expectRefused(m, () => call(m), 'EINVAL');
      expect(err).toBeInstanceOf(MatrixError);
      expect(err.detail.length).toBeGreaterThan(0);
    });
  });

  // matrix.c checks assign/free bits only against [alloc_start, alloc_end): a bit beyond the matrix
  // is the same WARN_ON_ONCE as one below the range, so irqslice reports WARN there too.
  it.each([
    ['assign(0, 256)', (m: VectorMatrix) => m.assign(0, 256)],
    ['free(0, 256)', (m: VectorMatrix) => m.free(0, 256)],
    ['freeBlock(1, 256, 2)', (m: VectorMatrix) => m.freeBlock(1, 256, 2)],
  ])('%s is the kernel\'s range WARN, state unchanged', async (_, call) => {
    const m = await busy(engine);
    expectRefused(m, () => call(m), 'WARN');
  });

  it('assignSystem(257) is a BUG (BUG_ON(bit > matrix_bits)), state unchanged', async () => {
    const m = await createMatrix({ cpus: 2, engine, preset: 'x86' });
    expectRefused(m, () => m.assignSystem(257), 'BUG');
  });

  it('assignSystem(256) is refused although the kernel check (bit > matrix_bits) lets it through', async () => {
    // The kernel would set_bit() one past its 256-bit system_map; irqslice must not write anywhere.
    const m = await createMatrix({ cpus: 2, engine, preset: 'x86' });
    const before = m.dump();
    const err = catchMatrixError(() => m.assignSystem(256));
    expect(['BUG', 'EINVAL']).toContain(err.code);
    expect(m.dump()).toBe(before);
    expect(m.systemVectors()).toEqual([0x32, 0x80]);
  });

  it('accepts the extremes: 8192 CPUs, CPU 8191, bit 255 of a full-width range', async () => {
    const m = await createMatrix({ cpus: 8192, engine, bits: 256, start: 0, end: 256 });
    m.online(8191);
    m.assign(8191, 255);
    expect(m.alloc('8190-8191')).toEqual({ cpu: 8191, vector: 0 });
    expect(m.cpu(8191)).toMatchObject({ allocated: 2, available: 254 });
  });

  const BAD_OPTIONS: Array<[string, Partial<MatrixOptions>]> = [
    ['cpus 0', { cpus: 0 }],
    ['cpus 8193', { cpus: 8193 }],
    ['cpus 1.5', { cpus: 1.5 }],
    ['cpus NaN', { cpus: NaN }],
    ['bits 257', { cpus: 1, bits: 257 }],
    ['bits 0', { cpus: 1, bits: 0 }],
    ['start >= end', { cpus: 1, start: 0xeb, end: 0x20 }],
    ['start == end', { cpus: 1, start: 0x20, end: 0x20 }],
    ['end beyond bits', { cpus: 1, bits: 128, start: 0x20, end: 0x81 }],
    ['negative start', { cpus: 1, start: -1 }],
    ['placement "worst"', { cpus: 1, placement: bad('worst') }],
    ['preset "arm64"', { cpus: 1, preset: bad('arm64') }],
  ];

  it.each(BAD_OPTIONS)('createMatrix with %s rejects with EINVAL', async (_, opts) => {
    const err = await createMatrix({ engine, ...opts } as MatrixOptions).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MatrixError);
    expect((err as MatrixError).code).toBe('EINVAL');
  });
});

it('createMatrix with an unknown engine rejects with EINVAL', async () => {
  const err = await createMatrix({ cpus: 1, engine: bad('gpu') }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MatrixError);
  expect((err as MatrixError).code).toBe('EINVAL');
});
