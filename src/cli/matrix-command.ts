// `irqslice matrix [--engine wasm|js] [FILE|-]`: runs a matrix script, one JSON object per line.

import type { EngineName } from '../alloc/core';
import { runMatrixScript } from '../alloc/script';
import { readInput, UsageError } from './io';

export function parseEngine(value: unknown): EngineName {
  const e = value ?? 'wasm';
  if (e !== 'wasm' && e !== 'js') throw new UsageError(`--engine must be wasm or js, got ${String(e)}`);
  return e;
}

export async function matrixCommand(file: string | undefined, opts: { engine?: unknown }): Promise<number> {
  const engine = parseEngine(opts.engine);
  const text = await readInput(file);
  const r = await runMatrixScript(text, { engine });
  process.stdout.write(r.output);
  if (r.error) {
    process.stderr.write(`irqslice matrix: ${file && file !== '-' ? file : '<stdin>'}:${r.error.line}: ${r.error.message}\n`);
  }
  return r.exitCode;
}
