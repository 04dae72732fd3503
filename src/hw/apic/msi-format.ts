// x86 MSI address/data format: Intel SDM vol. 3A §11.11 (docs/DESIGN.md F5). Decodes a memory write into typed
// fields and encodes them back. Interrupt-remapping (IR) format addresses are recognised, not decoded.
import type { DeliveryMode, DestinationMode, TriggerMode } from '../signals.js';
import { ApicUsageError } from './errors.js';
import { checkBool, checkInt, checkOneOf, checkOptions } from '../check.js';
import { describeValue } from '../describe.js';

export const MSI_ADDRESS_WINDOW = 0xfee; // address bits 31:20
export const MSI_ADDRESS_DEST_SHIFT = 12; // bits 19:12 destination ID
export const MSI_ADDRESS_EXT_DEST_SHIFT = 5; // bits 11:5: hypervisor "extended destination ID" (not SDM)
export const MSI_ADDRESS_EXT_DEST_MASK = 0x7f << MSI_ADDRESS_EXT_DEST_SHIFT;
export const MSI_ADDRESS_IR_FORMAT = 1 << 4; // remappable format (VT-d); reserved for compatibility format
export const MSI_ADDRESS_RH = 1 << 3;
export const MSI_ADDRESS_DM_LOGICAL = 1 << 2;

export const MSI_DATA_VECTOR = 0xff;
export const MSI_DATA_DELIVERY_MODE = 0x700;
export const MSI_DATA_LEVEL_ASSERT = 1 << 14;
export const MSI_DATA_TRIGGER_LEVEL = 1 << 15;
/** Bits 13:11 and 31:16 are reserved; hardware ignores them, so the bus still delivers. */
export const MSI_DATA_RESERVED = 0xffff_3800;

