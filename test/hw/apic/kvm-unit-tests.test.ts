// kvm-unit-tests' APIC checks re-expressed against the LocalApic model: x86/msr.c test_x2apic_msrs
// (every x2APIC MSR 0x800–0x8FF per lib/x86/apic.h get_x2apic_reg_semantics, in xAPIC and x2APIC mode;
// LVT CMCI exists only when apic_lvt_entry_supported(6), i.e. Max LVT ≥ 6), x86/apic.c test_apicbase
// (reserved bits #GP) and test_enable_x2apic (EN/EXTD transitions). The machine-level cases
// (test_apic_disable, relocation) are in test/machine/apic-window.test.ts. SDM vol. 3A §11.4.4,
// §11.4.8, §11.5.1, §11.12.1, §11.12.5.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApicStateError, ApicUsageError, GeneralProtectionFault } from '../../../src/hw/apic/errors.js';
import { LocalApic, type LocalApicState } from '../../../src/hw/apic/local-apic.js';
import { enterX2apic, gpReason, makeApic, recorder, swEnable } from './helpers.js';

const VERSION_NO_CMCI = 0x0005_0014; // the default: Max LVT 5 (6 entries)
const VERSION_CMCI = 0x0006_0014; // Max LVT 6: timer, thermal, PMC, LINT0, LINT1, error, CMCI

type Semantics = 0 | 1 | 2 | 3; // X2APIC_INVALID, READABLE (RO), WRITABLE (WO), RW
const RO = 1, WO = 2, RW = 3;

/** lib/x86/apic.h get_x2apic_reg_semantics(reg), with apic_lvt_entry_supported(6) as `cmci`. */
function semantics(reg: number, cmci: boolean): Semantics {
  if (reg === 0x020 || reg === 0x030 || reg === 0x0a0 || reg === 0x0d0 || (reg >= 0x100 && reg <= 0x270) || reg === 0x390) return RO;
  if ([0x080, 0x0f0, 0x280, 0x300, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3e0].includes(reg)) return RW;
  if (reg === 0x0b0 || reg === 0x3f0) return WO;
  if (reg === 0x2f0 && cmci) return RW;
  return 0; // RRR 0xC0, DFR 0xE0, ICR2 0x310 and everything else
}

const isGp = (f: () => unknown) => {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof GeneralProtectionFault) return true;
    throw e;
  }
};

/** x86/msr.c __test_x2apic_msrs(x2apic_enabled), each report() turned into an expectation. */
function testX2apicMsrs(apic: LocalApic, x2apicEnabled: boolean, cmci: boolean): number {
  let checks = 0;
  for (let i = 0; i < 0x1000; i += 0x10) {
    const index = 0x800 + (i >> 4);
    const name = `x2APIC MSR 0x${index.toString(16)}`;
    const sem = x2apicEnabled ? semantics(i, cmci) : 0;
    if (!(sem & WO)) expect(isGp(() => apic.wrmsr(index, 0n)), `WRMSR ${name} 0`).toBe(true);
    if (!(sem & RO)) expect(isGp(() => apic.rdmsr(index)), `RDMSR ${name}`).toBe(true);
    // Except for ICR, the only 64-bit x2APIC register, bits 63:32 are reserved.
    if (!x2apicEnabled || i !== 0x300) expect(isGp(() => apic.wrmsr(index, (1n << 64n) - 1n)), `WRMSR ${name} ~0`).toBe(true);
    if (i === 0x3f0) for (const v of [0x100n, 0xff00n, 0xff00_0000n]) expect(isGp(() => apic.wrmsr(index, v)), `self IPI ${v}`).toBe(true);
    if (sem === RW) {
      const orig = apic.rdmsr(index); // __test_msr_rw(index, name, 0, -1ull): keep every bit
      apic.wrmsr(index, orig);
      expect(apic.rdmsr(index), name).toBe(orig);
    } else if (sem === WO) apic.wrmsr(index, 0n);
    else if (sem === RO) expect(apic.rdmsr(index) >> 32n, name).toBe(0n);
    checks++;
  }
  return checks;
}

