// ApicBus.deliverMsi (numbers in, a status code out, a table by APIC ID for physical destinations)
// and the msiWrite() wrapper over it must behave as the bus did before: the same acceptances, drops,
// ESR bits, pin edges, events and outcomes. Checked differentially against a reference decoder on a
// twin system, driven by a seeded random stream of topology changes, messages, INTAs and EOIs.
import { describe, expect, it } from 'vitest';
import { randomInts as rng } from '../../../src/util/random.js';
import { ApicBus, lowestPprPolicy, MSI_DELIVERED, MSI_ILLEGAL_VECTOR, MSI_NO_DESTINATION } from '../../../src/hw/apic/apic-bus.js';
import type { LocalApic, LocalApicState } from '../../../src/hw/apic/local-apic.js';
import type { ApicMessage, DeliveryMode, MsiOutcome } from '../../../src/hw/signals.js';
import { enterX2apic, makeApic, swEnable, type Rig } from './helpers.js';

const MODES: (DeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', null, 'extint'];

/**
 * The MSI decode and routing as the bus did it before the fast path (SDM §11.11), written against the
 * public LocalApic API only: every matching APIC by scanning, lowest-PPR arbitration for lowest
 * priority or RH = 1 unless one physical ID matches exactly one APIC.
 */
function referenceMsi(lapics: readonly LocalApic[], address: bigint, data: number, extendedDestId: boolean): MsiOutcome {
  if (address > 0xffff_ffffn) return { delivered: false, reason: 'not-msi-address', detail: `0x${address.toString(16)}: upper address DWORD is not 0` };
  const low = Number(address);
  if (low >>> 20 !== 0xfee) return { delivered: false, reason: 'not-msi-address', detail: `0x${low.toString(16)} is outside 0xFEE00000–0xFEEFFFFF` };
  if (low & 0x10) return { delivered: false, reason: 'reserved-bits', detail: 'address bit 4 (remappable format) set without an IOMMU' };
  const mode = MODES[(data >>> 8) & 7]!;
  if (mode === null) return { delivered: false, reason: 'reserved-delivery-mode', detail: `data delivery mode ${(data >>> 8) & 7} is reserved` };
  const vector = data & 0xff;
  const trigger = data & 0x8000 ? 'level' : 'edge';
  const msg: ApicMessage = { vector, mode, trigger, level: trigger === 'edge' || (data & 0x4000) !== 0 };
  let id = (low >>> 12) & 0xff;
  if (extendedDestId) id |= ((low >>> 5) & 0x7f) << 8;
  const dm = low & 4 ? 'logical' : 'physical';
  const fixedLike = mode === 'fixed' || mode === 'lowest';
  const arbitrate = mode === 'lowest' || (fixedLike && (low & 8) !== 0);
  const sorted = [...lapics].sort((x, y) => x.apicId - y.apicId);
  const matched = sorted.filter((l) => (dm === 'physical' ? l.matchesPhysical(id, false) : l.matchesLogical(id, false)));
  if (matched.length === 0) return { delivered: false, reason: 'no-destination', detail: `no APIC matches ${dm} destination 0x${id.toString(16)}` };
  let ids: number[] = [];
  if (dm === 'physical' && id !== 0xff && matched.length === 1) {
    if (matched[0]!.accept(msg)) ids = [matched[0]!.apicId];
  } else if (arbitrate) {
    const winner = lowestPprPolicy(matched, msg);
    if (winner !== undefined && winner.accept(msg)) ids = [winner.apicId];
  } else {
    for (const l of matched) if (l.accept(msg)) ids.push(l.apicId);
  }
  if (fixedLike && vector < 16) return { delivered: false, reason: 'illegal-vector', detail: `vector ${vector} is below 16` };
  return { delivered: true, apicIds: ids, vector, mode, trigger };
}


/** PPR and INTR from the IRR/ISR/TPR registers alone (§11.8.3.1), by scanning all 256 bits. */
function architectural(st: LocalApicState, enabled: boolean): { ppr: number; intr: boolean } {
  const top = (words: number[]) => {
    for (let v = 255; v >= 0; v--) if ((words[v >>> 5]! >>> (v & 31)) & 1) return v;
    return -1;
  };
  const isrv = top(st.isr);
  const ppr = isrv < 0 || (st.tpr & 0xf0) >= (isrv & 0xf0) ? st.tpr : isrv & 0xf0;
  const irrv = top(st.irr);
  return { ppr, intr: enabled && irrv >= 0 && (irrv & 0xf0) > (ppr & 0xf0) };
}

function twin(n: number, extendedDestId: boolean) {
  const make = () => {
    const bus = new ApicBus({ extendedDestId });
    const cpus: Rig[] = Array.from({ length: n }, (_, i) => {
      const rig = makeApic({ apicId: i === n - 1 ? 0x123 : i, bsp: i === 0 });
      swEnable(rig.apic);
      bus.attach(rig.apic);
      return rig;
    });
    return { bus, cpus };
  };
  return [make(), make()] as const;
}

describe('deliverMsi is msiWrite without the objects', () => {
  for (const extendedDestId of [false, true]) {
    it(`agrees with the reference decoder on 20 000 random steps (extendedDestId ${extendedDestId})`, () => {
      const r = rng(extendedDestId ? 7 : 11);
      const [slow, fast] = twin(6, extendedDestId);
      const codes = new Map<number, number>();
      for (let step = 0; step < 20_000; step++) {
        const op = r(100);
        const i = r(6);
        const both = (f: (rig: Rig) => void) => {
          f(slow.cpus[i]!);
          f(fast.cpus[i]!);
        };
        if (op < 3) {
          // Topology: rewrite the xAPIC ID (duplicates and free IDs happen), switch modes, disable.
          const kind = r(4);
          const id = r(8);
          both(({ apic }) => {
            if (kind === 0 && apic.mode === 'xapic') apic.write(0x20, id << 24);
            else if (kind === 1 && apic.mode === 'xapic') enterX2apic(apic);
            else if (kind === 2) apic.wrmsr(0x1b, apic.isBsp ? 0x100n : 0n); // EN = 0: hardware-disabled
            else if (kind === 3 && apic.mode === 'disabled') {
              apic.wrmsr(0x1b, 0xfee0_0800n | (apic.isBsp ? 0x100n : 0n));
              swEnable(apic);
            }
          });
        } else if (op < 6) {
          const tpr = r(16) << 4;
          both(({ apic }) => {
            if (apic.mode === 'xapic') apic.write(0x80, tpr);
            else if (apic.mode === 'x2apic') apic.wrmsr(0x808, BigInt(tpr));
          });
        } else if (op < 8) {
          const svr = r(2) ? 0x1ff : 0x0ff; // software enable / disable
          both(({ apic }) => {
            if (apic.mode === 'xapic') apic.write(0xf0, svr);
          });
        } else if (op < 20) {
          both(({ apic }) => void apic.acknowledge());
        } else if (op < 30) {
          both(({ apic }) => {
            if (apic.mode === 'xapic') apic.write(0xb0, 0);
            else if (apic.mode === 'x2apic') apic.wrmsr(0x80b, 0n);
          });
        } else {
          // A message: mostly well-formed physical fixed ones, and every kind of odd one.
          const dest = r(4) === 0 ? r(256) : r(8);
          let lo = 0xfee0_0000 | (dest << 12);
          if (r(8) === 0) lo |= 1 << 3; // RH
          if (r(8) === 0) lo |= 1 << 2; // DM logical
          if (r(40) === 0) lo |= 1 << 4; // remappable format
          if (extendedDestId && r(8) === 0) lo |= r(128) << 5;
          if (r(60) === 0) lo ^= 0x0010_0000; // outside the window
          const hi = r(60) === 0 ? 1 + r(4) : 0;
          let data = r(5) === 0 ? r(256) : 0x20 + r(0xe0);
          data |= (r(4) === 0 ? r(8) : 0) << 8; // delivery mode
          if (r(10) === 0) data |= 1 << 15; // level-triggered
          if (r(2) === 0) data |= 1 << 14; // assert
          if (r(20) === 0) data |= r(0x10000) << 16; // reserved bits
          data >>>= 0;
          const address = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
          const want = referenceMsi(slow.cpus.map((c) => c.apic), address, data, extendedDestId);
          if (r(3) === 0) {
            expect(fast.bus.msiWrite(address, data)).toEqual(want); // the public wrapper
          } else {
            // The fast path takes 32-bit patterns, signed or not.
            const code = fast.bus.deliverMsi(r(2) ? lo | 0 : lo >>> 0, hi, r(2) ? data | 0 : data);
            codes.set(code, (codes.get(code) ?? 0) + 1);
            if (want.delivered) expect(code).toBe(MSI_DELIVERED);
            else expect(fast.bus.msiFailure(code, lo, hi, data)).toEqual(want);
          }
        }
        for (let k = 0; k < 6; k++) {
          const a = fast.cpus[k]!.apic;
          const b = slow.cpus[k]!.apic;
          // Both twins run the same LocalApic: its cached highest IRR/ISR vectors are checked against the registers.
          const st = a.saveState();
          const want = architectural(st, a.mode !== 'disabled');
          if (a.ppr !== want.ppr || a.hasInterrupt() !== want.intr) expect([step, k, a.ppr, a.hasInterrupt()]).toEqual([step, k, want.ppr, want.intr]);
          if (step % 101 === 0) expect(st).toEqual(b.saveState());
        }
      }
      for (let k = 0; k < 6; k++) {
        expect(fast.cpus[k]!.calls).toEqual(slow.cpus[k]!.calls);
        expect(fast.cpus[k]!.events).toEqual(slow.cpus[k]!.events);
      }
      // Every outcome class was exercised.
      expect(codes.get(MSI_DELIVERED)).toBeGreaterThan(1000);
      expect(codes.get(MSI_NO_DESTINATION)).toBeGreaterThan(10);
      expect(codes.get(MSI_ILLEGAL_VECTOR)).toBeGreaterThan(10);
      expect(codes.size).toBe(6);
    });
  }

  it('msiWrite reports the acceptors of the physical fast path and of the slow paths', () => {
    const [{ bus, cpus }] = twin(3, false);
    expect(bus.msiWrite(0xfee0_1000n, 0x41)).toEqual({ delivered: true, apicIds: [1], vector: 0x41, mode: 'fixed', trigger: 'edge' });
    cpus[2]!.apic.write(0x20, 1 << 24); // APIC 0x123 (xAPIC ID 0x23) takes ID 1 as well: no longer unique
    expect(bus.msiWrite(0xfee0_1000n, 0x42)).toMatchObject({ delivered: true, apicIds: [1, 0x123] });
    expect(bus.msiWrite(0xfee0_2000n, 0x43)).toMatchObject({ delivered: false, reason: 'no-destination' });
    cpus[1]!.apic.write(0xf0, 0xff); // software-disabled: matched, not accepted
    cpus[2]!.apic.write(0x20, 2 << 24);
    const out = bus.msiWrite(0xfee0_1000n, 0x44);
    expect(out).toEqual({ delivered: true, apicIds: [], vector: 0x44, mode: 'fixed', trigger: 'edge' });
    expect(Object.isFrozen((out as { apicIds: number[] }).apicIds)).toBe(true); // the shared empty list, as before
    expect(bus.msiWrite(0xfee0_2000n, 0x45)).toMatchObject({ delivered: true, apicIds: [0x123] });
  });

  it('the table follows x2APIC IDs and ignores IDs an MSI cannot name', () => {
    const bus = new ApicBus();
    const rigs = [0, 0x1ff].map((id, i) => {
      const rig = makeApic({ apicId: id, bsp: i === 0 });
      enterX2apic(rig.apic);
      swEnable(rig.apic);
      bus.attach(rig.apic);
      return rig;
    });
    expect(bus.deliverMsi(0xfee0_0000, 0, 0x50)).toBe(MSI_DELIVERED);
    expect(rigs[0]!.apic.hasInterrupt()).toBe(true);
    expect(rigs[1]!.apic.hasInterrupt()).toBe(false);
    expect(bus.deliverMsi(0xfee0_1000, 0, 0x50)).toBe(MSI_NO_DESTINATION); // x2APIC ID 0x1ff is not 1
    expect(bus.deliverMsi(0xfeef_0000, 0, 0x51)).toBe(MSI_NO_DESTINATION); // nor 0xf0
    expect(bus.msiWrite(0xfeef_f000n, 0x52)).toMatchObject({ delivered: true, apicIds: [0, 0x1ff] }); // 0xff: broadcast
    const ext = new ApicBus({ extendedDestId: true });
    const far = makeApic({ apicId: 0x1ff, bsp: true });
    enterX2apic(far.apic);
    swEnable(far.apic);
    ext.attach(far.apic);
    // ID 0x1ff = bits 7:0 in address 19:12, bits 14:8 in address 11:5.
    expect(ext.deliverMsi(0xfee0_0000 | (0xff << 12) | (1 << 5), 0, 0x53)).toBe(MSI_DELIVERED);
    expect(far.apic.hasInterrupt()).toBe(true);
  });
});
