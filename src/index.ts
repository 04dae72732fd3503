// Public exports of irqslice (see DESIGN.md "Public contract").

export { createMatrix, createMatrixSync, compileMatrixModule, VectorMatrix, X86_MATRIX, X86_SYSTEM_BITS, X86_LEGACY_VECTORS } from './alloc/matrix';
export type { MatrixOptions, Allocation, BlockAllocation, MatrixStats, CpuStats } from './alloc/matrix';
export type { EngineName, Placement, MatrixCore } from './alloc/core';
export { MatrixError, type MatrixErrorCode } from './alloc/errors';
export { CpuMask, formatList, parseList, type CpuMaskInput } from './alloc/cpumask';
export { runMatrixScript, SCRIPT_GRAMMAR, ScriptSyntaxError, type ScriptResult, type ScriptOptions } from './alloc/script';
