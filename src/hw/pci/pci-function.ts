// A PCI function (PCI Local Bus 3.0 §6.2–§6.8): type 0 header (type 1 for bridges, bridge-header.ts), BARs, capability list, INTx per §6.2.2/§6.2.3, MSI/MSI-X upstream writes.
// Base class for device models; left out: expansion ROM, power management, parity/SERR reporting, PCIe extended capabilities.
import type { PciUpstream } from '../signals.js';
import type { AccessSize } from './config-space.js';
import type { BarSpec } from './bar.js';
import type { CapabilityHost, PciCapability } from './capability.js';
import type { PciEvent } from './errors.js';
import { ConfigSpace, checkValue } from './config-space.js';
import { Bar, PCI_BAR_COUNT } from './bar.js';
import { CapabilityList } from './capability.js';
import { PciLayoutError, PciUsageError } from './errors.js';
import {
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_HEADER_TYPE,
  PCI_HEADER_TYPE_MULTIFUNCTION,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
  PCI_STATUS_REC_MASTER_ABORT,
  defineType0Header,
} from './header.js';
import { defineType1Header, PCI_BRIDGE_BAR_COUNT } from './bridge-header.js';
import { describeValue } from '../describe.js';
import { BAR_READ, BAR_WRITE } from '../internal.js';
import { checkFunctionState, encodeConfig, statefulCapabilities, PCI_FUNCTION_STATE_FORMAT, type PciBarShape, type PciFunctionState } from './function-state.js';
import { checkBigint, checkBool, checkFunction, checkInt, checkOptions } from '../check.js';

export interface PciFunctionOptions {
  vendorId: number;
  deviceId: number;
  /** 24-bit class code (base class 23:16, subclass 15:8, prog-IF 7:0). */
  classCode: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 0 = no INTx pin, 1–4 = INTA#–INTD#. */
  interruptPin?: number;
  /** 0 (default): type 0 header, six BARs. 1: type 1 (bridge) header, two BARs, no subsystem IDs. */
  headerType?: 0 | 1;
}

/** Where a function sends its upstream traffic once a host has adopted it. */
export interface FunctionBinding {
  upstream: PciUpstream;
  label: string;
  report: (event: PciEvent) => void;
}

/**
 * INTx contract (§6.2.2/§6.2.3, §6.8): the pin is asserted exactly while status.3 = 1,
 * command.10 = 0, no MSI/MSI-X capability is enabled, and the function has a pin. Changes are
 * pushed upstream edge by edge (assert/de-assert), never repeated.
 */
export class PciFunction implements CapabilityHost {
  readonly config = new ConfigSpace();
  readonly interruptPin: number;
  readonly headerType: 0 | 1;
  private readonly bars: (Bar | null)[] = new Array<Bar | null>(PCI_BAR_COUNT).fill(null);
  private readonly caps: CapabilityList;
  /** Capabilities that own BAR regions (MSI-X), so BAR accesses skip the others. */
  private readonly barCaps: PciCapability[] = [];
  private binding: FunctionBinding | null = null;
  private intxOut = false;
  /** Command bit 2, kept by the command-register write hook (the only way it changes). */
  private masterOn = false;
  /** loadState() in progress: the INTx level follows the restored registers without an edge upstream. */
  private restoring = false;

