// Typed errors and reported events of the PCI models (PCI Local Bus 3.0 terminology).
// Errors are for caller (embedder) misuse only; guest misbehaviour becomes a PciEvent instead.

/** Base class of every error thrown by src/hw/pci. */
export class PciError extends Error {
  override readonly name: string = 'PciError';
}
/** An argument out of range: bad offset, access size, BDF, BAR index, message number. */
export class PciUsageError extends PciError {
  override readonly name = 'PciUsageError';
}
/** A device description that cannot exist: overlapping fields, capability list overflow, duplicate BDF. */
export class PciLayoutError extends PciError {
  override readonly name = 'PciLayoutError';
}
/** A snapshot rejected by loadState. */
export class PciStateError extends PciError {
  override readonly name = 'PciStateError';
  /** Path of the offending field inside the state ("config[0x04]", "capabilities[0].state"), when known. */
  readonly field: string | undefined;
  /** The message without the field. */
  readonly detail: string;
  constructor(detail: string, field?: string, options?: { cause?: unknown }) {
    super(field === undefined ? detail : `${field}: ${detail}`, options);
    this.field = field;
    this.detail = detail;
  }
}

/** Guest behaviour the hardware tolerates, reported rather than thrown. */
export type PciEvent =
  | { kind: 'config-access-crosses-dword'; bdf: string; offset: number; size: number; access: 'read' | 'write' }
  | { kind: 'msix-pba-write'; bdf: string; offset: number }
  | { kind: 'msi-message-dropped'; bdf: string; reason: 'no-upstream'; address: bigint; data: number }
  | { kind: 'intx-dropped'; bdf: string; reason: 'no-upstream'; pin: number; level: boolean };
