import { createMatrix, type MatrixOptions, type VectorMatrix } from '../../src/alloc/matrix';
import type { EngineName } from '../../src/alloc/core';

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
