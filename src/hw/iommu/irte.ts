// The 128-bit interrupt-remapping table entry in remapped format (VT-d spec §9.10; docs/DESIGN.md F11) and the
// remappable MSI address (§5.1.2.2). Posted format (IM = 1) is reserved here: the unit reports CAP.PI = 0.
import type { DeliveryMode, DestinationMode, TriggerMode } from '../signals.js';
import { checkBool, checkInt, checkOneOf, checkOptions, checkBigint } from '../check.js';
import { RemappingUsageError } from './errors.js';

/*
 * IRTE as four little-endian dwords (w0 = bits 31:0 … w3 = bits 127:96):
 *   w0: 0 P | 1 FPD | 2 DM | 3 RH | 4 TM | 7:5 DLM | 11:8 AVAIL | 14:12 rsvd | 15 IM | 23:16 vector | 31:24 rsvd
 *   w1: 63:32 DST — xAPIC (EIME = 0): APIC ID in 47:40, 39:32 and 63:48 reserved; x2APIC: all 32 bits
 *   w2: 79:64 SID | 81:80 SQ | 83:82 SVT | 95:84 rsvd
 *   w3: 127:96 rsvd
 */
export const IRTE_P = 1 << 0;
export const IRTE_FPD = 1 << 1;
export const IRTE_DM = 1 << 2;
export const IRTE_RH = 1 << 3;
export const IRTE_TM = 1 << 4;
export const IRTE_DLM_SHIFT = 5;
export const IRTE_IM = 1 << 15;
export const IRTE_VECTOR_SHIFT = 16;
/** Reserved bits of w0 with CAP.PI = 0: 14:12, 15 (IM) and 31:24. */
export const IRTE_RSVD_W0 = 0xff00_f000;
/** w1 reserved in xAPIC mode (EIME = 0): 39:32 and 63:48. */
export const IRTE_RSVD_W1_XAPIC = 0xffff_00ff;
export const IRTE_RSVD_W2 = 0xfff0_0000;

