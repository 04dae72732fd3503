// MSI-X capability (ID 0x11) of PCI Local Bus 3.0 §6.8.2: control word, table and PBA locations, the vector table and pending bit array in a memory BAR.
// Left out: QWORD (8-byte) MMIO accesses (the board splits them into dwords) and the PCIe TPH steering tags in vector control 31:16.
import type { CapabilityHost, CapabilityRegister, PciCapability } from './capability.js';
import { FIRE_BUS_MASTER_OFF, FIRE_DISABLED, FIRE_NO_UPSTREAM, FIRE_PENDING, FIRE_SENT } from './capability.js';
import { PciLayoutError, PciStateError, PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { checkInt, checkOptions } from '../check.js';
import { checkCapabilityHost } from './capability.js';
import { checkValue } from './config-space.js';

export const PCI_CAP_ID_MSIX = 0x11;
export const PCI_MSIX_FLAGS = 0x02;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff; // 10:0 table size N − 1 (RO)
export const PCI_MSIX_FLAGS_MASKALL = 1 << 14;
export const PCI_MSIX_FLAGS_ENABLE = 1 << 15;
export const PCI_MSIX_TABLE = 0x04;
export const PCI_MSIX_PBA = 0x08;
export const PCI_MSIX_BIR = 0x7; // 2:0 BAR indicator; 31:3 offset
export const PCI_MSIX_CAP_LENGTH = 12;

/** Table entry layout (16 bytes each). */
export const PCI_MSIX_ENTRY_SIZE = 16;
export const PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
export const PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
export const PCI_MSIX_ENTRY_DATA = 0x8;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 1 << 0;
/** Guest-writable bits of each entry byte: address 1:0 RO 0, vector control only bit 0. */
const ENTRY_BYTE_WMASK = [0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00];
const MAX_TABLE_SIZE = 2048;
const MSIX_STATE_KEYS: readonly string[] = ['format', 'tableSize', 'enabled', 'functionMask', 'entries', 'pending'];
const ENTRY_KEYS: readonly string[] = ['addressLow', 'addressHigh', 'data', 'vectorControl'];

export interface MsixOptions {
  tableSize: number;
  /** BAR holding the table (default 1, as the MSI test endpoint lays it out). */
  tableBar?: number;
  /** Table offset in that BAR (default 0). */
  tableOffset?: number;
  /** BAR holding the PBA (default: the table's BAR). */
  pbaBar?: number;
  /** PBA offset (default: right after the table, 8-byte aligned). */
  pbaOffset?: number;
}

export type MsixSuppressReason = 'msix-disabled' | 'bus-master-off' | 'no-upstream';
export type MsixFireOutcome =
  | { result: 'sent'; index: number; address: bigint; data: number }
  | { result: 'pending'; index: number }
  | { result: 'suppressed'; index: number; reason: MsixSuppressReason };

export interface MsixState {
  format: 'irqslice.msix/1';
  tableSize: number;
  enabled: boolean;
  functionMask: boolean;
  entries: { addressLow: number; addressHigh: number; data: number; vectorControl: number }[];
  /** Message numbers whose PBA bit is set. */
  pending: number[];
}

/**
 * Behaviour choices (documented contract), parallel to MsiCapability:
 * - fire(i) with MSI-X disabled: nothing sent, nothing pending ('msix-disabled').
 * - Function mask or the entry's mask bit → pending bit set; the write that unmasks sends it.
 * - Unmasked with bus mastering off → dropped ('bus-master-off'); pending messages wait for it.
 * - PBA writes are ignored and reported; sub-dword table accesses work byte-wise.
 */
export class MsixCapability implements PciCapability {
  readonly id = PCI_CAP_ID_MSIX;
  readonly length = PCI_MSIX_CAP_LENGTH;
  readonly tableSize: number;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
  private readonly table: Uint8Array;
  /**
   * The table as dwords (address low, high, data, vector control per entry), kept with every table
   * write; int32 patterns so the message path passes small integers.
   */
  private readonly words: Int32Array;
  private readonly pending: Uint8Array;
  private host: CapabilityHost | null = null;
  private base = 0;
  private wasEnabled = false;
  /** Control register bits as of the last config write (or restore). */
  private on = false;
  private maskAll = false;

  constructor(options: MsixOptions) {
    checkOptions(PciUsageError, 'MSI-X options', options, ['tableSize', 'tableBar', 'tableOffset', 'pbaBar', 'pbaOffset']);
    const { tableSize } = options;
    const int = (v: number, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
    const tableBar = options.tableBar ?? 1;
    const tableOffset = options.tableOffset ?? 0;
    const pbaBar = options.pbaBar ?? tableBar;
    const pbaOffset = options.pbaOffset ?? (pbaBar === tableBar && int(tableOffset, 0, 0xffff_fff8) && int(tableSize, 1, MAX_TABLE_SIZE) ? tableOffset + tableSize * PCI_MSIX_ENTRY_SIZE : 0);
    if (!int(tableSize, 1, MAX_TABLE_SIZE)) throw new PciUsageError(`MSI-X tableSize must be 1..${MAX_TABLE_SIZE}, got ${describeValue(tableSize)}`);
    if (!int(tableBar, 0, 5) || !int(pbaBar, 0, 5)) throw new PciUsageError('MSI-X tableBar/pbaBar must be BAR indexes 0..5');
    for (const [name, off] of [['tableOffset', tableOffset], ['pbaOffset', pbaOffset]] as const) {
      if (!int(off, 0, 0xffff_fff8) || off & PCI_MSIX_BIR) throw new PciUsageError(`MSI-X ${name} must be a multiple of 8 below 4 GiB`);
    }
    this.tableSize = tableSize;
    this.tableBar = tableBar;
    this.tableOffset = tableOffset;
    this.pbaBar = pbaBar;
    this.pbaOffset = pbaOffset;
    if (tableBar === pbaBar && tableOffset < pbaOffset + this.pbaBytes && pbaOffset < tableOffset + this.tableBytes) {
      throw new PciLayoutError('MSI-X table and PBA overlap in the same BAR');
    }
    this.table = new Uint8Array(tableSize * PCI_MSIX_ENTRY_SIZE);
    for (let i = 0; i < tableSize; i++) this.table[i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    this.words = new Int32Array(tableSize * 4);
    for (let i = 0; i < tableSize; i++) this.syncEntry(i);
    this.pending = new Uint8Array(tableSize);
  }

  get tableBytes(): number {
    return this.tableSize * PCI_MSIX_ENTRY_SIZE;
  }
  /** PBA: one bit per entry in QWORDs. */
  get pbaBytes(): number {
    return Math.ceil(this.tableSize / 64) * 8;
  }

  attach(host: CapabilityHost, offset: number): void {
    if (this.host !== null) throw new PciUsageError('MsixCapability is already attached to a function');
    checkCapabilityHost(host);
    checkInt(PciUsageError, 'MSI-X capability offset', offset, 0x40, 0x100 - this.length);
    for (const [what, bar, off, len] of [
      ['table', this.tableBar, this.tableOffset, this.tableBytes],
      ['PBA', this.pbaBar, this.pbaOffset, this.pbaBytes],
    ] as const) {
      const size = host.memoryBarSize(bar);
      if (size === null) throw new PciLayoutError(`MSI-X ${what} BAR${bar} is not a memory BAR of this function (add the BAR first)`);
      if (BigInt(off + len) > size) throw new PciLayoutError(`MSI-X ${what} (0x${off.toString(16)}+${len}) does not fit BAR${bar} (${size} bytes)`);
    }
    this.host = host;
    this.base = offset;
    const c = host.config;
    c.define('msix-control', offset + PCI_MSIX_FLAGS, 2, {
      value: this.tableSize - 1,
      writable: PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE,
    });
    c.define('msix-table', offset + PCI_MSIX_TABLE, 4, { value: (this.tableOffset | this.tableBar) >>> 0 });
    c.define('msix-pba', offset + PCI_MSIX_PBA, 4, { value: (this.pbaOffset | this.pbaBar) >>> 0 });
    c.onWrite(offset + PCI_MSIX_FLAGS, 2, () => this.afterControlWrite());
    this.syncControl();
  }

  /** Config-space offset where the capability was placed. */
  get offset(): number {
    this.attached();
    return this.base;
  }

  get enabled(): boolean {
    return (this.control() & PCI_MSIX_FLAGS_ENABLE) !== 0;
  }
  get functionMask(): boolean {
    return (this.control() & PCI_MSIX_FLAGS_MASKALL) !== 0;
  }
  /** `enabled` as decoded at the last config write: no config-space read (the doorbell path). */
  get enabledCached(): boolean {
    return this.on;
  }

  /** Decoded table entry `index`. */
  entry(index: number): { address: bigint; data: number; masked: boolean; pending: boolean } {
    this.checkIndex(index);
    const at = index * PCI_MSIX_ENTRY_SIZE;
    const lo = this.dword(at + PCI_MSIX_ENTRY_LOWER_ADDR);
    const hi = this.dword(at + PCI_MSIX_ENTRY_UPPER_ADDR);
    return {
      address: (BigInt(hi) << 32n) | BigInt(lo),
      data: this.dword(at + PCI_MSIX_ENTRY_DATA),
      masked: (this.table[at + PCI_MSIX_ENTRY_VECTOR_CTRL]! & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0,
      pending: this.pending[index] === 1,
    };
  }

  /** The function wants to signal message `index` (0..tableSize−1). */
  fire(index: number): MsixFireOutcome {
    this.attached();
    this.checkIndex(index);
    switch (this.fireCode(index)) {
      case FIRE_SENT: {
        const w = index * 4;
        return { result: 'sent', index, address: (BigInt(this.words[w + 1]! >>> 0) << 32n) | BigInt(this.words[w]! >>> 0), data: this.words[w + 2]! >>> 0 };
      }
      case FIRE_PENDING: return { result: 'pending', index };
      case FIRE_DISABLED: return { result: 'suppressed', index, reason: 'msix-disabled' };
      case FIRE_BUS_MASTER_OFF: return { result: 'suppressed', index, reason: 'bus-master-off' };
      default: return { result: 'suppressed', index, reason: 'no-upstream' };
    }
  }

  /**
   * fire() for device models on the hot path: `index` must already be an integer in
   * 0..tableSize−1. Returns a FIRE_* code; reads the cached control bits and table dwords only.
   */
  fireCode(index: number): number {
    if (typeof index !== 'number' || index >>> 0 !== index || index >= this.tableSize) {
      throw new PciUsageError(`MSI-X message number must be 0..${this.tableSize - 1}, got ${describeValue(index)}`);
    }
    if (!this.on) return FIRE_DISABLED;
    const w = index * 4;
    if (this.maskAll || this.words[w + 3]! & PCI_MSIX_ENTRY_CTRL_MASKBIT) {
      this.pending[index] = 1;
      return FIRE_PENDING;
    }
    const h = this.host!; // attached: `on` is only ever set by syncControl()
    if (!h.busMasterEnabled()) return FIRE_BUS_MASTER_OFF;
    return this.send(h, index) ? FIRE_SENT : FIRE_NO_UPSTREAM;
  }

  private send(h: CapabilityHost, index: number): boolean {
    const w = index * 4;
    const lo = this.words[w]!;
    const hi = this.words[w + 1]!;
    const data = this.words[w + 2]!;
    return h.sendMessageParts !== undefined ? h.sendMessageParts(lo, hi, data) : h.sendMessage((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), data >>> 0);
  }

  trigger(index: number): MsixFireOutcome {
    return this.fire(index);
  }

  blocksIntx(): boolean {
    return this.host !== null && this.enabled;
  }

  commandChanged(): void {
    this.flush();
  }

  // ---- BAR side: table and PBA -------------------------------------------------------------

  barRead(bar: number, offset: number, size: 1 | 2 | 4): number | null {
    checkBarAccess(bar, offset, size);
    if (this.inTable(bar, offset, size)) {
      let v = 0;
      const at = offset - this.tableOffset;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.table[at + i]!;
      return v >>> 0;
    }
    if (this.inPba(bar, offset, size)) {
      let v = 0;
      const at = offset - this.pbaOffset;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.pbaByte(at + i);
      return v >>> 0;
    }
    return null;
  }

  barWrite(bar: number, offset: number, size: 1 | 2 | 4, value: number): boolean {
    checkBarAccess(bar, offset, size);
    value = checkValue(value, size);
    if (this.inTable(bar, offset, size)) {
      const at = offset - this.tableOffset;
      for (let i = 0; i < size; i++) {
        const m = ENTRY_BYTE_WMASK[(at + i) % PCI_MSIX_ENTRY_SIZE]!;
        const old = this.table[at + i]!;
        this.table[at + i] = (old & ~m) | ((value >>> (8 * i)) & m);
      }
      const first = Math.floor(at / PCI_MSIX_ENTRY_SIZE);
      const last = Math.floor((at + size - 1) / PCI_MSIX_ENTRY_SIZE);
      for (let e = first; e <= last; e++) this.syncEntry(e);
      this.flush(); // an entry may have been unmasked
      return true;
    }
    if (this.inPba(bar, offset, size)) {
      this.attached().report({ kind: 'msix-pba-write', bdf: this.attached().label, offset }); // PBA is RO
      return true;
    }
    return false;
  }

  private inTable(bar: number, offset: number, size: number): boolean {
    return bar === this.tableBar && offset >= this.tableOffset && offset + size <= this.tableOffset + this.tableBytes;
  }
  private inPba(bar: number, offset: number, size: number): boolean {
    return bar === this.pbaBar && offset >= this.pbaOffset && offset + size <= this.pbaOffset + this.pbaBytes;
  }
  private pbaByte(at: number): number {
    let b = 0;
    for (let bit = 0; bit < 8; bit++) if (this.pending[at * 8 + bit] === 1) b |= 1 << bit;
    return b;
  }

  private afterControlWrite(): void {
    this.syncControl();
    if (this.enabled !== this.wasEnabled) {
      this.wasEnabled = this.enabled;
      this.attached().interruptModeChanged();
    }
    this.flush();
  }

  /** Send pending messages of unmasked entries when the function may send. */
  private flush(): void {
    const h = this.attached();
    if (!this.on || this.maskAll || !h.busMasterEnabled()) return;
    for (let i = 0; i < this.tableSize; i++) {
      if (this.pending[i] !== 1) continue;
      if (this.words[i * 4 + 3]! & PCI_MSIX_ENTRY_CTRL_MASKBIT) continue;
      this.pending[i] = 0;
      this.send(h, i);
    }
  }

  private syncControl(): void {
    const ctrl = this.control();
    this.on = (ctrl & PCI_MSIX_FLAGS_ENABLE) !== 0;
    this.maskAll = (ctrl & PCI_MSIX_FLAGS_MASKALL) !== 0;
  }

  private syncEntry(index: number): void {
    const at = index * PCI_MSIX_ENTRY_SIZE;
    for (let k = 0; k < 4; k++) this.words[index * 4 + k] = this.dword(at + 4 * k);
  }

  private control(): number {
    return this.attached().config.getRaw(this.base + PCI_MSIX_FLAGS, 2);
  }
  private dword(at: number): number {
    return (this.table[at]! | (this.table[at + 1]! << 8) | (this.table[at + 2]! << 16) | (this.table[at + 3]! << 24)) >>> 0;
  }
  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.tableSize) {
      throw new PciUsageError(`MSI-X message number must be 0..${this.tableSize - 1}, got ${describeValue(index)}`);
    }
  }
  private attached(): CapabilityHost {
    if (this.host === null) throw new PciUsageError('MsixCapability is not attached to a function (PciFunction.addCapability)');
    return this.host;
  }

  // ---- State -------------------------------------------------------------------------------

  saveState(): MsixState {
    const entries = [];
    for (let i = 0; i < this.tableSize; i++) {
      const at = i * PCI_MSIX_ENTRY_SIZE;
      entries.push({
        addressLow: this.dword(at),
        addressHigh: this.dword(at + 4),
        data: this.dword(at + 8),
        vectorControl: this.dword(at + 12),
      });
    }
    const pending: number[] = [];
    this.pending.forEach((p, i) => p === 1 && pending.push(i));
    return { format: 'irqslice.msix/1', tableSize: this.tableSize, enabled: this.enabled, functionMask: this.functionMask, entries, pending };
  }

  /**
   * Validates `state` for loadState() without applying it; returns the configuration register it
   * would write (the control word; the table and PBA live in the BAR).
   */
  checkState(state: unknown): CapabilityRegister[] {
    this.attached();
    this.checked(state);
    const s = state as MsixState;
    const ctrl = (this.tableSize - 1) | (s.functionMask ? PCI_MSIX_FLAGS_MASKALL : 0) | (s.enabled ? PCI_MSIX_FLAGS_ENABLE : 0);
    return [{ offset: PCI_MSIX_FLAGS, size: 2, value: ctrl }];
  }

  /** Restore exactly (validated); sends nothing. */
  loadState(state: MsixState): void {
    const [control] = this.checkState(state);
    const h = this.attached();
    const s = state as MsixState;
    s.entries.forEach((e, i) => {
      const at = i * PCI_MSIX_ENTRY_SIZE;
      [e.addressLow, e.addressHigh, e.data, e.vectorControl].forEach((v, k) => {
        for (let b = 0; b < 4; b++) this.table[at + 4 * k + b] = (v >>> (8 * b)) & 0xff;
      });
    });
    for (let i = 0; i < this.tableSize; i++) this.syncEntry(i);
    this.pending.fill(0);
    for (const i of s.pending) this.pending[i] = 1;
    h.config.setRaw(this.base + PCI_MSIX_FLAGS, 2, control!.value);
    this.syncControl();
    this.wasEnabled = s.enabled;
    h.interruptModeChanged();
  }

  /** Throws PciStateError unless `state` is a state of this capability. */
  private checked(state: unknown): void {
    const s = state as Partial<MsixState> | null;
    const bad = (why: string): never => {
      throw new PciStateError(`MsixCapability.loadState: ${why}`);
    };
    const u32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) bad('state must be an object');
    for (const k of Object.keys(s!)) if (!MSIX_STATE_KEYS.includes(k)) bad(`${k}: unknown field`);
    if (s!.format !== 'irqslice.msix/1') bad("format must be 'irqslice.msix/1'");
    if (s!.tableSize !== this.tableSize) bad(`tableSize ${describeValue(s!.tableSize)} ≠ ${this.tableSize}`);
    if (typeof s!.enabled !== 'boolean' || typeof s!.functionMask !== 'boolean') bad('enabled/functionMask must be booleans');
    if (!Array.isArray(s!.entries) || s!.entries.length !== this.tableSize) bad(`entries must list ${this.tableSize} entries`);
    s!.entries!.forEach((e, i) => {
      if (typeof e !== 'object' || e === null || Array.isArray(e)) bad(`entries[${i}] must be an object`);
      for (const k of Object.keys(e)) if (!ENTRY_KEYS.includes(k)) bad(`entries[${i}].${k}: unknown field`);
      for (const k of ENTRY_KEYS) if (!u32((e as unknown as Record<string, unknown>)[k])) bad(`entries[${i}].${k} must be a 32-bit unsigned integer`);
      if (e.addressLow & 3) bad(`entries[${i}].addressLow bits 1:0 must be 0`);
      if (e.vectorControl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) bad(`entries[${i}].vectorControl sets reserved bits`);
    });
    const pend = s!.pending;
    if (!Array.isArray(pend)) bad('pending must be an array of message numbers');
    const seen = new Set<number>();
    pend!.forEach((i, k) => {
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= this.tableSize) bad(`pending[${k}] must be a message number 0..${this.tableSize - 1}`);
      if (seen.has(i) || (k > 0 && i < pend![k - 1]!)) bad(`pending[${k}]: message numbers are listed once each, in ascending order`);
      seen.add(i);
    });
  }
}

function checkBarAccess(bar: unknown, offset: unknown, size: unknown): void {
  checkInt(PciUsageError, 'BAR index', bar, 0, 5);
  checkInt(PciUsageError, 'BAR offset', offset, 0, Number.MAX_SAFE_INTEGER);
  if (size !== 1 && size !== 2 && size !== 4) throw new PciUsageError(`access size must be 1, 2 or 4, got ${describeValue(size)}`);
}