  constructor(options: PciFunctionOptions) {
    checkOptions(PciUsageError, 'PciFunction options', options, ['vendorId', 'deviceId', 'classCode', 'revision', 'subsystemVendorId', 'subsystemId', 'interruptPin', 'headerType']);
    const headerType = options.headerType ?? 0;
    if (headerType !== 0 && headerType !== 1) throw new PciUsageError(`headerType must be 0 or 1, got ${describeValue(options.headerType)}`);
    if (headerType === 1 && (options.subsystemVendorId !== undefined || options.subsystemId !== undefined)) {
      throw new PciUsageError('a type 1 header has no subsystem ID registers (0x2C is the prefetchable limit there)');
    }
    const pin = options.interruptPin ?? 0;
    const check = (name: string, v: number | undefined, max: number, required = false) => {
      if (v !== undefined || required) checkInt(PciUsageError, name, v, 0, max);
    };
    check('vendorId', options.vendorId, 0xffff, true);
    check('deviceId', options.deviceId, 0xffff, true);
    check('classCode', options.classCode, 0xff_ffff, true);
    check('revision', options.revision, 0xff);
    check('subsystemVendorId', options.subsystemVendorId, 0xffff);
    check('subsystemId', options.subsystemId, 0xffff);
    check('interruptPin', pin, 4);
    if (options.vendorId === 0xffff) throw new PciUsageError('vendorId 0xFFFF means "no function" on the bus');
    this.interruptPin = pin;
    this.headerType = headerType;
    (headerType === 1 ? defineType1Header : defineType0Header)(this.config, {
      vendorId: options.vendorId,
      deviceId: options.deviceId,
      classCode: options.classCode,
      revision: options.revision ?? 0,
      subsystemVendorId: options.subsystemVendorId ?? 0,
      subsystemId: options.subsystemId ?? 0,
      interruptPin: pin,
    });
    this.caps = new CapabilityList(this.config, this);
    this.masterOn = (this.command & PCI_COMMAND_MASTER) !== 0;
    this.config.onWrite(PCI_COMMAND, 2, () => this.afterCommandWrite());
  }

  // ---- Construction ------------------------------------------------------------------------

  /** Implement BAR `index`; a 64-bit BAR also takes index + 1. */
  addBar(index: number, spec: BarSpec): Bar {
    checkBarIndex(index);
    if (this.headerType === 1 && index + (spec?.kind === 'memory64' ? 1 : 0) >= PCI_BRIDGE_BAR_COUNT) {
      throw new PciLayoutError(`a type 1 header has BAR0 and BAR1 only, got BAR${index}${spec?.kind === 'memory64' ? ' (64-bit)' : ''}`);
    }
    checkOptions(PciUsageError, `BAR${index} spec`, spec, ['kind', 'size', 'prefetchable']);
    if (this.bars[index] !== null || (spec.kind === 'memory64' && this.bars[index + 1] !== null)) {
      throw new PciLayoutError(`BAR${index} is already implemented`);
    }
    const bar = new Bar(this.config, index, spec);
    this.bars[index] = bar;
    return bar;
  }

  /** The BAR whose low dword is at `index`, if implemented. */
  bar(index: number): Bar | null {
    checkBarIndex(index);
    return this.bars[index] ?? null;
  }

  /** Place a capability in the list; returns its config offset. */
  addCapability(cap: PciCapability): number {
    if (typeof cap !== 'object' || cap === null || typeof cap.attach !== 'function') {
      throw new PciUsageError(`addCapability() takes a capability (id, length, attach()), got ${describeValue(cap)}`);
    }
    const at = this.caps.add(cap);
    if (typeof cap.barRead === 'function' || typeof cap.barWrite === 'function') this.barCaps.push(cap);
    return at;
  }

  capabilities(): readonly { offset: number; cap: PciCapability }[] {
    return this.caps.entries();
  }

  /** Called by PciHost when the function is added (once). */
  bind(binding: FunctionBinding): void {
    const b = checkOptions(PciUsageError, 'binding', binding, ['upstream', 'label', 'report']);
    checkUpstream(b.upstream, 'binding.upstream');
    if (typeof b.label !== 'string') throw new PciUsageError(`binding.label must be a string, got ${describeValue(b.label)}`);
    checkFunction(PciUsageError, 'binding.report', b.report);
    if (this.binding !== null) throw new PciUsageError(`function is already bound as ${this.binding.label}`);
    this.binding = binding;
    if (this.intxOut) binding.upstream.intx(this.interruptPin, true);
  }

  /** Set by the host for function 0 of a multi-function device (header type bit 7). */
  setMultiFunction(on: boolean): void {
    checkBool(PciUsageError, 'multi-function', on);
    this.config.setBits(PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_MULTIFUNCTION, on);
  }

