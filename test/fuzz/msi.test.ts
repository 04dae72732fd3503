// MSI writes with every bit a hostile device can set: address bits outside the architected fields
// (11:4, 1:0, the upper DWORD), data bits 13:11 and 31:16, every RH/DM combination, every delivery mode,
// lowest priority, on a bus whose APICs change IDs, logical models, modes and priorities between
// messages. The reference decoder below is written from SDM vol. 3A §11.11 (docs/DESIGN.md F5), §11.6.2 and the
// bus's documented choices (src/hw/apic/README.md "MSI"), over a mirror of what the test programmed —
// it never asks the model who matches. Property: each message is delivered to exactly the APICs the
// reference names (each once: no interrupt lost or duplicated) or dropped with the reference's reason.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApicBus, firstMatchPolicy, lowestPprPolicy, MSI_DELIVERED } from '../../src/hw/apic/apic-bus.js';
import type { MsiOutcome } from '../../src/hw/signals.js';
import { makeApic, type Rig } from '../hw/apic/helpers.js';
import { fcParams } from './params.js';

/** What the test programmed into one APIC. */
interface Cfg {
  hwId: number;
  bsp: boolean;
  mode: 'disabled' | 'xapic' | 'x2apic';
  /** xAPIC ID register (bits 31:24). */
  xid: number;
  /** xAPIC logical ID (LDR 31:24) and DFR model. */
  ldr: number;
  cluster: boolean;
  /** SVR bit 8. */
  sw: boolean;
  tpr: number;
}

const HW_IDS = [0, 1, 2, 5, 7, 0x1f0];

function program(rig: Rig, c: Cfg): void {
  const a = rig.apic;
  const base = 0xfee0_0000n | (c.bsp ? 0x100n : 0n);
  // Figure 11-30: x2APIC → xAPIC only through disabled; disabled → x2APIC only through xAPIC.
  if (a.mode === 'x2apic' && c.mode !== 'x2apic') a.wrmsr(0x1b, base & 0x100n);
  if (c.mode === 'disabled') {
    if (a.mode !== 'disabled') a.wrmsr(0x1b, base & 0x100n);
    return;
  }
  if (a.mode === 'disabled') a.wrmsr(0x1b, base | 0x800n);
  if (c.mode === 'x2apic') {
    if (a.mode !== 'x2apic') a.wrmsr(0x1b, base | 0xc00n);
    a.wrmsr(0x80f, c.sw ? 0x1ffn : 0xffn);
    a.wrmsr(0x808, BigInt(c.tpr));
    return;
  }
  a.write(0x020, c.xid << 24);
  a.write(0x0d0, c.ldr << 24);
  a.write(0x0e0, c.cluster ? 0x0fff_ffff : 0xffff_ffff);
  a.write(0x0f0, c.sw ? 0x1ff : 0xff);
  a.write(0x080, c.tpr);
}

const MODES = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', null, 'extint'] as const;

interface Expect {
  outcome: { delivered: true; apicIds: number[] } | { delivered: false; reason: string };
  /** hwId → what reaches that APIC: 'irr' (a fixed vector latched), 'illegal' (ESR bit 6), or a pin. */
  effects: Map<number, 'irr' | 'illegal' | 'nmi' | 'smi' | 'init' | 'extint'>;
}

