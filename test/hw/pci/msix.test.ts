import { describe, expect, it } from 'vitest';
import { MsixCapability } from '../../../src/hw/pci/msix-capability.js';
import { PciLayoutError, PciStateError, PciUsageError } from '../../../src/hw/pci/errors.js';
import { makeHost, plainFunction } from './helpers.js';

const BAR2 = 0xfeb0_0000;

/** Function with BAR2 (16 KiB) holding a 5-entry table at 0x2000 and the PBA at 0x3000; memory + bus master on. */
function rig() {
  const { host, writes, intx, events } = makeHost();
  const fn = plainFunction({ interruptPin: 1 });
  fn.addBar(2, { kind: 'memory32', size: 0x4000 });
  const msix = new MsixCapability({ tableSize: 5, tableBar: 2, tableOffset: 0x2000, pbaBar: 2, pbaOffset: 0x3000 });
  const at = fn.addCapability(msix);
  host.add('00:06.0', fn);
  fn.configWrite(0x18, 4, BAR2);
  fn.configWrite(0x04, 2, 0x0006 /* memory + bus master */);
  const entry = (n: number, field: number) => BAR2 + 0x2000 + 16 * n + field;
  const program = (n: number, address: number, data: number) => {
    host.mmioWrite(entry(n, 0), 4, address);
    host.mmioWrite(entry(n, 4), 4, 0);
    host.mmioWrite(entry(n, 8), 4, data);
  };
  return { host, fn, msix, at, writes, intx, events, entry, program, ctrl: (v: number) => fn.configWrite(at + 2, 2, v) };
}

