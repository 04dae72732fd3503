import { describe, expect, it } from 'vitest';
import {
  decodeIcr, decodeLvt, divideConfigFor, divisorFor, encodeIcr, encodeLvt, msrForOffset, offsetForMsr, x2apicLogicalId,
} from '../../../src/hw/apic/registers.js';

// SDM vol. 3A Figure 11-8 (LVT), Figure 11-10 (divide), Figure 11-12 (ICR), Table 11-6 (MSR = 0x800 + off/16).
describe('register codecs', () => {
  it('x2APIC MSR numbers are 0x800 + (MMIO offset >> 4)', () => {
    expect([msrForOffset(0x020), msrForOffset(0x300), msrForOffset(0x3e0)]).toEqual([0x802, 0x830, 0x83e]);
    expect(offsetForMsr(0x80b)).toBe(0x0b0);
  });

  it('decodes an xAPIC ICR: INIT, logical, assert, level, all-excluding-self, destination 63:56', () => {
    expect(decodeIcr(0x000c_cd00, 0x0300_0000, false)).toEqual({
      vector: 0,
      deliveryModeCode: 5,
      mode: 'init',
      destinationMode: 'logical',
      level: true,
      trigger: 'level',
      shorthand: 'others',
      destination: 3,
    });
  });

  it('decodes the ICR reserved delivery modes 011 and 111 as null', () => {
    expect(decodeIcr(0x0300, 0, false).mode).toBeNull();
    expect(decodeIcr(0x0700, 0, false).mode).toBeNull();
  });

  it('encodes a start-up IPI to x2APIC ID 0x12345 with the destination in the high DWORD', () => {
    expect(encodeIcr({ vector: 0x9a, mode: 'sipi', destination: 0x1_2345 }, true)).toEqual({ low: 0x0000_469a, high: 0x1_2345 });
  });

  it('decodes an LVT: LINT0 ExtINT, active low, level, masked', () => {
    expect(decodeLvt(0x0001_a700)).toMatchObject({
      vector: 0, deliveryMode: 'extint', polarity: 'low', trigger: 'level', masked: true, remoteIrr: false,
    });
  });

  it('decodes the timer mode field 18:17', () => {
    expect([0x0, 0x2_0000, 0x4_0000, 0x6_0000].map((v) => decodeLvt(v).timerMode)).toEqual([
      'one-shot', 'periodic', 'tsc-deadline', 'reserved',
    ]);
  });

  it('encodeLvt composes the fields back', () => {
    expect(encodeLvt({ vector: 0xec, timerMode: 'periodic' })).toBe(0x0002_00ec);
    expect(encodeLvt({ deliveryMode: 'nmi', masked: true })).toBe(0x0001_0400);
  });

  it('maps divide configurations to divisors and back', () => {
    expect([0b0000, 0b0001, 0b0010, 0b0011, 0b1000, 0b1001, 0b1010, 0b1011].map(divisorFor)).toEqual([2, 4, 8, 16, 32, 64, 128, 1]);
    expect(divideConfigFor(128)).toBe(0b1010);
    expect(() => divideConfigFor(3)).toThrow(RangeError);
  });

  it('derives the x2APIC logical ID: ((id >> 4) << 16) | 1 << (id & 0xF)', () => {
    expect(x2apicLogicalId(0)).toBe(0x0000_0001);
    expect(x2apicLogicalId(0x1f)).toBe(0x0001_8000);
  });
});
