import { describe, expect, it } from 'vitest';
import {
  IOAPICARB,
  IOAPICID,
  IOAPICVER,
  IOAPIC_BASE,
  IOAPIC_EOI,
  IOREDTBL,
  IOREGSEL,
  IoApic,
  IoApicError,
} from '../../../src/hw/ioapic.js';
import { makeIoApic, program, readReg, writeReg } from './helpers.js';

describe('I/O APIC registers (82093AA §3.2)', () => {
  it('sits at the architected default base 0xFEC00000', () => {
    expect(IOAPIC_BASE).toBe(0xfec0_0000);
  });

  it('version register reads 0x00170011 for 24 pins', () => {
    const { io } = makeIoApic();
    expect(readReg(io, IOAPICVER)).toBe(0x0017_0011 /* 23:16 max entry 0x17 = 23, 7:0 version 0x11 */);
  });

  it('version register encodes max redirection entry = pins − 1', () => {
    const { io } = makeIoApic({ pins: 16, version: 0x20 });
    expect(readReg(io, IOAPICVER)).toBe(0x000f_0020 /* max entry 15, version 0x20 */);
  });

  it('ID register returns the constructor ID in bits 27:24', () => {
    const { io } = makeIoApic();
    expect(readReg(io, IOAPICID)).toBe(0x0200_0000 /* id 2 */);
  });

  it('ID register keeps only bits 27:24 of a write', () => {
    const { io } = makeIoApic();
    writeReg(io, IOAPICID, 0xffff_ffff);
    expect(readReg(io, IOAPICID)).toBe(0x0f00_0000 /* 27:24 = 0xF, rest reserved 0 */);
    expect(io.id).toBe(0xf);
  });

  it('arbitration ID is loaded from every ID write and is read-only itself', () => {
    const { io, events } = makeIoApic();
    expect(readReg(io, IOAPICARB)).toBe(0x0200_0000 /* arbitration ID 2 */);
    writeReg(io, IOAPICID, 0x0500_0000);
    expect(readReg(io, IOAPICARB)).toBe(0x0500_0000 /* follows ID 5 */);
    writeReg(io, IOAPICARB, 0x0900_0000);
    expect(readReg(io, IOAPICARB)).toBe(0x0500_0000);
    expect(events).toContainEqual({ kind: 'read-only-register', index: IOAPICARB, value: 0x0900_0000 });
  });

  it('version register ignores writes', () => {
    const { io } = makeIoApic();
    writeReg(io, IOAPICVER, 0);
    expect(readReg(io, IOAPICVER)).toBe(0x0017_0011);
  });

  it('IOREGSEL keeps only its 8-bit index', () => {
    const { io } = makeIoApic();
    io.write(IOREGSEL, 0x1234_5610);
    expect(io.read(IOREGSEL)).toBe(0x10 /* 7:0 */);
  });

  it('every RTE resets to masked 0x00010000 / high 0', () => {
    const { io } = makeIoApic();
    for (let pin = 0; pin < 24; pin++) {
      expect(readReg(io, IOREDTBL + 2 * pin)).toBe(0x0001_0000 /* mask = 1 */);
      expect(readReg(io, IOREDTBL + 2 * pin + 1)).toBe(0);
    }
  });

  it('RTE low: delivery status, remote IRR and bits 31:17 are read-only', () => {
    const { io } = makeIoApic();
    writeReg(io, IOREDTBL, 0xffff_ffff);
    expect(readReg(io, IOREDTBL)).toBe(
      0x0001_afff /* mask 16, trigger 15, polarity 13, dest mode 11, mode 10:8 = 7, vector 0xFF; DS 12 and RIRR 14 stay 0 */,
    );
  });

  it('RTE high: bits 63:48 are writable (destination 63:56; VT-d §5.1.5.1 format bit 48, index 63:49), 47:32 reserved', () => {
    const { io } = makeIoApic();
    writeReg(io, IOREDTBL + 1, 0xffff_ffff);
    expect(readReg(io, IOREDTBL + 1)).toBe(0xffff_0000 /* 63:48; 47:32 reserved */);
  });

  it('rte() decodes every field of a programmed entry', () => {
    const { io } = makeIoApic();
    program(io, 5, 0x0000_a931 /* level, active-low, logical, lowest priority, vector 0x31 */, 0x0300_0000);
    expect(io.rte(5)).toMatchObject({
      vector: 0x31,
      deliveryMode: 'lowest',
      destinationMode: 'logical',
      polarity: 'active-low',
      trigger: 'level',
      masked: false,
      destination: 3,
    });
  });

  it('an unknown register index reads 0 and is reported', () => {
    const { io, events } = makeIoApic();
    expect(readReg(io, 0x03)).toBe(0);
    expect(readReg(io, IOREDTBL + 2 * 24) /* entry 24 does not exist */).toBe(0);
    expect(events.filter((e) => e.kind === 'unknown-register')).toHaveLength(2);
  });

  it('has no EOI register at 0x40 on the 82093AA (version 0x11)', () => {
    const { io, router, events } = makeIoApic();
    program(io, 1, 0x0000_8041 /* level, vector 0x41 */);
    io.setIrq(1, true);
    io.write(IOAPIC_EOI, 0x41);
    expect(io.rte(1).remoteIrr).toBe(true);
    expect(events).toContainEqual({ kind: 'unmapped-offset', offset: IOAPIC_EOI, access: 'write' });
    expect(router.log).toHaveLength(1);
  });

  it('EOI register at 0x40 on version 0x20 clears remote IRR of matching level entries', () => {
    const { io } = makeIoApic({ version: 0x20 });
    program(io, 1, 0x0000_8041 /* level, vector 0x41 */);
    io.setIrq(1, true);
    io.setIrq(1, false);
    io.write(IOAPIC_EOI, 0x41);
    expect(io.rte(1).remoteIrr).toBe(false);
  });

  it('rejects caller misuse with IoApicError', () => {
    const { io } = makeIoApic();
    expect(() => io.read(0x1000)).toThrow(IoApicError);
    expect(() => io.setIrq(24, true)).toThrow(IoApicError);
    expect(() => io.setIrq(0, 1 as unknown as boolean)).toThrow(IoApicError);
    expect(() => io.write(IOREGSEL, 2 ** 32)).toThrow(IoApicError);
    expect(() => new IoApic({ id: 16 })).toThrow(IoApicError);
    expect(() => io.eoi(256)).toThrow(IoApicError);
  });
});
