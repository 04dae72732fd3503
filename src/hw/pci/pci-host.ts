// Host bridge: configuration mechanism #1 (CF8/CFC, PCI Local Bus 3.0 §3.2.2.3.2), ECAM (PCIe Base §7.2.2) and BAR decode routing.
// Left out: PCI-to-PCI bridges and type 1 forwarding (every registered bus is reachable directly), segments ≠ 0, special cycles.
import type { PciUpstream } from '../signals.js';
import type { AccessSize } from './config-space.js';
import type { Bdf } from './bdf.js';
import type { PciEvent } from './errors.js';
import { PciFunction } from './pci-function.js';
import { bdfKey, formatBdf, parseBdf } from './bdf.js';
import { checkValue } from './config-space.js';
import { PciLayoutError, PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { checkFunction, checkOptions } from '../check.js';

export const CONFIG_ADDRESS_PORT = 0xcf8;
export const CONFIG_DATA_PORT = 0xcfc;
const CONFIG_PORTS_END = 0xd00;
export const CONFIG_ADDRESS_ENABLE = 0x8000_0000;
/** CONFIG_ADDRESS keeps enable, bus, device, function and dword register; 30:24 and 1:0 read back 0. */
export const CONFIG_ADDRESS_MASK = 0x80ff_fffc;
/** 256 buses × 32 devices × 8 functions × 4 KiB. */
export const ECAM_SIZE = 0x1000_0000;
const ECAM_BUS_SHIFT = 20;
const ECAM_DEV_SHIFT = 15;
const ECAM_FN_SHIFT = 12;

/** What the board gives the host: where MSI writes and INTx levels go. */
export interface PciHostUpstream {
  /** A function's DWORD memory write; false when nothing claimed it (a master abort, see PciUpstream). */
  memoryWrite(address: bigint, data: number): unknown;
  /** Optional BigInt-free form of memoryWrite (address hi·2^32 + lo, 32-bit patterns); used when present. */
  memoryWriteParts?(addressLo: number, addressHi: number, data: number): unknown;
  /**
   * Optional forms naming the requester ID of the master (bus << 8 | dev << 3 | fn, the VT-d source-id):
   * used instead of memoryWrite / memoryWriteParts when present (a board with interrupt remapping).
   */
  memoryWriteFrom?(requesterId: number, address: bigint, data: number): unknown;
  memoryWritePartsFrom?(requesterId: number, addressLo: number, addressHi: number, data: number): unknown;
  intx(bdf: string, pin: number, level: boolean): void;
}

export interface PciHostOptions {
  upstream?: PciHostUpstream;
  onEvent?: (event: PciEvent) => void;
}

interface Slot {
  bdf: Bdf;
  label: string;
  fn: PciFunction;
}

/**
 * Decode rules (documented contract):
 * - Only a 32-bit access at 0xCF8 reaches CONFIG_ADDRESS; 8/16-bit accesses at 0xCF8–0xCFB are not
 *   claimed (ioRead → null, ioWrite → false) so the board can pass them on (e.g. 0xCF9 reset control).
 * - 0xCFC–0xCFF: a w-byte access at 0xCFC+k reaches config bytes (reg << 2) + k …; an access that is
 *   not wholly inside 0xCF8–0xCFB or 0xCFC–0xCFF is not claimed.
 * - Enable = 0, or no function at the address: reads all ones of the access width, writes dropped.
 * - ECAM accesses crossing a dword are reported and read as all ones / dropped.
 * - Overlapping BARs of different functions: the function added first claims the access.
 */
export class PciHost {
  private readonly slots = new Map<number, Slot>();
  private readonly present = new Set<PciFunction>();
  /** functions() in BDF order, built once after each add (a board asks for it on every decode miss). */
  private sorted: readonly { readonly bdf: string; readonly fn: PciFunction }[] | null = null;
  private readonly upstreamSink: PciHostUpstream | null;
  private readonly onEvent: (event: PciEvent) => void;
  private configAddress = 0;

  constructor(options: PciHostOptions = {}) {
    const o = checkOptions(PciUsageError, 'PciHost options', options, ['upstream', 'onEvent']);
    if (o.upstream !== undefined) checkHostUpstream(o.upstream);
    if (o.onEvent !== undefined) checkFunction(PciUsageError, 'onEvent', o.onEvent);
    this.upstreamSink = options.upstream ?? null;
    this.onEvent = options.onEvent ?? (() => {});
  }

  // ---- Registry ----------------------------------------------------------------------------

  /** Plug `fn` in at `bdf` and bind its upstream (MSI writes, INTx) to this host. */
  add(bdf: string | Bdf, fn: PciFunction): void {
    const b = parseBdf(bdf);
    const key = bdfKey(b);
    const label = formatBdf(b);
    if (this.slots.has(key)) throw new PciLayoutError(`a function is already present at ${label}`);
    if (!(fn instanceof PciFunction)) throw new PciUsageError(`add(${label}): the function must be a PciFunction, got ${describeValue(fn)}`);
    if (this.present.has(fn)) throw new PciLayoutError(`this function is already present at another BDF`);
    fn.bind({ upstream: this.upstreamFor(label, key), label, report: (e) => this.onEvent(e) });
    this.slots.set(key, { bdf: b, label, fn });
    this.present.add(fn);
    this.sorted = null;
    this.updateMultiFunction(b.bus, b.dev);
  }

  /** The function at `bdf`, if any. */
  get(bdf: string | Bdf): PciFunction | undefined {
    return this.slots.get(bdfKey(parseBdf(bdf)))?.fn;
  }

  /** Every function, in bus/device/function order (a frozen list, the same one until the next add). */
  functions(): readonly { readonly bdf: string; readonly fn: PciFunction }[] {
    this.sorted ??= Object.freeze(
      [...this.slots.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => Object.freeze({ bdf: s.label, fn: s.fn })),
    );
    return this.sorted;
  }

  /** Function 0 advertises the other functions of its device through header type bit 7. */
  private updateMultiFunction(bus: number, dev: number): void {
    const fn0 = this.slots.get(bdfKey({ bus, dev, fn: 0 }));
    if (fn0 === undefined) return;
    let count = 0;
    for (let f = 0; f < 8; f++) if (this.slots.has(bdfKey({ bus, dev, fn: f }))) count++;
    fn0.fn.setMultiFunction(count > 1);
  }

  private upstreamFor(label: string, requesterId: number): PciUpstream {
    const sink = this.upstreamSink;
    if (sink !== null) {
      const intx = (pin: number, level: boolean): void => sink.intx(label, pin, level);
      if (typeof sink.memoryWriteFrom === 'function') {
        // The requester ID travels with every write (a remapping unit validates it against the IRTE).
        const up: PciUpstream = { memoryWrite: (a, d) => sink.memoryWriteFrom!(requesterId, a, d), intx };
        if (typeof sink.memoryWritePartsFrom === 'function') up.memoryWriteParts = (lo, hi, d) => sink.memoryWritePartsFrom!(requesterId, lo, hi, d);
        return up;
      }
      const up: PciUpstream = { memoryWrite: (a, d) => sink.memoryWrite(a, d), intx };
      if (typeof sink.memoryWriteParts === 'function') up.memoryWriteParts = (lo, hi, d) => sink.memoryWriteParts!(lo, hi, d);
      return up;
    }
    return {
      memoryWrite: (address, data) => this.onEvent({ kind: 'msi-message-dropped', bdf: label, reason: 'no-upstream', address, data }),
      intx: (pin, level) => this.onEvent({ kind: 'intx-dropped', bdf: label, reason: 'no-upstream', pin, level }),
    };
  }

  // ---- Port I/O: CF8/CFC and I/O BARs ------------------------------------------------------

  /** Current CONFIG_ADDRESS (as a 32-bit read of 0xCF8 returns it). */
  get configAddressRegister(): number {
    return this.configAddress;
  }

  /** Port read; null when nothing on this host claims the port. */
  ioRead(port: number, size: AccessSize): number | null {
    checkPortAccess(port, size);
    if (overlapsConfigPorts(port, size)) {
      if (port === CONFIG_ADDRESS_PORT && size === 4) return this.configAddress;
      if (port >= CONFIG_DATA_PORT && port + size <= CONFIG_PORTS_END) {
        const slot = this.selected();
        return slot === null ? allOnes(size) : slot.fn.configRead(this.selectedRegister() + (port - CONFIG_DATA_PORT), size);
      }
      return null;
    }
    for (const s of this.ordered()) {
      const hit = s.fn.decodeIo(port, size);
      if (hit !== null) return s.fn.barAccessRead(hit.bar, hit.offset, size);
    }
    return null;
  }

  /** Port write; false when nothing on this host claims the port. */
  ioWrite(port: number, size: AccessSize, value: number): boolean {
    checkPortAccess(port, size);
    const v = checkValue(value, size);
    if (overlapsConfigPorts(port, size)) {
      if (port === CONFIG_ADDRESS_PORT && size === 4) {
        this.configAddress = (v & CONFIG_ADDRESS_MASK) >>> 0;
        return true;
      }
      if (port >= CONFIG_DATA_PORT && port + size <= CONFIG_PORTS_END) {
        this.selected()?.fn.configWrite(this.selectedRegister() + (port - CONFIG_DATA_PORT), size, v);
        return true;
      }
      return false;
    }
    for (const s of this.ordered()) {
      const hit = s.fn.decodeIo(port, size);
      if (hit !== null) {
        s.fn.barAccessWrite(hit.bar, hit.offset, size, v);
        return true;
      }
    }
    return false;
  }

  private selected(): Slot | null {
    if (!(this.configAddress & CONFIG_ADDRESS_ENABLE)) return null;
    return this.slots.get((this.configAddress >>> 8) & 0xffff) ?? null; // bits 23:8 = bus:dev:fn
  }

  private selectedRegister(): number {
    return this.configAddress & 0xfc;
  }

  // ---- ECAM --------------------------------------------------------------------------------

  ecamRead(offset: number, size: AccessSize): number {
    const at = this.ecamDecode(offset, size, 'read');
    return at === null ? allOnes(size) : at.slot.fn.configRead(at.reg, size);
  }

  ecamWrite(offset: number, size: AccessSize, value: number): void {
    const v = checkValue(value, size);
    const at = this.ecamDecode(offset, size, 'write');
    at?.slot.fn.configWrite(at.reg, size, v);
  }

  private ecamDecode(offset: number, size: AccessSize, access: 'read' | 'write'): { slot: Slot; reg: number } | null {
    if (size !== 1 && size !== 2 && size !== 4) throw new PciUsageError(`ECAM access size must be 1, 2 or 4, got ${describeValue(size)}`);
    if (!Number.isInteger(offset) || offset < 0 || offset + size > ECAM_SIZE) {
      throw new PciUsageError(`ECAM offset ${describeValue(offset)} (+${size}) outside 0..0x${(ECAM_SIZE - 1).toString(16)}`);
    }
    const bus = offset >>> ECAM_BUS_SHIFT;
    const dev = (offset >>> ECAM_DEV_SHIFT) & 0x1f;
    const fn = (offset >>> ECAM_FN_SHIFT) & 0x7;
    const reg = offset & 0xfff;
    const slot = this.slots.get(bdfKey({ bus, dev, fn }));
    if (slot === undefined) return null;
    if ((reg & 3) + size > 4) {
      this.onEvent({ kind: 'config-access-crosses-dword', bdf: slot.label, offset: reg, size, access });
      return null;
    }
    return { slot, reg };
  }

  // ---- Memory BAR routing ------------------------------------------------------------------

  /** Memory read routed to the function whose enabled memory BAR contains it; null when unclaimed. */
  mmioRead(address: bigint | number, size: AccessSize): number | null {
    const a = checkAddress(address, size);
    for (const s of this.ordered()) {
      const hit = s.fn.decodeMemory(a, size);
      if (hit !== null) return s.fn.barAccessRead(hit.bar, hit.offset, size);
    }
    return null;
  }

  /** Memory write routed like mmioRead; false when unclaimed. */
  mmioWrite(address: bigint | number, size: AccessSize, value: number): boolean {
    const a = checkAddress(address, size);
    const v = checkValue(value, size);
    for (const s of this.ordered()) {
      const hit = s.fn.decodeMemory(a, size);
      if (hit !== null) {
        s.fn.barAccessWrite(hit.bar, hit.offset, size, v);
        return true;
      }
    }
    return false;
  }

  /** Slots in insertion order (Map order): the first added claims overlapping BARs. */
  private ordered(): IterableIterator<Slot> {
    return this.slots.values();
  }
}

function checkHostUpstream(up: unknown): void {
  if (typeof up !== 'object' || up === null) throw new PciUsageError(`upstream must be { memoryWrite, intx, memoryWriteParts?, memoryWriteFrom?, memoryWritePartsFrom? }, got ${describeValue(up)}`);
  const u = up as Record<string, unknown>;
  checkFunction(PciUsageError, 'upstream.memoryWrite', u.memoryWrite);
  checkFunction(PciUsageError, 'upstream.intx', u.intx);
  if (u.memoryWriteParts !== undefined) checkFunction(PciUsageError, 'upstream.memoryWriteParts', u.memoryWriteParts);
  if (u.memoryWriteFrom !== undefined) checkFunction(PciUsageError, 'upstream.memoryWriteFrom', u.memoryWriteFrom);
  if (u.memoryWritePartsFrom !== undefined) checkFunction(PciUsageError, 'upstream.memoryWritePartsFrom', u.memoryWritePartsFrom);
}

function allOnes(size: AccessSize): number {
  return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
}

function overlapsConfigPorts(port: number, size: number): boolean {
  return port < CONFIG_PORTS_END && port + size > CONFIG_ADDRESS_PORT;
}

function checkPortAccess(port: number, size: number): void {
  if (size !== 1 && size !== 2 && size !== 4) throw new PciUsageError(`I/O access size must be 1, 2 or 4, got ${describeValue(size)}`);
  if (!Number.isInteger(port) || port < 0 || port + size > 0x10000) throw new PciUsageError(`I/O port ${describeValue(port)} (+${size}) outside 0..0xffff`);
}

function checkAddress(address: bigint | number, size: number): bigint {
  if (size !== 1 && size !== 2 && size !== 4) throw new PciUsageError(`MMIO access size must be 1, 2 or 4, got ${describeValue(size)}`);
  const a = typeof address === 'bigint' ? address : Number.isSafeInteger(address) ? BigInt(address) : -1n;
  if (a < 0n || a + BigInt(size) > 1n << 64n) throw new PciUsageError(`MMIO address ${describeValue(address)} is not a 64-bit physical address`);
  return a;
}