  // ---- Config space access (from the host bridge) ------------------------------------------

  configRead(offset: number, size: AccessSize): number {
    return this.config.read(offset, size);
  }

  configWrite(offset: number, size: AccessSize, value: number): void {
    this.config.write(offset, size, value);
  }

  get command(): number {
    return this.config.getRaw(PCI_COMMAND, 2);
  }
  get status(): number {
    return this.config.getRaw(PCI_STATUS, 2);
  }
  busMasterEnabled(): boolean {
    return this.masterOn;
  }
  memoryEnabled(): boolean {
    return (this.command & PCI_COMMAND_MEMORY) !== 0;
  }
  ioEnabled(): boolean {
    return (this.command & PCI_COMMAND_IO) !== 0;
  }

  private afterCommandWrite(): void {
    this.masterOn = (this.command & PCI_COMMAND_MASTER) !== 0;
    this.updateIntx();
    for (const { cap } of this.caps.entries()) cap.commandChanged?.();
  }

  // ---- BAR decode and MMIO -----------------------------------------------------------------

  memoryBarSize(index: number): bigint | null {
    checkBarIndex(index);
    const bar = this.bars[index];
    return bar !== null && bar !== undefined && bar.isMemory ? bar.size : null;
  }

  /** The BAR (memory decode on, memory BAR) that wholly contains [address, address + size). */
  decodeMemory(address: bigint, size: number): { bar: number; offset: number } | null {
    checkBigint(PciUsageError, 'memory address', address, 0n, U64_MAX);
    checkSize(size);
    if (!this.memoryEnabled()) return null;
    return this.decode(address, size, true);
  }

  /** The I/O BAR (I/O decode on) that wholly contains [port, port + size). */
  decodeIo(port: number, size: number): { bar: number; offset: number } | null {
    checkInt(PciUsageError, 'I/O port', port, 0, 0xffff);
    checkSize(size);
    if (!this.ioEnabled()) return null;
    return this.decode(BigInt(port), size, false);
  }

  private decode(address: bigint, size: number, memory: boolean): { bar: number; offset: number } | null {
    for (const bar of this.bars) {
      if (bar === null || bar.isMemory !== memory) continue;
      const off = bar.offsetOf(address, size);
      // Offsets beyond 2^53 cannot be handled by number-based handlers; such BARs are never that large in practice.
      if (off !== null && off <= BigInt(Number.MAX_SAFE_INTEGER)) return { bar: bar.index, offset: Number(off) };
    }
    return null;
  }

  /** Access to BAR `bar` at `offset`: capability-owned regions (MSI-X) first, then the device. */
  barAccessRead(bar: number, offset: number, size: AccessSize): number {
    checkBarAccess(bar, offset, size);
    return this[BAR_READ](bar, offset, size);
  }

  /** barAccessRead() for a board that has just decoded the access to this BAR. */
  [BAR_READ](bar: number, offset: number, size: AccessSize): number {
    for (const cap of this.barCaps) {
      const v = cap.barRead?.(bar, offset, size);
      if (v !== undefined && v !== null) return v;
    }
    return this.barRead(bar, offset, size);
  }

  barAccessWrite(bar: number, offset: number, size: AccessSize, value: number): void {
    checkBarAccess(bar, offset, size);
    this[BAR_WRITE](bar, offset, size, value);
  }

  /** barAccessWrite() for a board that has just decoded the access to this BAR. */
  [BAR_WRITE](bar: number, offset: number, size: AccessSize, value: number): void {
    const v = checkValue(value, size);
    for (const cap of this.barCaps) {
      if (cap.barWrite?.(bar, offset, size, v) === true) return;
    }
    this.barWrite(bar, offset, size, v);
  }

  /** Device registers behind a BAR; the base function has none (reads 0, writes ignored). */
  protected barRead(_bar: number, _offset: number, _size: AccessSize): number {
    return 0;
  }
  protected barWrite(_bar: number, _offset: number, _size: AccessSize, _value: number): void {}

