// Error classes of the remapping unit: caller misuse of the embedding API, and rejected snapshots.
// Guest misbehaviour is never an error: it gets the architected behaviour and an onEvent report.

/** A RemappingUnit (or IRTE helper) called with an impossible argument. */
export class RemappingUsageError extends Error {
  override readonly name = 'RemappingUsageError';
}

/** A state object RemappingUnit.loadState() refuses; `field` is the path of the bad field. */
export class RemappingStateError extends Error {
  override readonly name = 'RemappingStateError';
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(`RemappingUnit.loadState: ${field}: ${why}`);
  }
}
