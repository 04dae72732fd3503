// Legacy ISA vectors and reservation mode as Linux handles them (arch/x86/kernel/apic/vector.c
// vector_configure_legacy / lapic_update_legacy_vectors, arch/x86/kernel/acpi/boot.c
// mp_config_acpi_legacy_irqs), and the scenario's "kernel" generation.
import { describe, expect, it } from 'vitest';
import { createMatrixSync } from '../../src/alloc/matrix.js';
import type { Machine } from '../../src/machine/machine.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { DEFAULT_SCENARIO, ScenarioError, validateScenario, type KernelGeneration } from '../../src/scenario/scenario.js';
import { legacyIsaIrqs } from '../../firmware/ioapic-driver.js';
import { VectorDomain } from '../../firmware/vector-domain.js';

const ISA_BUT_2 = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

describe('legacyIsaIrqs (mp_config_acpi_legacy_irqs)', () => {
  it('with the IRQ 0 → GSI 2 override, 15 ISA IRQs have a pin and IRQ 2 has none', () => {
    const l = legacyIsaIrqs([{ irq: 0, gsi: 2 }, { irq: 9, gsi: 9 }], 0, 24);
    expect(l.map((e) => e.irq)).toEqual(ISA_BUT_2);
    expect(l.find((e) => e.irq === 0)!.gsi).toBe(2);
    expect(l.filter((e) => e.irq !== 0).every((e) => e.gsi === e.irq)).toBe(true);
  });

  it('without overrides IRQ n sits on GSI n (16 IRQs); GSIs beyond the pins or below the base are skipped', () => {
    expect(legacyIsaIrqs([], 0, 24).map((e) => [e.irq, e.gsi])).toEqual(Array.from({ length: 16 }, (_, i) => [i, i]));
    expect(legacyIsaIrqs([{ irq: 0, gsi: 2 }], 0, 8).map((e) => e.irq)).toEqual([0, 1, 3, 4, 5, 6, 7]);
    expect(legacyIsaIrqs([], 24, 24)).toEqual([]);
  });
});

describe('VectorDomain: the I/O APIC takes the ISA IRQs over', () => {
  const domain = (cpus = 2) => {
    const d = new VectorDomain('linux', createMatrixSync({ cpus, engine: 'js', preset: 'x86-6.1' }), Array.from({ length: cpus }, (_, i) => i));
    for (let c = 0; c < cpus; c++) d.online(c);
    return d;
  };

  it('before the take-over CPU 0 holds the 15 ISA vectors (186 available)', () => {
    const d = domain();
    expect(d.matrix.vectors(0)).toEqual(ISA_BUT_2.map((n) => 0x30 + n));
    expect(d.matrix.cpu(0).available).toBe(186);
  });

  it('activated IRQs keep their vector, the others are freed and reserved', () => {
    const d = domain();
    expect(d.takeOverLegacy(ISA_BUT_2, new Set([0]))).toEqual([0]);
    expect(d.matrix.vectors(0)).toEqual([0x30]);
    expect(d.matrix.cpu(0).available).toBe(200);
    expect(d.matrix.stats().globalReserved).toBe(14);
    const e = domain();
    expect(e.takeOverLegacy(ISA_BUT_2, new Set([0, 1, 8]))).toEqual([0, 1, 8]);
    expect(e.matrix.vectors(0)).toEqual([0x30, 0x31, 0x38]);
    expect(e.matrix.stats().globalReserved).toBe(12);
  });

  it('IRQ 2 (the cascade, a system bit) is never freed', () => {
    const d = domain();
    d.takeOverLegacy([...ISA_BUT_2, 2], new Set());
    expect(d.matrix.systemVectors()).toContain(0x32);
    expect(d.matrix.stats().globalReserved).toBe(15);
  });

  it('without an I/O APIC the 15 become system bits (replace on CPU 0, in apic_bsp_setup before any AP)', () => {
    const d = new VectorDomain('linux', createMatrixSync({ cpus: 2, engine: 'js', preset: 'x86-6.1' }), [0, 1]);
    d.online(0);
    d.legacyWithoutIoapic();
    d.online(1);
    expect(d.matrix.vectors(0)).toEqual([]);
    expect(d.matrix.systemVectors()).toEqual([0x20, ...Array.from({ length: 16 }, (_, n) => 0x30 + n), 0x80]);
    expect(d.matrix.cpu(0).available).toBe(186);
    expect(d.matrix.stats().globalReserved).toBe(0);
  });

  it('reservation mode leaves no reservation behind, granted or refused', () => {
    const d = domain(1);
    d.takeOverLegacy(ISA_BUT_2, new Set([0]));
    const got: number[] = [];
    for (let p = d.allocSingle(); p; p = d.allocSingle()) got.push(p.base);
    expect(got).toHaveLength(200);
    expect(d.matrix.stats()).toMatchObject({ globalReserved: 14, globalAvailable: 0 });
  });
});