describe('MSI-X capability (PCI 3.0 §6.8.2)', () => {
  it('control reports table size N − 1 and resets with enable and function mask 0', () => {
    const { fn, at } = rig();
    expect(fn.configRead(at, 4)).toBe(0x0004_0011 /* ctrl 10:0 = 5 − 1; next 0; ID 0x11 */);
  });

  it('only function mask (14) and enable (15) are writable', () => {
    const { fn, at, ctrl } = rig();
    ctrl(0xffff);
    expect(fn.configRead(at + 2, 2)).toBe(0xc004);
  });

  it('table and PBA registers carry offset | BIR and are read-only', () => {
    const { fn, at } = rig();
    fn.configWrite(at + 4, 4, 0);
    expect([fn.configRead(at + 4, 4), fn.configRead(at + 8, 4)]).toEqual([0x2002 /* 0x2000 | BIR 2 */, 0x3002]);
  });

  it('every entry resets masked: vector control = 1', () => {
    const { host, entry } = rig();
    for (let n = 0; n < 5; n++) expect(host.mmioRead(entry(n, 0xc), 4)).toBe(0x0000_0001);
  });

  it('address bits 1:0 and vector control 31:1 are read-only 0', () => {
    const { host, entry } = rig();
    host.mmioWrite(entry(0, 0), 4, 0xfee0_0003);
    host.mmioWrite(entry(0, 0xc), 4, 0xffff_fffe);
    expect([host.mmioRead(entry(0, 0), 4), host.mmioRead(entry(0, 0xc), 4)]).toEqual([0xfee0_0000, 0 /* unmasked */]);
  });

  it('an enabled, unmasked entry sends its own address and 32-bit data', () => {
    const r = rig();
    r.program(3, 0xfee0_1000, 0x0000_4052);
    r.host.mmioWrite(r.entry(3, 0xc), 4, 0);
    r.ctrl(0x8000);
    expect(r.msix.fire(3)).toEqual({ result: 'sent', index: 3, address: 0xfee0_1000n, data: 0x4052 });
    expect(r.writes).toEqual([{ address: 0xfee0_1000n, data: 0x4052 }]);
  });

  it('disabled: nothing sent, nothing pending', () => {
    const r = rig();
    expect(r.msix.fire(0)).toEqual({ result: 'suppressed', index: 0, reason: 'msix-disabled' });
    expect(r.host.mmioRead(BAR2 + 0x3000, 4)).toBe(0);
  });

  it('a masked entry sets its PBA bit; unmasking the entry sends it and clears the bit', () => {
    const r = rig();
    r.program(2, 0xfee0_0000, 0x61);
    r.ctrl(0x8000);
    expect(r.msix.fire(2)).toEqual({ result: 'pending', index: 2 });
    expect(r.host.mmioRead(BAR2 + 0x3000, 4)).toBe(0b100 /* PBA bit 2 */);
    r.host.mmioWrite(r.entry(2, 0xc), 4, 0);
    expect(r.writes).toEqual([{ address: 0xfee0_0000n, data: 0x61 }]);
    expect(r.host.mmioRead(BAR2 + 0x3000, 4)).toBe(0);
  });

  it('function mask holds every message pending; clearing it sends them', () => {
    const r = rig();
    r.program(0, 0xfee0_0000, 0x70);
    r.program(1, 0xfee0_0000, 0x71);
    r.host.mmioWrite(r.entry(0, 0xc), 4, 0);
    r.host.mmioWrite(r.entry(1, 0xc), 4, 0);
    r.ctrl(0xc000 /* enable + function mask */);
    r.msix.fire(1);
    r.msix.fire(0);
    expect(r.writes).toHaveLength(0);
    expect(r.host.mmioRead(BAR2 + 0x3000, 1)).toBe(0b11);
    r.ctrl(0x8000);
    expect(r.writes.map((w) => w.data)).toEqual([0x70, 0x71]);
  });

  it('the PBA is read-only: writes are ignored and reported', () => {
    const r = rig();
    r.ctrl(0x8000);
    r.msix.fire(4);
    r.host.mmioWrite(BAR2 + 0x3000, 4, 0);
    expect(r.host.mmioRead(BAR2 + 0x3000, 4)).toBe(0b1_0000);
    expect(r.events).toContainEqual({ kind: 'msix-pba-write', bdf: '00:06.0', offset: 0x3000 });
  });

  it('bus mastering off drops an unmasked message', () => {
    const r = rig();
    r.host.mmioWrite(r.entry(0, 0xc), 4, 0);
    r.ctrl(0x8000);
    r.fn.configWrite(0x04, 2, 0x0002);
    expect(r.msix.fire(0)).toEqual({ result: 'suppressed', index: 0, reason: 'bus-master-off' });
  });

  it('enabling MSI-X de-asserts INTx', () => {
    const r = rig();
    r.fn.setInterruptStatus(true);
    r.ctrl(0x8000);
    expect(r.intx.map((i) => i.level)).toEqual([true, false]);
  });

  it('rejects layouts that do not fit', () => {
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory32', size: 0x1000 });
    expect(() => fn.addCapability(new MsixCapability({ tableSize: 256 /* 4 KiB of entries */, tableBar: 0, tableOffset: 0x800, pbaBar: 0, pbaOffset: 0 }))).toThrow(PciLayoutError);
    expect(() => new MsixCapability({ tableSize: 4, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x20 })).toThrow(PciLayoutError);
    expect(() => new MsixCapability({ tableSize: 4, tableBar: 0, tableOffset: 4, pbaBar: 0, pbaOffset: 0x800 })).toThrow(PciUsageError);
    expect(() => new MsixCapability({ tableSize: 2049, tableBar: 0, tableOffset: 0, pbaBar: 1, pbaOffset: 0 })).toThrow(PciUsageError);
  });

  it('saveState/loadState round-trips the table, PBA and control', () => {
    const r = rig();
    r.program(1, 0xfee0_3000, 0x0000_40a1);
    r.ctrl(0xc000);
    r.msix.fire(1);
    const saved = JSON.parse(JSON.stringify(r.msix.saveState()));
    const s = rig();
    s.msix.loadState(saved);
    expect(s.msix.saveState()).toEqual(saved);
    expect(s.msix.entry(1)).toEqual({ address: 0xfee0_3000n, data: 0x40a1, masked: true, pending: true });
    expect(() => s.msix.loadState({ ...saved, pending: [5] })).toThrow(PciStateError);
  });
});

describe('MSI-X capability defaults', () => {
  it('with only tableSize: table at BAR 1 offset 0, PBA right after it in the same BAR', () => {
    const cap = new MsixCapability({ tableSize: 8 });
    const fn = plainFunction();
    fn.addBar(1, { kind: 'memory32', size: 4096 });
    const off = fn.addCapability(cap);
    makeHost().host.add('00:05.0', fn);
    // Table Offset/BIR: offset 0, BIR 1; PBA Offset/BIR: offset 8 entries × 16 bytes = 0x80, BIR 1.
    expect(fn.configRead(off + 4, 4)).toBe(0x0000_0001);
    expect(fn.configRead(off + 8, 4)).toBe(0x0000_0081);
    // Message Control: table size N − 1 = 7 in bits 10:0.
    expect(fn.configRead(off + 2, 2) & 0x7ff).toBe(7);
  });
});