/** DLM encodings (§9.10): 011 and 110 are reserved. */
const DLM: readonly (DeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', null, 'extint'];

/** Remappable MSI address (§5.1.2.2): 31:20 0xFEE, 19:5 handle[14:0], 4 format = 1, 3 SHV, 2 handle[15]. */
export const MSI_REMAPPABLE = 1 << 4;
export const MSI_SHV = 1 << 3;
export const MSI_HANDLE15 = 1 << 2;

/** The IRTE fields, decoded. */
export interface Irte {
  present: boolean;
  /** Fault processing disable: qualified faults (0x22, 0x24, 0x26) on this entry are not recorded. */
  fpd: boolean;
  destinationMode: DestinationMode;
  redirectionHint: boolean;
  trigger: TriggerMode;
  /** null for the reserved encodings 011 and 110. */
  deliveryMode: DeliveryMode | null;
  /** Bits 11:8, available to software. */
  available: number;
  /** Bit 15 IM: posted format, reserved on this unit (CAP.PI = 0). */
  posted: boolean;
  vector: number;
  /** DST as stored (63:32); the APIC ID is bits 15:8 of it in xAPIC mode. */
  destination: number;
  sourceId: number;
  /** SQ 81:80: 0 compare all 16 SID bits, 1/2/3 ignore bit 2 / bits 2:1 / bits 2:0. */
  sourceQualifier: number;
  /** SVT 83:82: 0 none, 1 SID+SQ, 2 bus range (SID = start bus << 8 | end bus), 3 reserved. */
  sourceValidation: number;
}

export interface IrteInput {
  present?: boolean;
  fpd?: boolean;
  destinationMode?: DestinationMode;
  redirectionHint?: boolean;
  trigger?: TriggerMode;
  deliveryMode?: DeliveryMode;
  available?: number;
  vector: number;
  /** The DST field as stored: use irteDestination(apicId, eim) for the architected form. */
  destination: number;
  sourceId?: number;
  sourceQualifier?: number;
  sourceValidation?: number;
}

/** DST for an APIC ID (Linux irq_remapping.c IRTE_DEST): x2APIC mode the full ID, xAPIC mode ID << 8. */
export function irteDestination(apicId: number, eim: boolean): number {
  checkBool(RemappingUsageError, 'eim', eim);
  checkInt(RemappingUsageError, eim ? 'x2APIC ID' : 'xAPIC ID', apicId, 0, eim ? 0xffff_ffff : 0xff);
  return eim ? apicId >>> 0 : apicId << 8;
}

/** Builds the two 64-bit halves of an IRTE (low = bits 63:0, high = bits 127:64). */
export function encodeIrte(input: IrteInput): { low: bigint; high: bigint } {
  const E = RemappingUsageError;
  const o = checkOptions(E, 'IRTE', input, ['present', 'fpd', 'destinationMode', 'redirectionHint', 'trigger', 'deliveryMode', 'available', 'vector', 'destination', 'sourceId', 'sourceQualifier', 'sourceValidation']);
  const mode = (o.deliveryMode ?? 'fixed') as DeliveryMode;
  const dlm = DLM.indexOf(mode);
  if (dlm < 0) throw new E(`IRTE deliveryMode must be one of ${DLM.filter((m) => m !== null).join(', ')}, got ${String(mode)}`);
  let w0 = checkBool(E, 'IRTE present', o.present ?? true) ? IRTE_P : 0;
  if (checkBool(E, 'IRTE fpd', o.fpd ?? false)) w0 |= IRTE_FPD;
  if (checkOneOf(E, 'IRTE destinationMode', o.destinationMode ?? 'physical', ['physical', 'logical'] as const) === 'logical') w0 |= IRTE_DM;
  if (checkBool(E, 'IRTE redirectionHint', o.redirectionHint ?? false)) w0 |= IRTE_RH;
  if (checkOneOf(E, 'IRTE trigger', o.trigger ?? 'edge', ['edge', 'level'] as const) === 'level') w0 |= IRTE_TM;
  w0 |= dlm << IRTE_DLM_SHIFT;
  w0 |= checkInt(E, 'IRTE available', o.available ?? 0, 0, 0xf) << 8;
  w0 |= checkInt(E, 'IRTE vector', o.vector, 0, 0xff) << IRTE_VECTOR_SHIFT;
  const w1 = checkInt(E, 'IRTE destination', o.destination, 0, 0xffff_ffff);
  const w2 =
    checkInt(E, 'IRTE sourceId', o.sourceId ?? 0, 0, 0xffff) |
    (checkInt(E, 'IRTE sourceQualifier', o.sourceQualifier ?? 0, 0, 3) << 16) |
    (checkInt(E, 'IRTE sourceValidation', o.sourceValidation ?? 0, 0, 3) << 18);
  return { low: (BigInt(w1 >>> 0) << 32n) | BigInt(w0 >>> 0), high: BigInt(w2 >>> 0) };
}

/** Decodes an IRTE given as its two 64-bit halves (reserved bits are not checked: see irteReservedBits). */
export function decodeIrte(low: bigint, high: bigint): Irte {
  const M = 0xffff_ffff_ffff_ffffn;
  checkBigint(RemappingUsageError, 'IRTE low', low, 0n, M);
  checkBigint(RemappingUsageError, 'IRTE high', high, 0n, M);
  return decodeIrteWords(Number(low & 0xffff_ffffn), Number(low >> 32n), Number(high & 0xffff_ffffn));
}

export function decodeIrteWords(w0: number, w1: number, w2: number): Irte {
  return {
    present: (w0 & IRTE_P) !== 0,
    fpd: (w0 & IRTE_FPD) !== 0,
    destinationMode: w0 & IRTE_DM ? 'logical' : 'physical',
    redirectionHint: (w0 & IRTE_RH) !== 0,
    trigger: w0 & IRTE_TM ? 'level' : 'edge',
    deliveryMode: DLM[(w0 >>> IRTE_DLM_SHIFT) & 7]!,
    available: (w0 >>> 8) & 0xf,
    posted: (w0 & IRTE_IM) !== 0,
    vector: (w0 >>> IRTE_VECTOR_SHIFT) & 0xff,
    destination: w1 >>> 0,
    sourceId: w2 & 0xffff,
    sourceQualifier: (w2 >>> 16) & 3,
    sourceValidation: (w2 >>> 18) & 3,
  };
}

/**
 * Whether a present IRTE sets anything reserved (fault 0x24, §9.10): reserved bits in each dword
 * (DST 39:32 and 63:48 only in xAPIC mode), IM = 1 (no posted interrupts), SVT = 3, DLM 011 or 110.
 */
export function irteHasReservedBits(w0: number, w1: number, w2: number, w3: number, eime: boolean): boolean {
  if (w0 & IRTE_RSVD_W0 || w2 & IRTE_RSVD_W2 || w3 !== 0) return true;
  if (!eime && w1 & IRTE_RSVD_W1_XAPIC) return true;
  if (((w2 >>> 18) & 3) === 3) return true;
  const dlm = (w0 >>> IRTE_DLM_SHIFT) & 7;
  return dlm === 3 || dlm === 6;
}

/**
 * Source-id check of §9.10 (SVT/SQ): true when requester `sid` may use the entry. SVT 3 is reserved
 * and rejected before this is asked.
 */
export function sourceIdMatches(w2: number, sid: number): boolean {
  const svt = (w2 >>> 18) & 3;
  if (svt === 0) return true;
  const entrySid = w2 & 0xffff;
  if (svt === 1) {
    const ignore = [0, 0b100, 0b110, 0b111][(w2 >>> 16) & 3]!;
    return ((entrySid ^ sid) & ~ignore & 0xffff) === 0;
  }
  const bus = sid >>> 8;
  return bus >= entrySid >>> 8 && bus <= (entrySid & 0xff);
}

/** The remappable-format MSI address for IRTE `index` (Linux sets SHV on every MSI it composes). */
export function encodeRemappableAddress(index: number, shv = true): number {
  checkInt(RemappingUsageError, 'interrupt index (handle)', index, 0, 0xffff);
  checkBool(RemappingUsageError, 'shv', shv);
  return (0xfee0_0000 | ((index & 0x7fff) << 5) | MSI_REMAPPABLE | (shv ? MSI_SHV : 0) | ((index >>> 15) << 2)) >>> 0;
}

/** Handle and SHV of a remappable-format address (null when bit 4 is clear: compatibility format). */
export function decodeRemappableAddress(addressLo: number): { handle: number; shv: boolean } | null {
  checkInt(RemappingUsageError, 'MSI address (low dword)', addressLo, 0, 0xffff_ffff);
  if (!(addressLo & MSI_REMAPPABLE)) return null;
  return { handle: ((addressLo >>> 5) & 0x7fff) | ((addressLo & MSI_HANDLE15) << 13), shv: (addressLo & MSI_SHV) !== 0 };
}
