// Base address registers of PCI Local Bus 3.0 §6.2.5.1: 32-bit and 64-bit memory BARs, I/O BARs, sizing by writing all ones.
// Left out: legacy "below 1 MiB" memory type (01), expansion ROM BAR, resizable BAR; I/O BARs keep all 32 address bits writable.
import { ConfigSpace } from './config-space.js';
import { PCI_BASE_ADDRESS_0 } from './header.js';
import { PciLayoutError, PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { checkOptions } from '../check.js';

export const PCI_BASE_ADDRESS_SPACE_IO = 0x1;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x4;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x8;
/** Low bits that carry type information: memory 3:0, I/O 1:0. */
export const PCI_BASE_ADDRESS_MEM_MASK = 0xffff_fff0;
export const PCI_BASE_ADDRESS_IO_MASK = 0xffff_fffc;
export const PCI_BAR_COUNT = 6;

export type BarKind = 'memory32' | 'memory64' | 'io';

export interface BarSpec {
  kind: BarKind;
  /** Power of two: memory ≥ 16 bytes (≤ 2 GiB for 32-bit), I/O 4–256 bytes. */
  size: number | bigint;
  prefetchable?: boolean;
}

const U64 = (1n << 64n) - 1n;

/** One BAR (a 64-bit one spans index and index + 1); its value lives in the config space. */
export class Bar {
  readonly size: bigint;
  readonly kind: BarKind;
  readonly prefetchable: boolean;
  private readonly offset: number;

  constructor(
    private readonly config: ConfigSpace,
    readonly index: number,
    spec: BarSpec,
  ) {
    if (!(config instanceof ConfigSpace)) throw new PciUsageError(`a BAR lives in a ConfigSpace, got ${describeValue(config)}`);
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= PCI_BAR_COUNT) {
      throw new PciLayoutError(`BAR index must be 0..5, got ${describeValue(index)}`);
    }
    checkOptions(PciUsageError, `BAR${describeValue(index)} spec`, spec, ['kind', 'size', 'prefetchable']);
    const size = spec.size;
    const sizeOk = typeof size === 'bigint' || (typeof size === 'number' && Number.isSafeInteger(size));
    if (!sizeOk) throw new PciLayoutError(`BAR${describeValue(index)} size must be an integer number of bytes (number or bigint), got ${describeValue(size)}`);
    if (spec.prefetchable !== undefined && typeof spec.prefetchable !== 'boolean') {
      throw new PciLayoutError(`BAR${describeValue(index)} prefetchable must be a boolean, got ${describeValue(spec.prefetchable)}`);
    }
    this.kind = spec.kind;
    this.prefetchable = spec.prefetchable ?? false;
    this.size = BigInt(size);
    this.offset = PCI_BASE_ADDRESS_0 + 4 * index;
    validate(index, spec.kind, this.size, this.prefetchable);
    const sizeMask = U64 ^ (this.size - 1n); // ~(size − 1): the address bits the guest may program
    if (spec.kind === 'io') {
      config.define(`bar${index}`, this.offset, 4, {
        value: PCI_BASE_ADDRESS_SPACE_IO,
        writable: Number(sizeMask & BigInt(PCI_BASE_ADDRESS_IO_MASK)),
      });
      return;
    }
    const type = (spec.kind === 'memory64' ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (this.prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
    config.define(`bar${index}`, this.offset, 4, {
      value: type,
      writable: Number(sizeMask & BigInt(PCI_BASE_ADDRESS_MEM_MASK)),
    });
    if (spec.kind === 'memory64') {
      config.define(`bar${index}-upper`, this.offset + 4, 4, { writable: Number((sizeMask >> 32n) & 0xffff_ffffn) });
    }
  }

  get isMemory(): boolean {
    return this.kind !== 'io';
  }

  /** Index of the next free BAR slot after this one. */
  get nextIndex(): number {
    return this.index + (this.kind === 'memory64' ? 2 : 1);
  }

  /** Programmed base address (type bits stripped). */
  base(): bigint {
    const low = this.config.getRaw(this.offset, 4);
    if (this.kind === 'io') return BigInt(low & PCI_BASE_ADDRESS_IO_MASK);
    const base = BigInt((low & PCI_BASE_ADDRESS_MEM_MASK) >>> 0);
    return this.kind === 'memory64' ? base | (BigInt(this.config.getRaw(this.offset + 4, 4)) << 32n) : base;
  }

  /** Offset of [address, address + size) inside this BAR, or null when the access is not wholly inside. */
  offsetOf(address: bigint, size: number): bigint | null {
    if (typeof address !== 'bigint' || address < 0n || address > U64) throw new PciUsageError(`BAR address must be a 64-bit bigint, got ${describeValue(address)}`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) throw new PciUsageError(`access size must be a positive integer, got ${describeValue(size)}`);
    const base = this.base();
    return address >= base && address + BigInt(size) <= base + this.size ? address - base : null;
  }
}

function validate(index: number, kind: BarKind, size: bigint, prefetchable: boolean): void {
  const fail = (why: string): never => {
    throw new PciLayoutError(`BAR${describeValue(index)} (${describeValue(kind)}, size ${size}): ${why}`);
  };
  if (!Number.isInteger(index) || index < 0 || index >= PCI_BAR_COUNT) fail('index must be 0..5');
  if (kind === 'memory64' && index === PCI_BAR_COUNT - 1) fail('a 64-bit BAR needs two slots; BAR5 has no upper half');
  if (kind !== 'io' && kind !== 'memory32' && kind !== 'memory64') fail(`unknown kind`);
  if (size <= 0n || (size & (size - 1n)) !== 0n) fail('size must be a power of two');
  if (kind === 'io') {
    if (size < 4n || size > 256n) fail('I/O BARs decode 4..256 bytes');
    if (prefetchable) fail('I/O BARs cannot be prefetchable');
  } else {
    if (size < 16n) fail('memory BARs decode at least 16 bytes');
    if (kind === 'memory32' && size > 1n << 31n) fail('a 32-bit memory BAR decodes at most 2 GiB');
    if (size > 1n << 63n) fail('a 64-bit memory BAR decodes at most 2^63 bytes');
  }
}
