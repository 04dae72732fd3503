// Snapshot format of a local APIC (plain JSON, no bigint) and its validation on restore: every field must
// be reachable by architected register accesses (SDM vol. 3A ch. 11). Host-side wiring is not state.
import { ApicStateError } from './errors.js';
import * as R from './registers.js';
import { describeValue } from '../describe.js';

// /2: the version register is recorded and the CMCI LVT is present only when that version has one.
export const LAPIC_STATE_FORMAT = 'irqslice.lapic/2';

export interface LocalApicState {
  format: typeof LAPIC_STATE_FORMAT;
  apicId: number;
  bsp: boolean;
  /** Version register (fixed by the constructor option; a snapshot loads only into an APIC with the same). */
  version: number;
  /** IA32_APIC_BASE as lower-case hex ("0xfee00900"). */
  apicBase: string;
  /** xAPIC ID register bits 31:24 (unused while in x2APIC mode). */
  xapicId: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  irr: number[];
  isr: number[];
  tmr: number[];
  esr: number;
  /** Errors collected since the last ESR write (not yet visible). */
  esrPending: number;
  errorArmed: boolean;
  icrLow: number;
  icrHigh: number;
  /** `cmci` exactly when the version's Max LVT entry is ≥ 6. */
  lvt: Record<Exclude<R.LvtName, 'cmci'>, number> & { cmci?: number };
  timer: { initialCount: number; currentCount: number; phase: number; divideConfig: number };
  /** IA32_TSC_DEADLINE as a decimal string. */
  tscDeadline: string;
  /** Electrical levels of LINT0/LINT1. */
  lint: [boolean, boolean];
  waitingForSipi: boolean;
}

export interface StateContext {
  apicId: number;
  bsp: boolean;
  tscDeadline: boolean;
  version: number;
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

/** `prefix` + `key`: the full path of a field ("lvt.timer", "timer.phase"), as errors name it. */
const at = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key);

function u32(s: Record<string, unknown>, key: string, allowed = 0xffff_ffff, prefix = ''): number {
  const v = s[key];
  const path = at(prefix, key);
  if (!isU32(v)) throw new ApicStateError(path, `expected a 32-bit unsigned integer, got ${describeValue(v)}`);
  if ((v & ~allowed) !== 0) throw new ApicStateError(path, `0x${v.toString(16)} sets bits outside 0x${(allowed >>> 0).toString(16)}`);
  return v;
}

function bool(s: Record<string, unknown>, key: string): boolean {
  if (typeof s[key] !== 'boolean') throw new ApicStateError(key, `expected a boolean, got ${describeValue(s[key])}`);
  return s[key] as boolean;
}

