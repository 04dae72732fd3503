// PcieRootPort: type 1 header (PCI-to-PCI Bridge 1.2 §3.2), PCIe capability of a root port (PCIe
// Base 4.0 §7.5.3) and PME signalling (§6.1.6) through MSI, MSI-X or INTx.
import { describe, expect, it } from 'vitest';
import { PciLayoutError, PciUsageError, PcieRootPort, PCI_CAP_ID_EXP } from '../../../src/index.js';
import type { PciUpstream } from '../../../src/hw/signals.js';

function bound(port: PcieRootPort) {
  const writes: { address: bigint; data: number }[] = [];
  const intx: boolean[] = [];
  const upstream: PciUpstream = {
    memoryWrite: (address, data) => {
      writes.push({ address, data });
      return true;
    },
    intx: (_pin, level) => intx.push(level),
  };
  port.bind({ upstream, label: '00:10.0', report: () => {} });
  return { writes, intx };
}

const cap = (p: PcieRootPort) => p.pcie.offset;
const RTCTL = 0x1c;
const RTSTA = 0x20;
const PME_STATUS = 1 << 16;
const PME_PENDING = 1 << 17;
const PMEIE = 1 << 3;

/** Enable MSI as Linux does: address, data, then Message Control enable, bus master on. */
function enableMsi(p: PcieRootPort, data: number): void {
  const o = p.msi!.offset;
  p.configWrite(o + 4, 4, 0xfee0_1004);
  p.configWrite(o + 8, 4, 0);
  p.configWrite(o + 12, 2, data);
  p.configWrite(o + 2, 2, 0x0001); // MSI enable, MME 0
  p.configWrite(0x04, 2, 0x0006); // memory + bus master
}

describe('type 1 header', () => {
  const p = new PcieRootPort();
  it('header type 1, class 0x060400 (PCI-to-PCI bridge), IDs of the unassigned 0xFFF0 vendor', () => {
    expect(p.configRead(0x0e, 1)).toBe(0x01);
    expect(p.configRead(0x08, 4) >>> 8).toBe(0x060400);
    expect(p.configRead(0x00, 4)).toBe(0x0002_fff0);
  });
  it('bus numbers and windows are RW; the prefetchable window says 64-bit in its RO low nibble', () => {
    p.configWrite(0x18, 4, 0x00_02_01_00); // primary 0, secondary 1, subordinate 2
    expect(p.configRead(0x18, 4) & 0xff_ffff).toBe(0x02_01_00);
    p.configWrite(0x24, 4, 0xffff_ffff);
    expect(p.configRead(0x24, 4)).toBe(0xfff1_fff1);
    p.configWrite(0x20, 4, 0xffff_ffff);
    expect(p.configRead(0x20, 4)).toBe(0xfff0_fff0);
  });
  it('has BAR0 and BAR1 only', () => {
    expect(() => new PcieRootPort({ interrupts: 'msix' }).addBar(2, { kind: 'memory32', size: 4096 })).toThrow(PciLayoutError);
  });
  it('refuses options that do not fit', () => {
    expect(() => new PcieRootPort({ pmeMessage: 2 })).toThrow(PciUsageError); // only messages 0–1 with 2 MSI vectors
    expect(() => new PcieRootPort({ interrupts: 'msix', msixTableSize: 0 })).toThrow(PciUsageError);
  });
});

