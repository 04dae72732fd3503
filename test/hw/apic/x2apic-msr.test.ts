import { describe, expect, it } from 'vitest';
import { enterX2apic, makeApic, swEnable, gpReason } from './helpers.js';

// SDM vol. 3A Table 11-6 (x2APIC register address space) and §11.12.1.3 (reserved bit checking).
// LVT CMCI (0x82F) is left out: the default version 0x00050014 reports Max LVT 5, so it does not exist
// (kvm-unit-tests test_x2apic_msrs; the CMCI cases are in kvm-unit-tests.test.ts).
const TABLE_11_6: Record<number, 'ro' | 'rw' | 'wo'> = {
  0x802: 'ro', 0x803: 'ro', 0x808: 'rw', 0x80a: 'ro', 0x80b: 'wo', 0x80d: 'ro', 0x80f: 'rw',
  0x828: 'rw', 0x830: 'rw', 0x832: 'rw', 0x833: 'rw', 0x834: 'rw', 0x835: 'rw',
  0x836: 'rw', 0x837: 'rw', 0x838: 'rw', 0x839: 'ro', 0x83e: 'rw', 0x83f: 'wo',
};
for (let m = 0x810; m <= 0x827; m++) TABLE_11_6[m] = 'ro'; // ISR, TMR, IRR

function x2() {
  const rig = makeApic({ apicId: 5, bsp: true });
  enterX2apic(rig.apic);
  swEnable(rig.apic);
  return rig;
}


describe('x2APIC MSR map', () => {
  it('every unlisted MSR in 0x800–0x8FF raises #GP on RDMSR and WRMSR (0x800, 0x809, 0x80E, 0x831, 0x8FF …)', () => {
    const { apic } = x2();
    const unlisted: number[] = [];
    for (let m = 0x800; m <= 0x8ff; m++) {
      if (TABLE_11_6[m]) continue;
      unlisted.push(m);
      expect(gpReason(() => apic.rdmsr(m)), `rdmsr 0x${m.toString(16)}`).toBe('reserved-msr');
      expect(gpReason(() => apic.wrmsr(m, 0n)), `wrmsr 0x${m.toString(16)}`).toBe('reserved-msr');
    }
    expect(unlisted).toHaveLength(256 - 43 /* 19 single registers + 24 ISR/TMR/IRR words */);
  });

  it('every listed readable MSR reads without #GP', () => {
    const { apic } = x2();
    for (const [m, access] of Object.entries(TABLE_11_6)) {
      if (access !== 'wo') expect(() => apic.rdmsr(Number(m))).not.toThrow();
    }
  });

  it('RDMSR of the write-only EOI (0x80B) and SELF IPI (0x83F) raises #GP', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.rdmsr(0x80b))).toBe('write-only');
    expect(gpReason(() => apic.rdmsr(0x83f))).toBe('write-only');
  });

  it('WRMSR to every read-only MSR raises #GP (ID, version, PPR, LDR, ISR/TMR/IRR, current count)', () => {
    const { apic } = x2();
    for (const [m, access] of Object.entries(TABLE_11_6)) {
      if (access === 'ro') expect(gpReason(() => apic.wrmsr(Number(m), 0n)), `0x${Number(m).toString(16)}`).toBe('read-only');
    }
  });

  it('every read/write MSR accepts its own value written back', () => {
    const { apic } = x2();
    for (const [m, access] of Object.entries(TABLE_11_6)) {
      if (access === 'rw' && Number(m) !== 0x830) apic.wrmsr(Number(m), apic.rdmsr(Number(m)));
    }
  });

  it('x2APIC MSRs raise #GP while the APIC is in xAPIC mode', () => {
    const { apic } = makeApic();
    expect(gpReason(() => apic.rdmsr(0x802))).toBe('not-x2apic-mode');
    expect(gpReason(() => apic.wrmsr(0x808, 0n))).toBe('not-x2apic-mode');
  });

  it('MSRs the APIC does not implement raise #GP with reason not-an-apic-msr', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.rdmsr(0x10))).toBe('not-an-apic-msr');
  });
});

