// Remappable-format redirection entries (VT-d spec §5.1.5.1; Linux io_apic.c): bit 48 = format, index[14:0]
// in 63:49, index[15] in bit 11; the I/O APIC sends a remappable MSI with SHV = 0 through the remapping unit.
import { describe, expect, it } from 'vitest';
import { IOAPIC_EOI, RTE_MASKED, RTE_TRIGGER_LEVEL, type IoApicRemapper } from '../../../src/hw/ioapic.js';
import { makeIoApic, program } from './helpers.js';

class RecordingRemapper implements IoApicRemapper {
  readonly log: { address: number; data: number }[] = [];
  answer: readonly number[] | null = [0];
  message(address: number, data: number): readonly number[] | null {
    this.log.push({ address, data });
    return this.answer;
  }
}

/** RTE high dword of a remappable entry: bit 48 = 1, index[14:0] in 63:49. */
const high = (index: number) => ((1 << 16) | ((index & 0x7fff) << 17)) >>> 0;
/** Low dword bit 11 = index[15]. */
const low = (vector: number, index: number, extra = 0) => (vector | ((index >>> 15) << 11) | extra) >>> 0;

describe('remappable RTEs', () => {
  it('decode: format and index (63:49 and bit 11)', () => {
    const { io } = makeIoApic();
    program(io, 3, low(3, 0x8005, RTE_MASKED), high(0x8005));
    expect(io.rte(3)).toMatchObject({ format: 'remappable', index: 0x8005, vector: 3 });
    program(io, 4, RTE_MASKED, 0x0100_0000);
    expect(io.rte(4)).toMatchObject({ format: 'compatibility', index: null, destination: 1 });
  });
  it('an edge pin sends a remappable MSI: handle in 19:5, bit 4, handle[15] in bit 2, SHV 0; data = the RTE vector (Linux: the pin)', () => {
    const { io } = makeIoApic();
    const r = new RecordingRemapper();
    io.connectRemapping(r);
    program(io, 5, low(5, 0x8021), high(0x8021));
    io.setIrq(5, true);
    expect(r.log).toEqual([{ address: (0xfee0_0000 | (0x21 << 5) | 0x10 | 0x4) >>> 0, data: 5 }]);
  });
  it('a level pin: data has trigger and assert (15, 14); remote IRR is cleared by the EOI register with the RTE vector, not the IRTE vector', () => {
    const { io, events } = makeIoApic({ version: 0x20 });
    const r = new RecordingRemapper();
    io.connectRemapping(r);
    program(io, 9, low(9, 40, RTE_TRIGGER_LEVEL), high(40));
    io.setIrq(9, true);
    expect(r.log).toEqual([{ address: (0xfee0_0000 | (40 << 5) | 0x10) >>> 0, data: 9 | 0xc000 }]);
    expect(io.rte(9).remoteIrr).toBe(true);
    io.eoi(0x41); // the LAPIC's EOI broadcast carries the IRTE vector: no match
    expect(io.rte(9).remoteIrr).toBe(true);
    io.write(IOAPIC_EOI, 9); // Linux: EOI register ← the pin (the RTE vector)
    expect(r.log).toHaveLength(2); // the line is still high: sent again, remote IRR set again
    expect(io.rte(9).remoteIrr).toBe(true);
    io.setIrq(9, false);
    io.write(IOAPIC_EOI, 9);
    expect(io.rte(9).remoteIrr).toBe(false);
    expect(r.log).toHaveLength(2);
    expect(events).toEqual([]);
  });
  it('nobody accepted ([]): the message stays pending and is retried', () => {
    const { io } = makeIoApic();
    const r = new RecordingRemapper();
    r.answer = [];
    io.connectRemapping(r);
    program(io, 2, low(2, 7), high(7));
    io.setIrq(2, true);
    expect(io.rte(2).deliveryStatus).toBe('pending');
    r.answer = [1];
    io.retryPending();
    expect(io.rte(2).deliveryStatus).toBe('idle');
    expect(r.log).toHaveLength(2);
  });
  it('blocked by the remapping hardware (null): dropped and reported; a level entry waits for its EOI', () => {
    const { io, events } = makeIoApic({ version: 0x20 });
    const r = new RecordingRemapper();
    r.answer = null;
    io.connectRemapping(r);
    program(io, 6, low(6, 7, RTE_TRIGGER_LEVEL), high(7));
    io.setIrq(6, true);
    expect(events).toContainEqual({ kind: 'undelivered', pin: 6, vector: 6, reason: 'remapping-fault' });
    expect(io.rte(6)).toMatchObject({ remoteIrr: true, deliveryStatus: 'idle' });
  });
  it('without a remapping unit a remappable entry is dropped and reported (no-remapping)', () => {
    const { io, router, events } = makeIoApic();
    program(io, 1, low(1, 3), high(3));
    io.setIrq(1, true);
    expect(router.log).toEqual([]);
    expect(events).toContainEqual({ kind: 'undelivered', pin: 1, vector: 1, reason: 'no-remapping' });
  });
  it('with a remapper, compatibility entries go through it too, as the MSI they stand for', () => {
    const { io, router } = makeIoApic();
    const r = new RecordingRemapper();
    io.connectRemapping(r);
    program(io, 0, 0x41 | (1 << 8) | (1 << 11), 0x0300_0000); // lowest priority, logical, destination 3
    io.setIrq(0, true);
    expect(r.log).toEqual([{ address: 0xfee0_3004, data: 0x141 }]);
    expect(router.log).toEqual([]);
  });
  it('snapshots carry bits 63:48', () => {
    const { io } = makeIoApic();
    program(io, 3, low(3, 0x8005, RTE_MASKED), high(0x8005));
    const s = io.saveState();
    const { io: other } = makeIoApic();
    other.loadState(JSON.parse(JSON.stringify(s)));
    expect(other.rte(3)).toMatchObject({ format: 'remappable', index: 0x8005 });
    s.redirection[3]!.high |= 0x8000; // bit 47: reserved
    expect(() => other.loadState(s)).toThrow(/reserved bits 47:32/);
  });
  it('connectRemapping refuses what is not a remapper', () => {
    const { io } = makeIoApic();
    expect(() => io.connectRemapping({} as never)).toThrow(/connectRemapping/);
    io.connectRemapping(null);
  });
});