/** SDM §11.11 decode and §11.6.2 destination matching, over the programmed configuration. */
function reference(cfgs: Cfg[], lo: number, hi: number, data: number, extendedDestId: boolean, firstMatch: boolean): Expect {
  const effects: Expect['effects'] = new Map();
  const drop = (reason: string): Expect => ({ outcome: { delivered: false, reason }, effects });
  if (hi !== 0 || lo >>> 20 !== 0xfee) return drop('not-msi-address');
  if (lo & 0x10) return drop('reserved-bits'); // bit 4: interrupt-remapping format, no IOMMU here
  const code = (data >>> 8) & 7;
  const mode = MODES[code];
  if (mode === null) return drop('reserved-delivery-mode'); // 011, 110
  const vector = data & 0xff;
  const level = (data & 0x8000) !== 0;
  const deassert = level && (data & 0x4000) === 0; // bit 14 matters only for level-triggered messages
  let id = (lo >>> 12) & 0xff;
  if (extendedDestId) id |= ((lo >>> 5) & 0x7f) << 8; // bits 11:5 = destination 14:8 (hypervisor extension)
  const logical = (lo & 4) !== 0; // DM, decoded whatever RH says (documented choice)
  const rh = (lo & 8) !== 0;
  const live = [...cfgs].filter((c) => c.mode !== 'disabled').sort((a, b) => a.hwId - b.hwId);
  const matched = live.filter((c) => {
    if (!logical) return id === 0xff || (c.mode === 'x2apic' ? c.hwId === id : c.xid === id);
    const m = id & 0xff;
    if (m === 0xff) return true;
    if (c.mode === 'x2apic') {
      // An 8-bit MDA addresses x2APIC cluster 0: members 7:0 (§11.12.10.2 logical ID = cluster 31:16, bit 15:0).
      return c.hwId >>> 4 === 0 && ((1 << (c.hwId & 0xf)) & m) !== 0;
    }
    return c.cluster ? c.ldr >>> 4 === m >>> 4 && (c.ldr & m & 0xf) !== 0 : (c.ldr & m) !== 0;
  });
  if (matched.length === 0) return drop('no-destination');
  const fixedLike = code <= 1;
  let targets = matched;
  const unique = !logical && id !== 0xff && matched.length === 1;
  if (fixedLike && !unique && (code === 1 || rh)) {
    // One APIC takes it (§11.6.2.4): lowest PPR among enabled ones, lowest APIC ID on ties (PPR = TPR
    // here: every ISR is empty); the first match ignoring priorities under QEMU's policy.
    const enabled = matched.filter((c) => c.sw);
    const best = firstMatch ? matched[0]! : enabled.length === 0 ? matched[0]! : enabled.reduce((b, c) => (c.tpr < b.tpr ? c : b));
    targets = [best];
  }
  const ids: number[] = [];
  for (const c of targets) {
    if (fixedLike) {
      if (deassert || !c.sw) continue; // a software-disabled APIC takes no fixed interrupt (§11.4.7.2)
      if (vector < 16) effects.set(c.hwId, 'illegal'); // §11.5.3 receive illegal vector
      else {
        effects.set(c.hwId, 'irr');
        ids.push(c.hwId);
      }
    } else {
      if (mode === 'init' && deassert) {
        ids.push(c.hwId); // INIT level de-assert: accepted, no effect since the Pentium 4
        continue;
      }
      effects.set(c.hwId, mode as 'nmi' | 'smi' | 'init' | 'extint');
      ids.push(c.hwId);
    }
  }
  if (fixedLike && vector < 16) return drop('illegal-vector');
  return { outcome: { delivered: true, apicIds: ids }, effects };
}

const REASONS = ['delivered', 'not-msi-address', 'reserved-bits', 'reserved-delivery-mode', 'no-destination', 'illegal-vector'];

const cfgArb = (hwId: number): fc.Arbitrary<Cfg> =>
  fc.record({
    hwId: fc.constant(hwId),
    bsp: fc.constant(hwId === 0),
    mode: fc.constantFrom<Cfg['mode']>('xapic', 'xapic', 'xapic', 'x2apic', 'disabled'),
    xid: fc.oneof(fc.constant(hwId & 0xff), fc.nat(7)), // duplicates happen
    ldr: fc.oneof(fc.constant(1 << (hwId % 8)), fc.nat(0xff)),
    cluster: fc.boolean(),
    sw: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    tpr: fc.constantFrom(0, 0, 0x10, 0x20, 0x35, 0xf0),
  });

const message = fc.record({
  dest: fc.oneof({ weight: 6, arbitrary: fc.nat(8) }, { weight: 2, arbitrary: fc.nat(0xff) }, { weight: 1, arbitrary: fc.constant(0xff) }),
  low: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.nat(0xfff) }), // bits 11:0, reserved ones included
  window: fc.oneof({ weight: 20, arbitrary: fc.constant(0xfee) }, { weight: 1, arbitrary: fc.constantFrom(0xfed, 0xfef, 0x000, 0xfff) }),
  hi: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff_ffff }) }),
  vector: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0xfe }) }, { weight: 1, arbitrary: fc.nat(0x1f) }),
  mode: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0, 1) }, { weight: 3, arbitrary: fc.nat(7) }),
  trigger: fc.nat(3), // bit 15, bit 14
  reserved: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff_ffff }) }),
});

