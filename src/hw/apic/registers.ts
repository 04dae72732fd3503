// Local APIC register map and packed-field codecs: Intel SDM vol. 3A §11.4–11.6 (xAPIC MMIO page),
// §11.5.1 (LVT), §11.6.1 (ICR), §11.9 (SVR), §11.12.1 (x2APIC MSRs). P6/Pentium-only fields are left out.
import type { DeliveryMode, DestinationMode, Shorthand, TriggerMode } from '../signals.js';

// ---- xAPIC MMIO offsets (Table 11-1); the x2APIC MSR is 0x800 + (offset >> 4) (Table 11-6) ----
export const REG_ID = 0x020;
export const REG_VERSION = 0x030;
export const REG_TPR = 0x080;
export const REG_APR = 0x090;
export const REG_PPR = 0x0a0;
export const REG_EOI = 0x0b0;
export const REG_RRD = 0x0c0;
export const REG_LDR = 0x0d0;
export const REG_DFR = 0x0e0;
export const REG_SVR = 0x0f0;
export const REG_ISR0 = 0x100; // ISR 0x100..0x170, TMR 0x180..0x1F0, IRR 0x200..0x270: 8 words each
export const REG_TMR0 = 0x180;
export const REG_IRR0 = 0x200;
export const REG_ESR = 0x280;
export const REG_LVT_CMCI = 0x2f0;
export const REG_ICR_LOW = 0x300;
export const REG_ICR_HIGH = 0x310;
export const REG_LVT_TIMER = 0x320;
export const REG_LVT_THERMAL = 0x330;
export const REG_LVT_PMC = 0x340;
export const REG_LVT_LINT0 = 0x350;
export const REG_LVT_LINT1 = 0x360;
export const REG_LVT_ERROR = 0x370;
export const REG_TIMER_INITIAL = 0x380;
export const REG_TIMER_CURRENT = 0x390;
export const REG_TIMER_DIVIDE = 0x3e0;
/** SELF IPI exists only as MSR 0x83F; offset 0x3F0 is reserved in xAPIC mode. */
export const REG_SELF_IPI = 0x3f0;

export const XAPIC_PAGE_SIZE = 0x1000;

/** Table 11-1: access of each implemented xAPIC MMIO register; null = reserved (ESR illegal register address). */
export function xapicRegisterAccess(offset: number): MsrAccess | null {
  if (offset & 0xf) return null;
  switch (offset) {
    case REG_VERSION: case REG_APR: case REG_PPR: case REG_RRD: case REG_TIMER_CURRENT:
      return 'ro';
    case REG_EOI:
      return 'wo';
    case REG_ID: case REG_TPR: case REG_LDR: case REG_DFR: case REG_SVR: case REG_ESR: case REG_LVT_CMCI:
    case REG_ICR_LOW: case REG_ICR_HIGH: case REG_TIMER_INITIAL: case REG_TIMER_DIVIDE:
      return 'rw';
    default:
      if (offset >= REG_ISR0 && offset < REG_IRR0 + 0x80) return 'ro'; // ISR, TMR, IRR
      if (offset >= REG_LVT_TIMER && offset <= REG_LVT_ERROR) return 'rw';
      return null;
  }
}

// ---- MSRs ----
export const MSR_IA32_APIC_BASE = 0x1b;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
export const MSR_LVT_CMCI = 0x82f;
export const X2APIC_MSR_FIRST = 0x800;
/** 0x800–0xBFF is architecturally reserved for the x2APIC; unlisted numbers #GP. */
export const X2APIC_MSR_LAST = 0xbff;

export const msrForOffset = (offset: number): number => X2APIC_MSR_FIRST + (offset >> 4);
export const offsetForMsr = (msr: number): number => (msr - X2APIC_MSR_FIRST) << 4;

export type MsrAccess = 'rw' | 'ro' | 'wo';

/** Table 11-6: access of each implemented x2APIC MSR; null = reserved (#GP on RDMSR and WRMSR). */
export function x2apicMsrAccess(msr: number): MsrAccess | null {
  switch (msr) {
    case 0x802: case 0x803: case 0x80a: case 0x80d: case 0x839:
      return 'ro';
    case 0x808: case 0x80f: case 0x828: case 0x82f: case 0x830:
    case 0x832: case 0x833: case 0x834: case 0x835: case 0x836: case 0x837:
    case 0x838: case 0x83e:
      return 'rw';
    case 0x80b: case 0x83f:
      return 'wo';
    default:
      // ISR 0x810–0x817, TMR 0x818–0x81F, IRR 0x820–0x827 are read-only.
      return msr >= 0x810 && msr <= 0x827 ? 'ro' : null;
  }
}

