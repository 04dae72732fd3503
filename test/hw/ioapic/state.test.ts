import { describe, expect, it } from 'vitest';
import { IoApic, IoApicStateError } from '../../../src/hw/ioapic.js';
import { RecordingRouter, makeIoApic, program } from './helpers.js';

function busyIoApic() {
  const { io, router } = makeIoApic();
  program(io, 1, 0x0000_8041, 0x0100_0000); // level, vector 0x41, dest 1
  program(io, 2, 0x0000_2030); // edge active-low
  program(io, 3, 0x0001_8050); // masked level
  io.setIrq(1, true); // remote IRR set
  io.setIrq(3, true);
  router.acceptors = [];
  program(io, 5, 0x0000_0060);
  io.setIrq(5, true); // held pending
  io.write(0x00, 0x13);
  return { io, router };
}

describe('I/O APIC saveState/loadState', () => {
  it('round-trips through JSON exactly', () => {
    const { io } = busyIoApic();
    const json = JSON.stringify(io.saveState());
    const copy = new IoApic({ id: 0 });
    copy.loadState(JSON.parse(json));
    expect(copy.saveState()).toEqual(io.saveState());
    expect(copy.read(0x00)).toBe(0x13);
    expect(copy.rte(5).deliveryStatus).toBe('pending');
  });

  it('a restored level entry re-triggers on EOI like the original', () => {
    const { io } = busyIoApic();
    const copy = new IoApic({ id: 0 });
    copy.loadState(io.saveState());
    const router = new RecordingRouter();
    copy.connect(router);
    copy.eoi(0x41); // line 1 still high
    expect(router.log.map((l) => l.msg.vector)).toContain(0x41);
    expect(copy.rte(1).remoteIrr).toBe(true);
  });

  it('loading sends nothing by itself', () => {
    const { io } = busyIoApic();
    const copy = new IoApic({ id: 0 });
    const router = new RecordingRouter();
    copy.connect(router);
    copy.loadState(io.saveState());
    expect(router.log).toHaveLength(0);
  });

  it('rejects a state of another pin count', () => {
    const { io } = busyIoApic();
    expect(() => new IoApic({ id: 0, pins: 16 }).loadState(io.saveState())).toThrow(IoApicStateError);
  });

  it('rejects impossible entries', () => {
    const { io } = busyIoApic();
    const base = io.saveState();
    const withEntry = (low: number, high = 0) => {
      const s = structuredClone(base);
      s.redirection[0] = { low, high };
      return s;
    };
    const fresh = new IoApic({ id: 0 });
    expect(() => fresh.loadState(withEntry(0x0002_0000 /* reserved bit 17 */))).toThrow(IoApicStateError);
    expect(() => fresh.loadState(withEntry(0, 0x0000_0001 /* reserved 32 */))).toThrow(IoApicStateError);
    expect(() => fresh.loadState(withEntry(0x0000_4030 /* remote IRR on an edge entry */))).toThrow(IoApicStateError);
    expect(() => fresh.loadState(withEntry(0x0001_1030 /* pending while masked */))).toThrow(IoApicStateError);
    expect(() => fresh.loadState({ ...base, lines: [true] })).toThrow(IoApicStateError);
    expect(() => fresh.loadState({ ...base, id: 16 })).toThrow(IoApicStateError);
    expect(() => fresh.loadState(null)).toThrow(IoApicStateError);
  });

  it('a rejected state leaves the I/O APIC unchanged', () => {
    const { io } = busyIoApic();
    const fresh = new IoApic({ id: 0 });
    const before = fresh.saveState();
    const s = io.saveState();
    s.lines = s.lines.slice(1);
    expect(() => fresh.loadState(s)).toThrow(IoApicStateError);
    expect(fresh.saveState()).toEqual(before);
  });
});