  // ---- Interrupts --------------------------------------------------------------------------

  /** Device side: set or clear the internal INTx request (status bit 3). */
  setInterruptStatus(pending: boolean): void {
    checkBool(PciUsageError, 'interrupt status', pending);
    this.config.setBits(PCI_STATUS, 2, PCI_STATUS_INTERRUPT, pending);
    this.updateIntx();
  }

  get interruptStatus(): boolean {
    return (this.status & PCI_STATUS_INTERRUPT) !== 0;
  }

  /** Level the function drives on its INTx pin right now. */
  get intxAsserted(): boolean {
    return this.intxOut;
  }

  /** True while an enabled MSI or MSI-X capability forbids INTx. */
  messageInterruptsEnabled(): boolean {
    return this.caps.entries().some(({ cap }) => cap.blocksIntx?.() === true);
  }

  interruptModeChanged(): void {
    this.updateIntx();
  }

  private updateIntx(): void {
    const level =
      this.interruptPin !== 0 &&
      this.interruptStatus &&
      (this.command & PCI_COMMAND_INTX_DISABLE) === 0 &&
      !this.messageInterruptsEnabled();
    if (level === this.intxOut) return;
    this.intxOut = level;
    if (this.restoring) return;
    this.binding?.upstream.intx(this.interruptPin, level);
    this.intxChanged(level);
  }

  /** Hook for device models that count INTx assertions. */
  protected intxChanged(_level: boolean): void {}

  /** Master an MSI/MSI-X DWORD write upstream; false (and a report) when the function is not on a host. */
  sendMessage(address: bigint, data: number): boolean {
    checkBigint(PciUsageError, 'message address', address, 0n, U64_MAX);
    checkInt(PciUsageError, 'message data', data, 0, 0xffff_ffff);
    if (this.binding === null) return false;
    if (this.binding.upstream.memoryWrite(address, data) === false) this.masterAbort();
    this.messageSent(address, data);
    return true;
  }

  /**
   * sendMessage() with the address as two 32-bit halves (signed or unsigned patterns, like data):
   * no BigInt unless the upstream needs one.
   */
  sendMessageParts(addressLo: number, addressHi: number, data: number): boolean {
    // The message path: typeof and integer tests only.
    if (notPattern(addressLo) || notPattern(addressHi) || notPattern(data)) {
      throw new PciUsageError(`sendMessageParts takes three 32-bit patterns, got ${[addressLo, addressHi, data].map(describeValue).join(', ')}`);
    }
    const b = this.binding;
    if (b === null) return false;
    const up = b.upstream;
    const claimed = up.memoryWriteParts !== undefined ? up.memoryWriteParts(addressLo, addressHi, data) : up.memoryWrite(partsToBigint(addressLo, addressHi), data >>> 0);
    if (claimed === false) this.masterAbort();
    this.messageSentParts(addressLo, addressHi, data);
    return true;
  }

  /** Our write was not claimed: status bit 13, Received Master Abort (RW1C), as PCI 3.0 §6.2.3 says. */
  private masterAbort(): void {
    this.config.setBits(PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT, true);
  }

  /** Hook for device models that count traffic. */
  protected messageSent(_address: bigint, _data: number): void {}

  /** messageSent() for sendMessageParts(); override both to avoid building the BigInt. */
  protected messageSentParts(addressLo: number, addressHi: number, data: number): void {
    this.messageSent(partsToBigint(addressLo, addressHi), data >>> 0);
  }

  get label(): string {
    return this.binding?.label ?? 'unattached';
  }

  // ---- State -------------------------------------------------------------------------------

  /**
   * JSON-safe state: configuration bytes, each stateful capability's saveState() (MSI, MSI-X with
   * its table and PBA) and the device model's own registers (saveDeviceState()).
   */
  saveState(): PciFunctionState {
    const state: PciFunctionState = {
      format: PCI_FUNCTION_STATE_FORMAT,
      bars: this.barShapes(),
      config: encodeConfig(this.config.snapshot()),
      capabilities: statefulCapabilities(this.caps.entries()).map(({ offset, cap }) => ({ offset, id: cap.id, state: cap.saveState!() })),
    };
    const device = this.saveDeviceState();
    if (device !== undefined) state.device = device;
    return state;
  }

