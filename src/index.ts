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
export * from './hw/iommu/index.js';

// The machine, the guest kernel and boot-and-probe.
export { createMachine, Machine, MachineConfigError, MachineUsageError, DEFAULT_EVENT_LIMIT, type MachineConfig, type MachineIommuConfig, type RunResult } from './machine/machine.js';
export { DMAR_UNIT_BASE, DMAR_UNIT_SIZE, IOAPIC_SOURCE_ID } from './machine/memory-map.js';
export { MACHINE_STATE_FORMAT, type MachineState, type MachineStateConfig, type MachineCpuState } from './machine/snapshot.js';
export { MachineStateError } from './machine/state-check.js';
export { PIC_STATE_FORMAT, type PicState, type Pic8259State } from './machine/pic8259.js';
export type { CpuInterruptState, CpuState } from './machine/cpu.js';
export type { RamImage } from './machine/ram-image.js';
export type { CpuContext, GuestProgram, InterruptHandler, IdtTable, GuestYield } from './machine/guest-interface.js';
export { kernelMain, type BootParams } from '../firmware/kernel.js';
export { BootError } from '../firmware/errors.js';
export { runScenario, type ScenarioReport, type RunOptions, type DeviceResult, type MessageReport, type Check, type InterruptCounts } from './scenario/run-scenario.js';
export { parseScenario, validateScenario, checkPolicy, POLICIES, ScenarioError, DEFAULT_SCENARIO, type Scenario, type ScenarioInput, type DeviceInput, type DeviceSpec, type Policy, type DestMode, type DeviceErrno, type KernelGeneration } from './scenario/scenario.js';
export { formatReport, contractJson, type ReportOptions } from './scenario/report-text.js';
export { FreeBsdVectors } from './alloc/freebsd-reference.js';
// Real tools' formats of a run: /proc/interrupts, lspci -vv, and the --show views (src/formats/README.md).
export { formatProcInterrupts, guestProcInterrupts, x86NrIrqs, type ProcInterrupts, type ProcInterruptsRow, type ArchCounts } from './formats/proc-interrupts.js';
export { formatLspci, formatLspciFunction, type LspciEntry } from './formats/lspci.js';
export { formatShow, SHOW_FORMATS, type ShowFormat } from './formats/show.js';

// Moving multi-MSI blocks: affinity changes, CPU hot-unplug, fault injection (docs/ANALYSIS.md).
export * from './migrate/index.js';
export { planBlockMove, planSetAffinity, setAffinity, msiBlockBinding, AffinityError, MOVE_PROTOCOLS, VectorShadow } from '../firmware/affinity.js';
export type { MoveProtocol, MsiBlockBinding, AffinityContext, BlockMove, MoveStep } from '../firmware/affinity.js';
export { planEvacuation, planOffline, offlineCpu, evacuationItems, StepQueue } from '../firmware/hotplug.js';
export type { EvacItem, EvacuationPlan, EvacuationMove } from '../firmware/hotplug.js';
export { KernelReference } from './alloc/kernel-reference.js';

// A real machine in: the debugfs VECTOR file and lspci -vv, rebuilt and asked "what if" (src/import/README.md).
export { parseVectorDump, deriveEnd, type VectorDump, type DumpCpuRow } from './import/vector-dump.js';
export { rebuildMatrix, type RebuiltMatrix, type RebuildOptions, type AssumedManaged } from './import/rebuild.js';
export { parseLspci, isRemappedAddress, type LspciFunction, type LspciMsi, type LspciMsix } from './import/lspci.js';
export { whatIf, BLOCK_SIZES, type WhatIfJson, type WhatIfResult } from './import/whatif.js';
export { formatWhatIf } from './import/whatif-text.js';
export { VectorDumpError, LspciError } from './import/errors.js';
// Observing runs: the board's tracer hook, Chrome trace-event files, the guest's structured vector map.
export type { MachineTracer } from './machine/tracer.js';
export { TraceRecorder, chromeTrace, CPU_TID, DEVICE_TID, type ChromeTrace, type TraceEvent } from './trace/chrome-trace.js';
export { migrationTrace, replay as replayMigration, tracedFires } from './migrate/trace-run.js';
export { VECTOR_CELL, type VectorMap } from '../firmware/vector-map.js';
