// Public surface of the migration harness: the bench, fault-injection exploration, fates, the
// evacuation experiment and the report. src/index.ts re-exports from here.

export { MigrationBench, DEVICE_BDF, OLD_CPU, NEW_CPU } from './bench.js';
export type { BenchOptions, BenchMode, Schedule, FireRecord } from './bench.js';
export { BenchCpu } from './bench-cpu.js';
export { exhaustive, exhaustiveRunsAtLeast, random, quietLength, seededRandom } from './explore.js';
export type { ExploreOptions, ExploreResult } from './explore.js';
export { FATES, fateOf, emptyTally, tallyRun, addTally, failures } from './fates.js';
export type { Fate, Tally } from './fates.js';
export { evacuationCell, evacuationGrid, evacuationGuest, DEVICE_MIX } from './evacuation.js';
export type { EvacuationOptions, EvacuationCell } from './evacuation.js';
export { formatOutcomes, formatPositions, formatExample, formatEvacuation, describeSetup, resultJson } from './report.js';
export { MigrateUsageError } from './errors.js';
