// Snapshots of every model that has them: what saveState() returns, loadState() takes back (after a
// JSON round trip, from any reachable state); loadState() refuses unknown fields and names the full
// path of a bad one ("lvt.timer", not "timer").

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApicBus, ApicStateError, IoApic, IoApicStateError, LocalApic, MsiCapability, MsixCapability, PciFunction, PciStateError } from '../../src/index.js';
import { thrown } from '../hostile.js';

const sink = { intr() {}, nmi() {}, init() {}, sipi() {}, extint() {}, smi() {} };
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('LocalApic snapshots', () => {
  const make = (bsp: boolean, withTsc = true) => new LocalApic({ apicId: 3, bsp, sink, ...(withTsc ? { tsc: () => 0n } : {}) });

  it.each([
    ['an unknown top-level field', (s: Record<string, unknown>) => (s.x2apicMode = true), 'x2apicMode', /unknown field/],
    ['an unknown LVT', (s: Record<string, any>) => (s.lvt.lvt8 = 0x10000), 'lvt.lvt8', /unknown field/],
    ['a bad LVT value (the path is lvt.timer, not timer)', (s: Record<string, any>) => (s.lvt.timer = -1), 'lvt.timer', /32-bit unsigned/],
    ['an LVT with a reserved bit', (s: Record<string, any>) => (s.lvt.lint0 = 0x8000_0000), 'lvt.lint0', /bits outside/],
    ['an unknown timer field', (s: Record<string, any>) => (s.timer.prescaler = 0), 'timer.prescaler', /unknown field/],
    ['a bad timer field', (s: Record<string, any>) => (s.timer.divideConfig = 'x'), 'timer.divideConfig', /32-bit unsigned/],
    ['a bad IRR word', (s: Record<string, any>) => (s.irr[3] = 1.5), 'irr[3]', /32-bit unsigned/],
    ['an illegal vector in the ISR', (s: Record<string, any>) => (s.isr[0] = 1), 'isr[0]', /0–15/],
    ['a bad LINT level', (s: Record<string, any>) => (s.lint[1] = 1), 'lint[1]', /boolean/],
    ['bsp as a string', (s: Record<string, any>) => (s.bsp = 'yes'), 'bsp', /boolean/],
  ])('rejects %s, naming %s', (_what, mutate, field, detail) => {
    const a = make(false);
    a.write(0xf0, 0x1ff);
    const s = json(a.saveState()) as unknown as Record<string, unknown>;
    mutate(s);
    const e = thrown(() => make(false).loadState(s as never));
    expect(e).toBeInstanceOf(ApicStateError);
    expect((e as ApicStateError).field).toBe(field);
    expect(e.message).toMatch(detail);
  });

  it('rejects a state that is not an object, naming the root', () => {
    for (const bad of [[], null, 'state', 7]) {
      const e = thrown(() => make(false).loadState(bad as never));
      expect(e).toBeInstanceOf(ApicStateError);
      expect((e as ApicStateError).field).toBe('$');
    }
  });

  it('a BSP and an AP, in xAPIC and x2APIC mode, with and without TSC-deadline, round-trip through JSON', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(7), fc.nat({ max: 0x3f }), fc.nat({ max: 0xffff_ffff })), { maxLength: 40 }),
        (bsp, withTsc, ops) => {
          const a = make(bsp, withTsc);
          new ApicBus().attach(a);
          for (const [k, reg, v] of ops) {
            try {
              if (k === 0) a.write(reg << 4, v);
              else if (k === 1) a.write(0xf0, 0x1ff);
              else if (k === 2) a.accept({ vector: v & 0xff, mode: 'fixed', trigger: v & 0x100 ? 'level' : 'edge' });
              else if (k === 3) a.acknowledge();
              else if (k === 4) a.tick(v & 0xfff);
              else if (k === 5) a.setLint((reg & 1) as 0 | 1, (v & 1) === 1);
              else if (k === 6) a.wrmsr(0x1b, BigInt((0xfee0_0000 | (v & 0xc00) | (bsp ? 0x100 : 0)) >>> 0));
              else a.wrmsr(0x800 + reg, BigInt(v));
            } catch (e) {
              if (!(e instanceof Error) || e.name !== 'GeneralProtectionFault') throw e; // a #GP is the architected answer
            }
            const s = a.saveState();
            const b = make(bsp, withTsc);
            b.loadState(json(s));
            expect(b.saveState()).toEqual(s);
          }
        },
      ),
      { numRuns: 150, seed: 11 },
    );
  });
});