describe('the guest at boot and the scenario "kernel" field', () => {
  it('routes the timer (IRQ 0 → GSI 2) to 0x30 on the BSP, edge, active high, and reserves the other 14', async () => {
    let m: Machine | undefined;
    const r = await runScenario({ cpus: 2, devices: [] }, { onMachine: (x) => (m = x) });
    expect(r.ok).toBe(true);
    // 2 CPUs in xAPIC mode: flat logical, so the BSP is logical destination 1 << 0.
    expect(m!.ioapic.rte(2)).toMatchObject({ vector: 0x30, destinationMode: 'logical', destination: 1, trigger: 'edge', polarity: 'active-high', masked: false });
    expect(r.bootLog.map((l) => l.replace(/^\[[^\]]*\]\s*/, ''))).toContain('IOAPIC: 15 ISA IRQs taken over; IRQ 0 (timer) keeps 0x30 on CPU 0 via GSI 2, 14 reserved until requested');
    expect(r.vectors).toMatch(/Global reserved:\s+14\n/);
    expect(r.vectors).toMatch(/\n\s+0\s+200\s+0\s+0\s+1\s+48\n/);
  });

  it('kernel "6.1": 0x20 is taken, so the default devices land one aligned block higher', async () => {
    const r = await runScenario({ ...DEFAULT_SCENARIO, kernel: '6.1' });
    expect(r.ok).toBe(true);
    // CPU 1 (201) 32-block: 0x20-0x3F holds 0x20 and 0x32 → 0x40; CPU 2 16-block: 0x20 and 0x30
    // blocks hold 0x20 / 0x32 → 0x40; CPU 3 8-block: 0x28; single: CPU 0 (200) at 0x21.
    expect(r.devices.map((d) => [d.vectors, d.cpu, d.base])).toEqual([[32, 1, 0x40], [16, 2, 0x40], [8, 3, 0x28], [1, 0, 0x21]]);
    expect(r.vectors).toContain('System: 3: 32,50,128\n');
  });

  it('kernel "6.6": 202 per AP (0xEB allocatable); "6.10" and the default: 201', async () => {
    const avl = async (kernel?: KernelGeneration) => {
      const r = await runScenario({ cpus: 2, devices: [], ...(kernel ? { kernel } : {}) });
      return /\n\s+1\s+(\d+)\s/.exec(r.vectors)![1];
    };
    expect([await avl('6.6'), await avl('6.10'), await avl()]).toEqual(['202', '201', '201']);
  });

  it('a kernel the project does not know is a ScenarioError naming the field', () => {
    for (const k of ['6.2', 6.1, null, '']) {
      expect(() => validateScenario({ cpus: 1, devices: [], kernel: k })).toThrow(ScenarioError);
      try {
        validateScenario({ cpus: 1, devices: [], kernel: k });
      } catch (e) {
        expect((e as ScenarioError).field).toBe('kernel');
      }
    }
    expect(validateScenario({ cpus: 1, devices: [], kernel: '6.1' }).kernel).toBe('6.1');
  });
});
