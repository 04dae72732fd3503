// The remapping unit's public vocabulary: options, configuration, events, counters and result codes.
import type { FaultRecording } from './fault-log.js';
import type { QueueErrorCause, RemappingMemory } from './invalidation-queue.js';
import * as R from './registers.js';

export type { RemapOutput } from './translator.js';

export interface RemappingUnitOptions {
  /** Guest-physical memory: IRTEs and descriptors are read from it, wait status is written to it. */
  memory: RemappingMemory;
  /** The unit's own interrupts (fault event, invalidation completion): compatibility-format MSIs. */
  interrupt?: (addressLo: number, addressHi: number, data: number) => void;
  /** ECAP.EIM: 32-bit x2APIC destinations (IRTA.EIME). Default true. */
  eim?: boolean;
  /** ECAP.MHMV: largest IEC index mask (and Linux's largest IRTE block, 2^MHMV). Default 15, as QEMU. */
  mhmv?: number;
  /** ECAP.QI. Default true; false makes a unit the spec does not allow with IR (for negative tests of a guest). */
  qi?: boolean;
  /** Fault recording registers (CAP.NFR + 1), 1..128. Default 8. */
  faultRecords?: number;
  /** CAP.ESIRTPS: SIRTP also invalidates the interrupt entry cache. Default false. */
  esirtps?: boolean;
  onEvent?: (event: RemappingEvent) => void;
}

/** The configuration a unit was built with (part of its snapshot). */
export interface RemappingUnitConfig {
  eim: boolean;
  mhmv: number;
  qi: boolean;
  faultRecords: number;
  esirtps: boolean;
}

/** Guest behaviour the hardware tolerates, faults, and the unit's own interrupts — reported, never thrown. */
export type RemappingEvent =
  | { kind: 'fault'; reason: R.FaultReason; name: R.FaultName; index: number; sourceId: number; recording: FaultRecording | 'suppressed' }
  | { kind: 'queue-error'; cause: QueueErrorCause; head: number }
  | { kind: 'event-interrupt'; source: 'fault' | 'completion'; addressLo: number; addressHi: number; data: number }
  | { kind: 'unsupported-access'; offset: number; size: number; access: 'read' | 'write' }
  | { kind: 'reserved-offset'; offset: number; access: 'read' | 'write' }
  | { kind: 'read-only-register'; offset: number; value: number }
  | { kind: 'ignored-command'; command: string; why: string }
  /** A command carried out, but with a consequence the guest may not expect (TE without DMA remapping, IRE before SIRTP). */
  | { kind: 'command-warning'; command: string; why: string };

/** Everything the unit did with interrupt requests and invalidations; every blocked request is here. */
export interface RemappingCounters {
  /** Requests seen by interrupt(). */
  requests: number;
  translated: number;
  /** Forwarded untranslated: remapping off, or compatibility format while CFIS = 1. */
  passedThrough: number;
  /** Requests blocked by a fault (= the sum of `faults`). */
  blocked: number;
  faults: Record<R.FaultName, number>;
  /** Of the faults: written to a record, suppressed by FPD, overflowed (set PFO), lost (PFO already set). */
  recorded: number;
  suppressed: number;
  overflowed: number;
  lost: number;
  cacheHits: number;
  cacheMisses: number;
  iecGlobal: number;
  iecIndexed: number;
  /** Cached IRTEs dropped by invalidations (IEC descriptors, SIRTP with ESIRTPS). */
  iecEntriesDropped: number;
  waits: number;
  /** Context-cache, IOTLB, device-TLB and PASID descriptors: accepted, nothing to do. */
  otherDescriptors: number;
  queueErrors: number;
  faultEvents: number;
  completionEvents: number;
}

/** interrupt() results. */
export const REMAP_TRANSLATED = 0;
export const REMAP_PASSTHROUGH = 1;
export const REMAP_BLOCKED = 2;

export const FAULT_KEYS = Object.values(R.FAULT_NAMES);

export function zeroCounters(): RemappingCounters {
  const faults = Object.fromEntries(FAULT_KEYS.map((k) => [k, 0])) as Record<R.FaultName, number>;
  return {
    requests: 0, translated: 0, passedThrough: 0, blocked: 0, faults, recorded: 0, suppressed: 0, overflowed: 0, lost: 0,
    cacheHits: 0, cacheMisses: 0, iecGlobal: 0, iecIndexed: 0, iecEntriesDropped: 0, waits: 0, otherDescriptors: 0,
    queueErrors: 0, faultEvents: 0, completionEvents: 0,
  };
}
