import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ECAM_SIZE, PciHost } from '../../../src/hw/pci/pci-host.js';
import { PciLayoutError, PciUsageError } from '../../../src/hw/pci/errors.js';
import { MsiEndpoint } from '../../../src/hw/pci/msi-endpoint.js';
import { capabilityChain, cf8, cfgRead, cfgWrite, ecam, makeHost, plainFunction } from './helpers.js';

describe('configuration mechanism #1 (CF8/CFC)', () => {
  it('CONFIG_ADDRESS keeps enable, bus, dev, fn, register; 30:24 and 1:0 read 0', () => {
    const { host } = makeHost();
    host.ioWrite(0xcf8, 4, 0xffff_ffff);
    expect(host.ioRead(0xcf8, 4)).toBe(0x80ff_fffc /* 31 enable | 23:16 bus | 15:11 dev | 10:8 fn | 7:2 reg */);
  });

  it('byte and word accesses at 0xCFC+k reach config bytes (reg << 2) + k', () => {
    const { host } = makeHost();
    host.add('00:03.0', plainFunction());
    host.ioWrite(0xcf8, 4, cf8(0, 3, 0, 0x00));
    expect(host.ioRead(0xcfc, 4)).toBe(0x1234_fff0 /* device : vendor */);
    expect(host.ioRead(0xcfe, 2)).toBe(0x1234 /* device ID at byte 2 */);
    expect(host.ioRead(0xcfd, 1)).toBe(0xff /* vendor high byte */);
    expect(host.ioRead(0xcfd, 2)).toBe(0x34ff /* bytes 1..2 */);
  });

  it('writes through 0xCFC+k reach the same bytes', () => {
    const { host } = makeHost();
    const fn = plainFunction();
    host.add('00:03.0', fn);
    cfgWrite(host, 0, 3, 0, 0x3c, 1, 0x0b);
    host.ioWrite(0xcf8, 4, cf8(0, 3, 0, 0x04));
    host.ioWrite(0xcfc, 1, 0x06 /* memory + master */);
    expect(fn.configRead(0x3c, 1)).toBe(0x0b);
    expect(fn.command).toBe(0x0006);
  });

  it('enable = 0 reads all ones of the access width and drops writes', () => {
    const { host } = makeHost();
    const fn = plainFunction();
    host.add('00:00.0', fn);
    host.ioWrite(0xcf8, 4, cf8(0, 0, 0, 0x3c) & 0x7fff_ffff);
    expect([host.ioRead(0xcfc, 1), host.ioRead(0xcfc, 2), host.ioRead(0xcfc, 4)]).toEqual([0xff, 0xffff, 0xffff_ffff]);
    expect(host.ioWrite(0xcfc, 1, 0x0b)).toBe(true);
    expect(fn.configRead(0x3c, 1)).toBe(0);
  });

  it('an absent function reads all ones', () => {
    const { host } = makeHost();
    expect(cfgRead(host, 0, 7, 0, 0, 4)).toBe(0xffff_ffff);
    expect(cfgRead(host, 0, 7, 0, 2, 2)).toBe(0xffff);
  });

  it('8- and 16-bit accesses at 0xCF8–0xCFB pass through unclaimed', () => {
    const { host } = makeHost();
    host.ioWrite(0xcf8, 4, cf8(0, 1, 0, 0));
    expect(host.ioWrite(0xcf9, 1, 0x06 /* would be a PIIX reset */)).toBe(false);
    expect(host.ioWrite(0xcf8, 2, 0)).toBe(false);
    expect(host.ioRead(0xcf8, 1)).toBeNull();
    expect(host.ioRead(0xcfa, 2)).toBeNull();
    expect(host.ioRead(0xcf8, 4)).toBe(cf8(0, 1, 0, 0));
  });

  it('an access straddling 0xCFB/0xCFC is not claimed', () => {
    const { host } = makeHost();
    expect(host.ioRead(0xcfa, 4)).toBeNull();
  });

  it('rejects impossible port accesses', () => {
    const { host } = makeHost();
    expect(() => host.ioRead(0xffff, 2)).toThrow(PciUsageError);
    expect(() => host.ioRead(0xcfc, 3 as 4)).toThrow(PciUsageError);
  });
});

