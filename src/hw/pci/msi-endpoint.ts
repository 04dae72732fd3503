// A synthetic PCI test endpoint: MSI (PCI 3.0 §6.8.1), optional MSI-X (§6.8.2) and INTx (§6.2.2), fired through a doorbell in memory BAR0.
// Not a model of any real product; no DMA besides its interrupt messages, no power management.
//
// IDs: vendor 0xFFF0, device 0x0001, class 0xFF0000 ("device does not fit any defined class").
// PCI-SIG reserves no vendor ID for testing; we pick one in the 0xFFFx range, which PCI-SIG has not
// assigned to our knowledge (0xFFFF = no function; 0xFFFD/0xFFFE are unofficial Xen/VMware IDs), so
// the endpoint cannot pass for a real vendor's device. Override with `ids` if that ever collides.
//
// BAR0 (32-bit memory, non-prefetchable, `barSize` bytes, default 4 KiB) register map, dwords:
//   0x00 DOORBELL     W: fire message i = value (MSI-X if enabled, else MSI if enabled, else INTx). R: 0
//   0x04 INTX_ACK     W: any value clears the INTx request (status bit 3). R: bit 0 request, bit 1 pin asserted
//   0x08 SENT         R: messages written upstream + INTx pin assertions (low 32 bits)
//   0x0C SUPPRESSED   R: doorbells that produced nothing (low 32 bits)
//   0x10 PENDED       R: doorbells recorded but not signalled yet (masked message; INTx disabled or already asserted)
//   0x14 LAST_REASON  R: code of the last suppression (0 none; codes below)
//   0x18 MODE         R: mode a doorbell uses now: 0 none, 1 INTx, 2 MSI, 3 MSI-X
//   0x20 + 4·code     R: suppressions by reason: 1 no-such-message, 2 beyond-mme, 3 bus-master-off, 4 no-upstream, 5 no-interrupt-pin
// MSI-X (when configured): table at BAR1 offset 0, PBA right after it (BAR1 is 32-bit memory, ≥ 4 KiB).
import type { AccessSize } from './config-space.js';
import type { MsiVectors } from './msi-capability.js';
import { MsiCapability } from './msi-capability.js';
import { MsixCapability, PCI_MSIX_ENTRY_SIZE } from './msix-capability.js';
import { PciFunction } from './pci-function.js';
import { FIRE_BEYOND_MME, FIRE_BUS_MASTER_OFF, FIRE_NO_UPSTREAM, FIRE_PENDING, FIRE_SENT } from './capability.js';
import { PciStateError, PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { checkInt, checkOptions } from '../check.js';

export const MSI_ENDPOINT_VENDOR_ID = 0xfff0;
export const MSI_ENDPOINT_DEVICE_ID = 0x0001;
export const MSI_ENDPOINT_CLASS = 0xff_0000;

export const EP_DOORBELL = 0x00;
export const EP_INTX_ACK = 0x04;
export const EP_SENT = 0x08;
export const EP_SUPPRESSED = 0x0c;
export const EP_PENDED = 0x10;
export const EP_LAST_REASON = 0x14;
export const EP_MODE = 0x18;
export const EP_SUPPRESSED_BY = 0x20;

export const ENDPOINT_SUPPRESS_REASONS = ['no-such-message', 'beyond-mme', 'bus-master-off', 'no-upstream', 'no-interrupt-pin'] as const;
export type EndpointSuppressReason = (typeof ENDPOINT_SUPPRESS_REASONS)[number];
export type EndpointMode = 'none' | 'intx' | 'msi' | 'msix';
const MODE_CODE: Record<EndpointMode, number> = { none: 0, intx: 1, msi: 2, msix: 3 };
const MODE_NONE = 0;
const MODE_INTX = 1;
const MODE_MSI = 2;
const MODE_MSIX = 3;
const MODES: readonly EndpointMode[] = ['none', 'intx', 'msi', 'msix'];
/** ringCode() results. */
const RING_SENT = 0;
const RING_PENDED = 1;
const RING_SUPPRESSED = 2;

export const MSI_ENDPOINT_STATE_FORMAT = 'irqslice.msi-endpoint/1';

/** The endpoint's BAR0 register file beyond its capabilities: the counters a guest reads. */
export interface MsiEndpointState {
  format: typeof MSI_ENDPOINT_STATE_FORMAT;
  sent: number;
  suppressed: number;
  pended: number;
  lastReason: EndpointSuppressReason | null;
  byReason: Record<EndpointSuppressReason, number>;
}

const ENDPOINT_STATE_KEYS: readonly string[] = ['format', 'sent', 'suppressed', 'pended', 'lastReason', 'byReason'];

export interface MsiEndpointOptions {
  msi?: { vectors: MsiVectors; is64: boolean; pvm: boolean };
  msix?: { tableSize: number };
  /** 0 = no INTx pin; default 1 (INTA#). */
  intxPin?: 0 | 1 | 2 | 3 | 4;
  /** BAR0 size: a power of two from 64 bytes to 1 MiB; default 4096. */
  barSize?: number;
  /** Deliberately broken behaviour for negative tests. */
  quirks?: { ignoreMme?: boolean };
  ids?: { vendorId: number; deviceId: number };
}

export type DoorbellOutcome =
  | { result: 'sent'; mode: EndpointMode }
  | { result: 'pended'; mode: EndpointMode }
  | { result: 'suppressed'; mode: EndpointMode; reason: EndpointSuppressReason };

export class MsiEndpoint extends PciFunction {
  readonly msi: MsiCapability | null;
  readonly msix: MsixCapability | null;
  private sentCount = 0;
  private suppressedCount = 0;
  private pendedCount = 0;
  private lastReason: EndpointSuppressReason | null = null;
  private readonly byReason = new Map<EndpointSuppressReason, number>(ENDPOINT_SUPPRESS_REASONS.map((r) => [r, 0]));

  constructor(options: MsiEndpointOptions = {}) {
    checkOptions(PciUsageError, 'MsiEndpoint options', options, ['msi', 'msix', 'intxPin', 'barSize', 'quirks', 'ids']);
    // The capabilities check their own fields; these are checked here so that a typo cannot pass.
    if (options.msi !== undefined) checkOptions(PciUsageError, 'MsiEndpoint msi', options.msi, ['vectors', 'is64', 'pvm']);
    if (options.msix !== undefined) checkOptions(PciUsageError, 'MsiEndpoint msix', options.msix, ['tableSize']);
    if (options.ids !== undefined) checkOptions(PciUsageError, 'MsiEndpoint ids', options.ids, ['vendorId', 'deviceId']);
    if (options.quirks !== undefined) checkOptions(PciUsageError, 'MsiEndpoint quirks', options.quirks, ['ignoreMme']);
    if (options.msix !== undefined) checkInt(PciUsageError, 'MsiEndpoint msix.tableSize', options.msix.tableSize, 1, 2048);
    const barSize = options.barSize ?? 0x1000;
    if (typeof barSize !== 'number' || !Number.isInteger(barSize) || barSize < 64 || barSize > 1 << 20 || (barSize & (barSize - 1)) !== 0) {
      throw new PciUsageError(`MsiEndpoint barSize must be a power of two in 64..1 MiB, got ${describeValue(barSize)}`);
    }
    super({
      vendorId: options.ids?.vendorId ?? MSI_ENDPOINT_VENDOR_ID,
      deviceId: options.ids?.deviceId ?? MSI_ENDPOINT_DEVICE_ID,
      classCode: MSI_ENDPOINT_CLASS,
      revision: 1,
      interruptPin: options.intxPin ?? 1,
    });
    this.addBar(0, { kind: 'memory32', size: barSize });
    if (options.msix !== undefined) {
      const n = options.msix.tableSize;
      const bytes = n * PCI_MSIX_ENTRY_SIZE + Math.ceil(n / 64) * 8;
      this.addBar(1, { kind: 'memory32', size: Math.max(0x1000, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1)))) });
    }
    this.msi = options.msi === undefined ? null : new MsiCapability({ ...options.msi, quirks: options.quirks ?? {} });
    if (this.msi !== null) this.addCapability(this.msi);
    if (options.msix !== undefined) {
      const n = options.msix.tableSize;
      this.msix = new MsixCapability({ tableSize: n, tableBar: 1, tableOffset: 0, pbaBar: 1, pbaOffset: n * PCI_MSIX_ENTRY_SIZE });
      this.addCapability(this.msix);
    } else {
      this.msix = null;
    }
  }

  get sent(): number {
    return this.sentCount;
  }
  get suppressed(): number {
    return this.suppressedCount;
  }
  get pended(): number {
    return this.pendedCount;
  }
  /** All counters, with suppressions broken down by reason. */
  counters(): { sent: number; suppressed: number; pended: number; lastReason: EndpointSuppressReason | null; byReason: Record<EndpointSuppressReason, number> } {
    return {
      sent: this.sentCount,
      suppressed: this.suppressedCount,
      pended: this.pendedCount,
      lastReason: this.lastReason,
      byReason: Object.fromEntries(this.byReason) as Record<EndpointSuppressReason, number>,
    };
  }

  /** Interrupt mechanism a doorbell uses right now. */
  mode(): EndpointMode {
    return MODES[this.modeCode()]!;
  }

  /** mode() as a MODE_* number, from the enables the capabilities decoded at the last config write. */
  private modeCode(): number {
    if (this.msix !== null && this.msix.enabledCached) return MODE_MSIX;
    if (this.msi !== null && this.msi.enabledCached) return MODE_MSI;
    return this.interruptPin !== 0 ? MODE_INTX : MODE_NONE;
  }

  /** What the DOORBELL register does with value `index` (also callable directly by a board). */
  ring(index: number): DoorbellOutcome {
    // What the DOORBELL register does with a 32-bit value: any such value is architected (out of range
    // is 'no-such-message'); anything else is not a register value.
    checkInt(PciUsageError, 'doorbell value', index, 0, 0xffff_ffff);
    const code = this.modeCode();
    const mode = MODES[code]!;
    const r = this.ringCode(code, index);
    if (r === RING_SENT) return { result: 'sent', mode };
    if (r === RING_PENDED) return { result: 'pended', mode };
    return { result: 'suppressed', mode, reason: this.lastReason! };
  }

  /** ring() without the outcome object (the BAR0 write path): RING_SENT, RING_PENDED or RING_SUPPRESSED. */
  private ringCode(mode: number, index: number): number {
    if (mode === MODE_MSI || mode === MODE_MSIX) {
      const limit = mode === MODE_MSIX ? this.msix!.tableSize : 32;
      if (!Number.isInteger(index) || index < 0 || index >= limit) return this.suppress('no-such-message');
      const out = mode === MODE_MSIX ? this.msix!.fireCode(index) : this.msi!.fireCode(index);
      if (out === FIRE_SENT) return RING_SENT;
      if (out === FIRE_PENDING) {
        this.pendedCount++;
        return RING_PENDED;
      }
      // FIRE_DISABLED cannot happen: modeCode() picked an enabled mechanism.
      return this.suppress(out === FIRE_BEYOND_MME ? 'beyond-mme' : out === FIRE_BUS_MASTER_OFF ? 'bus-master-off' : out === FIRE_NO_UPSTREAM ? 'no-upstream' : 'no-such-message');
    }
    if (mode === MODE_NONE) return this.suppress('no-interrupt-pin');
    const before = this.intxAsserted;
    this.setInterruptStatus(true);
    if (this.intxAsserted && !before) return RING_SENT; // counted by intxChanged
    this.pendedCount++;
    return RING_PENDED;
  }

  private suppress(reason: EndpointSuppressReason): number {
    this.suppressedCount++;
    this.byReason.set(reason, this.byReason.get(reason)! + 1);
    this.lastReason = reason;
    return RING_SUPPRESSED;
  }

  protected override saveDeviceState(): MsiEndpointState {
    const c = this.counters();
    return { format: MSI_ENDPOINT_STATE_FORMAT, sent: c.sent, suppressed: c.suppressed, pended: c.pended, lastReason: c.lastReason, byReason: c.byReason };
  }

  protected override checkDeviceState(state: unknown): void {
    const s = state as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new PciStateError(`expected an object, got ${describeValue(s)}`);
    for (const k of Object.keys(s)) if (!ENDPOINT_STATE_KEYS.includes(k)) throw new PciStateError('unknown field', k);
    if (s.format !== MSI_ENDPOINT_STATE_FORMAT) throw new PciStateError(`expected '${MSI_ENDPOINT_STATE_FORMAT}'`, 'format');
    const count = (v: unknown, field: string): number => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new PciStateError(`expected a count (a non-negative integer), got ${describeValue(v)}`, field);
      return v;
    };
    for (const k of ['sent', 'suppressed', 'pended']) count(s[k], k);
    const by = s.byReason as Record<string, unknown>;
    if (typeof by !== 'object' || by === null || Array.isArray(by)) throw new PciStateError(`expected an object, got ${describeValue(by)}`, 'byReason');
    for (const k of Object.keys(by)) if (!(ENDPOINT_SUPPRESS_REASONS as readonly string[]).includes(k)) throw new PciStateError('not a suppression reason', `byReason.${k}`);
    const total = ENDPOINT_SUPPRESS_REASONS.reduce((sum, r) => sum + count(by[r], `byReason.${r}`), 0);
    // Every suppression counts once in `suppressed`, once under its reason, and becomes lastReason.
    if (total !== s.suppressed) throw new PciStateError(`${describeValue(s.suppressed)} ≠ ${total}, the sum of byReason`, 'suppressed');
    const last = s.lastReason;
    if (last === null ? total !== 0 : !(ENDPOINT_SUPPRESS_REASONS as readonly unknown[]).includes(last) || by[last as string] === 0) {
      throw new PciStateError(`${describeValue(last)}: null exactly when nothing was suppressed, else a reason counted in byReason`, 'lastReason');
    }
  }

  protected override loadDeviceState(state: unknown): void {
    const s = state as MsiEndpointState;
    this.sentCount = s.sent;
    this.suppressedCount = s.suppressed;
    this.pendedCount = s.pended;
    this.lastReason = s.lastReason;
    for (const r of ENDPOINT_SUPPRESS_REASONS) this.byReason.set(r, s.byReason[r]);
  }

  protected override messageSent(): void {
    this.sentCount++;
  }

  protected override messageSentParts(): void {
    this.sentCount++;
  }

  protected override intxChanged(level: boolean): void {
    if (level) this.sentCount++;
  }

  protected override barRead(bar: number, offset: number, size: AccessSize): number {
    if (bar !== 0) return 0;
    const dword = this.register(offset & ~3);
    return size === 4 ? dword : (dword >>> (8 * (offset & 3))) & ((1 << (8 * size)) - 1);
  }

  protected override barWrite(bar: number, offset: number, _size: AccessSize, value: number): void {
    if (bar !== 0) return;
    if (offset === EP_DOORBELL) this.ringCode(this.modeCode(), value);
    else if (offset === EP_INTX_ACK) this.setInterruptStatus(false);
    // Other offsets are read-only counters or unused: writes are ignored, as on most device register files.
  }

  private register(offset: number): number {
    switch (offset) {
      case EP_INTX_ACK:
        return (this.interruptStatus ? 1 : 0) | (this.intxAsserted ? 2 : 0);
      case EP_SENT:
        return this.sentCount >>> 0;
      case EP_SUPPRESSED:
        return this.suppressedCount >>> 0;
      case EP_PENDED:
        return this.pendedCount >>> 0;
      case EP_LAST_REASON:
        return this.lastReason === null ? 0 : ENDPOINT_SUPPRESS_REASONS.indexOf(this.lastReason) + 1;
      case EP_MODE:
        return MODE_CODE[this.mode()];
    }
    const code = (offset - EP_SUPPRESSED_BY) / 4;
    const reason = ENDPOINT_SUPPRESS_REASONS[code - 1];
    return offset >= EP_SUPPRESSED_BY && reason !== undefined ? this.byReason.get(reason)! >>> 0 : 0;
  }
}
