// Typed errors of the vector matrix: the kernel's errno results and its WARN_ON/BUG_ON conditions.

import * as S from '../../assembly/status.js';

/** ENOSPC/EINVAL are the kernel's return codes; WARN and BUG are its WARN_ON/BUG_ON conditions. */
export type MatrixErrorCode = 'ENOSPC' | 'EINVAL' | 'WARN' | 'BUG';

export class MatrixError extends Error {
  override readonly name = 'MatrixError';
  /** The detail, or the function that composes it: failures on hot paths pay for text only when read. */
  #detail: string | (() => string);

  constructor(
    readonly code: MatrixErrorCode,
    detail: string | (() => string),
    /** The raw status of assembly/status.ts (e.g. -28), when the error came from an engine. */
    readonly status?: number,
  ) {
    super();
    this.#detail = detail;
  }

  /** What went wrong, with the operation and its arguments. */
  get detail(): string {
    if (typeof this.#detail === 'function') this.#detail = this.#detail();
    return this.#detail;
  }

  // An accessor rather than an own property, so that the message too is composed on first read
  // (V8 formats `stack` lazily, from this getter).
  override get message(): string {
    return `${this.code}: ${this.detail}`;
  }
}

const DETAILS: Record<number, [MatrixErrorCode, string]> = {
  [S.EINVAL]: ['EINVAL', 'invalid argument'],
  [S.ENOSPC]: ['ENOSPC', 'no space left'],
  [S.WARN_ASSIGN_RANGE]: ['WARN', 'irq_matrix_assign: bit outside [alloc_start, alloc_end)'],
  [S.WARN_ASSIGN_TAKEN]: ['WARN', 'irq_matrix_assign: bit already allocated'],
  [S.WARN_ASSIGN_RESERVED]: ['WARN', 'irq_matrix_assign: bit is a system bit or reserved for managed interrupts'],
  [S.WARN_AVAILABLE_UNDERFLOW]: ['WARN', 'irq_matrix_assign: available is 0 and would wrap'],
  [S.WARN_ASSIGN_OFFLINE]: ['WARN', 'irq_matrix_assign: CPU is not online (global_available would drift)'],
  [S.WARN_FREE_RANGE]: ['WARN', 'irq_matrix_free: bit outside [alloc_start, alloc_end)'],
  [S.WARN_FREE_NOT_ALLOCATED]: ['WARN', 'irq_matrix_free: bit not allocated on this CPU'],
  [S.WARN_FREE_MANAGED_MISMATCH]: ['WARN', 'irq_matrix_free: managed flag does not match the managed_map'],
  [S.WARN_REMOVE_MANAGED_NONE]: ['WARN', 'irq_matrix_remove_managed: CPU has no managed reservation'],
  [S.WARN_REMOVE_MANAGED_ALL_ALLOCATED]: ['WARN', 'irq_matrix_remove_managed: every managed bit of the CPU is allocated'],
  [S.WARN_RESERVED_UNDERFLOW]: ['WARN', 'global_reserved would underflow'],
  [S.BUG_ONLINE_TWICE]: ['BUG', 'irq_matrix_online: CPU already online'],
  [S.BUG_OFFLINE_TWICE]: ['BUG', 'irq_matrix_offline: CPU not online'],
  [S.BUG_SYSTEM_RANGE]: ['BUG', 'irq_matrix_assign_system: bit beyond matrix_bits'],
  [S.BUG_SYSTEM_ONLINE]: ['BUG', 'irq_matrix_assign_system: online_maps > 1, or online without replace'],
  [S.BUG_SYSTEM_NOT_ALLOCATED]: ['BUG', 'irq_matrix_assign_system: replace of a bit not allocated (non-managed) on CPU 0'],
};

/**
 * Turns a negative engine status into a MatrixError; `context` names the operation and arguments
 * (a function is called only when the error's text is read).
 */
export function statusError(status: number, context: string | (() => string)): MatrixError {
  const [code, text] = DETAILS[status] ?? ['BUG', `unknown engine status ${status}`];
  return new MatrixError(code, typeof context === 'string' ? `${context}: ${text}` : () => `${context()}: ${text}`, status);
}