/** A plain object with exactly the fields `keys` (missing ones are reported by their own checks). */
function record(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ApicStateError(path, `expected an object, got ${describeValue(v)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new ApicStateError(path === '$' ? k : `${path}.${k}`, 'unknown field');
  return v as Record<string, unknown>;
}

function bitmap(s: Record<string, unknown>, key: string): number[] {
  const v = s[key];
  if (!Array.isArray(v) || v.length !== R.VECTOR_WORDS) throw new ApicStateError(key, 'expected 8 32-bit unsigned words');
  v.forEach((w, i) => {
    if (!isU32(w)) throw new ApicStateError(`${key}[${i}]`, `expected a 32-bit unsigned integer, got ${describeValue(w)}`);
  });
  // §11.8.4: the APIC never sets IRR/ISR/TMR bits for the illegal vectors 0–15.
  if ((v[0]! & 0xffff) !== 0) throw new ApicStateError(`${key}[0]`, 'vectors 0–15 can never be set');
  return [...v] as number[];
}

const STATE_KEYS: readonly string[] = [
  'format', 'apicId', 'bsp', 'version', 'apicBase', 'xapicId', 'tpr', 'ldr', 'dfr', 'svr', 'irr', 'isr', 'tmr', 'esr', 'esrPending',
  'errorArmed', 'icrLow', 'icrHigh', 'lvt', 'timer', 'tscDeadline', 'lint', 'waitingForSipi',
];
const TIMER_KEYS: readonly string[] = ['initialCount', 'currentCount', 'phase', 'divideConfig'];

/** Checks that `raw` is a state this APIC could be in; returns it typed. Throws ApicStateError otherwise. */
export function validateLapicState(raw: unknown, ctx: StateContext): LocalApicState {
  const s = record(raw, '$', STATE_KEYS);
  if (s.format !== LAPIC_STATE_FORMAT) throw new ApicStateError('format', `expected '${LAPIC_STATE_FORMAT}'`);
  if (u32(s, 'apicId') !== ctx.apicId) throw new ApicStateError('apicId', `state of APIC ${describeValue(s.apicId)} loaded into APIC ${ctx.apicId}`);
  if (bool(s, 'bsp') !== ctx.bsp) throw new ApicStateError('bsp', 'the BSP flag is fixed by hardware');
  if (u32(s, 'version') !== ctx.version) {
    throw new ApicStateError('version', `state of an APIC with version 0x${(s.version as number).toString(16)} loaded into one with 0x${ctx.version.toString(16)}`);
  }
  const hasCmci = ((ctx.version >>> 16) & 0xff) >= R.LVT_MAX_WITH_CMCI;

  if (typeof s.apicBase !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(s.apicBase)) {
    throw new ApicStateError('apicBase', 'expected lower-case hex like "0xfee00900"');
  }
  const base = BigInt(s.apicBase);
  if (base & R.APIC_BASE_RESERVED) throw new ApicStateError('apicBase', 'reserved bits set');
  if (((base & R.APIC_BASE_BSP) !== 0n) !== ctx.bsp) throw new ApicStateError('apicBase', 'BSP bit disagrees with bsp');
  const en = (base & R.APIC_BASE_EN) !== 0n;
  const extd = (base & R.APIC_BASE_EXTD) !== 0n;
  if (!en && extd) throw new ApicStateError('apicBase', 'EN=0 with EXTD=1 is not a mode');

  const svr = u32(s, 'svr', R.svrWritable(ctx.version));
  const lvtNames = hasCmci ? R.LVT_NAMES : R.LVT_NAMES.filter((n) => n !== 'cmci');
  const lvtRaw = record(s.lvt, 'lvt', lvtNames); // without CMCI, lvt.cmci is an unknown field
  const lvt = {} as LocalApicState['lvt'];
  lvtNames.forEach((name) => {
    const i = R.LVT_NAMES.indexOf(name);
    const allowed = R.lvtWritable(i, ctx.tscDeadline) | (R.lvtReadOnly(i) & ~R.LVT_DELIVERY_STATUS);
    const v = u32(lvtRaw, name, allowed, 'lvt');
    if (!(svr & R.SVR_APIC_ENABLED) && !(v & R.LVT_MASKED)) throw new ApicStateError(`lvt.${name}`, 'unmasked while software-disabled');
    lvt[name] = v;
  });

  const t = record(s.timer, 'timer', TIMER_KEYS);
  const divideConfig = u32(t, 'divideConfig', R.DIVIDE_WRITABLE, 'timer');
  const initialCount = u32(t, 'initialCount', 0xffff_ffff, 'timer');
  const currentCount = u32(t, 'currentCount', 0xffff_ffff, 'timer');
  const phase = u32(t, 'phase', 0xffff_ffff, 'timer');
  if (currentCount > initialCount) throw new ApicStateError('timer.currentCount', 'exceeds the initial count');
  if (phase >= R.divisorFor(divideConfig) || (currentCount === 0 && phase !== 0)) {
    throw new ApicStateError('timer.phase', 'not within the current divide period');
  }
  const deadlineMode = (lvt.timer & R.LVT_TIMER_MODE) >>> R.LVT_TIMER_MODE_SHIFT === 2;
  if (deadlineMode && initialCount !== 0) throw new ApicStateError('timer.initialCount', 'must be 0 in TSC-deadline mode');

  if (typeof s.tscDeadline !== 'string' || !/^(0|[1-9][0-9]*)$/.test(s.tscDeadline) || BigInt(s.tscDeadline) > 0xffff_ffff_ffff_ffffn) {
    throw new ApicStateError('tscDeadline', 'expected a decimal 64-bit unsigned integer string');
  }
  if (s.tscDeadline !== '0' && !deadlineMode) throw new ApicStateError('tscDeadline', 'armed outside TSC-deadline mode');

  const lint = s.lint;
  if (!Array.isArray(lint) || lint.length !== 2) throw new ApicStateError('lint', 'expected [boolean, boolean]');
  lint.forEach((l, i) => {
    if (typeof l !== 'boolean') throw new ApicStateError(`lint[${i}]`, `expected a boolean, got ${describeValue(l)}`);
  });
  const waitingForSipi = bool(s, 'waitingForSipi');
  if (waitingForSipi && ctx.bsp) throw new ApicStateError('waitingForSipi', 'the BSP never waits for SIPI');

  const x2apic = en && extd;
  const state: LocalApicState = {
    format: LAPIC_STATE_FORMAT,
    apicId: ctx.apicId,
    bsp: ctx.bsp,
    version: ctx.version,
    apicBase: s.apicBase,
    xapicId: u32(s, 'xapicId', 0xff),
    tpr: u32(s, 'tpr', R.TPR_WRITABLE),
    ldr: u32(s, 'ldr', R.LDR_XAPIC_WRITABLE),
    dfr: u32(s, 'dfr'),
    svr,
    irr: bitmap(s, 'irr'),
    isr: bitmap(s, 'isr'),
    tmr: bitmap(s, 'tmr'),
    esr: u32(s, 'esr', 0xf0), // bits 3:0 are P6/Pentium-only and never set here
    esrPending: u32(s, 'esrPending', 0xf0),
    errorArmed: bool(s, 'errorArmed'),
    icrLow: u32(s, 'icrLow', R.ICR_LOW_WRITABLE),
    icrHigh: u32(s, 'icrHigh', x2apic ? 0xffff_ffff : R.ICR_HIGH_XAPIC_WRITABLE),
    lvt,
    timer: { initialCount, currentCount, phase, divideConfig },
    tscDeadline: s.tscDeadline,
    lint: [lint[0] as boolean, lint[1] as boolean],
    waitingForSipi,
  };
  if ((state.dfr | ~R.DFR_MODEL_WRITABLE) >>> 0 !== state.dfr) throw new ApicStateError('dfr', 'bits 27:0 always read 1');
  if (!en) assertPowerUpRegisters(state);
  return state;
}

/** A hardware-disabled APIC cannot be programmed, so its registers are exactly the power-up values. */
function assertPowerUpRegisters(s: LocalApicState): void {
  const zeroWords = (w: number[]) => w.every((x) => x === 0);
  const lvtsReset = Object.values(s.lvt).every((v) => v === R.LVT_RESET);
  const t = s.timer;
  const ok =
    s.xapicId === (s.apicId & 0xff) && s.tpr === 0 && s.ldr === 0 && s.dfr === R.DFR_RESET && s.svr === R.SVR_RESET &&
    zeroWords(s.irr) && zeroWords(s.isr) && zeroWords(s.tmr) && s.esr === 0 && s.esrPending === 0 && s.errorArmed &&
    s.icrLow === 0 && s.icrHigh === 0 && lvtsReset && t.initialCount === 0 && t.currentCount === 0 && t.divideConfig === 0;
  if (!ok) throw new ApicStateError('apicBase', 'a hardware-disabled APIC holds only power-up register values');
}
