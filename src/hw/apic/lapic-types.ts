// Public types of the local APIC model: its modes, options, reported events and the router it sends
// through (SDM vol. 3A ch. 11). Types only; the behaviour lives in lapic-core/lapic-sources/local-apic.
import type { InterruptRouter, LapicSink } from '../signals.js';

export type ApicMode = 'disabled' | 'xapic' | 'x2apic';

/** The bus side of a local APIC: where its IPIs and EOI broadcasts go (ApicBus implements it). */
export interface LapicRouter extends InterruptRouter {
  eoiBroadcast(vector: number): void;
  /** The APIC's physical or logical identity changed (ID/LDR/DFR write, mode switch). */
  topologyChanged?(): void;
}

/** Guest actions that the SDM answers without a fault; reported so they are never silent. */
export type LapicEventKind =
  | 'illegal-register' // xAPIC access to a reserved offset (ESR bit 7 also latched)
  | 'read-only-write' // xAPIC write to a read-only register: ignored
  | 'mmio-unavailable' // MMIO while hardware-disabled or in x2APIC mode
  | 'message-dropped' // a bus message the APIC did not accept
  | 'sipi-ignored' // start-up IPI outside wait-for-SIPI
  | 'ipi-not-sent' // ICR write that sends nothing (reserved mode, INIT de-assert, no bus)
  | 'eoi-without-isr' // EOI with an empty ISR
  | 'lvt-unsupported-mode' // an LVT fired with a delivery mode its register does not support
  | 'lvt-absent' // a local source (CMCI) raised while the version register reports no LVT for it
  | 'reserved-timer-mode'; // LVT timer mode 11b (counts as one-shot)

export interface LapicEvent {
  kind: LapicEventKind;
  apicId: number;
  detail: string;
}

export interface LocalApicOptions {
  /** Initial (hardware) APIC ID: the x2APIC ID; the xAPIC ID register resets to its low 8 bits. */
  apicId: number;
  bsp?: boolean;
  sink: LapicSink;
  /** Time-stamp counter; without it TSC-deadline mode is absent (CPUID.01H:ECX[24] = 0). */
  tsc?: () => bigint;
  /** Version register value, default 0x00050014; bit 24 enables EOI-broadcast suppression (SVR bit 12). */
  version?: number;
  onEvent?: (event: LapicEvent) => void;
}
