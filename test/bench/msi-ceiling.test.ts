// The part-4 ceiling loop must really deliver: every message reaches its handler once, on the vector
// base + (k mod 2^MME) of the CPU named by the address, and nothing is left in IRR or ISR.
import { describe, expect, it } from 'vitest';
import { createCeiling, runCeiling } from '../../bench/lib/msi-ceiling.js';

describe('MSI ceiling loop', () => {
  it('delivers n messages round-robin over the 32 vectors of the block', () => {
    const m = createCeiling(4);
    const n = 32 * 100 + 7;
    expect(runCeiling(m, 0xfee02000, 0x40, 5, n)).toBe(n);
    for (let i = 0; i < 32; i++) {
      const want = 100 + (i < 7 ? 1 : 0);
      expect(m.handled[(2 << 8) | (0x40 + i)]).toBe(want);
      expect(m.taken[(2 << 8) | (0x40 + i)]).toBe(want);
    }
    expect(m.handled.reduce((a, b) => a + b, 0)).toBe(n);
    expect(m.irr.every((w) => w === 0) && m.isr.every((w) => w === 0)).toBe(true);
    expect(m.dropped).toBe(0);
  });

  it('drops what the bus would refuse and respects the TPR', () => {
    const m = createCeiling(2);
    expect(runCeiling(m, 0xfee05000, 0x40, 0, 3)).toBe(0); // no APIC 5
    expect(runCeiling(m, 0xfee01004, 0x40, 0, 2)).toBe(0); // logical destination: not on this path
    expect(runCeiling(m, 0xfee01000, 0x08, 0, 1)).toBe(0); // illegal vector
    expect(m.dropped).toBe(6);
    m.tpr[1] = 0x50; // class 5 masks vector 0x40: it stays pending in the IRR
    expect(runCeiling(m, 0xfee01000, 0x40, 0, 1)).toBe(0);
    expect(m.irr[8 + 2]).toBe(1);
    m.tpr[1] = 0;
    expect(runCeiling(m, 0xfee01000, 0x41, 0, 1)).toBe(2); // 0x41 first, then the pending 0x40
    expect(m.handled[256 + 0x40]).toBe(1);
    expect(m.handled[256 + 0x41]).toBe(1);
  });
});
