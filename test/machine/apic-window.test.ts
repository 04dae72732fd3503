// The xAPIC MMIO window at the machine level, re-expressing kvm-unit-tests x86/apic.c: test_apic_disable
// (verify_disabled_apic_mmio: with IA32_APIC_BASE.EN = 0 or in x2APIC mode the page at 0xFEE00000 is not
// decoded, so memset(0xFF) then reading the version and TPR gives ~0) and test_apicbase (the page follows
// IA32_APIC_BASE to ALTERNATE_APIC_BASE 0xFED40000). SDM vol. 3A §11.4.1, §11.4.4, §11.4.5, §11.12.1.
// Also: a relocated page overrides RAM for its own CPU only, and device MSIs still decode at 0xFEE00000.

import { describe, expect, it } from 'vitest';
import type { CpuContext, GuestYield } from '../../src/machine/guest-interface.js';
import { createMachine } from '../../src/machine/machine.js';
import { PciFunction } from '../../src/hw/pci/index.js';

const APIC_DEFAULT_PHYS_BASE = 0xfee0_0000;
const ALTERNATE_APIC_BASE = 0xfed4_0000; // kvm-unit-tests since 2019 (TPM range, UC)
const APIC_LVR = 0x30;
const APIC_TASKPRI = 0x80;
const MSR_IA32_APICBASE = 0x1b;
const APIC_BSP = 1n << 8n;
const APIC_EXTD = 1n << 10n;
const APIC_EN = 1n << 11n;
const MAX_TPR = 0xf;

/** memset((void *)base, 0xff, PAGE_SIZE), byte by byte as the library's memset may. */
function memsetFF(c: CpuContext, base: number): void {
  for (let i = 0; i < 0x1000; i++) c.write8(base + i, 0xff);
}

/** disable_apic() then wrmsr(APIC_BASE, … | EN): xAPIC mode with power-up registers (lib/x86/apic.c reset_apic). */
function resetApic(c: CpuContext): void {
  c.wrmsr(MSR_IA32_APICBASE, c.rdmsr(MSR_IA32_APICBASE) & ~(APIC_EN | APIC_EXTD));
  c.wrmsr(MSR_IA32_APICBASE, c.rdmsr(MSR_IA32_APICBASE) | APIC_EN);
}

function runOnBsp(body: (c: CpuContext) => void): ReturnType<typeof createMachine> {
  const m = createMachine({ cpus: 2 });
  let failure: unknown = null;
  m.run(function* (c): Generator<GuestYield, void, void> {
    try {
      body(c);
    } catch (e) {
      failure = e; // an assertion inside guest code would otherwise shut the CPU down
    }
  });
  if (failure) throw failure;
  return m;
}