describe('MSI fuzz: reserved bits and every RH/DM/mode combination against the SDM decode', () => {
  it('each message reaches exactly the APICs the reference names, once, or is dropped for the reference reason', () => {
    const seen = new Map<string, number>();
    let irrs = 0;
    fc.assert(
      fc.property(
        fc.tuple(...HW_IDS.map(cfgArb)),
        fc.array(fc.oneof({ weight: 12, arbitrary: message.map((m) => ({ k: 'msg' as const, m })) }, { weight: 1, arbitrary: fc.tuple(fc.nat(HW_IDS.length - 1), fc.nat()).map(([i, s]) => ({ k: 'cfg' as const, i, s })) }), { minLength: 10, maxLength: 80 }),
        fc.boolean(),
        fc.boolean(),
        fc.tuple(...HW_IDS.map(cfgArb)),
        (initial, steps, extendedDestId, firstMatch, alternates) => {
          const bus = new ApicBus({ extendedDestId, lowestPriority: firstMatch ? firstMatchPolicy : lowestPprPolicy });
          const cfgs = initial.map((c) => ({ ...c }));
          const rigs = HW_IDS.map((id) => makeApic({ apicId: id, bsp: id === 0 }));
          rigs.forEach((r, i) => {
            bus.attach(r.apic);
            program(r, cfgs[i]!);
          });
          for (const step of steps) {
            if (step.k === 'cfg') {
              // The guest reprograms one APIC between messages (ID, LDR, model, mode, enable, TPR).
              cfgs[step.i] = { ...(step.s % 2 ? alternates[step.i]! : initial[step.i]!), tpr: [0, 0x10, 0x20, 0xf0][step.s % 4]! };
              program(rigs[step.i]!, cfgs[step.i]!);
              continue;
            }
            const m = step.m;
            const lo = ((m.window << 20) | (m.dest << 12) | m.low) >>> 0;
            const data = ((m.reserved & 0xffff_3800) | (m.trigger << 14) | (m.mode << 8) | m.vector) >>> 0;
            const want = reference(cfgs, lo, m.hi, data, extendedDestId, firstMatch);
            const calls = rigs.map((r) => r.calls.length);
            // Both entry points: msiWrite (BigInt address) and deliverMsi (32-bit patterns, signed or not).
            let got: { delivered: true; apicIds: number[] } | { delivered: false; reason: string };
            if (m.vector & 1) {
              const out: MsiOutcome = bus.msiWrite((BigInt(m.hi) << 32n) | BigInt(lo), data);
              got = out.delivered ? { delivered: true, apicIds: [...out.apicIds].sort((a, b) => a - b) } : { delivered: false, reason: out.reason };
              if (out.delivered) {
                expect(out.vector).toBe(data & 0xff);
                expect(out.mode).toBe(MODES[(data >>> 8) & 7]);
                expect(out.trigger).toBe(data & 0x8000 ? 'level' : 'edge');
              }
            } else {
              const code = bus.deliverMsi(m.dest & 1 ? lo | 0 : lo, m.hi, m.reserved & 1 ? data | 0 : data);
              // deliverMsi names no acceptors: the per-APIC effects below check who took it.
              if (code !== MSI_DELIVERED) got = { delivered: false, reason: bus.msiFailure(code, lo, m.hi, data).reason };
              else got = want.outcome.delivered ? want.outcome : { delivered: true, apicIds: [] };
            }
            const where = `lo ${lo.toString(16)} hi ${m.hi.toString(16)} data ${data.toString(16)} ext ${extendedDestId} first ${firstMatch}\n${JSON.stringify(cfgs)}`;
            expect(got, where).toEqual(want.outcome);
            const key = want.outcome.delivered ? 'delivered' : want.outcome.reason;
            seen.set(key, (seen.get(key) ?? 0) + 1);
            // Effects on each APIC: the IRR bit, ESR bit 6, the CPU pins — each exactly once where expected.
            rigs.forEach((r, i) => {
              const hw = HW_IDS[i]!;
              const effect = want.effects.get(hw);
              const st = r.apic.saveState();
              const irr = r.apic.mode !== 'disabled' && ((st.irr[(data & 0xff) >>> 5]! >>> (data & 31)) & 1) === 1;
              expect(irr, `IRR of APIC ${hw}: ${where}`).toBe(effect === 'irr');
              if (effect === 'irr') irrs++;
              const pins = r.calls.slice(calls[i]).filter((c) => !c.startsWith('intr'));
              expect(pins, `pins of APIC ${hw}: ${where}`).toEqual(effect === 'nmi' || effect === 'smi' || effect === 'init' || effect === 'extint' ? [effect] : []);
              if (effect !== 'init') expect(((st.esrPending >>> 6) & 1) === 1, `ESR of APIC ${hw}: ${where}`).toBe(effect === 'illegal');
            });
            // Drain: take every interrupt and EOI it, clear the ESR, undo INIT resets, so the next
            // message starts from empty IRR/ISR and PPR = TPR.
            rigs.forEach((r, i) => {
              const a = r.apic;
              if (want.effects.get(HW_IDS[i]!) === 'init') program(r, cfgs[i]!);
              if (a.mode === 'disabled') return;
              const x2 = a.mode === 'x2apic';
              const tpr = (v: number) => (x2 ? a.wrmsr(0x808, BigInt(v)) : a.write(0x080, v));
              tpr(0);
              for (let n = 0; a.hasInterrupt() && n < 256; n++) {
                a.acknowledge();
                if (x2) a.wrmsr(0x80b, 0n);
                else a.write(0x0b0, 0);
              }
              if (x2) a.wrmsr(0x828, 0n);
              else a.write(0x280, 0);
              tpr(cfgs[i]!.tpr);
              const st = a.saveState();
              expect(st.irr.some((w) => w !== 0) || st.isr.some((w) => w !== 0), `APIC ${HW_IDS[i]} not drained`).toBe(false);
            });
          }
        },
      ),
      fcParams(0x3519, 250),
    );
    for (const r of REASONS) expect(seen.get(r) ?? 0, `outcome ${r} exercised`).toBeGreaterThan(5);
    expect(irrs).toBeGreaterThan(1000);
  });
});