/** Data delivery modes: 011 and 110 are reserved (there is no start-up MSI). */
const MSI_MODES: readonly (DeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', null, 'extint'];

export interface MsiAddress {
  /** Bits 63:32 are zero and bits 31:20 are 0xFEE. */
  inWindow: boolean;
  /** Bits 19:12. */
  destinationId: number;
  /** Bits 11:5 (destination ID bits 14:8 for hypervisors offering KVM_FEATURE_MSI_EXT_DEST_ID). */
  extendedDestinationId: number;
  /** Bit 4: 1 = interrupt-remapping format, which this platform (no IOMMU) does not decode. */
  remappableFormat: boolean;
  /** Bit 3 RH: 1 = deliver to the lowest-priority processor among the destinations. */
  redirectionHint: boolean;
  /** Bit 2 DM. */
  destinationMode: DestinationMode;
}

export interface MsiData {
  vector: number;
  deliveryModeCode: number;
  /** null for the reserved encodings 011 and 110. */
  mode: DeliveryMode | null;
  /** Bit 14: level-triggered assert (1) or de-assert (0); ignored for edge. */
  level: boolean;
  trigger: TriggerMode;
  /** Reserved bits that were set (13:11, 31:16). */
  reservedBits: number;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

export function decodeMsiAddress(address: bigint): MsiAddress {
  if (typeof address !== 'bigint' || address < 0n || address > U64_MAX) {
    throw new ApicUsageError(`MSI address must be a bigint in [0, 2^64), got ${describeValue(address)}`);
  }
  const low = address <= 0xffff_ffffn ? Number(address) : -1;
  return decodeMsiAddressLow(low);
}

/** Decodes the low DWORD of an address whose upper DWORD is zero; pass −1 for "upper DWORD non-zero". */
export function decodeMsiAddressLow(low: number): MsiAddress {
  return {
    inWindow: low >= 0 && low >>> 20 === MSI_ADDRESS_WINDOW,
    destinationId: (low >>> MSI_ADDRESS_DEST_SHIFT) & 0xff,
    extendedDestinationId: (low & MSI_ADDRESS_EXT_DEST_MASK) >>> MSI_ADDRESS_EXT_DEST_SHIFT,
    remappableFormat: (low & MSI_ADDRESS_IR_FORMAT) !== 0,
    redirectionHint: (low & MSI_ADDRESS_RH) !== 0,
    destinationMode: low & MSI_ADDRESS_DM_LOGICAL ? 'logical' : 'physical',
  };
}

export function decodeMsiData(data: number): MsiData {
  if (!Number.isInteger(data) || data < 0 || data > 0xffff_ffff) {
    throw new ApicUsageError(`MSI data must be a 32-bit unsigned integer, got ${describeValue(data)}`);
  }
  const code = (data & MSI_DATA_DELIVERY_MODE) >>> 8;
  return {
    vector: data & MSI_DATA_VECTOR,
    deliveryModeCode: code,
    mode: MSI_MODES[code]!,
    level: (data & MSI_DATA_LEVEL_ASSERT) !== 0,
    trigger: data & MSI_DATA_TRIGGER_LEVEL ? 'level' : 'edge',
    reservedBits: (data & MSI_DATA_RESERVED) >>> 0,
  };
}

export interface MsiAddressInput {
  /** Destination APIC ID or logical MDA: 0–255, or 0–0x7FFF with `extendedDest`. */
  dest: number;
  rh?: boolean;
  dm?: DestinationMode;
  /** Put destination bits 14:8 into address bits 11:5 (hypervisor extension, not SDM). */
  extendedDest?: boolean;
}

export function encodeMsiAddress(input: MsiAddressInput): bigint {
  const o = checkOptions(ApicUsageError, 'MSI address', input, ['dest', 'rh', 'dm', 'extendedDest']);
  const rh = checkBool(ApicUsageError, 'rh', o.rh ?? false);
  const dm = checkOneOf(ApicUsageError, 'dm', o.dm ?? 'physical', ['physical', 'logical'] as const);
  const extendedDest = checkBool(ApicUsageError, 'extendedDest', o.extendedDest ?? false);
  const dest = checkInt(ApicUsageError, `MSI destination (${extendedDest ? '15' : '8'}-bit field)`, o.dest, 0, extendedDest ? 0x7fff : 0xff);
  let low = (MSI_ADDRESS_WINDOW << 20) | ((dest & 0xff) << MSI_ADDRESS_DEST_SHIFT);
  low |= (dest >>> 8) << MSI_ADDRESS_EXT_DEST_SHIFT;
  if (rh) low |= MSI_ADDRESS_RH;
  if (dm === 'logical') low |= MSI_ADDRESS_DM_LOGICAL;
  return BigInt(low >>> 0);
}

export interface MsiDataInput {
  vector: number;
  mode?: DeliveryMode;
  trigger?: TriggerMode;
  /** Defaults to assert for level-triggered messages, 0 for edge (as Linux composes them). */
  level?: boolean;
}

export function encodeMsiData(input: MsiDataInput): number {
  const o = checkOptions(ApicUsageError, 'MSI data', input, ['vector', 'mode', 'trigger', 'level']);
  const vector = checkInt(ApicUsageError, 'MSI vector', o.vector, 0, 0xff);
  const mode = o.mode ?? 'fixed';
  const code = typeof mode === 'string' ? MSI_MODES.indexOf(mode as DeliveryMode) : -1;
  if (code < 0) throw new ApicUsageError(`delivery mode ${describeValue(mode)} has no MSI encoding (fixed, lowest, smi, nmi, init, extint)`);
  const trigger = checkOneOf(ApicUsageError, 'trigger', o.trigger ?? 'edge', ['edge', 'level'] as const);
  const level = o.level === undefined ? undefined : checkBool(ApicUsageError, 'level', o.level);
  let data = vector | (code << 8);
  if (level ?? trigger === 'level') data |= MSI_DATA_LEVEL_ASSERT;
  if (trigger === 'level') data |= MSI_DATA_TRIGGER_LEVEL;
  return data >>> 0;
}
