// Models the I/O APIC of the 82093AA datasheet §3.2 (IOREGSEL/IOWIN, ID, version, arbitration, redirection table) plus the EOI register of version ≥ 0x20 parts
// and the remappable RTE format of VT-d §5.1.5.1 (docs/DESIGN.md F11). Left out: APIC serial-bus cycles and arbitration timing, the PCH extended destination ID (RTE 55:48), the pin assertion register, line sharing (the board ORs shared lines).
// Two text views: dump() keeps irqslice's own compact format (one line per live pin, for debugging and
// the tests that read it); infoPic() prints QEMU's `info pic` layout (ioapic-info.ts), for comparing with QEMU.
import type { ApicMessage, DeliveryMode, Destination, EoiListener, InterruptRouter, TriggerMode } from './signals.js';
import { checkFunction, checkOptions } from './check.js';
import { describeValue } from './describe.js';

// Two text views: dump() keeps irqslice's own compact format (one line per live pin, for debugging and
// the tests that read it); infoPic() prints QEMU's `info pic` layout (ioapic-info.ts), for comparing with QEMU.
import { formatIoapicInfo } from './ioapic-info.js';

/** Default physical base of the first I/O APIC, and the size of the window it decodes (as QEMU maps it). */
export const IOAPIC_BASE = 0xfec0_0000;
export const IOAPIC_MMIO_SIZE = 0x1000;

/** MMIO offsets inside the window. */
export const IOREGSEL = 0x00;
export const IOWIN = 0x10;
/** EOI register: only on parts whose version is ≥ 0x20 (ICH/PCH); absent on the 82093AA (0x11). */
export const IOAPIC_EOI = 0x40;

/** Indirect register indexes selected through IOREGSEL. */
export const IOAPICID = 0x00;
export const IOAPICVER = 0x01;
export const IOAPICARB = 0x02;
export const IOREDTBL = 0x10;

const ID_SHIFT = 24;
const ID_FIELD = 0x0f; // 27:24
const IOREGSEL_MASK = 0xff;

// Redirection table entry, low dword.
export const RTE_VECTOR = 0x0000_00ff;
export const RTE_DELIVERY_MODE = 0x0000_0700;
export const RTE_DEST_LOGICAL = 1 << 11;
export const RTE_DELIVERY_STATUS = 1 << 12; // RO: 1 = send pending
export const RTE_POLARITY_LOW = 1 << 13;
export const RTE_REMOTE_IRR = 1 << 14; // RO: level message accepted, awaiting EOI
export const RTE_TRIGGER_LEVEL = 1 << 15;
export const RTE_MASKED = 1 << 16;
/** Reset value of the low dword (datasheet: mask = 1, rest undefined; Bochs/QEMU use 0). */
export const RTE_RESET_LOW = RTE_MASKED;
const RTE_LOW_WRITABLE =
  RTE_VECTOR | RTE_DELIVERY_MODE | RTE_DEST_LOGICAL | RTE_POLARITY_LOW | RTE_TRIGGER_LEVEL | RTE_MASKED;
const RTE_LOW_STATUS = RTE_DELIVERY_STATUS | RTE_REMOTE_IRR;
/**
 * High dword: destination 63:56 (the 82093AA wires only 59:56; we store and route the full 8 bits), and
 * in remappable format (VT-d §5.1.5.1) bit 48 = format and 63:49 = interrupt index[14:0]. 55:48 are
 * stored in compatibility format too (the PCH's EDID there is not routed).
 */
const RTE_HIGH_WRITABLE = 0xffff_0000;
const DEST_SHIFT = 24;
/** RTE bit 48 (bit 16 of the high dword): 1 = remappable format. */
export const RTE_REMAPPABLE = 1 << 16;
/** Remappable format: index[14:0] in 63:49, index[15] in bit 11 (where the compatibility DM bit is). */
const RTE_INDEX_SHIFT = 17;

