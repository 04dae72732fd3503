import { describe, expect, it } from 'vitest';
import { IOREDTBL, IoApic } from '../../../src/hw/ioapic.js';
import { RecordingRouter, makeIoApic, program, readReg } from './helpers.js';

// RTE low values used below, field by field (82093AA §3.2.4):
const EDGE_0x30 = 0x0000_0030; // fixed, physical, active-high, edge, unmasked, vector 0x30
const LEVEL_0x41 = 0x0000_8041; // trigger 15 = level, vector 0x41
const MASKED_LEVEL_0x41 = 0x0001_8041; // + mask 16

describe('I/O APIC edge-triggered entries', () => {
  it('a rising edge sends one fixed edge message to the physical destination', () => {
    const { io, router } = makeIoApic();
    program(io, 4, EDGE_0x30, 0x0100_0000 /* destination APIC ID 1 */);
    io.setIrq(4, true);
    expect(router.log).toEqual([{ dest: { id: 1, mode: 'physical' }, msg: { vector: 0x30, mode: 'fixed', trigger: 'edge' } }]);
    expect(io.rte(4).deliveryStatus).toBe('idle');
  });

  it('holding the line high sends nothing more; the next rising edge sends again', () => {
    const { io, router } = makeIoApic();
    program(io, 4, EDGE_0x30);
    io.setIrq(4, true);
    io.setIrq(4, true);
    expect(router.log).toHaveLength(1);
    io.setIrq(4, false);
    io.setIrq(4, true);
    expect(router.log).toHaveLength(2);
  });

  it('an edge while masked is lost, also after unmasking', () => {
    const { io, router, events } = makeIoApic();
    program(io, 4, EDGE_0x30 | 0x0001_0000 /* masked */);
    io.setIrq(4, true);
    program(io, 4, EDGE_0x30);
    expect(router.log).toHaveLength(0);
    expect(events).toContainEqual({ kind: 'edge-lost-masked', pin: 4 });
  });

  it('active-low polarity turns a falling electrical edge into the trigger', () => {
    const { io, router } = makeIoApic();
    io.setIrq(6, true); // idle level of an active-low line
    program(io, 6, EDGE_0x30 | 0x2000 /* polarity 13 = active low */);
    io.setIrq(6, false);
    expect(router.log).toHaveLength(1);
    io.setIrq(6, true);
    expect(router.log).toHaveLength(1);
  });

  it('NMI entries are sent as edge messages even when programmed level', () => {
    const { io, router } = makeIoApic();
    program(io, 2, 0x0000_8400 /* level bit set, delivery mode 100 = NMI */);
    io.setIrq(2, true);
    expect(router.log[0]!.msg).toEqual({ vector: 0, mode: 'nmi', trigger: 'edge' });
    expect(io.rte(2).remoteIrr).toBe(false);
  });

  it('maps every architected delivery mode to its message mode', () => {
    const cases: [number, string][] = [[0, 'fixed'], [1, 'lowest'], [2, 'smi'], [4, 'nmi'], [5, 'init'], [7, 'extint']];
    for (const [code, mode] of cases) {
      const { io, router } = makeIoApic();
      program(io, 0, (code << 8) | 0x50);
      io.setIrq(0, true);
      expect(router.log[0]!.msg.mode).toBe(mode);
    }
  });

  it('a reserved delivery mode sends nothing and is reported', () => {
    const { io, router, events } = makeIoApic();
    program(io, 0, 0x0000_0350 /* mode 011 reserved */);
    io.setIrq(0, true);
    expect(router.log).toHaveLength(0);
    expect(events).toContainEqual({ kind: 'reserved-delivery-mode', pin: 0, code: 3 });
    expect(io.rte(0).deliveryStatus).toBe('idle');
  });

  it('logical mode sends the 8-bit MDA from bits 63:56', () => {
    const { io, router } = makeIoApic();
    program(io, 3, EDGE_0x30 | 0x0800 /* dest mode 11 = logical */, 0x0300_0000 /* MDA 0b11 */);
    io.setIrq(3, true);
    expect(router.log[0]!.dest).toEqual({ id: 0x03, mode: 'logical' });
  });

  it('physical mode routes the full 8-bit destination 63:56 (not only 59:56)', () => {
    const { io, router } = makeIoApic();
    program(io, 3, EDGE_0x30, 0xab00_0000);
    io.setIrq(3, true);
    expect(router.log[0]!.dest).toEqual({ id: 0xab, mode: 'physical' });
  });
});