describe('IoApic snapshots', () => {
  const make = () => new IoApic({ id: 2, pins: 24, version: 0x20 });

  it.each([
    ['an unknown top-level field', (s: Record<string, any>) => (s.eoiRegister = true), /eoiRegister: unknown field/],
    ['an unknown RTE field', (s: Record<string, any>) => (s.redirection[5].mask = 1), /redirection\[5\]\.mask: unknown field/],
    ['a bad RTE low dword', (s: Record<string, any>) => (s.redirection[3].low = -1), /redirection\[3\]\.low must be a 32-bit/],
    ['a reserved RTE bit', (s: Record<string, any>) => (s.redirection[3].low = 1 << 20), /redirection\[3\]\.low sets reserved bits/],
    ['a non-boolean line', (s: Record<string, any>) => (s.lines[7] = 1), /lines\[7\] must be a boolean/],
  ])('rejects %s, naming it', (_what, mutate, message) => {
    const s = json(make().saveState()) as unknown as Record<string, unknown>;
    mutate(s);
    const e = thrown(() => make().loadState(s));
    expect(e).toBeInstanceOf(IoApicStateError);
    expect(e.message).toMatch(message);
  });

  it('any state reached by MMIO, line and EOI traffic round-trips through JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(4), fc.nat({ max: 0xff }), fc.nat({ max: 0xffff_ffff })), { maxLength: 60 }), (ops) => {
        const a = make();
        const bus = new ApicBus();
        const cpu = new LocalApic({ apicId: 0, bsp: true, sink });
        bus.attach(cpu);
        cpu.write(0xf0, 0x1ff);
        bus.attachIoApic(a);
        for (const [k, x, v] of ops) {
          if (k === 0) a.write(0x00, x);
          else if (k === 1) a.write(0x10, v);
          else if (k === 2) a.setIrq(x % 24, (v & 1) === 1);
          else if (k === 3) a.eoi(x);
          else a.write(0x40, v);
          const s = a.saveState();
          const b = make();
          b.loadState(json(s));
          expect(b.saveState()).toEqual(s);
        }
      }),
      { numRuns: 150, seed: 12 },
    );
  });
});

describe('MSI and MSI-X capability snapshots', () => {
  const upstream = { memoryWrite() {}, intx() {} };
  const withMsi = (vectors: 1 | 2 | 4 | 8 | 16 | 32, is64: boolean, pvm: boolean) => {
    const f = new PciFunction({ vendorId: 1, deviceId: 1, classCode: 0 });
    const c = new MsiCapability({ vectors, is64, pvm });
    f.addCapability(c);
    f.bind({ upstream, label: '00:03.0', report() {} });
    return { f, c };
  };
  const withMsix = (n: number) => {
    const f = new PciFunction({ vendorId: 1, deviceId: 1, classCode: 0 });
    f.addBar(1, { kind: 'memory32', size: 0x1000 });
    const c = new MsixCapability({ tableSize: n });
    f.addCapability(c);
    f.bind({ upstream, label: '00:04.0', report() {} });
    return { f, c };
  };

  it.each([
    ['an unknown MSI field', () => {
      const s = { ...withMsi(4, true, true).c.saveState(), extendedData: 0 };
      withMsi(4, true, true).c.loadState(s);
    }, /extendedData: unknown field/],
    ['an unknown MSI-X field', () => {
      const s = { ...withMsix(4).c.saveState(), tph: [] };
      withMsix(4).c.loadState(s);
    }, /tph: unknown field/],
    ['an unknown MSI-X entry field', () => {
      const s = json(withMsix(4).c.saveState());
      (s.entries[2] as Record<string, unknown>).steeringTag = 0;
      withMsix(4).c.loadState(s);
    }, /entries\[2\]\.steeringTag: unknown field/],
    ['a bad MSI-X entry field', () => {
      const s = json(withMsix(4).c.saveState());
      (s.entries[1] as Record<string, unknown>).data = '0x41';
      withMsix(4).c.loadState(s);
    }, /entries\[1\]\.data must be a 32-bit/],
    ['a pending message beyond the table', () => {
      const s = { ...withMsix(4).c.saveState(), pending: [0, 4] };
      withMsix(4).c.loadState(s);
    }, /pending\[1\] must be a message number 0\.\.3/],
  ])('rejects %s', (_what, call, message) => {
    const e = thrown(call);
    expect(e).toBeInstanceOf(PciStateError);
    expect(e.message).toMatch(message);
  });

  it('MSI state reached by config writes and fires round-trips through JSON (every layout)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 8, 16, 32) as fc.Arbitrary<1 | 2 | 4 | 8 | 16 | 32>,
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(3), fc.nat({ max: 0x17 }), fc.nat({ max: 0xffff_ffff })), { maxLength: 40 }),
        (vectors, is64, pvm, ops) => {
          const { f, c } = withMsi(vectors, is64, pvm);
          for (const [k, off, v] of ops) {
            const at = c.offset + (off & ~3);
            if (k === 0 && at + 4 <= c.offset + ((c.length + 3) & ~3)) f.configWrite(at, 4, v);
            else if (k === 1) f.configWrite(c.offset + 2, 2, v & 0xffff);
            else if (k === 2) c.fire(v % 32);
            else f.configWrite(4, 2, v & 0xffff);
            const s = c.saveState();
            const b = withMsi(vectors, is64, pvm).c;
            b.loadState(json(s));
            expect(b.saveState()).toEqual(s);
          }
        },
      ),
      { numRuns: 150, seed: 13 },
    );
  });

  it('MSI-X state reached by control, table writes and fires round-trips through JSON', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.array(fc.tuple(fc.nat(3), fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff_ffff })), { maxLength: 40 }), (n, ops) => {
        const { f, c } = withMsix(n);
        for (const [k, off, v] of ops) {
          if (k === 0) f.configWrite(c.offset + 2, 2, v & 0xffff);
          else if (k === 1) c.barWrite(1, (off % (n * 16)) & ~3, 4, v);
          else if (k === 2) c.fire(off % n);
          else f.configWrite(4, 2, v & 0xffff);
          const s = c.saveState();
          const b = withMsix(n).c;
          b.loadState(json(s));
          expect(b.saveState()).toEqual(s);
        }
      }),
      { numRuns: 150, seed: 14 },
    );
  });
});
