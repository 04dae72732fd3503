// QEMU's `info lapic` text for one local APIC, field for field as x86_cpu_dump_local_apic_state()
// prints it (QEMU target/i386/cpu-dump.c: dump_apic_lvt, dump_apic_icr, dump_apic_interrupt), so an
// irqslice APIC reads like a QEMU guest's (samples: test/data/real/*/info-lapic.txt). The line
// `dumping local APIC state for CPU n` belongs to the caller, who knows the CPU index.
//
// Where irqslice keeps no such state, the value QEMU shows after reset is printed: the arbitration
// ID (`APR`) is the APIC ID, as QEMU sets it and never changes it. QEMU decides the ICR2 decoding by
// the CPU's x2APIC *feature*; irqslice decides it by the APIC's mode (an xAPIC-mode APIC on an
// x2APIC-capable QEMU CPU prints its xAPIC destination as an X2APIC ID, which says nothing true).

import type { LocalApicState } from './lapic-state.js';

export interface InfoLapicContext {
  /** PPR as the APIC computes it now (§11.8.3.1). */
  ppr: number;
  /** x2APIC mode: the ICR destination is 32 bits and the LDR is the derived x2APIC logical ID. */
  x2apic: boolean;
  /** The LDR as software reads it (in x2APIC mode the derived logical ID). */
  ldr: number;
}

// LVT fields (Intel SDM vol. 3A §11.5.1) and the names QEMU's dm2str() gives delivery modes.
const DELIVERY_NAMES = ['Fixed', '...', 'SMI', '...', 'NMI', 'INIT', '...', 'ExtINT'] as const;
const DM_NMI = 4;
const DELIVERY_STATUS = 1 << 12;
const POLARITY_LOW = 1 << 13;
const TRIGGER_LEVEL = 1 << 15;
const MASKED = 1 << 16;
const TIMER_PERIODIC = 1 << 17;
const TIMER_TSC_DEADLINE = 2 << 17;
// ICR (§11.6.1).
const ICR_DEST_LOGICAL = 1 << 11;
const ICR_LEVEL_ASSERT = 1 << 14;
const ICR_TRIGGER_LEVEL = 1 << 15;
const SHORTHANDS = ['no-shorthand', 'self', 'all-self', 'all'] as const;
// SVR (§11.9).
const SVR_ENABLED = 1 << 8;
const SVR_FOCUS = 1 << 9; // "focus processor checking" disable bit; QEMU prints focus=on when it is set

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const hex2 = (n: number) => (n >>> 0).toString(16).padStart(2, '0');
/** printf's `%-Ns`. */
const left = (s: string, n: number) => s.padEnd(n);

function lvtLine(name: string, lvt: number, isTimer: boolean): string {
  const dm = (lvt >>> 8) & 7;
  const mode = !isTimer ? '' : lvt & TIMER_PERIODIC ? 'periodic' : lvt & TIMER_TSC_DEADLINE ? 'tsc-deadline' : 'one-shot';
  const head =
    `${name}\t 0x${hex8(lvt)} ${lvt & POLARITY_LOW ? 'active-lo' : 'active-hi'} ${left(lvt & TRIGGER_LEVEL ? 'level' : 'edge', 5)} ` +
    `${left(lvt & MASKED ? 'masked' : '', 6)} ${left(lvt & DELIVERY_STATUS ? 'pending' : '', 7)} ${left(mode, 12)} ${left(DELIVERY_NAMES[dm]!, 6)}`;
  return dm === DM_NMI ? head : `${head} (vec ${lvt & 0xff})`;
}

/** `%0Nb`-style binary of the low `bits` bits, as QEMU's mask2str(). */
function mask(value: number, bits: number): string {
  return (value >>> 0).toString(2).padStart(32, '0').slice(32 - bits);
}

