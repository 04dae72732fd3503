// MSI capability (ID 0x05) of PCI Local Bus 3.0 §6.8.1/§6.8.3: the four layouts, Message Control, multiple messages, per-vector masking.
// Left out: extended message data (ctrl bits 9/10 read 0); the message is a plain DWORD write, its destination decoded by the APIC bus.
import type { CapabilityHost, CapabilityRegister, PciCapability } from './capability.js';
import { FIRE_BEYOND_MME, FIRE_BUS_MASTER_OFF, FIRE_DISABLED, FIRE_NO_UPSTREAM, FIRE_PENDING, FIRE_SENT } from './capability.js';
import { PciStateError, PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { checkBool, checkInt, checkOptions } from '../check.js';
import { checkCapabilityHost } from './capability.js';

export const PCI_CAP_ID_MSI = 0x05;
const MSI_STATE_KEYS: readonly string[] = ['format', 'vectors', 'is64', 'pvm', 'enabled', 'mme', 'address', 'upperAddress', 'data', 'mask', 'pending'];

/** Message Control bits (offset 2). */
export const PCI_MSI_FLAGS = 0x02;
export const PCI_MSI_FLAGS_ENABLE = 1 << 0;
export const PCI_MSI_FLAGS_QMASK = 0x000e; // 3:1 multiple message capable (RO)
export const PCI_MSI_FLAGS_QSIZE = 0x0070; // 6:4 multiple message enable (RW)
export const PCI_MSI_FLAGS_64BIT = 1 << 7;
export const PCI_MSI_FLAGS_MASKBIT = 1 << 8;
const QMASK_SHIFT = 1;
const QSIZE_SHIFT = 4;
export const PCI_MSI_ADDRESS_LO = 0x04;
/** Address bits 1:0 are hardwired to 0 (dword-aligned message). */
const ADDRESS_WRITABLE = 0xffff_fffc;

export type MsiVectors = 1 | 2 | 4 | 8 | 16 | 32;

export interface MsiOptions {
  vectors: MsiVectors;
  is64: boolean;
  /** Per-vector masking capable: adds the mask and pending registers. */
  pvm: boolean;
  quirks?: {
    /** Broken device: sends the programmed data unchanged instead of replacing its low MME bits. */
    ignoreMme?: boolean;
  };
}

/** Register offsets of one layout, relative to the capability (docs/DESIGN.md F3 table). */
export interface MsiLayout {
  control: number;
  address: number;
  upper: number | null;
  data: number;
  mask: number | null;
  pending: number | null;
  length: number;
}

export function msiLayout(is64: boolean, pvm: boolean): MsiLayout {
  checkBool(PciUsageError, 'msiLayout is64', is64);
  checkBool(PciUsageError, 'msiLayout pvm', pvm);
  if (is64) {
    return pvm
      ? { control: 2, address: 4, upper: 8, data: 0x0c, mask: 0x10, pending: 0x14, length: 0x18 }
      : { control: 2, address: 4, upper: 8, data: 0x0c, mask: null, pending: null, length: 0x0e };
  }
  return pvm
    ? { control: 2, address: 4, upper: null, data: 0x08, mask: 0x0c, pending: 0x10, length: 0x14 }
    : { control: 2, address: 4, upper: null, data: 0x08, mask: null, pending: null, length: 0x0a };
}

export type MsiSuppressReason = 'msi-disabled' | 'beyond-mme' | 'bus-master-off' | 'no-upstream';

export type MsiFireOutcome =
  | { result: 'sent'; index: number; address: bigint; data: number }
  | { result: 'pending'; index: number }
  | { result: 'suppressed'; index: number; reason: MsiSuppressReason };

export interface MsiState {
  format: 'irqslice.msi/1';
  vectors: MsiVectors;
  is64: boolean;
  pvm: boolean;
  enabled: boolean;
  /** log2 of the messages enabled (Message Control 6:4). */
  mme: number;
  address: number;
  upperAddress: number;
  data: number;
  mask: number;
  pending: number;
}

/**
 * Behaviour choices (documented contract):
 * - MME written above MMC is clamped to MMC on every write, enabled or not (QEMU clamps only when
 *   the write leaves MSI enabled). Lowering MME drops pending bits that can no longer be sent.
 * - fire(i) with MSI disabled: nothing is sent and nothing becomes pending ('msi-disabled').
 * - fire(i) with i ≥ 2^MME: not sent, not pending ('beyond-mme'); the function has no such message.
 * - A masked message sets its pending bit whatever bus mastering is; an unmasked one with bus
 *   mastering off is dropped ('bus-master-off'). A pending message leaves the pending state only by
 *   being sent: when enabled, unmasked and bus mastering is on (the write that makes that true sends it).
 */
export class MsiCapability implements PciCapability {
  readonly id = PCI_CAP_ID_MSI;
  readonly length: number;
  readonly layout: MsiLayout;
  readonly vectors: MsiVectors;
  readonly is64: boolean;
  readonly pvm: boolean;
  private readonly mmc: number;
  private readonly ignoreMme: boolean;
  private host: CapabilityHost | null = null;
  private base = 0;
  private wasEnabled = false;
  // What the registers say, decoded at every config write (and restore): a message reads no config space.
  private on = false;
  /** 2^MME: messages the function may send. */
  private count = 1;
  /** Address halves as int32 patterns (`| 0`), so they stay small integers on the message path. */
  private addrLo = 0;
  private addrHi = 0;
  /** Data with the low MME bits cleared (the full data register with the ignoreMme quirk). */
  private dataBase = 0;
  private mask = 0;
  private cachedAddress = 0n;

  constructor(options: MsiOptions) {
    checkOptions(PciUsageError, 'MSI options', options, ['vectors', 'is64', 'pvm', 'quirks']);
    const { vectors, is64, pvm } = options;
    const quirks = checkOptions(PciUsageError, 'MSI quirks', options.quirks, ['ignoreMme'], true);
    if (quirks.ignoreMme !== undefined) checkBool(PciUsageError, 'MSI quirks.ignoreMme', quirks.ignoreMme);
    if (![1, 2, 4, 8, 16, 32].includes(vectors)) throw new PciUsageError(`MSI vectors must be 1, 2, 4, 8, 16 or 32, got ${describeValue(vectors)}`);
    if (typeof is64 !== 'boolean' || typeof pvm !== 'boolean') throw new PciUsageError('MSI is64 and pvm must be booleans');
    this.vectors = vectors;
    this.is64 = is64;
    this.pvm = pvm;
    this.mmc = Math.log2(vectors);
    this.layout = msiLayout(is64, pvm);
    this.length = this.layout.length;
    this.ignoreMme = options.quirks?.ignoreMme === true;
  }

  attach(host: CapabilityHost, offset: number): void {
    if (this.host !== null) throw new PciUsageError('MsiCapability is already attached to a function');
    checkCapabilityHost(host);
    checkInt(PciUsageError, 'MSI capability offset', offset, 0x40, 0x100 - this.length);
    this.host = host;
    this.base = offset;
    const c = host.config;
    const L = this.layout;
    const ro = (this.mmc << QMASK_SHIFT) | (this.is64 ? PCI_MSI_FLAGS_64BIT : 0) | (this.pvm ? PCI_MSI_FLAGS_MASKBIT : 0);
    c.define('msi-control', offset + L.control, 2, { value: ro, writable: PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE });
    c.define('msi-address', offset + L.address, 4, { writable: ADDRESS_WRITABLE });
    if (L.upper !== null) c.define('msi-upper-address', offset + L.upper, 4, { writable: 0xffff_ffff });
    c.define('msi-data', offset + L.data, 2, { writable: 0xffff });
    if (L.mask !== null && L.pending !== null) {
      c.define('msi-mask', offset + L.mask, 4, { writable: this.allMessages() });
      c.define('msi-pending', offset + L.pending, 4, { value: 0 });
    }
    c.onWrite(offset, this.length, () => this.afterWrite());
    this.sync();
  }

  // ---- Decoded registers -------------------------------------------------------------------

  get enabled(): boolean {
    return (this.control() & PCI_MSI_FLAGS_ENABLE) !== 0;
  }
  /** `enabled` as decoded at the last config write: no config-space read (the doorbell path). */
  get enabledCached(): boolean {
    return this.on;
  }
  /** log2 of the messages requested (RO). */
  get multipleMessageCapable(): number {
    return this.mmc;
  }
  /** log2 of the messages allocated by software. */
  get multipleMessageEnable(): number {
    return (this.control() & PCI_MSI_FLAGS_QSIZE) >> QSIZE_SHIFT;
  }
  /** Config-space offset where the capability was placed. */
  get offset(): number {
    this.attached();
    return this.base;
  }
  address(): bigint {
    this.attached();
    return this.cachedAddress;
  }
  data(): number {
    return this.attached().config.getRaw(this.base + this.layout.data, 2);
  }
  maskBits(): number {
    return this.layout.mask === null ? 0 : this.attached().config.getRaw(this.base + this.layout.mask, 4);
  }
  pendingBits(): number {
    return this.layout.pending === null ? 0 : this.attached().config.getRaw(this.base + this.layout.pending, 4);
  }

  /** Address and data the function writes for message `index` under the current programming. */
  messageFor(index: number): { address: bigint; data: number } {
    checkInt(PciUsageError, 'MSI message number', index, 0, 31);
    const low = (1 << this.multipleMessageEnable) - 1;
    const data = this.ignoreMme ? this.data() : (this.data() & ~low) | index;
    return { address: this.address(), data: data >>> 0 };
  }

  // ---- Behaviour ---------------------------------------------------------------------------

  /** The function wants to signal message `index` (0..31). */
  fire(index: number): MsiFireOutcome {
    this.attached();
    if (!Number.isInteger(index) || index < 0 || index > 31) throw new PciUsageError(`MSI message number must be 0..31, got ${describeValue(index)}`);
    switch (this.fireCode(index)) {
      case FIRE_SENT: return { result: 'sent', index, address: this.cachedAddress, data: this.dataFor(index) };
      case FIRE_PENDING: return { result: 'pending', index };
      case FIRE_DISABLED: return { result: 'suppressed', index, reason: 'msi-disabled' };
      case FIRE_BEYOND_MME: return { result: 'suppressed', index, reason: 'beyond-mme' };
      case FIRE_BUS_MASTER_OFF: return { result: 'suppressed', index, reason: 'bus-master-off' };
      default: return { result: 'suppressed', index, reason: 'no-upstream' };
    }
  }

  /**
   * fire() for device models on the hot path: `index` must already be an integer in 0..31. Returns
   * a FIRE_* code instead of an outcome object; reads only what the last config write decoded.
   */
  fireCode(index: number): number {
    if (typeof index !== 'number' || index >>> 0 !== index || index > 31) throw new PciUsageError(`MSI message number must be 0..31, got ${describeValue(index)}`);
    if (!this.on) return FIRE_DISABLED;
    if (index >= this.count) return FIRE_BEYOND_MME;
    if (this.mask & (1 << index)) {
      this.setPending(index, true);
      return FIRE_PENDING;
    }
    const h = this.host!; // attached: `on` is only ever set by sync()
    if (!h.busMasterEnabled()) return FIRE_BUS_MASTER_OFF;
    return this.send(h, index) ? FIRE_SENT : FIRE_NO_UPSTREAM;
  }

  private send(h: CapabilityHost, index: number): boolean {
    const data = this.dataFor(index);
    return h.sendMessageParts !== undefined ? h.sendMessageParts(this.addrLo, this.addrHi, data) : h.sendMessage(this.cachedAddress, data);
  }

  private dataFor(index: number): number {
    return (this.ignoreMme ? this.dataBase : this.dataBase | index) >>> 0;
  }

  /** Decodes the registers into the fields the message path uses (after every config write or restore). */
  private sync(): void {
    const h = this.attached();
    const c = h.config;
    const ctrl = c.getRaw(this.base + this.layout.control, 2);
    this.on = (ctrl & PCI_MSI_FLAGS_ENABLE) !== 0;
    const mme = (ctrl & PCI_MSI_FLAGS_QSIZE) >> QSIZE_SHIFT;
    this.count = 1 << mme;
    const lo = c.getRaw(this.base + this.layout.address, 4);
    const hi = this.layout.upper === null ? 0 : c.getRaw(this.base + this.layout.upper, 4);
    if ((lo | 0) !== this.addrLo || (hi | 0) !== this.addrHi) {
      this.addrLo = lo | 0;
      this.addrHi = hi | 0;
      this.cachedAddress = (BigInt(hi) << 32n) | BigInt(lo);
    }
    const data = c.getRaw(this.base + this.layout.data, 2);
    this.dataBase = this.ignoreMme ? data : data & ~(this.count - 1);
    this.mask = this.layout.mask === null ? 0 : c.getRaw(this.base + this.layout.mask, 4);
  }

  /** Alias of fire(), in the vocabulary of device models. */
  trigger(index: number): MsiFireOutcome {
    return this.fire(index);
  }

  blocksIntx(): boolean {
    return this.host !== null && this.enabled;
  }

  commandChanged(): void {
    this.flush();
  }

  private afterWrite(): void {
    const h = this.attached();
    const ctrlAt = this.base + this.layout.control;
    let ctrl = h.config.getRaw(ctrlAt, 2);
    if ((ctrl & PCI_MSI_FLAGS_QSIZE) >> QSIZE_SHIFT > this.mmc) {
      ctrl = (ctrl & ~PCI_MSI_FLAGS_QSIZE) | (this.mmc << QSIZE_SHIFT);
      h.config.setRaw(ctrlAt, 2, ctrl); // MME cannot exceed what the function requested
    }
    if (this.layout.pending !== null) {
      const allowed = messageBits(1 << this.multipleMessageEnable);
      const p = this.pendingBits();
      if (p & ~allowed) h.config.setRaw(this.base + this.layout.pending, 4, (p & allowed) >>> 0);
    }
    this.sync();
    if (this.enabled !== this.wasEnabled) {
      this.wasEnabled = this.enabled;
      h.interruptModeChanged();
    }
    this.flush();
  }

  /** Send every pending, now unmasked message, if the function may send at all. */
  private flush(): void {
    const h = this.attached();
    if (!this.enabled || !h.busMasterEnabled() || this.layout.pending === null) return;
    const ready = this.pendingBits() & ~this.maskBits();
    for (let i = 0; i < this.count; i++) {
      if (!(ready & (1 << i))) continue;
      this.setPending(i, false);
      this.send(h, i);
    }
  }

  private setPending(index: number, on: boolean): void {
    this.attached().config.setBits(this.base + this.layout.pending!, 4, (1 << index) >>> 0, on);
  }

  private control(): number {
    return this.attached().config.getRaw(this.base + this.layout.control, 2);
  }

  /** Mask of message bits 0..2^MMC−1 (the rest of mask/pending is reserved). */
  private allMessages(): number {
    return messageBits(this.vectors);
  }

  private attached(): CapabilityHost {
    if (this.host === null) throw new PciUsageError('MsiCapability is not attached to a function (PciFunction.addCapability)');
    return this.host;
  }

  // ---- State -------------------------------------------------------------------------------

  saveState(): MsiState {
    return {
      format: 'irqslice.msi/1',
      vectors: this.vectors,
      is64: this.is64,
      pvm: this.pvm,
      enabled: this.enabled,
      mme: this.multipleMessageEnable,
      address: Number(this.address() & 0xffff_ffffn),
      upperAddress: Number(this.address() >> 32n),
      data: this.data(),
      mask: this.maskBits(),
      pending: this.pendingBits(),
    };
  }

  /**
   * Validates `state` for loadState() without applying it; returns the configuration registers it
   * would write (offsets relative to the capability).
   */
  checkState(state: unknown): CapabilityRegister[] {
    this.attached();
    const s = state as Partial<MsiState> | null;
    const bad = (why: string): never => {
      throw new PciStateError(`MsiCapability.loadState: ${why}`);
    };
    const u32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) bad('state must be an object');
    for (const k of Object.keys(s!)) if (!MSI_STATE_KEYS.includes(k)) bad(`${k}: unknown field`);
    if (s!.format !== 'irqslice.msi/1') bad("format must be 'irqslice.msi/1'");
    if (s!.vectors !== this.vectors || s!.is64 !== this.is64 || s!.pvm !== this.pvm) bad('vectors/is64/pvm differ from this capability');
    if (typeof s!.enabled !== 'boolean') bad('enabled must be a boolean');
    if (!Number.isInteger(s!.mme) || s!.mme! < 0 || s!.mme! > this.mmc) bad(`mme must be 0..${this.mmc} (MMC)`);
    if (!u32(s!.address) || s!.address! & 3) bad('address must be a 32-bit integer with bits 1:0 = 0');
    if (!u32(s!.upperAddress) || (!this.is64 && s!.upperAddress !== 0)) bad('upperAddress must be 32-bit, and 0 without 64-bit support');
    if (!u32(s!.data) || s!.data! > 0xffff) bad('data must be a 16-bit integer');
    const allowed = this.pvm ? this.allMessages() : 0;
    if (!u32(s!.mask) || (s!.mask! & ~allowed) !== 0) bad('mask sets reserved bits');
    const live = this.pvm ? messageBits(1 << s!.mme!) : 0;
    if (!u32(s!.pending) || (s!.pending! & ~live) !== 0) bad('pending sets bits beyond 2^MME messages');
    const L = this.layout;
    const ctrl = (this.mmc << QMASK_SHIFT) | (s!.mme! << QSIZE_SHIFT) | (s!.enabled ? PCI_MSI_FLAGS_ENABLE : 0) |
      (this.is64 ? PCI_MSI_FLAGS_64BIT : 0) | (this.pvm ? PCI_MSI_FLAGS_MASKBIT : 0);
    const regs: CapabilityRegister[] = [
      { offset: L.control, size: 2, value: ctrl },
      { offset: L.address, size: 4, value: s!.address! },
      { offset: L.data, size: 2, value: s!.data! },
    ];
    if (L.upper !== null) regs.push({ offset: L.upper, size: 4, value: s!.upperAddress! });
    if (L.mask !== null) regs.push({ offset: L.mask, size: 4, value: s!.mask! });
    if (L.pending !== null) regs.push({ offset: L.pending, size: 4, value: s!.pending! });
    return regs;
  }

  /** Restore registers exactly (validated); sends nothing. */
  loadState(state: MsiState): void {
    const regs = this.checkState(state);
    const h = this.attached();
    for (const r of regs) h.config.setRaw(this.base + r.offset, r.size, r.value);
    this.sync();
    this.wasEnabled = this.enabled;
    h.interruptModeChanged();
  }
}

/** Mask/pending bits covering `count` messages (bit i = message i). */
function messageBits(count: number): number {
  return count >= 32 ? 0xffff_ffff : (1 << count) - 1;
}
