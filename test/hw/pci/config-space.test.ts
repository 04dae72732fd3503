import { describe, expect, it } from 'vitest';
import { ConfigSpace } from '../../../src/hw/pci/config-space.js';
import { PciLayoutError, PciUsageError } from '../../../src/hw/pci/errors.js';
import { plainFunction } from './helpers.js';

describe('ConfigSpace mask discipline', () => {
  it('assembles byte, word and dword reads little-endian at any offset within a dword', () => {
    const c = new ConfigSpace();
    c.define('f', 0x40, 4, { value: 0x4433_2211 });
    expect([c.read(0x40, 4), c.read(0x42, 2), c.read(0x41, 2), c.read(0x43, 1)]).toEqual([0x4433_2211, 0x4433, 0x3322, 0x44]);
  });

  it('a write changes only the writable bits', () => {
    const c = new ConfigSpace();
    c.define('f', 0x40, 2, { value: 0xa5a5, writable: 0x0ff0 });
    c.write(0x40, 2, 0x5a5a);
    expect(c.read(0x40, 2)).toBe(0xaa55 /* 15:12 = 0xA and 3:0 = 0x5 kept from 0xA5A5; 11:4 = 0xA5 taken from 0x5A5A */);
  });

  it('RW1C bits clear on 1 and stay on 0', () => {
    const c = new ConfigSpace();
    c.define('st', 0x40, 2, { writeOneToClear: 0xf000 });
    c.setRaw(0x40, 2, 0xf00f);
    c.write(0x40, 2, 0x3000);
    expect(c.read(0x40, 2)).toBe(0xc00f /* 13:12 cleared, 15:14 kept, RO 3:0 kept */);
  });

  it('undefined bytes read 0 and ignore writes', () => {
    const c = new ConfigSpace();
    c.write(0x80, 4, 0xffff_ffff);
    expect(c.read(0x80, 4)).toBe(0);
  });

  it('runs write hooks only for writes touching their bytes', () => {
    const c = new ConfigSpace();
    const hits: number[] = [];
    c.onWrite(0x44, 2, (off) => hits.push(off));
    c.write(0x40, 4, 0);
    c.write(0x44, 1, 0);
    c.write(0x45, 1, 0);
    c.write(0x46, 2, 0);
    expect(hits).toEqual([0x44, 0x45]);
  });

  it('rejects accesses that cross a dword, odd sizes and offsets past 4 KiB', () => {
    const c = new ConfigSpace();
    expect(() => c.read(0x43, 2)).toThrow(PciUsageError);
    expect(() => c.read(0x40, 3 as 4)).toThrow(PciUsageError);
    expect(() => c.read(0x1000, 1)).toThrow(PciUsageError);
    expect(() => c.write(0x40, 1, 0x100)).toThrow(PciUsageError);
  });

  it('rejects overlapping field definitions', () => {
    const c = new ConfigSpace();
    c.define('a', 0x40, 4);
    expect(() => c.define('b', 0x42, 2)).toThrow(PciLayoutError);
  });
});

describe('type 0 header (PCI 3.0 §6.2)', () => {
  it('IDs, revision and class read back and are read-only', () => {
    const fn = plainFunction({ subsystemVendorId: 0xfff0, subsystemId: 0x0042, interruptPin: 2 });
    fn.configWrite(0x00, 4, 0);
    fn.configWrite(0x08, 4, 0);
    expect(fn.configRead(0x00, 4)).toBe(0x1234_fff0 /* device 0x1234 : vendor 0xFFF0 */);
    expect(fn.configRead(0x08, 4)).toBe(0x0200_0003 /* class 02 (network) subclass 00 prog-IF 00, revision 3 */);
    expect(fn.configRead(0x2c, 4)).toBe(0x0042_fff0);
    expect(fn.configRead(0x3d, 1)).toBe(2 /* INTB# */);
  });

  it('command: I/O, memory, bus master and INTx disable are RW, the rest RO 0', () => {
    const fn = plainFunction();
    expect(fn.configRead(0x04, 2)).toBe(0 /* reset */);
    fn.configWrite(0x04, 2, 0xffff);
    expect(fn.configRead(0x04, 2)).toBe(0x0407 /* bit 10 INTx disable | 2 master | 1 memory | 0 I/O */);
  });

  it('status: RW1C error bits clear on 1; interrupt status and cap list are RO', () => {
    const fn = plainFunction();
    fn.config.setRaw(0x06, 2, 0xf918 /* 15,14,13,12,11,8 errors + 4 cap list + 3 interrupt */);
    fn.configWrite(0x06, 2, 0x0918 /* clear 11 and 8; try 4 and 3 */);
    expect(fn.configRead(0x06, 2)).toBe(0xf018 /* 15:12 kept, 11 and 8 cleared, 4 and 3 unchanged */);
    fn.configWrite(0x04, 4, 0xffff_0000 /* dword write: command 0, status all ones */);
    expect(fn.configRead(0x06, 2)).toBe(0x0018);
  });

  it('interrupt line is a RW scratch byte; interrupt pin is RO', () => {
    const fn = plainFunction({ interruptPin: 1 });
    fn.configWrite(0x3c, 2, 0x040b);
    expect(fn.configRead(0x3c, 2)).toBe(0x010b /* pin 1 (INTA#) kept, line 0x0B */);
  });

  it('cache line size is RW; latency timer, header type and BIST are RO', () => {
    const fn = plainFunction();
    fn.configWrite(0x0c, 4, 0xffff_ffff);
    expect(fn.configRead(0x0c, 4)).toBe(0x0000_00ff /* BIST 0, header type 0, latency 0, cache line 0xFF */);
  });

  it('rejects vendor 0xFFFF (the "no function" value)', () => {
    expect(() => plainFunction({ vendorId: 0xffff })).toThrow(PciUsageError);
  });
});