describe('ECAM (PCIe Base §7.2.2)', () => {
  it('covers 256 buses × 32 devices × 8 functions × 4 KiB', () => {
    expect(ECAM_SIZE).toBe(256 * 32 * 8 * 4096);
  });

  it('addresses bus << 20 | dev << 15 | fn << 12 | reg', () => {
    const { host } = makeHost();
    host.add('02:1f.7', plainFunction());
    expect(host.ecamRead(ecam(2, 31, 7, 0), 4)).toBe(0x1234_fff0);
    expect(host.ecamRead(0x02f_f002, 2) /* same function, device ID */).toBe(0x1234);
  });

  it('an absent function reads all ones of the access width', () => {
    const { host } = makeHost();
    expect([host.ecamRead(ecam(0, 1, 0, 0), 1), host.ecamRead(ecam(0, 1, 0, 0), 2), host.ecamRead(ecam(255, 0, 0, 0xffc), 4)]).toEqual([
      0xff, 0xffff, 0xffff_ffff,
    ]);
  });

  it('reaches the extended space (≥ 0x100), which reads 0 on a function without extended capabilities', () => {
    const { host } = makeHost();
    host.add('00:02.0', plainFunction());
    expect(host.ecamRead(ecam(0, 2, 0, 0x100), 4)).toBe(0);
    expect(host.ecamRead(ecam(0, 2, 0, 0xffc), 4)).toBe(0);
  });

  it('a write through ECAM is seen through CF8/CFC', () => {
    const { host } = makeHost();
    host.add('00:02.0', plainFunction());
    host.ecamWrite(ecam(0, 2, 0, 0x3c), 1, 0x0a);
    expect(cfgRead(host, 0, 2, 0, 0x3c, 1)).toBe(0x0a);
  });

  it('an access crossing a dword reads all ones, writes nothing and is reported', () => {
    const { host, events } = makeHost();
    host.add('00:02.0', plainFunction());
    expect(host.ecamRead(ecam(0, 2, 0, 0x3f), 2)).toBe(0xffff);
    host.ecamWrite(ecam(0, 2, 0, 0x3b), 4, 0xffff_ffff);
    expect(host.ecamRead(ecam(0, 2, 0, 0x3c), 1)).toBe(0);
    expect(events.map((e) => e.kind)).toEqual(['config-access-crosses-dword', 'config-access-crosses-dword']);
  });

  it('rejects offsets outside the window', () => {
    const { host } = makeHost();
    expect(() => host.ecamRead(ECAM_SIZE, 1)).toThrow(PciUsageError);
  });

  it('agrees with CF8/CFC byte for byte on the first 256 bytes (property)', () => {
    const { host } = makeHost();
    host.add('00:00.0', plainFunction());
    host.add('00:03.0', new MsiEndpoint({ msi: { vectors: 32, is64: true, pvm: true }, msix: { tableSize: 8 } }));
    host.add('00:03.1', plainFunction({ interruptPin: 2 }));
    host.add('01:00.0', new MsiEndpoint({ msi: { vectors: 4, is64: false, pvm: true } }));
    const addr = fc.record({
      bus: fc.constantFrom(0, 1, 2),
      dev: fc.constantFrom(0, 3, 4),
      fn: fc.constantFrom(0, 1),
      reg: fc.integer({ min: 0, max: 0xff }),
      size: fc.constantFrom(1 as const, 2 as const, 4 as const),
    }).filter((a) => (a.reg & 3) + a.size <= 4);
    fc.assert(
      fc.property(addr, fc.integer({ min: 0, max: 0xffff_ffff }), fc.boolean(), (a, value, viaEcam) => {
        const v = a.size === 4 ? value : value & ((1 << (8 * a.size)) - 1);
        if (viaEcam) host.ecamWrite(ecam(a.bus, a.dev, a.fn, a.reg), a.size, v);
        else cfgWrite(host, a.bus, a.dev, a.fn, a.reg, a.size, v);
        for (let reg = a.reg & 0xfc; reg < (a.reg & 0xfc) + 4; reg++) {
          expect(cfgRead(host, a.bus, a.dev, a.fn, reg, 1)).toBe(host.ecamRead(ecam(a.bus, a.dev, a.fn, reg), 1));
        }
        expect(cfgRead(host, a.bus, a.dev, a.fn, a.reg & 0xfc, 4)).toBe(host.ecamRead(ecam(a.bus, a.dev, a.fn, a.reg & 0xfc), 4));
      }),
      { numRuns: 2000, seed: 0x5eed },
    );
  });
});

describe('function registry', () => {
  it('lists functions in bus/device/function order with lspci-style names', () => {
    const { host } = makeHost();
    const a = plainFunction();
    const b = plainFunction();
    const c = plainFunction();
    host.add('01:00.0', a);
    host.add({ bus: 0, dev: 3, fn: 1 }, b);
    host.add('0000:00:03.0', c);
    expect(host.functions().map((f) => f.bdf)).toEqual(['00:03.0', '00:03.1', '01:00.0']);
    expect(host.get('00:03.1')).toBe(b);
  });

  it('sets header type bit 7 on function 0 once the device has a second function', () => {
    const { host } = makeHost();
    const f0 = plainFunction();
    host.add('00:04.0', f0);
    expect(f0.configRead(0x0e, 1)).toBe(0x00 /* single-function, layout 0 */);
    host.add('00:04.2', plainFunction());
    expect(f0.configRead(0x0e, 1)).toBe(0x80 /* multi-function, layout 0 */);
  });

  it('rejects duplicate, malformed and out-of-range BDFs', () => {
    const { host } = makeHost();
    host.add('00:01.0', plainFunction());
    expect(() => host.add('00:01.0', plainFunction())).toThrow(PciLayoutError);
    expect(() => host.add('00:20.0', plainFunction() /* device 0x20 > 0x1f */)).toThrow(PciUsageError);
    expect(() => host.add('0:1.0', plainFunction())).toThrow(PciUsageError);
    expect(() => host.add({ bus: 0, dev: 1, fn: 8 }, plainFunction())).toThrow(PciUsageError);
  });

  it('one function object cannot sit at two addresses', () => {
    const { host } = makeHost();
    const f = plainFunction();
    host.add('00:01.0', f);
    expect(() => host.add('00:02.0', f)).toThrow(PciLayoutError);
  });

  it('a host without an upstream sink reports dropped messages', () => {
    const events: unknown[] = [];
    const host = new PciHost({ onEvent: (e) => events.push(e) });
    const ep = new MsiEndpoint({ intxPin: 1 });
    host.add('00:05.0', ep);
    ep.ring(0);
    expect(events).toEqual([{ kind: 'intx-dropped', bdf: '00:05.0', reason: 'no-upstream', pin: 1, level: true }]);
  });

  it('capability chains start at 0x34 and end with next = 0', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 8, is64: true, pvm: false }, msix: { tableSize: 4 } });
    expect(ep.configRead(0x06, 2) & 0x10).toBe(0x10 /* status.4 capabilities list */);
    expect(capabilityChain(ep)).toEqual([
      [0x40, 0x05 /* MSI, 64-bit no PVM: 0x0E bytes */],
      [0x50, 0x11 /* MSI-X at the next dword boundary */],
    ]);
  });
});
