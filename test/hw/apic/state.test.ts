import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApicStateError } from '../../../src/hw/apic/errors.js';
import { LocalApic, type LocalApicState } from '../../../src/hw/apic/local-apic.js';
import { makeApic, recorder, swEnable } from './helpers.js';

// saveState/loadState: plain-JSON snapshots that round-trip exactly and are validated on restore.
const WRITABLE = [0x020, 0x080, 0x0b0, 0x0d0, 0x0e0, 0x0f0, 0x280, 0x2f0, 0x300, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3e0];

type Op =
  | { kind: 'write'; offset: number; value: number }
  | { kind: 'accept'; vector: number; level: boolean }
  | { kind: 'read'; offset: number }
  | { kind: 'ack' }
  | { kind: 'tick'; n: number }
  | { kind: 'lint'; pin: 0 | 1; level: boolean }
  | { kind: 'base'; value: bigint }
  | { kind: 'deadline'; value: bigint };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), offset: fc.constantFrom(...WRITABLE), value: fc.nat({ max: 0xffff_ffff }) }) },
  // Biased ops so that runs reach the interesting states: software-enabled, unmasked LVTs.
  { weight: 2, arbitrary: fc.constant({ kind: 'write' as const, offset: 0x0f0, value: 0x1ff }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      offset: fc.constantFrom(0x2f0, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370),
      // bit 16 clear (unmasked); bits 18:17 cover every timer mode
      value: fc.tuple(fc.nat({ max: 0xffff }), fc.nat({ max: 3 })).map(([v, mode]) => (v | (mode << 17)) >>> 0),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('accept' as const), vector: fc.nat({ max: 255 }), level: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), offset: fc.nat({ max: 0xfff }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'ack' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), n: fc.nat({ max: 5000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lint' as const), pin: fc.constantFrom(0 as const, 1 as const), level: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('base' as const), value: fc.constantFrom(0xfee0_0000n, 0xfee0_0800n, 0xfee0_0c00n) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deadline' as const), value: fc.bigInt({ min: 0n, max: 3000n }) }) },
);

function build() {
  let tsc = 0n;
  const apic = new LocalApic({ apicId: 7, bsp: false, sink: recorder().sink, tsc: () => tsc });
  return { apic, advance: (n: number) => (tsc += BigInt(n)) };
}

function run(rig: ReturnType<typeof build>, op: Op): void {
  const { apic } = rig;
  switch (op.kind) {
    case 'write': return apic.write(op.offset, op.value);
    case 'accept': return void apic.accept({ vector: op.vector, mode: 'fixed', trigger: op.level ? 'level' : 'edge' });
    case 'read': return void apic.read(op.offset); // reserved/unaligned offsets latch ESR errors
    case 'ack': return void apic.acknowledge();
    case 'tick': rig.advance(op.n); return apic.tick(op.n);
    case 'lint': return apic.setLint(op.pin, op.level);
    case 'base':
    case 'deadline':
      try {
        apic.wrmsr(op.kind === 'base' ? 0x1b : 0x6e0, op.value);
      } catch {
        /* an architected #GP leaves the state as it was */
      }
  }
}

describe('saveState / loadState', () => {
  it('round-trips exactly through JSON after any sequence of guest activity (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(opArb, { maxLength: 20 }), (ops, more) => {
        const a = build();
        for (const op of ops) run(a, op);
        const saved = a.apic.saveState();
        const json = JSON.parse(JSON.stringify(saved)) as LocalApicState;
        expect(json).toEqual(saved);
        const b = build();
        b.advance(Number(ops.filter((o) => o.kind === 'tick').reduce((s, o) => s + (o as { n: number }).n, 0)));
        b.apic.loadState(json);
        expect(b.apic.saveState()).toEqual(saved);
        // The restored APIC behaves identically from here on.
        for (const op of more) {
          run(a, op);
          run(b, op);
        }
        expect(b.apic.saveState()).toEqual(a.apic.saveState());
      }),
      { numRuns: 500 },
    );
  });

  it('the snapshot holds no bigint (IA32_APIC_BASE as hex, TSC deadline as decimal strings)', () => {
    const { apic } = makeApic();
    const s = apic.saveState();
    expect(s.apicBase).toBe('0xfee00900');
    expect(s.tscDeadline).toBe('0');
    expect(() => JSON.stringify(s)).not.toThrow();
  });

  it('restoring recomputes the INTR line and tells the sink', () => {
    const src = makeApic();
    swEnable(src.apic);
    src.apic.accept({ vector: 0x40, mode: 'fixed', trigger: 'edge' });
    const dst = makeApic();
    dst.apic.loadState(src.apic.saveState());
    expect(dst.calls).toEqual(['intr:true']);
  });

  const base = () => makeApic().apic.saveState();
  const rejects: [string, (s: LocalApicState) => unknown][] = [
    ['a state saved by another APIC ID', (s) => (s.apicId = 9)],
    ['an IRR bit for an illegal vector (0–15)', (s) => (s.irr[0] = 1 << 3)],
    ['an unmasked LVT while software-disabled', (s) => (s.lvt.timer = 0x40)],
    ['a current count above the initial count', (s) => (s.timer = { initialCount: 5, currentCount: 6, phase: 0, divideConfig: 0 })],
    ['a prescaler phase not below the divisor', (s) => (s.timer = { initialCount: 5, currentCount: 5, phase: 2, divideConfig: 0 })],
    ['IA32_APIC_BASE with EN = 0 and EXTD = 1', (s) => (s.apicBase = '0xfee00500')],
    ['a hardware-disabled APIC with programmed registers', (s) => ((s.apicBase = '0xfee00100'), (s.tpr = 0x20))],
    ['DFR bits 27:0 not all ones', (s) => (s.dfr = 0xf000_0000)],
    ['an ESR bit outside 7:4', (s) => (s.esr = 1)],
    ['a TSC deadline without TSC-deadline mode', (s) => (s.tscDeadline = '100')],
    ['a missing field', (s) => delete (s as Partial<LocalApicState>).isr],
  ];
  it.each(rejects)('rejects %s with ApicStateError and leaves the APIC untouched', (_, mutate) => {
    const { apic } = makeApic();
    apic.write(0x080, 0x30);
    const before = apic.saveState();
    const bad = base();
    mutate(bad);
    expect(() => apic.loadState(bad)).toThrow(ApicStateError);
    expect(apic.saveState()).toEqual(before);
  });
});
