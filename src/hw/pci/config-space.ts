// A function's 4 KiB configuration space (PCI Local Bus 3.0 §6.1; PCIe Base §7.2.2: 256 B conventional + extended up to 4 KiB).
// Per-byte write masks and write-1-to-clear masks; undefined bytes read 0 and ignore writes. No extended capabilities are laid out here.
import { PciLayoutError, PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { checkBool, checkFunction, checkInt, checkOptions } from '../check.js';

export const CONFIG_SPACE_SIZE = 0x1000;
export const CONVENTIONAL_CONFIG_SIZE = 0x100;

export type AccessSize = 1 | 2 | 4;

/** How a field behaves on config writes: bits in `writable` take the written value, bits in `writeOneToClear` clear on 1. */
export interface FieldSpec {
  /** Reset value. */
  value?: number;
  writable?: number;
  writeOneToClear?: number;
}

type WriteHook = (offset: number, size: AccessSize) => void;

/**
 * Register storage with the mask discipline of the spec: a guest write can change only writable
 * bits and clear only RW1C bits; everything else is read-only to it. The device model changes
 * read-only bits (interrupt status, pending bits) through setRaw, which bypasses the masks.
 */
export class ConfigSpace {
  private readonly bytes = new Uint8Array(CONFIG_SPACE_SIZE);
  private readonly wmask = new Uint8Array(CONFIG_SPACE_SIZE);
  private readonly w1cmask = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Which field name owns each byte; catches overlapping definitions. */
  private readonly owner: (string | undefined)[] = new Array(CONFIG_SPACE_SIZE);
  private readonly hooks: { start: number; end: number; fn: WriteHook }[] = [];

  /** Declare a field of `size` bytes at `offset` with its reset value and masks. */
  define(name: string, offset: number, size: AccessSize, spec: FieldSpec = {}): void {
    if (typeof name !== 'string' || name === '') throw new PciUsageError(`config field name must be a non-empty string, got ${describeValue(name)}`);
    checkAccess(offset, size);
    checkOptions(PciUsageError, `config field '${name}'`, spec, ['value', 'writable', 'writeOneToClear']);
    for (const k of ['value', 'writable', 'writeOneToClear'] as const) {
      if (spec[k] !== undefined) checkInt(PciUsageError, `config field '${name}' ${k}`, spec[k], 0, size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1);
    }
    for (let i = 0; i < size; i++) {
      const prev = this.owner[offset + i];
      if (prev !== undefined) {
        throw new PciLayoutError(`config field '${name}' at 0x${hex(offset)} overlaps '${prev}' at byte 0x${hex(offset + i)}`);
      }
    }
    const wr = spec.writable ?? 0;
    const w1c = spec.writeOneToClear ?? 0;
    if ((wr & w1c) !== 0) throw new PciLayoutError(`config field '${name}': a bit cannot be both RW and RW1C`);
    for (let i = 0; i < size; i++) {
      this.owner[offset + i] = name;
      this.bytes[offset + i] = byteOf(spec.value ?? 0, i);
      this.wmask[offset + i] = byteOf(wr, i);
      this.w1cmask[offset + i] = byteOf(w1c, i);
    }
  }

  /** Run `fn` after every guest write that touches [start, start + length). */
  onWrite(start: number, length: number, fn: WriteHook): void {
    checkInt(PciUsageError, 'write hook start', start, 0, CONFIG_SPACE_SIZE - 1);
    checkInt(PciUsageError, 'write hook length', length, 1, CONFIG_SPACE_SIZE - start);
    checkFunction(PciUsageError, 'write hook', fn);
    this.hooks.push({ start, end: start + length, fn });
  }

  /** Guest read of 1, 2 or 4 bytes that stay within one dword. */
  read(offset: number, size: AccessSize): number {
    checkAccess(offset, size);
    return this.getRaw(offset, size);
  }

  /** Guest write: applies the write masks and RW1C masks, then runs the hooks covering the bytes. */
  write(offset: number, size: AccessSize, value: number): void {
    checkAccess(offset, size);
    const v = checkValue(value, size);
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const b = byteOf(v, i);
      const old = this.bytes[at]!;
      this.bytes[at] = ((old & ~this.wmask[at]!) | (b & this.wmask[at]!)) & ~(b & this.w1cmask[at]!);
    }
    for (const h of this.hooks) {
      if (offset < h.end && offset + size > h.start) h.fn(offset, size);
    }
  }

  /** Device-side read (no side effects). */
  getRaw(offset: number, size: AccessSize): number {
    checkAccess(offset, size);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.bytes[offset + i]!;
    return v >>> 0;
  }

  /** Device-side write: ignores the masks and runs no hooks (status bits, pending bits, clamps). */
  setRaw(offset: number, size: AccessSize, value: number): void {
    checkAccess(offset, size);
    const v = checkValue(value, size);
    for (let i = 0; i < size; i++) this.bytes[offset + i] = byteOf(v, i);
  }

  /** Set or clear `bits` of a field from the device side. */
  setBits(offset: number, size: AccessSize, bits: number, on: boolean): void {
    checkValue(bits, size);
    checkBool(PciUsageError, 'setBits on', on);
    const old = this.getRaw(offset, size);
    this.setRaw(offset, size, (on ? old | bits : old & ~bits) >>> 0);
  }

  /** Bits a guest write can set or clear (RW) at these bytes. */
  writableMask(offset: number, size: AccessSize): number {
    checkAccess(offset, size);
    return gather(this.wmask, offset, size);
  }

  /** Bits a guest write of 1 clears (RW1C) at these bytes. */
  writeOneToClearMask(offset: number, size: AccessSize): number {
    checkAccess(offset, size);
    return gather(this.w1cmask, offset, size);
  }

  /** Name of the field that owns `offset`, if any (for dumps and error messages). */
  fieldAt(offset: number): string | undefined {
    checkAccess(offset, 1);
    return this.owner[offset];
  }

  /** Device-side restore of all 4096 bytes (a snapshot): masks and hooks do not apply. */
  restoreBytes(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array) || bytes.length !== CONFIG_SPACE_SIZE) throw new PciUsageError(`restoreBytes takes the ${CONFIG_SPACE_SIZE} bytes of a config space`);
    this.bytes.set(bytes);
  }

  /**
   * Copy of all 4096 bytes, for dumps, comparisons and PciFunction.saveState() (which
   * checks a saved copy against the masks before restoreBytes() takes it back).
   */
  snapshot(): Uint8Array {
    return this.bytes.slice();
  }
}