describe('x2APIC write checks', () => {
  it('bits 63:32 of a 32-bit register are reserved (#GP)', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.wrmsr(0x808, 0x1_0000_0000n))).toBe('reserved-bits');
  });

  it('TPR bits 31:8 are reserved (#GP) and the TPR is unchanged', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.wrmsr(0x808, 0x100n))).toBe('reserved-bits');
    expect(apic.rdmsr(0x808)).toBe(0n);
  });

  it('a non-zero EOI write raises #GP; EOI of 0 retires the in-service vector', () => {
    const { apic } = x2();
    apic.accept({ vector: 0x40, mode: 'fixed', trigger: 'edge' });
    apic.acknowledge();
    expect(gpReason(() => apic.wrmsr(0x80b, 1n))).toBe('non-zero-write');
    expect(apic.rdmsr(0x812)).toBe(1n /* ISR bit 0x40 */);
    apic.wrmsr(0x80b, 0n);
    expect(apic.rdmsr(0x812)).toBe(0n);
  });

  it('a non-zero ESR write raises #GP; writing 0 latches the errors', () => {
    const { apic } = x2();
    apic.wrmsr(0x83f, 0x05n); // SELF IPI with illegal vector 5
    expect(gpReason(() => apic.wrmsr(0x828, 0x40n))).toBe('non-zero-write');
    apic.wrmsr(0x828, 0n);
    expect(apic.rdmsr(0x828)).toBe(0x60n /* send | receive illegal vector */);
  });

  it('SVR reserved bits (31:13, 11:10) raise #GP', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.wrmsr(0x80f, 0x4ffn))).toBe('reserved-bits');
  });

  it('LVT reserved bits raise #GP but read-only delivery-status and remote-IRR bits are ignored', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.wrmsr(0x837, 0x0000_0800n /* error LVT bit 11 */))).toBe('reserved-bits');
    apic.wrmsr(0x835, 0x0000_5030n /* LINT0: remote IRR | delivery status | vector 0x30 */);
    expect(apic.rdmsr(0x835)).toBe(0x30n);
  });

  it('divide configuration bit 2 is reserved (#GP)', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.wrmsr(0x83e, 0x4n))).toBe('reserved-bits');
  });

  it('SELF IPI bits 31:8 are reserved (#GP)', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.wrmsr(0x83f, 0x130n))).toBe('reserved-bits');
  });

  it('SELF IPI raises a fixed edge interrupt on this APIC', () => {
    const { apic } = x2();
    apic.wrmsr(0x83f, 0x31n);
    expect(apic.acknowledge()).toBe(0x31);
  });
});

describe('x2APIC ICR and registers that change width', () => {
  it('the ICR is one 64-bit MSR with the destination in bits 63:32', () => {
    const { apic } = x2();
    apic.wrmsr(0x830, 0x0000_1234_0000_0040n);
    expect(apic.rdmsr(0x830)).toBe(0x0000_1234_0000_0040n);
  });

  it('ICR bit 12 (delivery status) is ignored on write and reads 0', () => {
    const { apic } = x2();
    apic.wrmsr(0x830, 0x0000_0001_0000_1040n);
    expect(apic.rdmsr(0x830)).toBe(0x0000_0001_0000_0040n);
  });

  it('ICR reserved bits 13, 17:16 and 31:20 raise #GP', () => {
    const { apic } = x2();
    for (const bit of [13n, 16n, 17n, 20n, 31n]) expect(gpReason(() => apic.wrmsr(0x830, (1n << bit) | 0x40n))).toBe('reserved-bits');
  });

  it('the LDR is derived from the x2APIC ID and read-only', () => {
    const { apic } = makeApic({ apicId: 0x1_2345 });
    enterX2apic(apic);
    expect(apic.rdmsr(0x80d)).toBe(0x1234_0020n /* cluster 0x1234, member bit 5 */);
    expect(gpReason(() => apic.wrmsr(0x80d, 0n))).toBe('read-only');
  });

  it('DFR (0x80E) and ICR high (0x831) do not exist in x2APIC mode', () => {
    const { apic } = x2();
    expect(gpReason(() => apic.rdmsr(0x80e))).toBe('reserved-msr');
    expect(gpReason(() => apic.rdmsr(0x831))).toBe('reserved-msr');
  });

  it('the xAPIC MMIO page is not decoded in x2APIC mode: reads return all ones, writes are ignored', () => {
    const { apic, events } = x2();
    expect(apic.read(0x030)).toBe(0xffff_ffff);
    apic.write(0x080, 0x50);
    expect(apic.rdmsr(0x808)).toBe(0n);
    expect(events.filter((e) => e.kind === 'mmio-unavailable')).toHaveLength(2);
  });
});