// ---- IA32_APIC_BASE (§11.4.4) ----
export const APIC_BASE_BSP = 1n << 8n;
export const APIC_BASE_EXTD = 1n << 10n;
export const APIC_BASE_EN = 1n << 11n;
/** Base address bits 35:12 (MAXPHYADDR 36 as in docs/DESIGN.md F6); bits 7:0, 9 and 63:36 are reserved. */
export const APIC_BASE_ADDRESS_MASK = 0xf_ffff_f000n;
export const APIC_BASE_RESERVED = ~(APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN | APIC_BASE_ADDRESS_MASK) & 0xffff_ffff_ffff_ffffn;
export const APIC_DEFAULT_BASE = 0xfee0_0000n;

// ---- Version (§11.4.8) ----
export const VERSION_DEFAULT = 0x0005_0014; // version 0x14, max LVT entry 5 (6 LVTs, no CMCI), no EOI-broadcast suppression
export const VERSION_EOI_SUPPRESSION = 1 << 24;
/** Max LVT entry (version bits 23:16) from which the CMCI LVT exists: 7 entries, the 7th being CMCI. */
export const LVT_MAX_WITH_CMCI = 6;

// ---- TPR / PPR / DFR / LDR ----
export const TPR_WRITABLE = 0xff;
export const LDR_XAPIC_WRITABLE = 0xff00_0000;
export const DFR_RESET = 0xffff_ffff;
export const DFR_MODEL_WRITABLE = 0xf000_0000; // bits 27:0 read as 1
export const DFR_MODEL_FLAT = 0xf;
export const DFR_MODEL_CLUSTER = 0x0;
export const ID_XAPIC_WRITABLE = 0xff00_0000;