describe('kvm-unit-tests test_x2apic_msrs', () => {
  for (const [label, version, cmci] of [['default version 0x00050014 (no CMCI)', VERSION_NO_CMCI, false], ['version 0x00060014 (CMCI)', VERSION_CMCI, true]] as const) {
    it(`${label}: every MSR 0x800–0x8FF in xAPIC mode #GPs, and in x2APIC mode as the register map says`, () => {
      const { apic } = makeApic({ version });
      swEnable(apic);
      expect(testX2apicMsrs(apic, false, cmci)).toBe(256);
      enterX2apic(apic);
      swEnable(apic);
      expect(testX2apicMsrs(apic, true, cmci)).toBe(256);
    });
  }

  it('LVT CMCI (0x82F) #GPs as a reserved MSR while Max LVT is 5, and reads 0x10000 once Max LVT is 6', () => {
    const { apic } = makeApic();
    enterX2apic(apic);
    expect(apic.rdmsr(0x803)).toBe(0x0005_0014n);
    expect(gpReason(() => apic.rdmsr(0x82f))).toBe('reserved-msr');
    expect(gpReason(() => apic.wrmsr(0x82f, 0x10000n))).toBe('reserved-msr');
    const { apic: withCmci } = makeApic({ version: VERSION_CMCI });
    enterX2apic(withCmci);
    expect(withCmci.rdmsr(0x82f)).toBe(0x1_0000n);
    // Reserved bits (15:11, 31:17) #GP like the other LVTs; bit 12 (delivery status) is read-only and ignored.
    expect(gpReason(() => withCmci.wrmsr(0x82f, 1n << 15n))).toBe('reserved-bits');
    swEnable(withCmci);
    withCmci.wrmsr(0x82f, 0x10f0n | 0x200n);
    expect(withCmci.rdmsr(0x82f)).toBe(0x02f0n);
  });
});

describe('kvm-unit-tests test_apicbase and test_enable_x2apic', () => {
  it('reserved physaddr bits (1 << MAXPHYADDR 36) and reserved low bits (bit 0) #GP, leaving IA32_APIC_BASE as it was', () => {
    const { apic } = makeApic();
    const orig = apic.rdmsr(0x1b);
    expect(orig).toBe(0xfee0_0900n);
    expect(gpReason(() => apic.wrmsr(0x1b, orig | (1n << 36n)))).toBe('reserved-bits');
    expect(gpReason(() => apic.wrmsr(0x1b, orig | 1n))).toBe('reserved-bits');
    expect(apic.rdmsr(0x1b)).toBe(orig);
  });

  it('relocation: the version register reads the same at the alternate base 0xFED40000 (mmioBase follows)', () => {
    const { apic } = makeApic();
    const lvr = apic.read(0x30);
    expect(apic.mmioBase).toBe(0xfee0_0000);
    apic.wrmsr(0x1b, 0xfee0_0100n); // disable
    expect(apic.mmioBase).toBe(-1);
    apic.wrmsr(0x1b, 0xfed4_0000n | 0x100n | 0x800n);
    expect(apic.mmioBase).toBe(0xfed4_0000);
    expect(apic.baseAddress).toBe(0xfed4_0000n);
    expect(apic.read(0x30)).toBe(lvr);
    apic.wrmsr(0x1b, 0xfee0_0900n); // relocating while enabled moves the window too
    expect(apic.mmioBase).toBe(0xfee0_0000);
  });

  it('test_enable_x2apic: the EN/EXTD transitions from x2APIC mode #GP or succeed as the SDM Figure 11-30 says', () => {
    const { apic } = makeApic();
    enterX2apic(apic);
    const base = apic.rdmsr(0x1b) & ~(0x800n | 0x400n);
    const ok = (v: bigint) => !isGp(() => apic.wrmsr(0x1b, v));
    expect(ok(base | 0x400n)).toBe(false); // x2apic enabled to invalid state
    expect(ok(base | 0x800n)).toBe(false); // x2apic enabled to apic enabled
    expect(ok(base)).toBe(true); // x2apic enabled to disabled state
    expect(ok(base | 0x400n)).toBe(false); // disabled to invalid state
    expect(ok(base | 0x800n | 0x400n)).toBe(false); // disabled to x2apic enabled
    expect(ok(base | 0x800n)).toBe(true); // apic disabled to apic enabled
    expect(ok(base | 0x400n)).toBe(false); // apic enabled to invalid state
    expect(apic.mode).toBe('xapic');
  });
});