  /**
   * Validates a state for loadState() without applying it: PciStateError naming the field. A byte
   * may differ from this function's only in bits hardware could have changed (writable, RW1C, the
   * interrupt status bit, capability registers that agree with the capability's state): other IDs,
   * BAR sizes or capability layouts are refused.
   */
  checkState(state: unknown): void {
    this.checkedState(state);
  }

  /**
   * Restores a state exactly (validated first; nothing changes if it is refused) and sends nothing.
   * The INTx pin takes the restored level without an edge: the upstream's view of the line belongs to
   * the board's state (Machine.loadState restores it with the I/O APIC).
   */
  loadState(state: unknown): void {
    const s = this.checkedState(state);
    this.restoring = true;
    try {
      this.config.restoreBytes(s.bytes);
      this.masterOn = (this.command & PCI_COMMAND_MASTER) !== 0;
      for (const c of s.capabilities) c.cap.loadState!(c.state);
      if (s.device !== undefined) this.loadDeviceState(s.device);
      this.updateIntx();
    } finally {
      this.restoring = false;
    }
  }

  private barShapes(): PciBarShape[] {
    return this.bars.flatMap((b) => (b === null ? [] : [{ index: b.index, kind: b.kind, size: `0x${b.size.toString(16)}`, prefetchable: b.prefetchable }]));
  }

  private checkedState(state: unknown) {
    return checkFunctionState(state, this.barShapes(), this.config, this.caps.entries(), this.saveDeviceState() !== undefined, (d) => this.checkDeviceState(d));
  }

  /** A device model's own registers as JSON-safe data; undefined (the default) when it has none. */
  protected saveDeviceState(): unknown {
    return undefined;
  }
  /** Throws PciStateError (field relative to the device state) unless `state` is one saveDeviceState() could return. */
  protected checkDeviceState(_state: unknown): void {}
  /** Applies a device state checkDeviceState() accepted. */
  protected loadDeviceState(_state: unknown): void {}

  report(event: PciEvent): void {
    if (typeof event !== 'object' || event === null || typeof event.kind !== 'string') {
      throw new PciUsageError(`report() takes a PciEvent ({ kind, … }), got ${describeValue(event)}`);
    }
    this.binding?.report(event);
  }
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function checkBarIndex(index: unknown): void {
  checkInt(PciUsageError, 'BAR index', index, 0, PCI_BAR_COUNT - 1);
}

function checkSize(size: unknown): void {
  if (size !== 1 && size !== 2 && size !== 4) throw new PciUsageError(`access size must be 1, 2 or 4, got ${describeValue(size)}`);
}

function checkBarAccess(bar: unknown, offset: unknown, size: unknown): void {
  checkBarIndex(bar);
  checkInt(PciUsageError, 'BAR offset', offset, 0, Number.MAX_SAFE_INTEGER);
  checkSize(size);
}

/** Not a 32-bit pattern (signed or unsigned integer in range). */
function notPattern(v: number): boolean {
  return typeof v !== 'number' || ((v | 0) !== v && v >>> 0 !== v);
}

/** What a host or board hands a function as its upstream (PciUpstream). */
export function checkUpstream(up: unknown, what: string): void {
  if (typeof up !== 'object' || up === null) throw new PciUsageError(`${what} must be { memoryWrite, intx, memoryWriteParts? }, got ${describeValue(up)}`);
  const u = up as Record<string, unknown>;
  checkFunction(PciUsageError, `${what}.memoryWrite`, u.memoryWrite);
  checkFunction(PciUsageError, `${what}.intx`, u.intx);
  if (u.memoryWriteParts !== undefined) checkFunction(PciUsageError, `${what}.memoryWriteParts`, u.memoryWriteParts);
}

function partsToBigint(lo: number, hi: number): bigint {
  return hi === 0 ? BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
