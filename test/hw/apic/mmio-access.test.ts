import { describe, expect, it } from 'vitest';
import { ApicUsageError } from '../../../src/hw/apic/errors.js';
import { fixed, makeApic, swEnable } from './helpers.js';

// SDM vol. 3A Table 11-1 access types; caller misuse of the embedding API is a typed error.
describe('xAPIC MMIO access semantics', () => {
  it('a write to a read-only register (version) is ignored and reported, not an ESR error', () => {
    const { apic, events } = makeApic();
    apic.write(0x030, 0x1234_5678);
    expect(apic.read(0x030)).toBe(0x0005_0014);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(0);
    expect(events.map((e) => e.kind)).toEqual(['read-only-write']);
  });

  it('reading the write-only EOI register returns 0 without latching an error', () => {
    const { apic } = makeApic();
    expect(apic.read(0x0b0)).toBe(0);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(0);
  });

  it('APR reads the TPR when the TPR class is above every pending and in-service class', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x080, 0x45);
    apic.accept(fixed(0x31));
    expect(apic.read(0x090)).toBe(0x45);
  });

  it('the remote read register (RRD, 0x0C0) reads 0: remote read is P6-only', () => {
    expect(makeApic().apic.read(0x0c0)).toBe(0);
  });
});

describe('caller misuse of the embedding API', () => {
  it('an MMIO offset outside the 4 KiB page is an ApicUsageError', () => {
    const { apic } = makeApic();
    expect(() => apic.read(0x1000)).toThrow(ApicUsageError);
    expect(() => apic.write(-16, 0)).toThrow(ApicUsageError);
  });

  it('an MSR value that is not a 64-bit bigint is an ApicUsageError', () => {
    const { apic } = makeApic();
    expect(() => apic.wrmsr(0x1b, 5 as unknown as bigint)).toThrow(ApicUsageError);
    expect(() => apic.wrmsr(0x1b, 1n << 64n)).toThrow(ApicUsageError);
  });

  it('a bus message with an unknown delivery mode or vector is an ApicUsageError', () => {
    const { apic } = makeApic();
    expect(() => apic.accept({ vector: 0x40, mode: 'bogus' as 'fixed', trigger: 'edge' })).toThrow(ApicUsageError);
    expect(() => apic.accept({ vector: 256, mode: 'fixed', trigger: 'edge' })).toThrow(ApicUsageError);
  });

  it('an APIC ID of 0xFFFFFFFF (the x2APIC broadcast ID) is rejected at construction', () => {
    expect(() => makeApic({ apicId: 0xffff_ffff })).toThrow(ApicUsageError);
  });

  it('a negative or fractional tick count is an ApicUsageError', () => {
    const { apic } = makeApic();
    expect(() => apic.tick(-1)).toThrow(ApicUsageError);
    expect(() => apic.tick(1.5)).toThrow(ApicUsageError);
  });
});
