// Typed errors of the APIC models: the architected #GP of RDMSR/WRMSR (SDM vol. 3A §11.12.1.3, §11.4.4)
// and caller-misuse errors. Guest misbehaviour that the SDM handles without a fault is never thrown.

/** Why an MSR access raised #GP(0). */
export type GpReason =
  | 'not-an-apic-msr' // the MSR is not implemented by the local APIC
  | 'reserved-msr' // an unlisted number in 0x800–0xBFF (e.g. 0x809, 0x80E, 0x831)
  | 'not-x2apic-mode' // x2APIC MSR while the APIC is disabled or in xAPIC mode
  | 'read-only' // WRMSR to a read-only register
  | 'write-only' // RDMSR of a write-only register (EOI, SELF IPI)
  | 'reserved-bits' // a reserved bit set in the written value
  | 'non-zero-write' // EOI or ESR written with a non-zero value in x2APIC mode
  | 'invalid-transition'; // an IA32_APIC_BASE EN/EXTD transition the SDM forbids

/** The #GP(0) a CPU would raise for this RDMSR/WRMSR; the embedder injects it into the guest. */
export class GeneralProtectionFault extends Error {
  override readonly name = 'GeneralProtectionFault';
  constructor(
    readonly msr: number,
    readonly reason: GpReason,
    detail: string,
  ) {
    super(`#GP(0) on MSR 0x${msr.toString(16)}: ${reason} (${detail})`);
  }
}

/** The embedder called the APIC API with an impossible argument (not a guest-visible event). */
export class ApicUsageError extends Error {
  override readonly name = 'ApicUsageError';
}

/** `loadState` was given a state that no sequence of register accesses could have produced. */
export class ApicStateError extends Error {
  override readonly name = 'ApicStateError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`invalid APIC state at ${field}: ${detail}`);
  }
}