describe('the CMCI LVT exists only with Max LVT ≥ 6 (version register bits 23:16)', () => {
  it('without it, MMIO 0x2F0 is a reserved offset: reads 0, writes are dropped, both latch ESR bit 7', () => {
    const { apic, events } = makeApic();
    swEnable(apic);
    expect(apic.read(0x2f0)).toBe(0);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(0x80);
    apic.write(0x2f0, 0x0000_0040);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(0x80);
    expect(apic.read(0x2f0)).toBe(0);
    expect(events.filter((e) => e.kind === 'illegal-register')).toHaveLength(3);
  });

  it('without it, firing the CMCI source delivers nothing, changes nothing and is reported as lvt-absent', () => {
    const rig = makeApic();
    swEnable(rig.apic);
    const before = rig.apic.saveState();
    expect(rig.apic.fireLvt('cmci')).toBe(false);
    expect(rig.apic.saveState()).toEqual(before);
    expect(rig.events.map((e) => e.kind)).toEqual(['lvt-absent']);
    expect(rig.calls.filter((c) => c !== 'intr:false')).toEqual([]);
  });

  it('with it, MMIO 0x2F0 resets masked, keeps vector, mode and mask, and delivers fixed, SMI and NMI', () => {
    const rig = makeApic({ version: VERSION_CMCI });
    const { apic } = rig;
    expect(apic.read(0x2f0)).toBe(0x0001_0000);
    expect(apic.fireLvt('cmci')).toBe(false); // masked at reset
    swEnable(apic);
    apic.write(0x2f0, 0xffff_ffff);
    expect(apic.read(0x2f0)).toBe(0x0001_07ff); // 7:0 vector, 10:8 mode, 16 mask (Figure 11-8)
    apic.write(0x2f0, 0x0000_00e9);
    expect(apic.fireLvt('cmci')).toBe(true);
    expect(apic.acknowledge()).toBe(0xe9);
    apic.write(0x2f0, 0x0000_0400); // NMI
    expect(apic.fireLvt('cmci')).toBe(true);
    apic.write(0x2f0, 0x0000_0200); // SMI
    expect(apic.fireLvt('cmci')).toBe(true);
    expect(rig.calls.filter((c) => c === 'nmi' || c === 'smi')).toEqual(['nmi', 'smi']);
    apic.write(0x2f0, 0x0000_0500); // INIT: not allowed for CMCI (§11.5.1)
    expect(apic.fireLvt('cmci')).toBe(false);
    expect(rig.events.at(-1)?.kind).toBe('lvt-unsupported-mode');
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(0);
  });

  it('software disable masks it like every other LVT', () => {
    const { apic } = makeApic({ version: VERSION_CMCI });
    swEnable(apic);
    apic.write(0x2f0, 0x0000_0031);
    swEnable(apic, 0xff);
    expect(apic.read(0x2f0)).toBe(0x0001_0031);
  });
});

describe('the version constructor option', () => {
  it('accepts integrated-APIC versions with Max LVT 5 or 6 and the EOI-suppression bit', () => {
    for (const version of [0x0005_0010, 0x0005_0014, 0x0006_0015, 0x0106_0014, 0x0005_001f]) {
      expect(makeApic({ version }).apic.read(0x30)).toBe(version);
    }
  });

  it('refuses what this model cannot be: another Max LVT, an 82489DX, reserved bits', () => {
    for (const version of [0x0004_0014, 0x0007_0014, 0x0005_0004, 0x0005_0020, 0x0005_0114, 0x0205_0014, 0x8005_0014]) {
      expect(() => new LocalApic({ apicId: 0, sink: recorder().sink, version }), `0x${version.toString(16)}`).toThrow(ApicUsageError);
    }
  });
});

describe('snapshots carry the version and the CMCI LVT', () => {
  it('a CMCI LVT value survives saveState → loadState; the state names the version', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xff }), fc.constantFrom(0, 2, 4), fc.boolean(), (vector, mode, masked) => {
        const { apic } = makeApic({ version: VERSION_CMCI });
        swEnable(apic);
        apic.write(0x2f0, vector | (mode << 8) | (masked ? 0x10000 : 0));
        const st = apic.saveState();
        expect(st.version).toBe(VERSION_CMCI);
        expect(st.lvt.cmci).toBe(apic.read(0x2f0));
        const twin = makeApic({ version: VERSION_CMCI }).apic;
        twin.loadState(JSON.parse(JSON.stringify(st)) as LocalApicState);
        expect(twin.read(0x2f0)).toBe(apic.read(0x2f0));
        expect(twin.saveState()).toEqual(st);
      }),
      { seed: 0x12c31, numRuns: 200 },
    );
  });

  it('without CMCI the state has no lvt.cmci, and one there is an unknown field', () => {
    const { apic } = makeApic();
    const st = apic.saveState();
    expect(st.version).toBe(VERSION_NO_CMCI);
    expect('cmci' in st.lvt).toBe(false);
    const bad = { ...st, lvt: { ...st.lvt, cmci: 0x10000 } };
    expect(() => makeApic().apic.loadState(bad)).toThrow(expect.objectContaining({ name: 'ApicStateError', field: 'lvt.cmci' }));
  });

  it('with CMCI a missing lvt.cmci, and any state of another version, are refused by field', () => {
    const { apic } = makeApic({ version: VERSION_CMCI });
    const st = apic.saveState();
    const { cmci: _cmci, ...rest } = st.lvt;
    const load = (s: unknown) => () => makeApic({ version: VERSION_CMCI }).apic.loadState(s as LocalApicState);
    expect(load({ ...st, lvt: rest })).toThrow(expect.objectContaining({ field: 'lvt.cmci' }));
    expect(() => makeApic().apic.loadState(st)).toThrow(expect.objectContaining({ field: 'version' }));
    expect(load({ ...st, version: '0x60014' })).toThrow(ApicStateError);
  });
});
