import { createMatrix, type MatrixOptions, type VectorMatrix } from '../../src/alloc/matrix.js';
import type { EngineName } from '../../src/alloc/core.js';
import { MatrixError, type MatrixErrorCode } from '../../src/alloc/errors.js';
import { expect } from 'vitest';

export const ENGINES: EngineName[] = ['wasm', 'js'];

/** The x86 preset with `cpus` CPUs, all brought online in order (as smp boot does). */
export async function x86Online(engine: EngineName, cpus: number, extra: Partial<MatrixOptions> = {}): Promise<VectorMatrix> {
  const m = await createMatrix({ cpus, engine, preset: 'x86', ...extra });
  for (let c = 0; c < cpus; c++) m.online(c);
  return m;
}

/** What lapic_assign_system_vectors() leaves on CPU 0: online, then the 15 legacy ISA vectors assigned. */
export async function x86WithLegacy(engine: EngineName, cpus: number, extra: Partial<MatrixOptions> = {}): Promise<VectorMatrix> {
  const m = await createMatrix({ cpus, engine, preset: 'x86', ...extra });
  m.online(0);
  for (const v of [0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f]) m.assign(0, v);
  for (let c = 1; c < cpus; c++) m.online(c);
  return m;
}

// ---- added for the per-operation suites (ops/quirks/blocks/validation/dump) ----

/** x86 vector numbers used by the suites, named after arch/x86/include/asm/irq_vectors.h. */
export const FIRST_EXTERNAL_VECTOR = 0x20;
export const FIRST_SYSTEM_VECTOR = 0xeb;
export const PIC_CASCADE_VECTOR = 0x32; // ISA_IRQ_VECTOR(2)
export const IA32_SYSCALL_VECTOR = 0x80;
/** alloc_size of the x86 matrix: FIRST_SYSTEM_VECTOR − FIRST_EXTERNAL_VECTOR. */
export const X86_ALLOC_SIZE = FIRST_SYSTEM_VECTOR - FIRST_EXTERNAL_VECTOR; // 203
/** Available on a preset CPU at its first online: alloc_size − managed (0) − systembits_inalloc (2). */
export const X86_AVAILABLE = X86_ALLOC_SIZE - 2; // 201

/** A matrix without system bits over the small allocation range [start, end) (bits 256). */
export function smallMatrix(engine: EngineName, cpus: number, start: number, end: number, extra: Partial<MatrixOptions> = {}): Promise<VectorMatrix> {
  return createMatrix({ cpus, engine, bits: 256, start, end, ...extra });
}

/** Everything observable through the public API, offline CPUs included (dump() lists online CPUs only). */
export function snapshot(m: VectorMatrix): unknown {
  const cpus = [];
  for (let c = 0; c < m.cpus; c++) cpus.push({ ...m.cpu(c), vectors: m.vectors(c), managedMap: m.managedVectors(c) });
  return { stats: m.stats(), system: m.systemVectors(), dump: m.dump(), cpus };
}

/** Runs `fn`, which must throw a MatrixError; returns it (anything else fails the test). */
export function catchMatrixError(fn: () => unknown): MatrixError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MatrixError) return e;
    throw e;
  }
  throw new Error('expected a MatrixError, but the call returned normally');
}

/** `fn` must throw a MatrixError with `code` and leave every counter, map and the dump unchanged. */
export function expectRefused(m: VectorMatrix, fn: () => unknown, code: MatrixErrorCode): MatrixError {
  const before = snapshot(m);
  const err = catchMatrixError(fn);
  expect(err.code).toBe(code);
  expect(snapshot(m)).toEqual(before);
  return err;
}

/** Inclusive-exclusive list of integers [from, to). */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** ISA_IRQ_VECTOR(n) = 0x30 + n for the 16 ISA IRQs minus IRQ 2 (the cascade is a system bit). */
export const LEGACY_VECTORS: readonly number[] = [0x30, 0x31, ...range(0x33, 0x40)];
