import { describe, expect, it } from 'vitest';
import { enterX2apic, makeApic } from './helpers.js';

// Expected values: SDM vol. 3A Table 11-1 / §11.4.7.1 (power-up state) and docs/DESIGN.md F6.
describe('local APIC power-up register values (xAPIC MMIO)', () => {
  const { apic } = makeApic({ apicId: 3, bsp: false });

  it('ID register holds the initial APIC ID in bits 31:24', () => {
    expect(apic.read(0x020)).toBe(0x0300_0000 /* ID 3 << 24 */);
  });

  it('version register reads 0x00050014 (version 0x14, max LVT entry 5, no directed EOI)', () => {
    expect(apic.read(0x030)).toBe(0x0005_0014);
  });

  it('TPR, APR, PPR and LDR reset to 0', () => {
    expect([apic.read(0x080), apic.read(0x090), apic.read(0x0a0), apic.read(0x0d0)]).toEqual([0, 0, 0, 0]);
  });

  it('DFR resets to 0xFFFFFFFF (flat model, bits 27:0 read as 1)', () => {
    expect(apic.read(0x0e0)).toBe(0xffff_ffff);
  });

  it('SVR resets to 0x000000FF (software-disabled, spurious vector 0xFF)', () => {
    expect(apic.read(0x0f0)).toBe(0x0000_00ff);
    expect(apic.isSoftwareEnabled).toBe(false);
  });

  it('all 8 words of ISR, TMR and IRR read 0', () => {
    for (let off = 0x100; off < 0x280; off += 0x10) expect(apic.read(off)).toBe(0);
  });

  it('ESR, ICR low and ICR high read 0', () => {
    expect([apic.read(0x280), apic.read(0x300), apic.read(0x310)]).toEqual([0, 0, 0]);
  });

  it('every LVT (timer, thermal, PMC, LINT0, LINT1, error) resets to 0x00010000 (masked)', () => {
    for (const off of [0x320, 0x330, 0x340, 0x350, 0x360, 0x370]) expect(apic.read(off)).toBe(0x0001_0000 /* mask */);
  });

  it('the CMCI LVT, present with Max LVT 6, resets to 0x00010000 too', () => {
    const { apic: withCmci } = makeApic({ version: 0x0006_0015 });
    expect(withCmci.read(0x2f0)).toBe(0x0001_0000);
  });

  it('timer initial count, current count and divide configuration reset to 0', () => {
    expect([apic.read(0x380), apic.read(0x390), apic.read(0x3e0)]).toEqual([0, 0, 0]);
  });

  it('an AP resets to IA32_APIC_BASE 0xFEE00800 (EN) and waits for SIPI', () => {
    expect(apic.rdmsr(0x1b)).toBe(0xfee0_0800n /* base 0xFEE00000 | EN */);
    expect(apic.mode).toBe('xapic');
    expect(apic.waitingForSipi).toBe(true);
  });

  it('the BSP resets to IA32_APIC_BASE 0xFEE00900 (EN | BSP) and does not wait for SIPI', () => {
    const bsp = makeApic({ apicId: 0, bsp: true }).apic;
    expect(bsp.rdmsr(0x1b)).toBe(0xfee0_0900n /* base | EN | BSP */);
    expect(bsp.waitingForSipi).toBe(false);
  });

  it('the xAPIC ID register holds only the low 8 bits of a wide initial APIC ID', () => {
    expect(makeApic({ apicId: 0x1_05 }).apic.read(0x020)).toBe(0x0500_0000);
  });
});

describe('local APIC values right after entering x2APIC mode', () => {
  const { apic } = makeApic({ apicId: 0x23, bsp: false });
  enterX2apic(apic);

  it('ID MSR 0x802 holds the full 32-bit x2APIC ID', () => {
    expect(apic.rdmsr(0x802)).toBe(0x23n);
  });

  it('LDR MSR 0x80D is derived: cluster (ID >> 4) in 31:16, bit (ID & 0xF) in 15:0', () => {
    expect(apic.rdmsr(0x80d)).toBe(0x0002_0008n /* cluster 2, member bit 3 */);
  });

  it('version, SVR and LVTs keep their values across the xAPIC → x2APIC switch', () => {
    expect(apic.rdmsr(0x803)).toBe(0x0005_0014n);
    expect(apic.rdmsr(0x80f)).toBe(0xffn);
    expect(apic.rdmsr(0x832)).toBe(0x1_0000n);
  });

  it('IA32_APIC_BASE reads 0xFEE00C00 (EN | EXTD)', () => {
    expect(apic.rdmsr(0x1b)).toBe(0xfee0_0c00n);
  });
});