/** x2APIC logical ID derived from the x2APIC ID (§11.12.10.2): cluster in 31:16, one-hot member in 15:0. */
export const x2apicLogicalId = (id: number): number => (((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0;

// ---- SVR (§11.9) ----
export const SVR_RESET = 0xff;
export const SVR_VECTOR = 0xff;
export const SVR_APIC_ENABLED = 1 << 8;
export const SVR_FOCUS_DISABLED = 1 << 9;
export const SVR_EOI_BROADCAST_SUPPRESSION = 1 << 12;
export const svrWritable = (version: number): number =>
  SVR_VECTOR | SVR_APIC_ENABLED | SVR_FOCUS_DISABLED | (version & VERSION_EOI_SUPPRESSION ? SVR_EOI_BROADCAST_SUPPRESSION : 0);

// ---- ESR (§11.5.3) ----
export const ESR_SEND_CHECKSUM = 1 << 0; // P6/Pentium only: never set here
export const ESR_RECEIVE_CHECKSUM = 1 << 1;
export const ESR_SEND_ACCEPT = 1 << 2;
export const ESR_RECEIVE_ACCEPT = 1 << 3;
export const ESR_REDIRECTABLE_IPI = 1 << 4;
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
export const ESR_ILLEGAL_REGISTER_ADDRESS = 1 << 7;
export const ESR_DEFINED = 0xff;

// ---- LVT (§11.5.1, Figure 11-8) ----
export const LVT_VECTOR = 0xff;
export const LVT_DELIVERY_MODE = 0x700;
export const LVT_DELIVERY_STATUS = 1 << 12; // RO; always idle here since delivery is synchronous
export const LVT_POLARITY_LOW = 1 << 13;
export const LVT_REMOTE_IRR = 1 << 14;
export const LVT_TRIGGER_LEVEL = 1 << 15;
export const LVT_MASKED = 1 << 16;
export const LVT_TIMER_MODE = 0x6_0000;
export const LVT_TIMER_MODE_SHIFT = 17;
export const LVT_RESET = LVT_MASKED;

/** LVT indices (an object, not an enum, so the module stays erasable TypeScript). */
export const Lvt = { Timer: 0, Thermal: 1, Pmc: 2, Lint0: 3, Lint1: 4, Error: 5, Cmci: 6 } as const;
export const LVT_COUNT = 7;
export const LVT_NAMES = ['timer', 'thermal', 'pmc', 'lint0', 'lint1', 'error', 'cmci'] as const;
export type LvtName = (typeof LVT_NAMES)[number];
export const LVT_OFFSETS: readonly number[] = [
  REG_LVT_TIMER, REG_LVT_THERMAL, REG_LVT_PMC, REG_LVT_LINT0, REG_LVT_LINT1, REG_LVT_ERROR, REG_LVT_CMCI,
];
export function lvtIndexForOffset(offset: number): number {
  return LVT_OFFSETS.indexOf(offset);
}

const LVT_BASIC = LVT_VECTOR | LVT_MASKED;
/** Software-writable bits per LVT (timer bit 18 added only when TSC-deadline mode exists). */
export function lvtWritable(index: number, tscDeadline: boolean): number {
  switch (index) {
    case Lvt.Timer: return LVT_BASIC | (tscDeadline ? LVT_TIMER_MODE : 1 << LVT_TIMER_MODE_SHIFT);
    case Lvt.Lint0: case Lvt.Lint1:
      return LVT_BASIC | LVT_DELIVERY_MODE | LVT_POLARITY_LOW | LVT_TRIGGER_LEVEL;
    case Lvt.Error: return LVT_BASIC;
    default: return LVT_BASIC | LVT_DELIVERY_MODE; // thermal, PMC, CMCI
  }
}
/** Read-only bits per LVT: writes to them are ignored, never #GP (software writes back what it read). */
export function lvtReadOnly(index: number): number {
  return index === Lvt.Lint0 || index === Lvt.Lint1 ? LVT_DELIVERY_STATUS | LVT_REMOTE_IRR : LVT_DELIVERY_STATUS;
}

export type LvtDeliveryMode = 'fixed' | 'smi' | 'nmi' | 'init' | 'extint';
export type TimerMode = 'one-shot' | 'periodic' | 'tsc-deadline' | 'reserved';
const LVT_MODES: readonly (LvtDeliveryMode | null)[] = ['fixed', null, 'smi', null, 'nmi', 'init', null, 'extint'];
const TIMER_MODES: readonly TimerMode[] = ['one-shot', 'periodic', 'tsc-deadline', 'reserved'];

export interface LvtFields {
  vector: number;
  /** null = a reserved encoding (001, 011, 110). */
  deliveryMode: LvtDeliveryMode | null;
  deliveryStatus: boolean;
  polarity: 'high' | 'low';
  remoteIrr: boolean;
  trigger: TriggerMode;
  masked: boolean;
  timerMode: TimerMode;
}

export function decodeLvt(value: number): LvtFields {
  return {
    vector: value & LVT_VECTOR,
    deliveryMode: LVT_MODES[(value & LVT_DELIVERY_MODE) >>> 8] ?? null,
    deliveryStatus: (value & LVT_DELIVERY_STATUS) !== 0,
    polarity: value & LVT_POLARITY_LOW ? 'low' : 'high',
    remoteIrr: (value & LVT_REMOTE_IRR) !== 0,
    trigger: value & LVT_TRIGGER_LEVEL ? 'level' : 'edge',
    masked: (value & LVT_MASKED) !== 0,
    timerMode: TIMER_MODES[(value & LVT_TIMER_MODE) >>> LVT_TIMER_MODE_SHIFT]!,
  };
}

export function encodeLvt(f: Partial<LvtFields>): number {
  const mode = f.deliveryMode ?? 'fixed';
  let v = (f.vector ?? 0) & LVT_VECTOR;
  v |= LVT_MODES.indexOf(mode) << 8;
  if (f.polarity === 'low') v |= LVT_POLARITY_LOW;
  if (f.trigger === 'level') v |= LVT_TRIGGER_LEVEL;
  if (f.masked) v |= LVT_MASKED;
  v |= TIMER_MODES.indexOf(f.timerMode ?? 'one-shot') << LVT_TIMER_MODE_SHIFT;
  return v >>> 0;
}

// ---- Timer divide configuration (§11.5.4, Figure 11-10): bits 3,1,0 ----
export const DIVIDE_WRITABLE = 0b1011;
const DIVISORS = [2, 4, 8, 16, 32, 64, 128, 1] as const;
export const divisorFor = (dcr: number): number => DIVISORS[((dcr >>> 1) & 4) | (dcr & 3)]!;
/** The divide-configuration value that selects `divisor` (inverse of divisorFor). */
export function divideConfigFor(divisor: number): number {
  const i = DIVISORS.indexOf(divisor as (typeof DIVISORS)[number]);
  if (i < 0) throw new RangeError(`APIC timer divisor ${divisor} is not one of 1,2,4,…,128`);
  return ((i & 4) << 1) | (i & 3);
}

// ---- ICR (§11.6.1 Figure 11-12; x2APIC Figure 11-28) ----
export const ICR_VECTOR = 0xff;
export const ICR_DELIVERY_MODE = 0x700;
export const ICR_DEST_LOGICAL = 1 << 11;
export const ICR_DELIVERY_STATUS = 1 << 12;
export const ICR_LEVEL_ASSERT = 1 << 14;
export const ICR_TRIGGER_LEVEL = 1 << 15;
export const ICR_SHORTHAND = 0xc_0000;
export const ICR_SHORTHAND_SHIFT = 18;
export const ICR_LOW_WRITABLE = ICR_VECTOR | ICR_DELIVERY_MODE | ICR_DEST_LOGICAL | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL | ICR_SHORTHAND;
/** x2APIC: bits 13, 17:16, 31:20 reserved (#GP); bit 12 is ignored on write (x2APIC spec, Figure 2-5 note). */
export const ICR_LOW_RESERVED_X2APIC = ~(ICR_LOW_WRITABLE | ICR_DELIVERY_STATUS) >>> 0;
export const ICR_HIGH_XAPIC_WRITABLE = 0xff00_0000;

export const DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_STARTUP = 6, DM_EXTINT = 7;
/** ICR delivery modes: 011 (remote read, P6 only) and 111 are reserved. */
const ICR_MODES: readonly (DeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', 'sipi', null];
const SHORTHANDS: readonly Shorthand[] = ['none', 'self', 'all', 'others'];

export interface IcrFields {
  vector: number;
  /** Raw 3-bit delivery mode; `mode` is null for the reserved encodings. */
  deliveryModeCode: number;
  mode: DeliveryMode | null;
  destinationMode: DestinationMode;
  level: boolean;
  trigger: TriggerMode;
  shorthand: Shorthand;
  /** xAPIC: ICR bits 63:56; x2APIC: bits 63:32. */
  destination: number;
}

export function decodeIcr(low: number, high: number, x2apic: boolean): IcrFields {
  const code = (low & ICR_DELIVERY_MODE) >>> 8;
  return {
    vector: low & ICR_VECTOR,
    deliveryModeCode: code,
    mode: ICR_MODES[code]!,
    destinationMode: low & ICR_DEST_LOGICAL ? 'logical' : 'physical',
    level: (low & ICR_LEVEL_ASSERT) !== 0,
    trigger: low & ICR_TRIGGER_LEVEL ? 'level' : 'edge',
    shorthand: SHORTHANDS[(low & ICR_SHORTHAND) >>> ICR_SHORTHAND_SHIFT]!,
    destination: x2apic ? high >>> 0 : high >>> 24,
  };
}

export interface IcrEncodeInput {
  vector?: number;
  mode?: DeliveryMode;
  destinationMode?: DestinationMode;
  level?: boolean;
  trigger?: TriggerMode;
  shorthand?: Shorthand;
  destination?: number;
}

/** Encodes ICR fields; `level` defaults to assert (the only value P4 and later send, except INIT de-assert). */
export function encodeIcr(f: IcrEncodeInput, x2apic: boolean): { low: number; high: number } {
  const code = ICR_MODES.indexOf(f.mode ?? 'fixed');
  if (code < 0) throw new RangeError(`delivery mode ${String(f.mode)} cannot be sent through the ICR`);
  let low = ((f.vector ?? 0) & ICR_VECTOR) | (code << 8);
  if (f.destinationMode === 'logical') low |= ICR_DEST_LOGICAL;
  if (f.level ?? true) low |= ICR_LEVEL_ASSERT;
  if (f.trigger === 'level') low |= ICR_TRIGGER_LEVEL;
  low |= SHORTHANDS.indexOf(f.shorthand ?? 'none') << ICR_SHORTHAND_SHIFT;
  const dest = f.destination ?? 0;
  return { low: low >>> 0, high: x2apic ? dest >>> 0 : ((dest & 0xff) << 24) >>> 0 };
}

/** The number of 32-bit words in IRR/ISR/TMR (256 vectors). */
export const VECTOR_WORDS = 8;
/** Vectors 0–15 are illegal for fixed/lowest-priority delivery (§11.5.2). */
export const FIRST_LEGAL_VECTOR = 16;
