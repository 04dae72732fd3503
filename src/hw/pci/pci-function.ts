// A PCI function (PCI Local Bus 3.0 §6.2–§6.8): type 0 header, BARs, capability list, INTx per §6.2.2/§6.2.3, MSI/MSI-X upstream writes.
// Base class for device models; left out: expansion ROM, power management, parity/SERR reporting, PCIe extended capabilities.
import type { PciUpstream } from '../signals';
import type { AccessSize } from './config-space';
import type { BarSpec } from './bar';
import type { CapabilityHost, PciCapability } from './capability';
import type { PciEvent } from './errors';
import { ConfigSpace, checkValue } from './config-space';
import { Bar, PCI_BAR_COUNT } from './bar';
import { CapabilityList } from './capability';
import { PciLayoutError, PciUsageError } from './errors';
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
} from './header';

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
  private readonly bars: (Bar | null)[] = new Array<Bar | null>(PCI_BAR_COUNT).fill(null);
  private readonly caps: CapabilityList;
  /** Capabilities that own BAR regions (MSI-X), so BAR accesses skip the others. */
  private readonly barCaps: PciCapability[] = [];
  private binding: FunctionBinding | null = null;
  private intxOut = false;
  /** Command bit 2, kept by the command-register write hook (the only way it changes). */
  private masterOn = false;

  constructor(options: PciFunctionOptions) {
    const pin = options.interruptPin ?? 0;
    const check = (name: string, v: number | undefined, max: number) => {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > max)) throw new PciUsageError(`${name} must be 0..0x${max.toString(16)}, got ${String(v)}`);
    };
    check('vendorId', options.vendorId, 0xffff);
    check('deviceId', options.deviceId, 0xffff);
    check('classCode', options.classCode, 0xff_ffff);
    check('revision', options.revision, 0xff);
    check('subsystemVendorId', options.subsystemVendorId, 0xffff);
    check('subsystemId', options.subsystemId, 0xffff);
    check('interruptPin', pin, 4);
    if (options.vendorId === 0xffff) throw new PciUsageError('vendorId 0xFFFF means "no function" on the bus');
    this.interruptPin = pin;
    defineType0Header(this.config, {
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
    if (this.bars[index] !== null || (spec.kind === 'memory64' && this.bars[index + 1] !== null)) {
      throw new PciLayoutError(`BAR${index} is already implemented`);
    }
    const bar = new Bar(this.config, index, spec);
    this.bars[index] = bar;
    return bar;
  }

  /** The BAR whose low dword is at `index`, if implemented. */
  bar(index: number): Bar | null {
    return this.bars[index] ?? null;
  }

  /** Place a capability in the list; returns its config offset. */
  addCapability(cap: PciCapability): number {
    const at = this.caps.add(cap);
    if (typeof cap.barRead === 'function' || typeof cap.barWrite === 'function') this.barCaps.push(cap);
    return at;
  }

  capabilities(): readonly { offset: number; cap: PciCapability }[] {
    return this.caps.entries();
  }

  /** Called by PciHost when the function is added (once). */
  bind(binding: FunctionBinding): void {
    if (this.binding !== null) throw new PciUsageError(`function is already bound as ${this.binding.label}`);
    this.binding = binding;
    if (this.intxOut) binding.upstream.intx(this.interruptPin, true);
  }

  /** Set by the host for function 0 of a multi-function device (header type bit 7). */
  setMultiFunction(on: boolean): void {
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
    const bar = this.bars[index];
    return bar !== null && bar !== undefined && bar.isMemory ? bar.size : null;
  }

  /** The BAR (memory decode on, memory BAR) that wholly contains [address, address + size). */
  decodeMemory(address: bigint, size: number): { bar: number; offset: number } | null {
    if (!this.memoryEnabled()) return null;
    return this.decode(address, size, true);
  }

  /** The I/O BAR (I/O decode on) that wholly contains [port, port + size). */
  decodeIo(port: number, size: number): { bar: number; offset: number } | null {
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
    for (const cap of this.barCaps) {
      const v = cap.barRead?.(bar, offset, size);
      if (v !== undefined && v !== null) return v;
    }
    return this.barRead(bar, offset, size);
  }

  barAccessWrite(bar: number, offset: number, size: AccessSize, value: number): void {
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
    this.binding?.upstream.intx(this.interruptPin, level);
    this.intxChanged(level);
  }

  /** Hook for device models that count INTx assertions. */
  protected intxChanged(_level: boolean): void {}

  /** Master an MSI/MSI-X DWORD write upstream; false (and a report) when the function is not on a host. */
  sendMessage(address: bigint, data: number): boolean {
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

  report(event: PciEvent): void {
    this.binding?.report(event);
  }
}

function partsToBigint(lo: number, hi: number): bigint {
  return hi === 0 ? BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