function gather(arr: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = (v << 8) | arr[offset + i]!;
  return v >>> 0;
}

function byteOf(v: number, i: number): number {
  return (v >>> (8 * i)) & 0xff;
}

function hex(v: number): string {
  return v.toString(16).padStart(2, '0');
}

/** An access must be 1, 2 or 4 bytes, inside the 4 KiB and within one dword (the Type 0/1 cycle rule). */
export function checkAccess(offset: number, size: number): asserts size is AccessSize {
  if (size !== 1 && size !== 2 && size !== 4) throw new PciUsageError(`config access size must be 1, 2 or 4, got ${describeValue(size)}`);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > CONFIG_SPACE_SIZE) {
    throw new PciUsageError(`config offset ${describeValue(offset)} (+${size}) outside 0..0xfff`);
  }
  if ((offset & 3) + size > 4) throw new PciUsageError(`config access at 0x${hex(offset)} size ${size} crosses a dword boundary`);
}

/** Accept a value of the access width, signed or unsigned; return it unsigned. */
export function checkValue(value: number, size: AccessSize): number {
  if (size !== 1 && size !== 2 && size !== 4) throw new PciUsageError(`access size must be 1, 2 or 4, got ${describeValue(size)}`);
  const max = size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
  const min = size === 4 ? -0x8000_0000 : 0;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PciUsageError(`value ${describeValue(value)} does not fit a ${size}-byte access`);
  }
  return value >>> 0;
}