describe('PCIe capability', () => {
  it('is in the list; flags: version 2, type Root Port (4), interrupt message number in bits 13:9', () => {
    const p = new PcieRootPort({ interrupts: 'msix', msixTableSize: 4, pmeMessage: 3 });
    expect(p.capabilities().map((c) => c.cap.id)).toContain(PCI_CAP_ID_EXP);
    expect(p.configRead(cap(p), 1)).toBe(0x10);
    expect(p.configRead(cap(p) + 2, 2)).toBe(0x0042 | (3 << 9));
  });
  it('Root Status: PME Status is RW1C, PME Pending and the requester ID are read-only', () => {
    const p = new PcieRootPort();
    p.raisePme(0x0100);
    expect(p.configRead(cap(p) + RTSTA, 4)).toBe(PME_STATUS | 0x0100);
    p.configWrite(cap(p) + RTSTA, 4, 0xffff & ~0); // writing 0 to bit 16 and ones to the RO ID changes nothing
    expect(p.configRead(cap(p) + RTSTA, 4)).toBe(PME_STATUS | 0x0100);
    p.configWrite(cap(p) + RTSTA, 4, PME_STATUS);
    expect(p.configRead(cap(p) + RTSTA, 4) & PME_STATUS).toBe(0);
  });
  it('a PME arriving while Status is set waits (Pending) and loads when software clears Status', () => {
    const p = new PcieRootPort();
    p.raisePme(0x0100);
    p.raisePme(0x0208);
    expect(p.pcie.rootStatus()).toBe(PME_STATUS | PME_PENDING | 0x0100);
    p.configWrite(cap(p) + RTSTA, 4, PME_STATUS);
    expect(p.pcie.rootStatus()).toBe(PME_STATUS | 0x0208);
    p.configWrite(cap(p) + RTSTA, 4, PME_STATUS);
    expect(p.pcie.rootStatus() & (PME_STATUS | PME_PENDING)).toBe(0);
  });
});

describe('PME interrupt', () => {
  it('MSI: one message per PME while PME Interrupt Enable is set, with the programmed address and data', () => {
    const p = new PcieRootPort();
    const { writes } = bound(p);
    enableMsi(p, 0x0022);
    p.raisePme(0x80);
    expect(writes).toEqual([]); // PMEIE off: Status set, no interrupt
    p.configWrite(cap(p) + RTCTL, 2, PMEIE); // enabling while Status is 1 interrupts (§6.1.6)
    expect(writes).toEqual([{ address: 0xfee0_1004n, data: 0x22 }]);
    p.configWrite(cap(p) + RTSTA, 4, PME_STATUS);
    p.raisePme(0x80);
    expect(writes).toHaveLength(2);
    expect(p.pmeMessagesSent).toBe(2);
  });
  it('a queued PME interrupts again when it loads after software clears Status', () => {
    const p = new PcieRootPort();
    const { writes } = bound(p);
    enableMsi(p, 0x0030);
    p.configWrite(cap(p) + RTCTL, 2, PMEIE);
    p.raisePme(1);
    p.raisePme(2);
    expect(writes).toHaveLength(1);
    p.configWrite(cap(p) + RTSTA, 4, PME_STATUS);
    expect(writes).toHaveLength(2);
  });
  it('MSI-X: the PME uses the table entry named by the interrupt message number (default: the last)', () => {
    const p = new PcieRootPort({ interrupts: 'msix', msixTableSize: 2 });
    const { writes } = bound(p);
    p.configWrite(0x10, 4, 0xfebf_0000);
    p.configWrite(0x04, 2, 0x0006);
    p.barAccessWrite(0, 16 + 0, 4, 0xfee0_1004); // entry 1 address
    p.barAccessWrite(0, 16 + 8, 4, 0x0041); // entry 1 data
    p.barAccessWrite(0, 16 + 12, 4, 0); // unmask
    const o = p.msix!.offset;
    p.configWrite(o + 2, 2, 0x8000); // MSI-X enable
    p.configWrite(cap(p) + RTCTL, 2, PMEIE);
    p.raisePme(0x80);
    expect(writes).toEqual([{ address: 0xfee0_1004n, data: 0x41 }]);
  });
  it('INTx (no message interrupts enabled): INTA# follows PME Status AND PME Interrupt Enable', () => {
    const p = new PcieRootPort();
    const { intx } = bound(p);
    p.configWrite(cap(p) + RTCTL, 2, PMEIE);
    p.raisePme(0x80);
    expect(p.intxAsserted).toBe(true);
    p.configWrite(cap(p) + RTSTA, 4, PME_STATUS);
    expect(p.intxAsserted).toBe(false);
    expect(intx).toEqual([true, false]);
  });
});