/** Delivery-mode encodings of RTE 10:8; 3 and 6 are reserved. */
const MODE_BY_CODE: readonly (DeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', null, 'extint'];

export const IOAPIC_DEFAULT_PINS = 24;
export const IOAPIC_DEFAULT_VERSION = 0x11;
/** Register index 0x10 + 2n + 1 must fit IOREGSEL's 8 bits → at most 120 entries. */
const MAX_PINS = 120;
const STATE_FORMAT = 'irqslice.ioapic/1';
const STATE_KEYS: readonly string[] = ['format', 'pins', 'version', 'id', 'arbitrationId', 'ioregsel', 'redirection', 'lines'];

export interface IoApicOptions {
  /** 4-bit I/O APIC ID (register 0, bits 27:24). */
  id: number;
  pins?: number;
  /** Version field 7:0: 0x11 = 82093AA, ≥ 0x20 adds the EOI register at 0x40. */
  version?: number;
  /** Receives guest misbehaviour and delivery problems; never called for normal operation. */
  onEvent?: (event: IoApicEvent) => void;
}

/** Things the guest did that the hardware tolerates, reported rather than thrown. */
export type IoApicEvent =
  | { kind: 'unmapped-offset'; offset: number; access: 'read' | 'write' }
  | { kind: 'unknown-register'; index: number; access: 'read' | 'write' }
  | { kind: 'read-only-register'; index: number; value: number }
  | { kind: 'reserved-delivery-mode'; pin: number; code: number }
  | { kind: 'edge-lost-masked'; pin: number }
  | { kind: 'undelivered'; pin: number; vector: number; reason: 'no-router' | 'no-acceptor' | 'no-remapping' | 'remapping-fault' };

/**
 * The board's remapping unit as the I/O APIC sees it (VT-d §5.1.5): every message as an MSI-style write
 * (remappable entries as a remappable MSI with SHV = 0). Returns the APIC IDs that accepted the
 * interrupt ([] = nobody: the message stays pending), or null when it was blocked (a fault: it is gone).
 */
export interface IoApicRemapper {
  message(addressLo: number, data: number): readonly number[] | null;
}

/** A redirection table entry decoded into named fields (for reports and tests). */
export interface RedirectionEntry {
  vector: number;
  deliveryMode: DeliveryMode | 'reserved';
  destinationMode: 'physical' | 'logical';
  deliveryStatus: 'idle' | 'pending';
  polarity: 'active-high' | 'active-low';
  remoteIrr: boolean;
  trigger: TriggerMode;
  masked: boolean;
  destination: number;
  /** Bit 48: remappable entries name an interrupt index instead of a destination. */
  format: 'compatibility' | 'remappable';
  /** Interrupt index of a remappable entry (63:49 and bit 11), null in compatibility format. */
  index: number | null;
  low: number;
  high: number;
}

export interface IoApicState {
  format: typeof STATE_FORMAT;
  pins: number;
  version: number;
  id: number;
  arbitrationId: number;
  ioregsel: number;
  redirection: { low: number; high: number }[];
  /** Electrical pin levels as last driven by setIrq. */
  lines: boolean[];
}

/** Caller misuse of the embedding API (bad pin, bad offset, non-integer value). */
export class IoApicError extends Error {
  override readonly name = 'IoApicError';
}
/** A state object rejected by loadState. */
export class IoApicStateError extends Error {
  override readonly name = 'IoApicStateError';
}

/**
 * Delivery choices (documented contract):
 * - A message nobody accepts (router returns no APIC ID, or no router is connected) stays pending:
 *   delivery status = 1, remote IRR untouched. It is retried on the next state change of its pin
 *   (setIrq, RTE write), on every EOI broadcast and on retryPending(). Pending edges coalesce.
 * - A level message whose line drops, or any RTE that gets masked, loses its pending delivery.
 * - NMI, INIT, SMI and ExtINT are sent as edge messages whatever the trigger bit (datasheet §3.2.4).
 * - Writing trigger = edge clears remote IRR (Linux's EOI fallback for pre-0x20 parts relies on it).
 * - Changing polarity does not by itself make an edge; a level RTE is re-evaluated at once.
 */
export class IoApic implements EoiListener {
  private readonly pinCount: number;
  private readonly chipVersion: number;
  private readonly onEvent: (event: IoApicEvent) => void;
  private apicId: number;
  private arbitrationId: number;
  private ioregsel = 0;
  private readonly low: number[];
  private readonly high: number[];
  private readonly lines: boolean[];
  private router: InterruptRouter | null = null;
  private remapper: IoApicRemapper | null = null;

  constructor(options: IoApicOptions) {
    const o = checkOptions(IoApicError, 'IoApic options', options, ['id', 'pins', 'version', 'onEvent']);
    const pins = o.pins ?? IOAPIC_DEFAULT_PINS;
    const version = o.version ?? IOAPIC_DEFAULT_VERSION;
    requireInt(o.id, 0, ID_FIELD, 'IoApic id (4-bit field 27:24)');
    requireInt(pins, 1, MAX_PINS, 'IoApic pins');
    requireInt(version, 0, 0xff, 'IoApic version');
    if (o.onEvent !== undefined) checkFunction(IoApicError, 'IoApic onEvent', o.onEvent);
    this.pinCount = pins as number;
    this.chipVersion = version as number;
    this.apicId = o.id as number;
    this.arbitrationId = o.id as number;
    this.onEvent = (o.onEvent as IoApicOptions['onEvent']) ?? (() => {});
    this.low = new Array<number>(this.pinCount).fill(RTE_RESET_LOW);
    this.high = new Array<number>(this.pinCount).fill(0);
    this.lines = new Array<boolean>(this.pinCount).fill(false);
  }

  /** Attach to the APIC bus; the bus only ever calls eoi() back. */
  connect(router: InterruptRouter): void {
    if (typeof router !== 'object' || router === null || typeof router.deliver !== 'function') {
      throw new IoApicError(`connect() takes a router with deliver(dest, message), got ${describeValue(router)}`);
    }
    this.router = router;
  }

  /**
   * Send every message through `remapper` (a board with a remapping unit); null: messages go straight to
   * the router, and remappable-format entries are dropped and reported ('no-remapping').
   */
  connectRemapping(remapper: IoApicRemapper | null): void {
    if (remapper !== null && (typeof remapper !== 'object' || typeof remapper.message !== 'function')) {
      throw new IoApicError(`connectRemapping() takes { message(addressLo, data) } or null, got ${describeValue(remapper)}`);
    }
    this.remapper = remapper;
  }

  get id(): number {
    return this.apicId;
  }
  get pins(): number {
    return this.pinCount;
  }

  // ---- MMIO window -------------------------------------------------------------------------

  /** 32-bit read at `offset` inside the window (0 … IOAPIC_MMIO_SIZE−1). */
  read(offset: number): number {
    requireInt(offset, 0, IOAPIC_MMIO_SIZE - 1, 'IoApic MMIO offset');
    if (offset === IOREGSEL) return this.ioregsel;
    if (offset === IOWIN) return this.readRegister(this.ioregsel);
    if (offset === IOAPIC_EOI && this.hasEoiRegister()) return 0; // write-only
    this.onEvent({ kind: 'unmapped-offset', offset, access: 'read' });
    return 0;
  }

  /** 32-bit write at `offset` inside the window. */
  write(offset: number, value: number): void {
    requireInt(offset, 0, IOAPIC_MMIO_SIZE - 1, 'IoApic MMIO offset');
    const v = requireU32(value);
    if (offset === IOREGSEL) this.ioregsel = v & IOREGSEL_MASK;
    else if (offset === IOWIN) this.writeRegister(this.ioregsel, v);
    else if (offset === IOAPIC_EOI && this.hasEoiRegister()) this.eoi(v & RTE_VECTOR);
    else this.onEvent({ kind: 'unmapped-offset', offset, access: 'write' });
  }

  private hasEoiRegister(): boolean {
    return this.chipVersion >= 0x20;
  }

  private readRegister(index: number): number {
    if (index === IOAPICID) return (this.apicId << ID_SHIFT) >>> 0;
    if (index === IOAPICVER) return (((this.pinCount - 1) << 16) | this.chipVersion) >>> 0;
    if (index === IOAPICARB) return (this.arbitrationId << ID_SHIFT) >>> 0;
    const pin = this.pinOfIndex(index);
    if (pin !== null) return (index & 1 ? this.high[pin]! : this.low[pin]!) >>> 0;
    this.onEvent({ kind: 'unknown-register', index, access: 'read' });
    return 0;
  }

  private writeRegister(index: number, value: number): void {
    if (index === IOAPICID) {
      this.apicId = (value >>> ID_SHIFT) & ID_FIELD;
      this.arbitrationId = this.apicId; // 82093AA: arbitration ID is loaded on every ID write
      return;
    }
    if (index === IOAPICVER || index === IOAPICARB) {
      this.onEvent({ kind: 'read-only-register', index, value });
      return;
    }
    const pin = this.pinOfIndex(index);
    if (pin === null) {
      this.onEvent({ kind: 'unknown-register', index, access: 'write' });
      return;
    }
    if (index & 1) {
      this.high[pin] = (value & RTE_HIGH_WRITABLE) >>> 0;
      this.retry(pin); // a pending message may now have a reachable destination
      return;
    }
    const old = this.low[pin]!;
    let next = ((old & RTE_LOW_STATUS) | (value & RTE_LOW_WRITABLE)) >>> 0;
    if (!(next & RTE_TRIGGER_LEVEL)) next &= ~RTE_REMOTE_IRR;
    if (next & RTE_MASKED) next &= ~RTE_DELIVERY_STATUS;
    this.low[pin] = next >>> 0;
    this.service(pin);
  }

  private pinOfIndex(index: number): number | null {
    const n = (index - IOREDTBL) >> 1;
    return index >= IOREDTBL && n < this.pinCount ? n : null;
  }

  // ---- Interrupt lines and EOI -------------------------------------------------------------

  /** Drive the electrical level of input `pin`; polarity (RTE bit 13) decides what "asserted" is. */
  setIrq(pin: number, level: boolean): void {
    this.requirePin(pin);
    if (typeof level !== 'boolean') throw new IoApicError(`setIrq(${pin}): level must be a boolean, got ${describeValue(level)}`);
    const was = this.asserted(pin);
    this.lines[pin] = level;
    const now = this.asserted(pin);
    const low = this.low[pin]!;
    if (!this.isLevel(low) && !was && now) {
      if (low & RTE_MASKED) {
        this.onEvent({ kind: 'edge-lost-masked', pin }); // edges while masked are lost (§3.2.4)
        return;
      }
      this.low[pin] = (low | RTE_DELIVERY_STATUS) >>> 0; // latch the edge; coalesces with a pending one
    }
    this.service(pin);
  }

  /** EOI broadcast from a local APIC (or the EOI register): clear remote IRR of matching level RTEs. */
  eoi(vector: number): void {
    requireInt(vector, 0, 0xff, 'EOI vector');
    for (let pin = 0; pin < this.pinCount; pin++) {
      const low = this.low[pin]!;
      if (low & RTE_TRIGGER_LEVEL && low & RTE_REMOTE_IRR && (low & RTE_VECTOR) === vector) {
        this.low[pin] = (low & ~RTE_REMOTE_IRR) >>> 0;
      }
    }
    // Re-trigger lines still high, and give held-up messages another chance.
    for (let pin = 0; pin < this.pinCount; pin++) this.service(pin);
  }

  /** Retry every message held pending because nobody accepted it (e.g. after a LAPIC was enabled). */
  retryPending(): void {
    for (let pin = 0; pin < this.pinCount; pin++) this.retry(pin);
  }

  private retry(pin: number): void {
    if (this.low[pin]! & RTE_DELIVERY_STATUS) this.service(pin);
  }

  private asserted(pin: number): boolean {
    return this.lines[pin] !== ((this.low[pin]! & RTE_POLARITY_LOW) !== 0);
  }

  /** Level semantics apply only to fixed/lowest-priority entries; other modes are edge-only. */
  private isLevel(low: number): boolean {
    const code = (low & RTE_DELIVERY_MODE) >> 8;
    return (low & RTE_TRIGGER_LEVEL) !== 0 && (code === 0 || code === 1);
  }

  /** Bring `pin` to a consistent state: send what must be sent, drop what can no longer be. */
  private service(pin: number): void {
    const low = this.low[pin]!;
    if (low & RTE_MASKED) return;
    if (this.isLevel(low)) {
      if (!this.asserted(pin)) {
        this.low[pin] = (low & ~RTE_DELIVERY_STATUS) >>> 0; // line dropped before delivery
        return;
      }
      if (low & RTE_REMOTE_IRR) return; // already in service: wait for the EOI
      const outcome = this.send(pin, 'level');
      this.low[pin] =
        outcome === 'held' ? (low | RTE_DELIVERY_STATUS) >>> 0 : ((low & ~RTE_DELIVERY_STATUS) | RTE_REMOTE_IRR) >>> 0;
      return;
    }
    if (low & RTE_DELIVERY_STATUS && this.send(pin, 'edge') !== 'held') {
      this.low[pin] = (low & ~RTE_DELIVERY_STATUS) >>> 0;
    }
  }

  /**
   * Put the message of `pin` on the APIC bus: 'accepted' by some local APIC, 'held' (nobody took it:
   * stays pending), or 'dropped' for good (reserved delivery mode, which is never level: see isLevel).
   */
  private send(pin: number, trigger: TriggerMode): 'accepted' | 'held' | 'dropped' {
    const low = this.low[pin]!;
    const high = this.high[pin]!;
    const remappable = (high & RTE_REMAPPABLE) !== 0;
    const code = (low & RTE_DELIVERY_MODE) >> 8;
    const vector = low & RTE_VECTOR;
    // Remappable entries take their delivery mode from the IRTE (RTE 10:8 must be 000, and are ignored).
    if (!remappable && MODE_BY_CODE[code] === null) {
      this.onEvent({ kind: 'reserved-delivery-mode', pin, code });
      return 'dropped';
    }
    if (this.remapper !== null) return this.sendToRemapper(pin, trigger);
    if (remappable) {
      this.onEvent({ kind: 'undelivered', pin, vector, reason: 'no-remapping' });
      return 'dropped';
    }
    if (this.router === null) {
      this.onEvent({ kind: 'undelivered', pin, vector, reason: 'no-router' });
      return 'held';
    }
    const dest: Destination = {
      id: high >>> DEST_SHIFT,
      mode: low & RTE_DEST_LOGICAL ? 'logical' : 'physical',
    };
    const mode = MODE_BY_CODE[code]!;
    const msg: ApicMessage = trigger === 'level' ? { vector, mode, trigger, level: true } : { vector, mode, trigger };
    if (this.router.deliver(dest, msg).length > 0) return 'accepted';
    this.onEvent({ kind: 'undelivered', pin, vector, reason: 'no-acceptor' });
    return 'held';
  }

  /**
   * With a remapping unit every message goes to it as an MSI-style write (VT-d §5.1.5): a compatibility
   * entry as the address/data it stands for (destination 19:12, DM bit 2; vector, mode, trigger), a
   * remappable entry (§5.1.5.1) as a remappable MSI with SHV = 0 naming its index, the RTE vector (Linux
   * puts the pin there) in the data. What arrives is the IRTE's vector; remote IRR is cleared by the EOI
   * of the RTE vector (the EOI register, as Linux's io_apic.c does with the pin). A blocked message counts as sent ('dropped'): a level
   * entry then waits for that EOI.
   */
  private sendToRemapper(pin: number, trigger: TriggerMode): 'accepted' | 'held' | 'dropped' {
    const low = this.low[pin]!;
    const high = this.high[pin]!;
    const vector = low & RTE_VECTOR;
    const levelBits = trigger === 'level' ? 0xc000 : 0;
    let address: number;
    let data: number;
    if (high & RTE_REMAPPABLE) {
      const index = (high >>> RTE_INDEX_SHIFT) | (low & RTE_DEST_LOGICAL ? 0x8000 : 0);
      address = (0xfee0_0000 | ((index & 0x7fff) << 5) | (1 << 4) | ((index >>> 15) << 2)) >>> 0;
      data = vector | levelBits;
    } else {
      address = (0xfee0_0000 | ((high >>> DEST_SHIFT) << 12) | (low & RTE_DEST_LOGICAL ? 1 << 2 : 0)) >>> 0;
      data = vector | (low & RTE_DELIVERY_MODE) | levelBits;
    }
    const accepted = this.remapper!.message(address, data);
    if (accepted === null) {
      this.onEvent({ kind: 'undelivered', pin, vector, reason: 'remapping-fault' });
      return 'dropped';
    }
    if (accepted.length > 0) return 'accepted';
    this.onEvent({ kind: 'undelivered', pin, vector, reason: 'no-acceptor' });
    return 'held';
  }

  // ---- Reports -----------------------------------------------------------------------------

  /** Electrical level last driven on `pin`. */
  lineLevel(pin: number): boolean {
    this.requirePin(pin);
    return this.lines[pin]!;
  }

  /** Redirection entry of `pin`, decoded. */
  rte(pin: number): RedirectionEntry {
    this.requirePin(pin);
    const low = this.low[pin]!;
    const high = this.high[pin]!;
    const remappable = (high & RTE_REMAPPABLE) !== 0;
    return {
      vector: low & RTE_VECTOR,
      deliveryMode: MODE_BY_CODE[(low & RTE_DELIVERY_MODE) >> 8] ?? 'reserved',
      destinationMode: low & RTE_DEST_LOGICAL ? 'logical' : 'physical',
      deliveryStatus: low & RTE_DELIVERY_STATUS ? 'pending' : 'idle',
      polarity: low & RTE_POLARITY_LOW ? 'active-low' : 'active-high',
      remoteIrr: (low & RTE_REMOTE_IRR) !== 0,
      trigger: low & RTE_TRIGGER_LEVEL ? 'level' : 'edge',
      masked: (low & RTE_MASKED) !== 0,
      destination: high >>> DEST_SHIFT,
      format: remappable ? 'remappable' : 'compatibility',
      index: remappable ? (high >>> RTE_INDEX_SHIFT) | (low & RTE_DEST_LOGICAL ? 0x8000 : 0) : null,
      low,
      high,
    };
  }

  /** One line per unmasked or asserted pin, for debugging. */
  dump(): string {
    const rows = [`ioapic id=${this.apicId} version=0x${this.chipVersion.toString(16)} pins=${this.pinCount}`];
    for (let pin = 0; pin < this.pinCount; pin++) {
      const e = this.rte(pin);
      if (e.masked && !this.lines[pin]) continue;
      rows.push(
        `pin ${pin}: vec=0x${e.vector.toString(16)} ${e.deliveryMode} ${e.trigger} ${e.polarity} ` +
          `${e.index === null ? `${e.destinationMode} dest=0x${e.destination.toString(16)}` : `remappable index=${e.index}`}${e.masked ? ' masked' : ''}` +
          `${e.remoteIrr ? ' remote-irr' : ''}${e.deliveryStatus === 'pending' ? ' pending' : ''} line=${this.lines[pin] ? 1 : 0}`,
      );
    }
    return rows.join('\n');
  }

  /**
   * The I/O APIC in the layout of QEMU's `info pic` (hw/intc/ioapic_common.c): header, one line per
   * pin, then IRR and Remote IRR. dump() keeps irqslice's own compact format.
   */
  infoPic(): string {
    const irr: number[] = [];
    for (let pin = 0; pin < this.pinCount; pin++) {
      const low = this.low[pin]!;
      if (low & RTE_DELIVERY_STATUS || (this.isLevel(low) && this.asserted(pin))) irr.push(pin);
    }
    return formatIoapicInfo(this.saveState(), irr);
  }

  // ---- State -------------------------------------------------------------------------------

  saveState(): IoApicState {
    return {
      format: STATE_FORMAT,
      pins: this.pinCount,
      version: this.chipVersion,
      id: this.apicId,
      arbitrationId: this.arbitrationId,
      ioregsel: this.ioregsel,
      redirection: this.low.map((low, i) => ({ low, high: this.high[i]! })),
      lines: [...this.lines],
    };
  }

  /** Restore a snapshot exactly; sends nothing (held-up messages are retried on the next state change). */
  loadState(state: unknown): void {
    const s = state as Partial<IoApicState> | null;
    const bad = (why: string): never => {
      throw new IoApicStateError(`IoApic.loadState: ${why}`);
    };
    if (typeof s !== 'object' || s === null || Array.isArray(s)) bad('state must be an object');
    for (const k of Object.keys(s!)) if (!STATE_KEYS.includes(k)) bad(`${k}: unknown field`);
    if (s!.format !== STATE_FORMAT) bad(`format must be '${STATE_FORMAT}'`);
    if (s!.pins !== this.pinCount) bad(`pins ${describeValue(s!.pins)} ≠ this I/O APIC's ${this.pinCount}`);
    if (s!.version !== this.chipVersion) bad(`version ${describeValue(s!.version)} ≠ 0x${this.chipVersion.toString(16)}`);
    for (const [key, max] of [['id', ID_FIELD], ['arbitrationId', ID_FIELD], ['ioregsel', IOREGSEL_MASK]] as const) {
      if (!isInt(s![key], 0, max)) bad(`${key} must be an integer 0..${max}`);
    }
    const red = s!.redirection;
    if (!Array.isArray(red) || red.length !== this.pinCount) bad(`redirection must list ${this.pinCount} entries`);
    red!.forEach((e, pin) => {
      if (typeof e !== 'object' || e === null || Array.isArray(e)) bad(`redirection[${pin}] must be {low, high}`);
      for (const k of Object.keys(e)) if (k !== 'low' && k !== 'high') bad(`redirection[${pin}].${k}: unknown field`);
      for (const k of ['low', 'high'] as const) if (!isInt(e[k], 0, 0xffff_ffff)) bad(`redirection[${pin}].${k} must be a 32-bit unsigned integer, got ${describeValue(e[k])}`);
      if (e.low & ~(RTE_LOW_WRITABLE | RTE_LOW_STATUS)) bad(`redirection[${pin}].low sets reserved bits 31:17`);
      if (e.high & ~RTE_HIGH_WRITABLE) bad(`redirection[${pin}].high sets reserved bits 47:32`);
      if (e.low & RTE_REMOTE_IRR && !(e.low & RTE_TRIGGER_LEVEL)) bad(`redirection[${pin}]: remote IRR on an edge entry`);
      if (e.low & RTE_DELIVERY_STATUS && e.low & RTE_MASKED) bad(`redirection[${pin}]: delivery pending on a masked entry`);
    });
    const lines = s!.lines;
    if (!Array.isArray(lines) || lines.length !== this.pinCount) bad(`lines must be ${this.pinCount} booleans`);
    lines!.forEach((l, pin) => typeof l !== 'boolean' && bad(`lines[${pin}] must be a boolean, got ${describeValue(l)}`));
    this.apicId = s!.id!;
    this.arbitrationId = s!.arbitrationId!;
    this.ioregsel = s!.ioregsel!;
    red!.forEach((e, pin) => {
      this.low[pin] = e.low;
      this.high[pin] = e.high;
      this.lines[pin] = lines![pin]!;
    });
  }

  private requirePin(pin: number): void {
    requireInt(pin, 0, this.pinCount - 1, 'I/O APIC pin');
  }
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function requireInt(v: unknown, min: number, max: number, what: string): void {
  if (!isInt(v, min, max)) throw new IoApicError(`${what} must be an integer in ${min}..${max}, got ${describeValue(v)}`);
}

/** Accept a 32-bit value given signed or unsigned; return it unsigned. */
function requireU32(v: unknown): number {
  if (!isInt(v, -0x8000_0000, 0xffff_ffff)) throw new IoApicError(`MMIO value must be a 32-bit integer, got ${describeValue(v)}`);
  return (v as number) >>> 0;
}
