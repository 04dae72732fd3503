// Capability list of PCI Local Bus 3.0 §6.7: capabilities chained from the pointer at 0x34, each starting with ID and next pointer.
// Placement is first-fit from 0x40, dword aligned, within the 256-byte conventional space; PCIe extended capabilities are not built.
import { ConfigSpace, CONVENTIONAL_CONFIG_SIZE } from './config-space.js';
import type { PciEvent } from './errors.js';
import { PciLayoutError, PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { PCI_CAPABILITY_LIST, PCI_CAPABILITY_START, PCI_STATUS, PCI_STATUS_CAP_LIST } from './header.js';

/** Offsets inside every capability. */
export const PCI_CAP_LIST_ID = 0;
export const PCI_CAP_LIST_NEXT = 1;

/** What a capability may ask of the function that carries it. */
export interface CapabilityHost {
  readonly config: ConfigSpace;
  /** Name for reports ("00:03.0", or "unattached"). */
  readonly label: string;
  busMasterEnabled(): boolean;
  /** Size of memory BAR `index`, or null when that BAR is absent or not memory. */
  memoryBarSize(index: number): bigint | null;
  /** Master a DWORD memory write (an MSI/MSI-X message); false if it could not leave the function. */
  sendMessage(address: bigint, data: number): boolean;
  /** Optional BigInt-free sendMessage (address hi·2^32 + lo; 32-bit patterns, signed or not); used when present. */
  sendMessageParts?(addressLo: number, addressHi: number, data: number): boolean;
  /** An interrupt mechanism was switched on or off: INTx must be re-evaluated. */
  interruptModeChanged(): void;
  report(event: PciEvent): void;
}

/**
 * fireCode() results of the MSI and MSI-X capabilities (their fire() outcomes without the object):
 * sent, pending (masked), or why nothing was sent.
 */
export const FIRE_SENT = 0;
export const FIRE_PENDING = 1;
export const FIRE_DISABLED = 2;
export const FIRE_BEYOND_MME = 3;
export const FIRE_BUS_MASTER_OFF = 4;
export const FIRE_NO_UPSTREAM = 5;

/** A capability structure: it defines its own fields after the 2-byte header the list writes. */
export interface PciCapability {
  readonly id: number;
  /** Length in bytes including the ID and next-pointer bytes. */
  readonly length: number;
  /** Called once when placed at `offset`: define fields, register write hooks, remember the host. */
  attach(host: CapabilityHost, offset: number): void;
  /** The function's command register changed (bus mastering may have come on: flush pending messages). */
  commandChanged?(): void;
  /** True while this capability forbids INTx (MSI or MSI-X enabled). */
  blocksIntx?(): boolean;
  /** MMIO inside a memory BAR that this capability owns (MSI-X table/PBA); null when not claimed. */
  barRead?(bar: number, offset: number, size: 1 | 2 | 4): number | null;
  barWrite?(bar: number, offset: number, size: 1 | 2 | 4, value: number): boolean;
  /**
   * Snapshots (all three or none): saveState() returns JSON-safe state; checkState() validates one
   * without applying it and returns the configuration registers loadState() would write (offsets
   * relative to the capability), so a function can check them against its saved config bytes;
   * loadState() restores it (validated) and sends nothing.
   */
  saveState?(): unknown;
  checkState?(state: unknown): readonly CapabilityRegister[];
  loadState?(state: unknown): void;
}

/** A configuration register a capability's state implies: `size` bytes at capability offset `offset`. */
export interface CapabilityRegister {
  offset: number;
  size: 1 | 2 | 4;
  value: number;
}

/** What attach() needs of its host: the config space, a label, bus mastering and messages, events. */
export function checkCapabilityHost(host: CapabilityHost): void {
  const ok =
    typeof host === 'object' && host !== null && host.config instanceof ConfigSpace && typeof host.busMasterEnabled === 'function' &&
    typeof host.memoryBarSize === 'function' && typeof host.sendMessage === 'function' && typeof host.interruptModeChanged === 'function' &&
    typeof host.report === 'function';
  if (!ok) throw new PciUsageError(`a capability attaches to a CapabilityHost (a PciFunction), got ${describeValue(host)}`);
}

/** Builds the chain: cap pointer → first, each next pointer → following, last next = 0. */
export class CapabilityList {
  private readonly placed: { offset: number; cap: PciCapability }[] = [];
  private nextFree = PCI_CAPABILITY_START;

  constructor(
    private readonly config: ConfigSpace,
    private readonly host: CapabilityHost,
  ) {
    if (!(config instanceof ConfigSpace)) throw new PciUsageError(`a capability list lives in a ConfigSpace, got ${describeValue(config)}`);
    if (typeof host !== 'object' || host === null || host.config !== config) {
      throw new PciUsageError('the capability host must be the function that owns this config space (host.config === config)');
    }
  }

  /** Place `cap` at the next dword-aligned offset and link it; returns its offset. */
  add(cap: PciCapability): number {
    if (typeof cap !== 'object' || cap === null || typeof cap.attach !== 'function') {
      throw new PciUsageError(`a capability needs id, length and attach(), got ${describeValue(cap)}`);
    }
    if (typeof cap.id !== 'number' || !Number.isInteger(cap.id) || cap.id < 1 || cap.id > 0xff) throw new PciLayoutError(`capability ID ${describeValue(cap.id)} must be 1..0xff`);
    if (typeof cap.length !== 'number' || !Number.isInteger(cap.length) || cap.length < 2) throw new PciLayoutError(`capability 0x${cap.id.toString(16)} length ${describeValue(cap.length)} < 2`);
    if (this.placed.some((p) => p.cap === cap)) throw new PciLayoutError(`capability 0x${cap.id.toString(16)} added twice`);
    const offset = this.nextFree;
    if (offset + cap.length > CONVENTIONAL_CONFIG_SIZE) {
      throw new PciLayoutError(`capability 0x${cap.id.toString(16)} (${cap.length} bytes at 0x${offset.toString(16)}) overflows the 256-byte header space`);
    }
    this.config.define(`cap${cap.id.toString(16)}-id`, offset + PCI_CAP_LIST_ID, 1, { value: cap.id });
    this.config.define(`cap${cap.id.toString(16)}-next`, offset + PCI_CAP_LIST_NEXT, 1, { value: 0 });
    cap.attach(this.host, offset);
    const prev = this.placed[this.placed.length - 1];
    if (prev === undefined) {
      this.config.setRaw(PCI_CAPABILITY_LIST, 1, offset);
      this.config.setBits(PCI_STATUS, 2, PCI_STATUS_CAP_LIST, true);
    } else {
      this.config.setRaw(prev.offset + PCI_CAP_LIST_NEXT, 1, offset);
    }
    this.placed.push({ offset, cap });
    this.nextFree = (offset + cap.length + 3) & ~3;
    return offset;
  }

  entries(): readonly { offset: number; cap: PciCapability }[] {
    return this.placed;
  }
}
