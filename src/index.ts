// Public exports of irqslice (docs/DESIGN.md §4, "Public contract").

export { createMatrix, createMatrixSync, compileMatrixModule, VectorMatrix, X86_MATRIX, X86_SYSTEM_BITS, X86_LEGACY_VECTORS, X86_PRESETS, MATRIX_PRESETS } from './alloc/matrix.js';
export type { MatrixOptions, Allocation, BlockAllocation, MatrixStats, CpuStats, MatrixPreset, PresetLayout } from './alloc/matrix.js';
export type { EngineName, Placement, MatrixCore } from './alloc/core.js';
export { MatrixError, type MatrixErrorCode } from './alloc/errors.js';
export { CpuMask, formatList, parseList, type CpuMaskInput } from './alloc/cpumask.js';
export { runMatrixScript, MatrixScriptRunner, SCRIPT_GRAMMAR, ScriptSyntaxError, type ScriptResult, type ScriptOptions } from './alloc/script.js';

// Interrupt hardware models (embeddable in other emulators).
export * from './hw/signals.js';
export { LocalApic, GeneralProtectionFault } from './hw/apic/local-apic.js';
export type { LocalApicOptions, LocalApicState, LapicEvent, ApicMode, LapicRouter } from './hw/apic/local-apic.js';
export { ApicBus, lowestPprPolicy, firstMatchPolicy, type LowestPriorityPolicy, type ApicBusOptions } from './hw/apic/apic-bus.js';
export { ApicUsageError, ApicStateError } from './hw/apic/errors.js';
export { decodeMsiAddress, decodeMsiData, encodeMsiAddress, encodeMsiData } from './hw/apic/msi-format.js';
export * from './hw/ioapic.js';
export * from './hw/pci/index.js';

// The machine, the guest kernel and boot-and-probe.
export { createMachine, Machine, MachineConfigError, MachineUsageError, DEFAULT_EVENT_LIMIT, type MachineConfig, type RunResult } from './machine/machine.js';
export type { CpuContext, GuestProgram, InterruptHandler, IdtTable, GuestYield } from './machine/guest-interface.js';
export { kernelMain, type BootParams } from '../firmware/kernel.js';
export { BootError } from '../firmware/errors.js';
export { runScenario, type ScenarioReport, type RunOptions, type DeviceResult, type MessageReport, type Check, type InterruptCounts } from './scenario/run-scenario.js';
export { parseScenario, validateScenario, ScenarioError, DEFAULT_SCENARIO, type Scenario, type ScenarioInput, type DeviceInput, type DeviceSpec, type Policy, type DestMode, type DeviceErrno, type KernelGeneration } from './scenario/scenario.js';
export { formatReport, contractJson, type ReportOptions } from './scenario/report-text.js';
export { FreeBsdVectors } from './alloc/freebsd-reference.js';

// Moving multi-MSI blocks: affinity changes, CPU hot-unplug, fault injection (docs/ANALYSIS.md).
export * from './migrate/index.js';
export { planBlockMove, planSetAffinity, setAffinity, msiBlockBinding, AffinityError, MOVE_PROTOCOLS, VectorShadow } from '../firmware/affinity.js';
export type { MoveProtocol, MsiBlockBinding, AffinityContext, BlockMove, MoveStep } from '../firmware/affinity.js';
export { planEvacuation, planOffline, offlineCpu, evacuationItems, StepQueue } from '../firmware/hotplug.js';
export type { EvacItem, EvacuationPlan, EvacuationMove } from '../firmware/hotplug.js';
export { KernelReference } from './alloc/kernel-reference.js';
