// The VT-d interrupt-remapping unit (README.md in this folder).
export { RemappingUnit, REMAP_TRANSLATED, REMAP_PASSTHROUGH, REMAP_BLOCKED, VTD_HOST_ADDRESS_WIDTH } from './remapping-unit.js';
export type { RemappingUnitOptions, RemappingUnitConfig, RemappingEvent, RemappingCounters, RemapOutput } from './remapping-unit.js';
export type { RemappingMemory, QueueErrorCause } from './invalidation-queue.js';
export type { FaultRecording, FaultRecordState, FaultLogState } from './fault-log.js';
export { VTD_STATE_FORMAT, type RemappingUnitState } from './unit-state.js';
export { RemappingUsageError, RemappingStateError } from './errors.js';
export { encodeIrte, decodeIrte, irteDestination, encodeRemappableAddress, decodeRemappableAddress, type Irte, type IrteInput } from './irte.js';
export { FAULT_NAMES, VTD_MMIO_SIZE, type FaultReason, type FaultName } from './registers.js';
export * as VTD_REGISTERS from './registers.js';