describe('kvm-unit-tests test_apic_disable at the machine level', () => {
  it('xAPIC: EN = 0 leaves the page undecoded (memset 0xFF reads back ~0); re-enabled it reads the version and TPR', () => {
    runOnBsp((c) => {
      const lvr = APIC_DEFAULT_PHYS_BASE + APIC_LVR;
      const tpr = APIC_DEFAULT_PHYS_BASE + APIC_TASKPRI;
      const apicVersion = c.read32(lvr);
      expect(apicVersion).toBe(0x0005_0014);
      const cr8 = c.read32(tpr) >>> 4; // CR8 = TPR[7:4]; the machine has no CR8, the TPR register stands in

      c.wrmsr(MSR_IA32_APICBASE, c.rdmsr(MSR_IA32_APICBASE) & ~(APIC_EN | APIC_EXTD)); // disable_apic()
      expect(c.rdmsr(MSR_IA32_APICBASE) & APIC_EN).toBe(0n);
      memsetFF(c, APIC_DEFAULT_PHYS_BASE);
      expect(c.read32(lvr)).toBe(0xffff_ffff);
      expect(c.read32(tpr)).toBe(0xffff_ffff);

      resetApic(c);
      expect(c.rdmsr(MSR_IA32_APICBASE) & (APIC_EN | APIC_EXTD)).toBe(APIC_EN);
      expect(c.read32(lvr)).toBe(apicVersion);
      expect(c.read32(tpr)).toBe(cr8); // the 0xFF stores never reached the TPR
      c.write32(tpr, (cr8 ^ MAX_TPR) << 4);
      expect(c.read32(tpr)).toBe((cr8 ^ MAX_TPR) << 4);
      c.write32(tpr, cr8 << 4);
    });
  });

  it('x2APIC: the xAPIC page is not decoded either; the stores leave the x2APIC TPR alone', () => {
    runOnBsp((c) => {
      resetApic(c);
      c.wrmsr(MSR_IA32_APICBASE, c.rdmsr(MSR_IA32_APICBASE) | APIC_EN | APIC_EXTD); // enable_x2apic()
      expect(c.rdmsr(MSR_IA32_APICBASE) & (APIC_EN | APIC_EXTD)).toBe(APIC_EN | APIC_EXTD);
      const tpr = c.rdmsr(0x808);
      memsetFF(c, APIC_DEFAULT_PHYS_BASE);
      expect(c.read32(APIC_DEFAULT_PHYS_BASE + APIC_LVR)).toBe(0xffff_ffff);
      expect(c.read32(APIC_DEFAULT_PHYS_BASE + APIC_TASKPRI)).toBe(0xffff_ffff);
      expect(c.rdmsr(0x808)).toBe(tpr);
      c.wrmsr(0x808, BigInt(MAX_TPR << 4));
      expect(c.rdmsr(0x808)).toBe(BigInt(MAX_TPR << 4));
      expect(c.read32(APIC_DEFAULT_PHYS_BASE + APIC_TASKPRI)).toBe(0xffff_ffff);
      expect(c.rdmsr(0x803)).toBe(0x0005_0014n); // the version is an MSR now
    });
  });

  it('reads of the undecoded page are reported as unclaimed, like any address nobody decodes', () => {
    const m = runOnBsp((c) => {
      c.wrmsr(MSR_IA32_APICBASE, c.rdmsr(MSR_IA32_APICBASE) & ~APIC_EN);
      c.read32(APIC_DEFAULT_PHYS_BASE + APIC_LVR);
      c.write32(APIC_DEFAULT_PHYS_BASE + APIC_TASKPRI, 0xff);
    });
    expect(m.events.map((e) => e.kind)).toEqual(['unassigned-read', 'unassigned-write']);
    expect(m.events[0]!.detail).toContain('0xfee00030');
  });
});

