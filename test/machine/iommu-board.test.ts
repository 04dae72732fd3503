// The board with a VT-d remapping unit (MachineConfig.iommu): a guest programs the unit through its
// register page at 0xFED90000 the way Linux's intel/irq_remapping.c does (FACTS §11.4 order), then device
// MSIs and I/O APIC pins are translated through IRTEs in guest RAM (VT-d spec §5.1, §9.10, §10.4).

import { describe, expect, it } from 'vitest';
import type { CpuContext, GuestYield } from '../../src/machine/guest-interface.js';
import { createMachine, MachineConfigError, type Machine, type MachineConfig } from '../../src/machine/machine.js';
import { MsiEndpoint } from '../../src/hw/pci/index.js';
import { encodeIrte, encodeRemappableAddress, irteDestination } from '../../src/hw/iommu/index.js';
import * as MAP from '../../src/machine/memory-map.js';

const U = MAP.DMAR_UNIT_BASE;
const IRT = 0x10_0000; // 1 MiB: the interrupt-remapping table (65536 × 16 bytes would need 1 MiB; S = 7 → 256 entries here)
const IQ = 0x0c_0000; // the invalidation queue, one 4 KiB page (QS = 0: 256 descriptors)
const STATUS = 0x0d_0000;
const GCMD_QIE = 1 << 26;
const GCMD_IRE = 1 << 25;
const GCMD_SIRTP = 1 << 24;

function run(config: MachineConfig, body: (c: CpuContext) => void): Machine {
  const m = createMachine(config);
  let failure: unknown = null;
  m.run(function* (c): Generator<GuestYield, void, void> {
    try {
      body(c);
    } catch (e) {
      failure = e;
    }
  });
  if (failure) throw failure;
  return m;
}

function writeIrte(c: CpuContext, index: number, e: { low: bigint; high: bigint }): void {
  const at = IRT + index * 16;
  c.write32(at, Number(e.low & 0xffff_ffffn));
  c.write32(at + 4, Number(e.low >> 32n));
  c.write32(at + 8, Number(e.high & 0xffff_ffffn));
  c.write32(at + 12, Number(e.high >> 32n));
}

/** Linux's enable sequence: QI on, IRTA + SIRTP, global IEC + wait, IRE. */
function enableRemapping(c: CpuContext, eime: boolean): void {
  c.write32(U + 0x88, 0); // IQT = 0
  c.write32(U + 0x90, IQ); // IQA: base, QS = 0
  c.write32(U + 0x94, 0);
  c.write32(U + 0x18, GCMD_QIE);
  expect(c.read32(U + 0x1c) & GCMD_QIE).toBe(GCMD_QIE);
  c.write32(U + 0xb8, IRT | (eime ? 1 << 11 : 0) | 7); // S = 7: 256 entries
  c.write32(U + 0xbc, 0);
  c.write32(U + 0x18, GCMD_QIE | GCMD_SIRTP);
  expect(c.read32(U + 0x1c) & GCMD_SIRTP).toBe(GCMD_SIRTP);
  // Global IEC (type 4, G = 0), then a wait descriptor with SW (type 5, bit 5) writing 1 to STATUS.
  c.write32(IQ, 4);
  for (const o of [4, 8, 12]) c.write32(IQ + o, 0);
  c.write32(IQ + 16, 5 | (1 << 5));
  c.write32(IQ + 20, 1);
  c.write32(IQ + 24, STATUS);
  c.write32(IQ + 28, 0);
  c.write32(U + 0x88, 0x20);
  expect(c.read32(STATUS)).toBe(1);
  expect(c.read32(U + 0x80)).toBe(0x20); // IQH caught up with IQT
  c.write32(U + 0x18, GCMD_QIE | GCMD_IRE);
  expect(c.read32(U + 0x1c) & GCMD_IRE).toBe(GCMD_IRE);
}

const irr = (m: Machine, cpu: number, v: number) => ((m.cpus[cpu]!.lapic.read(0x200 + 0x10 * (v >> 5)) >>> (v & 31)) & 1) === 1;

describe('a machine with a remapping unit', () => {
  it('translates a multi-MSI block through IRTEs 32..35 (handle 32, SHV, sub-handles 0..3)', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 4, is64: false, pvm: false } });
    const m = run({ cpus: 1, iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] }, (c) => {
      c.write32(0xfee0_00f0, 0x1ff); // SVR: software-enable the BSP's APIC
      for (let i = 0; i < 4; i++) writeIrte(c, 32 + i, encodeIrte({ vector: 0x41 + i, destination: irteDestination(0, false), sourceId: 0x0018, sourceValidation: 1 }));
      enableRemapping(c, false);
    });
    expect(m.iommu).not.toBeNull();
    const address = encodeRemappableAddress(32);
    expect(address).toBe(0xfee0_0418); // FACTS §10: what Linux programs for handle 32
    for (let i = 0; i < 4; i++) ep.sendMessageParts(address, 0, i); // MME replaces the data's low bits
    for (let i = 0; i < 4; i++) expect(irr(m, 0, 0x41 + i)).toBe(true);
    const k = m.iommu!.counters();
    expect([k.translated, k.blocked, k.cacheMisses]).toEqual([4, 0, 4]);
    expect(m.iommu!.cachedIndices()).toEqual([32, 33, 34, 35]);
  });

  it('a request naming a not-present IRTE is blocked, recorded (fault 0x22) and counted as a dropped MSI', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const m = run({ cpus: 1, iommu: true, devices: [{ bdf: '00:03.0', fn: ep }] }, (c) => enableRemapping(c, false));
    ep.sendMessageParts(encodeRemappableAddress(9), 0, 0);
    expect(m.msiDropped).toBe(1);
    expect(m.wire.at(-1)!.outcome).toMatchObject({ delivered: false, reason: 'remapping-fault' });
    const unit = m.iommu!;
    expect(unit.counters().faults['not-present']).toBe(1);
    expect(unit.read32(0x34) & 0x2).toBe(0x2); // FSTS.PPF
    expect(unit.read64(0x220 + 8)).toBe((1n << 63n) | (0x22n << 32n) | 0x0018n); // F, FR 0x22, SID 00:03.0
    expect(unit.read64(0x220)).toBe(9n << 48n); // FI: index in 63:48
  });

  it('config: iommu must be a boolean or known options; DMAR faults need the unit', () => {
    expect(() => createMachine({ cpus: 1, iommu: 'yes' as never })).toThrow(/iommu must be a boolean/);
    expect(() => createMachine({ cpus: 1, iommu: { eims: true } as never })).toThrow(MachineConfigError);
    expect(() => createMachine({ cpus: 1, iommu: { mhmv: 16 } })).toThrow(/iommu.mhmv/);
    expect(() => createMachine({ cpus: 1, acpiFaults: { dmarChecksum: true } })).toThrow(/acpiFaults.dmarChecksum needs iommu/);
    expect(createMachine({ cpus: 1 }).iommu).toBeNull();
  });
});
