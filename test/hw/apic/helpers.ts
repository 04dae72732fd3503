// Test doubles for the local APIC: a sink that records the CPU pins it drives, and small builders.
import { GeneralProtectionFault } from '../../../src/hw/apic/errors.js';
import type { LapicSink } from '../../../src/hw/signals.js';
import { LocalApic, type LapicEvent, type LocalApicOptions } from '../../../src/hw/apic/local-apic.js';

export interface Recorder {
  sink: LapicSink;
  /** Every pin action in order: 'intr:true', 'nmi', 'smi', 'init', 'sipi:0x9a', 'extint'. */
  calls: string[];
  events: LapicEvent[];
  intr(): boolean;
}

export function recorder(): Recorder {
  const calls: string[] = [];
  let line = false;
  return {
    calls,
    events: [],
    intr: () => line,
    sink: {
      intr(level) {
        line = level;
        calls.push(`intr:${level}`);
      },
      nmi: () => calls.push('nmi'),
      smi: () => calls.push('smi'),
      init: () => calls.push('init'),
      sipi: (v) => calls.push(`sipi:0x${v.toString(16)}`),
      extint: () => calls.push('extint'),
    },
  };
}

export interface Rig extends Recorder {
  apic: LocalApic;
}

export function makeApic(opts: Partial<LocalApicOptions> = {}): Rig {
  const rec = recorder();
  const apic = new LocalApic({
    apicId: 0,
    bsp: true,
    sink: rec.sink,
    onEvent: (e) => rec.events.push(e),
    ...opts,
  });
  return { ...rec, apic };
}

/** SVR = 0x1FF: APIC software-enabled (bit 8), spurious vector 0xFF. */
export function swEnable(apic: LocalApic, svr = 0x0000_01ff): void {
  if (apic.mode === 'x2apic') apic.wrmsr(0x80f, BigInt(svr));
  else apic.write(0x0f0, svr);
}

/** IA32_APIC_BASE ← 0xFEE00C00 (EN bit 11, EXTD bit 10) keeping the BSP bit. */
export function enterX2apic(apic: LocalApic): void {
  apic.wrmsr(0x1b, 0xfee0_0c00n | (apic.isBsp ? 0x100n : 0n));
}

export const fixed = (vector: number, trigger: 'edge' | 'level' = 'edge') => ({ vector, mode: 'fixed' as const, trigger });

/** The #GP reason a call raises, or undefined when it does not fault (other errors propagate). */
export function gpReason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof GeneralProtectionFault) return e.reason;
    throw e;
  }
  return undefined;
}