describe('kvm-unit-tests test_apicbase at the machine level', () => {
  it('relocate apic: after disable and EN at 0xFED40000 the version reads there, and 0xFEE00000 is unclaimed', () => {
    runOnBsp((c) => {
      const orig = c.rdmsr(MSR_IA32_APICBASE);
      expect(orig).toBe(0xfee0_0900n); // BSP: base 0xFEE00000, EN, BSP (SDM §11.4.4)
      const lvr = c.read32(APIC_DEFAULT_PHYS_BASE + APIC_LVR);
      c.wrmsr(MSR_IA32_APICBASE, orig & ~(APIC_EN | APIC_EXTD));
      c.wrmsr(MSR_IA32_APICBASE, BigInt(ALTERNATE_APIC_BASE) | APIC_BSP | APIC_EN);
      expect(c.read32(ALTERNATE_APIC_BASE + APIC_LVR)).toBe(lvr);
      expect(c.read32(APIC_DEFAULT_PHYS_BASE + APIC_LVR)).toBe(0xffff_ffff);
      // Registers work at the new place: TPR write and read back.
      c.write32(ALTERNATE_APIC_BASE + APIC_TASKPRI, 0x50);
      expect(c.read32(ALTERNATE_APIC_BASE + APIC_TASKPRI)).toBe(0x50);
      c.wrmsr(MSR_IA32_APICBASE, orig); // restore: the "reset" helpers leave the address as is
      expect(c.read32(APIC_DEFAULT_PHYS_BASE + APIC_TASKPRI)).toBe(0x50);
    });
  });

  it('a window relocated into RAM hides RAM from its CPU only; disabled, the RAM underneath shows through', () => {
    const m = createMachine({ cpus: 2 });
    const [bsp, ap] = [m.cpus[0]!, m.cpus[1]!];
    const base = 0x10_0000; // 1 MiB, inside the 2 MiB of RAM and above the BIOS ROM
    m.memWrite(bsp, base + APIC_LVR, 4, 0x1234_5678); // RAM before the move
    bsp.lapic.wrmsr(MSR_IA32_APICBASE, BigInt(base) | APIC_BSP | APIC_EN);
    expect(m.memRead(bsp, base + APIC_LVR, 4)).toBe(0x0005_0014); // the BSP sees its APIC
    expect(m.memRead(ap, base + APIC_LVR, 4)).toBe(0x1234_5678); // the AP sees RAM
    expect(m.memRead(ap, APIC_DEFAULT_PHYS_BASE + APIC_LVR, 4)).toBe(0x0005_0014); // and its own APIC where it was
    m.memWrite(bsp, base + APIC_TASKPRI, 4, 0x20); // goes to the BSP's TPR, not RAM
    expect(m.memRead(ap, base + APIC_TASKPRI, 4)).toBe(0);
    expect(bsp.lapic.read(APIC_TASKPRI)).toBe(0x20);

    bsp.lapic.wrmsr(MSR_IA32_APICBASE, BigInt(base) | APIC_BSP); // EN = 0: nothing decodes the page
    expect(m.memRead(bsp, base + APIC_LVR, 4)).toBe(0x1234_5678);
    m.memWrite(bsp, base + APIC_TASKPRI, 4, 0xffff_ffff);
    expect(m.memRead(ap, base + APIC_TASKPRI, 4)).toBe(0xffff_ffff); // the store went to RAM
  });

  it('device MSIs keep decoding at 0xFEE00000 when a CPU relocated its MMIO window', () => {
    const fn = new PciFunction({ vendorId: 0xfff0, deviceId: 7, classCode: 0 });
    const m = createMachine({ cpus: 2, devices: [{ bdf: '00:03.0', fn }] });
    const [bsp, ap] = [m.cpus[0]!, m.cpus[1]!];
    for (const cpu of [bsp, ap]) cpu.lapic.write(0xf0, 0x1ff); // software-enable
    bsp.lapic.wrmsr(MSR_IA32_APICBASE, BigInt(ALTERNATE_APIC_BASE) | APIC_BSP | APIC_EN);
    fn.sendMessage(0xfee0_0000n, 0x41); // physical destination 0: the BSP
    fn.sendMessage(0xfee0_1000n, 0x52); // destination 1: the AP
    expect(bsp.lapic.read(0x220)).toBe(1 << (0x41 - 0x40)); // IRR word 2 holds vectors 0x40–0x5F
    expect(ap.lapic.read(0x220)).toBe(1 << (0x52 - 0x40));
    // A device write to the relocated address is an ordinary memory write (unclaimed here), no interrupt.
    fn.sendMessage(BigInt(ALTERNATE_APIC_BASE), 0x63);
    expect(bsp.lapic.read(0x230)).toBe(0);
  });

  it('x2APIC mode at a relocated base decodes nothing at either address', () => {
    const m = createMachine({ cpus: 1 });
    const bsp = m.cpus[0]!;
    bsp.lapic.wrmsr(MSR_IA32_APICBASE, BigInt(ALTERNATE_APIC_BASE) | APIC_BSP | APIC_EN | APIC_EXTD);
    expect(bsp.lapic.mmioBase).toBe(-1);
    expect(m.memRead(bsp, ALTERNATE_APIC_BASE + APIC_LVR, 4)).toBe(0xffff_ffff);
    expect(m.memRead(bsp, APIC_DEFAULT_PHYS_BASE + APIC_LVR, 4)).toBe(0xffff_ffff);
  });
});