describe('I/O APIC level-triggered entries and remote IRR', () => {
  it('a high line sends a level message and sets remote IRR when a LAPIC accepts', () => {
    const { io, router } = makeIoApic();
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    expect(router.log.map((l) => l.msg)).toEqual([{ vector: 0x41, mode: 'fixed', trigger: 'level', level: true }]);
    expect(readReg(io, IOREDTBL + 18)).toBe(0x0000_c041 /* remote IRR 14 + level 15 + vector 0x41 */);
  });

  it('sends nothing more while remote IRR is set', () => {
    const { io, router } = makeIoApic();
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    io.setIrq(9, false);
    io.setIrq(9, true);
    expect(router.log).toHaveLength(1);
  });

  it('an EOI of another vector leaves remote IRR set', () => {
    const { io } = makeIoApic();
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    io.eoi(0x42);
    expect(io.rte(9).remoteIrr).toBe(true);
  });

  it('EOI with the line low clears remote IRR and sends nothing', () => {
    const { io, router } = makeIoApic();
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    io.setIrq(9, false);
    io.eoi(0x41);
    expect(io.rte(9).remoteIrr).toBe(false);
    expect(router.log).toHaveLength(1);
  });

  it('EOI while the line is still high re-triggers the message', () => {
    const { io, router } = makeIoApic();
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    io.eoi(0x41);
    expect(router.log).toHaveLength(2);
    expect(io.rte(9).remoteIrr).toBe(true);
  });

  it('EOI clears every level entry that shares the vector', () => {
    const { io } = makeIoApic();
    program(io, 9, LEVEL_0x41);
    program(io, 10, LEVEL_0x41);
    io.setIrq(9, true);
    io.setIrq(10, true);
    io.setIrq(9, false);
    io.setIrq(10, false);
    io.eoi(0x41);
    expect([io.rte(9).remoteIrr, io.rte(10).remoteIrr]).toEqual([false, false]);
  });

  it('masked with the line high: nothing until unmasked, then one message', () => {
    const { io, router } = makeIoApic();
    program(io, 9, MASKED_LEVEL_0x41);
    io.setIrq(9, true);
    expect(router.log).toHaveLength(0);
    program(io, 9, LEVEL_0x41);
    expect(router.log).toHaveLength(1);
    expect(io.rte(9).remoteIrr).toBe(true);
  });

  it('active-low level: electrical low asserts, high de-asserts', () => {
    const { io, router } = makeIoApic();
    io.setIrq(11, true);
    program(io, 11, LEVEL_0x41 | 0x2000 /* active low */);
    expect(router.log).toHaveLength(0);
    io.setIrq(11, false);
    expect(router.log).toHaveLength(1);
    io.setIrq(11, true);
    io.eoi(0x41);
    expect(router.log).toHaveLength(1);
  });

  it('lowest-priority level messages keep mode and level', () => {
    const { io, router } = makeIoApic();
    program(io, 9, 0x0000_8141 /* level, lowest priority (001), vector 0x41 */);
    io.setIrq(9, true);
    expect(router.log[0]!.msg).toEqual({ vector: 0x41, mode: 'lowest', trigger: 'level', level: true });
  });

  it('writing trigger = edge clears remote IRR (Linux EOI fallback on 0x11 parts)', () => {
    const { io } = makeIoApic();
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    program(io, 9, 0x0001_0041 /* masked edge */);
    expect(io.rte(9).remoteIrr).toBe(false);
  });
});

