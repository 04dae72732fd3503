// Typed errors of the importers: a real file that does not say what its format says, with the
// line (1-based) where the disagreement shows.

/** A debugfs VECTOR file that is not what irq_domain_debug_show + irq_matrix_debug_show print. */
export class VectorDumpError extends Error {
  override readonly name = 'VectorDumpError';
  constructor(
    /** 1-based line of the input where the problem shows. */
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** `lspci -vv` text whose MSI/MSI-X lines are not in lspci's format. */
export class LspciError extends Error {
  override readonly name = 'LspciError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}
