// Public exports of irqslice (see DESIGN.md "Public contract").

export { createMatrix, createMatrixSync, compileMatrixModule, VectorMatrix, X86_MATRIX, X86_SYSTEM_BITS, X86_LEGACY_VECTORS, X86_PRESETS, MATRIX_PRESETS } from './alloc/matrix';
export type { MatrixOptions, Allocation, BlockAllocation, MatrixStats, CpuStats, MatrixPreset, PresetLayout } from './alloc/matrix';
export type { EngineName, Placement, MatrixCore } from './alloc/core';
export { MatrixError, type MatrixErrorCode } from './alloc/errors';
export { CpuMask, formatList, parseList, type CpuMaskInput } from './alloc/cpumask';
export { runMatrixScript, SCRIPT_GRAMMAR, ScriptSyntaxError, type ScriptResult, type ScriptOptions } from './alloc/script';

// Interrupt hardware models (embeddable in other emulators).
export * from './hw/signals';
export { LocalApic, GeneralProtectionFault } from './hw/apic/local-apic';
export type { LocalApicOptions, LocalApicState, LapicEvent, ApicMode, LapicRouter } from './hw/apic/local-apic';
export { ApicBus, lowestPprPolicy, firstMatchPolicy, type LowestPriorityPolicy, type ApicBusOptions } from './hw/apic/apic-bus';
export { ApicUsageError, ApicStateError } from './hw/apic/errors';
export { decodeMsiAddress, decodeMsiData, encodeMsiAddress, encodeMsiData } from './hw/apic/msi-format';
export * from './hw/ioapic';
export * from './hw/pci';

// The machine, the guest kernel and boot-and-probe.
export { createMachine, Machine, MachineConfigError, MachineUsageError, DEFAULT_EVENT_LIMIT, type MachineConfig, type RunResult } from './machine/machine';
export type { CpuContext, GuestProgram, InterruptHandler, IdtTable, GuestYield } from './machine/guest-interface';
export { kernelMain, type BootParams } from '../firmware/kernel';
export { BootError } from '../firmware/errors';
export { runScenario, type ScenarioReport, type RunOptions } from './scenario/run-scenario';
export { parseScenario, validateScenario, ScenarioError, DEFAULT_SCENARIO, type Scenario, type KernelGeneration } from './scenario/scenario';
export { formatReport } from './scenario/report-text';
export { FreeBsdVectors } from './alloc/freebsd-reference';

// Moving multi-MSI blocks: affinity changes, CPU hot-unplug, fault injection (docs/ANALYSIS.md).
export * from './migrate';
export { planBlockMove, planSetAffinity, setAffinity, msiBlockBinding, AffinityError, MOVE_PROTOCOLS, VectorShadow } from '../firmware/affinity';
export type { MoveProtocol, MsiBlockBinding, AffinityContext, BlockMove, MoveStep } from '../firmware/affinity';
export { planEvacuation, planOffline, offlineCpu, evacuationItems, StepQueue } from '../firmware/hotplug';
export type { EvacItem, EvacuationPlan, EvacuationMove } from '../firmware/hotplug';
export { KernelReference } from './alloc/kernel-reference';