describe('I/O APIC delivery nobody accepts (documented choice: held pending)', () => {
  it('a level message nobody accepts stays pending without remote IRR', () => {
    const { io, router } = makeIoApic();
    router.acceptors = [];
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    expect(io.rte(9)).toMatchObject({ deliveryStatus: 'pending', remoteIrr: false });
    expect(readReg(io, IOREDTBL + 18)).toBe(0x0000_9041 /* delivery status 12 + level + vector */);
  });

  it('a pending level message is retried and then sets remote IRR', () => {
    const { io, router } = makeIoApic();
    router.acceptors = [];
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    router.acceptors = [0];
    io.retryPending();
    expect(io.rte(9)).toMatchObject({ deliveryStatus: 'idle', remoteIrr: true });
    expect(router.log).toHaveLength(2);
  });

  it('an EOI broadcast retries held messages', () => {
    const { io, router } = makeIoApic();
    router.acceptors = [];
    program(io, 4, EDGE_0x30);
    io.setIrq(4, true);
    router.acceptors = [1];
    io.eoi(0x99);
    expect(io.rte(4).deliveryStatus).toBe('idle');
    expect(router.log).toHaveLength(2);
  });

  it('pending edges coalesce into one message', () => {
    const { io, router } = makeIoApic();
    router.acceptors = [];
    program(io, 4, EDGE_0x30);
    io.setIrq(4, true);
    io.setIrq(4, false);
    io.setIrq(4, true);
    router.acceptors = [0];
    const before = router.log.length;
    io.retryPending();
    io.retryPending();
    expect(router.log.length - before).toBe(1);
  });

  it('masking a pending entry drops the pending delivery', () => {
    const { io, router } = makeIoApic();
    router.acceptors = [];
    program(io, 4, EDGE_0x30);
    io.setIrq(4, true);
    program(io, 4, EDGE_0x30 | 0x0001_0000);
    expect(io.rte(4).deliveryStatus).toBe('idle');
  });

  it('a level line that drops before delivery cancels the pending message', () => {
    const { io, router } = makeIoApic();
    router.acceptors = [];
    program(io, 9, LEVEL_0x41);
    io.setIrq(9, true);
    io.setIrq(9, false);
    expect(io.rte(9).deliveryStatus).toBe('idle');
  });

  it('without a router messages are held and reported', () => {
    const events: unknown[] = [];
    const io = new IoApic({ id: 0, onEvent: (e) => events.push(e) });
    program(io, 4, EDGE_0x30);
    io.setIrq(4, true);
    expect(io.rte(4).deliveryStatus).toBe('pending');
    expect(events).toContainEqual({ kind: 'undelivered', pin: 4, vector: 0x30, reason: 'no-router' });
    const router = new RecordingRouter();
    io.connect(router);
    io.retryPending();
    expect(router.log).toHaveLength(1);
  });

  it('fixing the destination of a pending entry delivers it', () => {
    const { io } = makeIoApic();
    const tried: number[] = [];
    io.connect({ deliver: (d) => (tried.push(d.id), d.id === 1 ? [1] : []) });
    program(io, 4, EDGE_0x30, 0x0700_0000 /* APIC 7: absent */);
    io.setIrq(4, true);
    expect(io.rte(4).deliveryStatus).toBe('pending');
    program(io, 4, EDGE_0x30, 0x0100_0000);
    expect(io.rte(4).deliveryStatus).toBe('idle');
    expect(tried).toEqual([7, 1]);
  });

  it('lineLevel reports the electrical level last driven', () => {
    const { io } = makeIoApic();
    io.setIrq(7, true);
    expect([io.lineLevel(7), io.lineLevel(8)]).toEqual([true, false]);
  });
});
