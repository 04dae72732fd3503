// Typed errors of the migration harness (src/migrate): misuse of its API, bad options, impossible
// bench layouts. Protocol outcomes are never errors; they are counted.

export class MigrateUsageError extends Error {
  override readonly name = 'MigrateUsageError';
}
