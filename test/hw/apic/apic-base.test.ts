import { describe, expect, it } from 'vitest';
import { fixed, makeApic, swEnable, gpReason } from './helpers.js';

// SDM vol. 3A §11.4.4 (IA32_APIC_BASE) and §11.12.5 (x2APIC state transitions, Figure 11-30).
const XAPIC = 0xfee0_0900n; // base | EN | BSP
const X2APIC = 0xfee0_0d00n; // base | EN | EXTD | BSP
const DISABLED = 0xfee0_0100n; // base | BSP


describe('IA32_APIC_BASE transitions', () => {
  it('xAPIC → x2APIC is allowed', () => {
    const { apic } = makeApic();
    apic.wrmsr(0x1b, X2APIC);
    expect(apic.mode).toBe('x2apic');
  });

  it('x2APIC → xAPIC raises #GP and stays in x2APIC mode', () => {
    const { apic } = makeApic();
    apic.wrmsr(0x1b, X2APIC);
    expect(gpReason(() => apic.wrmsr(0x1b, XAPIC))).toBe('invalid-transition');
    expect(apic.mode).toBe('x2apic');
  });

  it('disabled → x2APIC raises #GP', () => {
    const { apic } = makeApic();
    apic.wrmsr(0x1b, DISABLED);
    expect(gpReason(() => apic.wrmsr(0x1b, X2APIC))).toBe('invalid-transition');
    expect(apic.mode).toBe('disabled');
  });

  it('EN = 0 with EXTD = 1 raises #GP', () => {
    const { apic } = makeApic();
    expect(gpReason(() => apic.wrmsr(0x1b, 0xfee0_0500n))).toBe('invalid-transition');
  });

  it('x2APIC → disabled → xAPIC is the way back to xAPIC mode', () => {
    const { apic } = makeApic();
    apic.wrmsr(0x1b, X2APIC);
    apic.wrmsr(0x1b, DISABLED);
    apic.wrmsr(0x1b, XAPIC);
    expect(apic.mode).toBe('xapic');
    expect(apic.rdmsr(0x1b)).toBe(XAPIC);
  });

  it('reserved bits (7:0, 9, 63:36) raise #GP', () => {
    const { apic } = makeApic();
    for (const bit of [0n, 7n, 9n, 36n, 63n]) expect(gpReason(() => apic.wrmsr(0x1b, XAPIC | (1n << bit)))).toBe('reserved-bits');
  });

  it('the BSP flag is read-only: writing it clear leaves it set', () => {
    const { apic } = makeApic();
    apic.wrmsr(0x1b, 0xfee0_0800n);
    expect(apic.rdmsr(0x1b)).toBe(XAPIC);
  });

  it('the base address field (35:12) is writable and reported to the embedder', () => {
    const { apic } = makeApic();
    apic.wrmsr(0x1b, 0xf_fec0_0900n);
    expect(apic.baseAddress).toBe(0xf_fec0_0000n);
  });

  it('clearing EN returns every register to its power-up value', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x080, 0x20);
    apic.write(0x020, 0x0700_0000);
    apic.accept(fixed(0x40));
    apic.wrmsr(0x1b, DISABLED);
    apic.wrmsr(0x1b, XAPIC);
    expect([apic.read(0x080), apic.read(0x020), apic.read(0x0f0), apic.read(0x220)]).toEqual([0, 0, 0xff, 0]);
  });

  it('a hardware-disabled APIC decodes no MMIO and accepts no bus messages', () => {
    const { apic, events } = makeApic();
    apic.wrmsr(0x1b, DISABLED);
    expect(apic.read(0x030)).toBe(0xffff_ffff); // not decoded: all ones, as an unclaimed address
    expect(apic.accept({ vector: 0, mode: 'nmi', trigger: 'edge' })).toBe(false);
    expect(events.map((e) => e.kind)).toEqual(['mmio-unavailable', 'message-dropped']);
  });

  it('in xAPIC mode the ID register is read/write in bits 31:24 and drives physical matching', () => {
    const { apic } = makeApic({ apicId: 2 });
    apic.write(0x020, 0x09ab_cdef);
    expect(apic.read(0x020)).toBe(0x0900_0000);
    expect(apic.matchesPhysical(9)).toBe(true);
    expect(apic.matchesPhysical(2)).toBe(false);
  });

  it('entering x2APIC mode replaces a rewritten xAPIC ID with the x2APIC ID', () => {
    const { apic } = makeApic({ apicId: 2 });
    apic.write(0x020, 0x0900_0000);
    apic.wrmsr(0x1b, X2APIC);
    expect(apic.rdmsr(0x802)).toBe(2n);
  });

  it('RESET returns an x2APIC-mode APIC to xAPIC mode with power-up registers', () => {
    const { apic } = makeApic();
    apic.wrmsr(0x1b, X2APIC);
    apic.wrmsr(0x808, 0x30n);
    apic.reset();
    expect(apic.mode).toBe('xapic');
    expect(apic.read(0x080)).toBe(0);
  });
});