function icrLines(s: LocalApicState, x2apic: boolean): string {
  const icr = s.icrLow >>> 0;
  const icr2 = s.icrHigh >>> 0;
  const shorthand = (icr >>> 18) & 3;
  const logical = (icr & ICR_DEST_LOGICAL) !== 0;
  let out =
    `ICR\t 0x${hex8(icr)} ${logical ? 'logical' : 'physical'} ${icr & ICR_TRIGGER_LEVEL ? 'level' : 'edge'} ` +
    `${icr & ICR_LEVEL_ASSERT ? 'assert' : 'de-assert'} ${SHORTHANDS[shorthand]}\n` +
    `ICR2\t 0x${hex8(icr2)}`;
  if (shorthand !== 0) return out + '\n';
  const dest = x2apic ? icr2 : icr2 >>> 24;
  if (!logical) return out + (x2apic ? ` cpu ${dest} (X2APIC ID)\n` : ` cpu ${dest & 0xff} (APIC ID)\n`);
  const model = s.dfr >>> 28;
  if (model === 0xf) out += ` mask ${mask(icr2 >>> 24, 8)} (APIC ID)\n`;
  else if (model === 0) {
    out += x2apic
      ? ` cluster ${dest >>> 16} mask ${mask(dest & 0xffff, 16)} (X2APIC ID)\n`
      : ` cluster ${(dest >>> 4) & 0xf} mask ${mask(dest & 0xf, 4)} (APIC ID)\n`;
  }
  // Any other DFR model prints nothing more, not even the newline: QEMU does the same.
  return out;
}

function vectorsLine(name: string, bits: readonly number[], tmr: readonly number[]): string {
  let out = `${name}\t `;
  let empty = true;
  for (let v = 0; v < 256; v++) {
    if (((bits[v >>> 5]! >>> (v & 31)) & 1) === 0) continue;
    out += `${v}${(tmr[v >>> 5]! >>> (v & 31)) & 1 ? '(level)' : ''} `;
    empty = false;
  }
  return `${out}${empty ? '(none)' : ''}\n`;
}

/** The divisor a divide configuration selects (§11.5.4), as QEMU's divider_conf(). */
function divisor(dcr: number): number {
  const v = ((dcr & 0x8) >>> 1) | (dcr & 0x3);
  return v === 7 ? 1 : 2 << v;
}

/** `info lapic` of one APIC, from its snapshot: LVTs, timer, SVR, ICR, ESR, ISR, IRR, then APR/TPR/DFR/LDR/PPR. */
export function formatInfoLapic(s: LocalApicState, ctx: InfoLapicContext): string {
  const lvt = s.lvt;
  const dcr = s.timer.divideConfig & 0xb;
  const model = s.dfr >>> 28;
  const ldr = ctx.x2apic ? ctx.ldr >>> 0 : ctx.ldr >>> 24;
  return (
    lvtLine('LVT0', lvt.lint0, false) + '\n' +
    lvtLine('LVT1', lvt.lint1, false) + '\n' +
    lvtLine('LVTPC', lvt.pmc, false) + '\n' +
    lvtLine('LVTERR', lvt.error, false) + '\n' +
    lvtLine('LVTTHMR', lvt.thermal, false) + '\n' +
    lvtLine('LVTT', lvt.timer, true) + '\n' +
    `Timer\t DCR=0x${dcr.toString(16)} (divide by ${divisor(dcr)}) initial_count = ${s.timer.initialCount >>> 0} current_count = ${s.timer.currentCount >>> 0}\n` +
    `SPIV\t 0x${hex8(s.svr)} APIC ${s.svr & SVR_ENABLED ? 'enabled' : 'disabled'}, focus=${s.svr & SVR_FOCUS ? 'on' : 'off'}, spurious vec ${s.svr & 0xff}\n` +
    icrLines(s, ctx.x2apic) +
    `ESR\t 0x${hex8(s.esr)}\n` +
    vectorsLine('ISR', s.isr, s.tmr) +
    vectorsLine('IRR', s.irr, s.tmr) +
    `\nAPR 0x${hex2(s.apicId & 0xff)} TPR 0x${hex2(s.tpr)} DFR 0x${hex2(model)} LDR 0x${hex2(ldr)}` +
    (model === 0 ? `(cluster ${ldr >>> 4}: id ${ldr & 0xf})` : '') +
    ` PPR 0x${hex2(ctx.ppr)}\n`
  );
}
