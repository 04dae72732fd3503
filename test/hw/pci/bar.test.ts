import { describe, expect, it } from 'vitest';
import { PciLayoutError } from '../../../src/hw/pci/errors.js';
import { makeHost, plainFunction } from './helpers.js';

describe('BAR sizing (PCI 3.0 §6.2.5.1)', () => {
  it('32-bit 4 KiB memory BAR reads back 0xFFFFF000 after all ones', () => {
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory32', size: 0x1000 });
    fn.configWrite(0x10, 4, 0xffff_ffff);
    expect(fn.configRead(0x10, 4)).toBe(0xffff_f000 /* ~(4K−1); type 2:1 = 00 (32-bit), 3 = 0, 0 = memory */);
  });

  it('prefetchable 64-bit 1 MiB BAR sizes across both dwords', () => {
    const fn = plainFunction();
    fn.addBar(2, { kind: 'memory64', size: 1 << 20, prefetchable: true });
    expect(fn.configRead(0x18, 4)).toBe(0x0000_000c /* reset: 3 prefetchable, 2:1 = 10 (64-bit) */);
    fn.configWrite(0x18, 4, 0xffff_ffff);
    fn.configWrite(0x1c, 4, 0xffff_ffff);
    expect([fn.configRead(0x18, 4), fn.configRead(0x1c, 4)]).toEqual([0xfff0_000c /* ~(1M−1) | type */, 0xffff_ffff]);
  });

  it('64-bit 8 GiB BAR: the size mask reaches into the upper dword', () => {
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory64', size: 8n << 30n });
    fn.configWrite(0x10, 4, 0xffff_ffff);
    fn.configWrite(0x14, 4, 0xffff_ffff);
    expect([fn.configRead(0x10, 4), fn.configRead(0x14, 4)]).toEqual([0x0000_0004 /* no low address bits */, 0xffff_fffe /* ~(8G−1) >> 32 */]);
  });

  it('32-byte I/O BAR reads back 0xFFFFFFE1', () => {
    const fn = plainFunction();
    fn.addBar(4, { kind: 'io', size: 32 });
    fn.configWrite(0x20, 4, 0xffff_ffff);
    expect(fn.configRead(0x20, 4)).toBe(0xffff_ffe1 /* ~(32−1), bit 1 reserved 0, bit 0 = I/O */);
  });

  it('an unimplemented BAR reads 0 after all ones', () => {
    const fn = plainFunction();
    fn.configWrite(0x14, 4, 0xffff_ffff);
    expect(fn.configRead(0x14, 4)).toBe(0);
  });

  it('restoring the saved base after sizing puts the BAR back', () => {
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory32', size: 0x1000 });
    fn.configWrite(0x10, 4, 0xfebf_1000);
    const saved = fn.configRead(0x10, 4);
    fn.configWrite(0x10, 4, 0xffff_ffff);
    fn.configWrite(0x10, 4, saved);
    expect(fn.bar(0)!.base()).toBe(0xfebf_1000n);
  });

  it('rejects impossible BARs', () => {
    expect(() => plainFunction().addBar(0, { kind: 'memory32', size: 0x1800 })).toThrow(PciLayoutError);
    expect(() => plainFunction().addBar(5, { kind: 'memory64', size: 0x1000 })).toThrow(PciLayoutError);
    expect(() => plainFunction().addBar(0, { kind: 'io', size: 512 })).toThrow(PciLayoutError);
    expect(() => plainFunction().addBar(0, { kind: 'memory32', size: 8 })).toThrow(PciLayoutError);
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory64', size: 0x1000 });
    expect(() => fn.addBar(1, { kind: 'memory32', size: 0x1000 }) /* BAR1 is BAR0's upper half */).toThrow(PciLayoutError);
  });
});

describe('BAR decode through the host', () => {
  it('memory BARs decode only while command.memory = 1', () => {
    const { host } = makeHost();
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory32', size: 0x1000 });
    host.add('00:05.0', fn);
    fn.configWrite(0x10, 4, 0xfebf_0000);
    expect(host.mmioRead(0xfebf_0010, 4)).toBeNull();
    expect(host.mmioWrite(0xfebf_0010, 4, 1)).toBe(false);
    fn.configWrite(0x04, 2, 0x0002 /* memory space */);
    expect(host.mmioRead(0xfebf_0010, 4)).toBe(0 /* base function: no registers */);
    expect(host.mmioRead(0xfebf_1000, 4) /* one past the BAR */).toBeNull();
  });

  it('a 64-bit BAR above 4 GiB decodes bigint addresses', () => {
    const { host } = makeHost();
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory64', size: 0x4000 });
    host.add('00:05.0', fn);
    fn.configWrite(0x10, 4, 0x0000_8000);
    fn.configWrite(0x14, 4, 0x0000_0001);
    fn.configWrite(0x04, 2, 0x0002);
    expect(fn.decodeMemory(0x1_0000_8ffcn, 4)).toEqual({ bar: 0, offset: 0xffc });
    expect(host.mmioRead(0x1_0000_8ffcn, 4)).toBe(0);
    expect(host.mmioRead(0x0_0000_8ffc, 4)).toBeNull();
  });

  it('an access straddling the end of a BAR is not claimed', () => {
    const fn = plainFunction();
    fn.addBar(0, { kind: 'memory32', size: 0x1000 });
    fn.configWrite(0x10, 4, 0xfebf_0000);
    fn.configWrite(0x04, 2, 0x0002);
    expect(fn.decodeMemory(0xfebf_0ffen, 4)).toBeNull();
  });

  it('I/O BARs decode only while command.io = 1', () => {
    const { host } = makeHost();
    const fn = plainFunction();
    fn.addBar(1, { kind: 'io', size: 32 });
    host.add('00:06.0', fn);
    fn.configWrite(0x14, 4, 0xc000);
    expect(host.ioRead(0xc004, 4)).toBeNull();
    fn.configWrite(0x04, 2, 0x0001 /* I/O space */);
    expect(host.ioRead(0xc004, 4)).toBe(0);
    expect(host.ioWrite(0xc01c, 4, 5)).toBe(true);
  });
});
