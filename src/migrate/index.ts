// Public surface of the migration harness: the bench, fault-injection exploration, fates, the
// evacuation experiment and the report. src/index.ts re-exports from here.

export { MigrationBench, DEVICE_BDF, OLD_CPU, NEW_CPU } from './bench';
export type { BenchOptions, BenchMode, Schedule, FireRecord } from './bench';
export { BenchCpu } from './bench-cpu';
export { exhaustive, exhaustiveRunsAtLeast, random, quietLength, seededRandom } from './explore';
export type { ExploreOptions, ExploreResult } from './explore';
export { FATES, fateOf, emptyTally, tallyRun, addTally, failures } from './fates';
export type { Fate, Tally } from './fates';
export { evacuationCell, evacuationGrid, evacuationGuest, DEVICE_MIX } from './evacuation';
export type { EvacuationOptions, EvacuationCell } from './evacuation';
export { formatOutcomes, formatPositions, formatExample, formatEvacuation, describeSetup, resultJson } from './report';
export { MigrateUsageError } from './errors';
