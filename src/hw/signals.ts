// Shared vocabulary of the interrupt fabric: the messages that travel between I/O APIC, APIC bus,
// local APICs and PCI functions. Pure types; every model imports these and nothing of each other.

/** Delivery modes of the SDM (§11.6.1 ICR, §11.11.2 MSI data, 82093AA RTE). */
export type DeliveryMode = 'fixed' | 'lowest' | 'smi' | 'nmi' | 'init' | 'sipi' | 'extint';
export type TriggerMode = 'edge' | 'level';

/** What a local APIC receives from the bus (after destination decode). */
export interface ApicMessage {
  vector: number;
  mode: DeliveryMode;
  trigger: TriggerMode;
  /** Level of a level-triggered message: true = assert. INIT with level false = INIT de-assert. */
  level?: boolean;
}

/** How a message names its destination on the APIC bus. */
export type DestinationMode = 'physical' | 'logical';
export type Shorthand = 'none' | 'self' | 'all' | 'others';

export interface Destination {
  /** APIC ID (physical) or MDA (logical). xAPIC: 8 bits (0xFF broadcast); x2APIC: 32 bits (0xFFFFFFFF broadcast). */
  id: number;
  mode: DestinationMode;
  shorthand?: Shorthand;
  /** APIC ID of the sender, required for 'self'/'others' shorthands. */
  source?: number;
  /** true when the sender addressed in x2APIC format (32-bit IDs, cluster logical only). */
  x2apic?: boolean;
}

/** A CPU core's input pins as driven by its local APIC. */
export interface LapicSink {
  /** INTR line: true while a fixed interrupt beats the PPR. */
  intr(level: boolean): void;
  nmi(): void;
  smi?(): void;
  init(): void;
  sipi(vector: number): void;
  extint(): void;
}

/** Upstream side of a PCI function: memory writes it masters (MSI) and its INTx pin. */
export interface PciUpstream {
  /**
   * A DWORD memory write mastered by the function (an MSI/MSI-X message). Returning false means no
   * target claimed it (any other result, or none, means claimed): a master abort (PCI 3.0 §3.3.3.1), which the function
   * records in its status register (bit 13, Received Master Abort).
   */
  memoryWrite(address: bigint, data: number): unknown;
  /**
   * Optional fast form of memoryWrite(): the address as two 32-bit halves, no BigInt. Each argument
   * is a 32-bit pattern, signed or unsigned (`x | 0` keeps it a small integer for the engine).
   * Functions use it when present; it must behave exactly like memoryWrite(hi·2^32 + lo, data >>> 0).
   */
  memoryWriteParts?(addressLo: number, addressHi: number, data: number): unknown;
  /** INTx pin (1 = INTA# … 4 = INTD#) asserted or de-asserted. */
  intx(pin: number, level: boolean): void;
}

/** Outcome of an MSI write on the APIC bus. */
export type MsiOutcome =
  | { delivered: true; apicIds: number[]; vector: number; mode: DeliveryMode; trigger: TriggerMode }
  | { delivered: false; reason: 'not-msi-address' | 'reserved-bits' | 'no-destination' | 'reserved-delivery-mode' | 'illegal-vector' | 'remapping-fault'; detail: string };

/** The APIC bus as seen by a message source (I/O APIC, local APIC ICR): routes and reports acceptors. */
export interface InterruptRouter {
  /** Deliver `msg` to every local APIC matching `dest`; returns the APIC IDs that accepted it. */
  deliver(dest: Destination, msg: ApicMessage): number[];
}

/** Something that listens for EOI broadcasts of level-triggered vectors (the I/O APIC). */
export interface EoiListener {
  eoi(vector: number): void;
}
