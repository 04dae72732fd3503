import { describe, expect, it } from 'vitest';
import type { PciFunction } from '../../../src/hw/pci/pci-function';
import { MsiEndpoint } from '../../../src/hw/pci/msi-endpoint';
import { cf8, ecam, makeHost, plainFunction } from './helpers';

/** xorshift32: a seeded, reproducible stream (no Math.random in tests). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** Per byte: which bits no guest write may change (neither RW nor RW1C). */
function readOnlyMasks(fn: PciFunction): Uint8Array {
  const m = new Uint8Array(0x1000);
  for (let i = 0; i < 0x1000; i++) m[i] = ~(fn.config.writableMask(i, 1) | fn.config.writeOneToClearMask(i, 1)) & 0xff;
  return m;
}

function w1cMasks(fn: PciFunction): Uint8Array {
  const m = new Uint8Array(0x1000);
  for (let i = 0; i < 0x1000; i++) m[i] = fn.config.writeOneToClearMask(i, 1);
  return m;
}

describe('config write fuzz', () => {
  it('10^5 random config writes never throw, never change a read-only bit, never set an RW1C bit', () => {
    const { host } = makeHost();
    const devices: [number, number, number, PciFunction][] = [
      [0, 3, 0, new MsiEndpoint({ msi: { vectors: 32, is64: true, pvm: true }, msix: { tableSize: 70 } })],
      [0, 4, 0, new MsiEndpoint({ msi: { vectors: 4, is64: false, pvm: true }, intxPin: 3 })],
      [0, 5, 0, new MsiEndpoint({ msi: { vectors: 2, is64: true, pvm: false }, intxPin: 0, barSize: 64 })],
      [0, 6, 0, plainFunction({ interruptPin: 4 })],
      [0, 6, 1, plainFunction()],
      [1, 0, 0, new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false }, msix: { tableSize: 1 } })],
    ];
    const [, , , plain] = devices[3]!;
    plain.addBar(0, { kind: 'memory64', size: 1n << 33n, prefetchable: true });
    plain.addBar(4, { kind: 'io', size: 16 });
    for (const [bus, dev, fn, f] of devices) host.add({ bus, dev, fn }, f);
    const ro = devices.map(([, , , f]) => readOnlyMasks(f));
    const w1c = devices.map(([, , , f]) => w1cMasks(f));
    const fixed = devices.map(([, , , f], k) => f.config.snapshot().map((b, i) => b & ro[k]![i]!));

    const next = rng(0xc0ffee);
    const values = [0, 0xffff_ffff, 0x8000_0000, 0x0000_ffff, 0xfee0_0000, 0x5555_5555];
    for (let n = 0; n < 100_000; n++) {
      const k = next(devices.length);
      const [bus, dev, fn, f] = devices[k]!;
      // 7/8 of writes land in the header and capabilities, the rest anywhere in 4 KiB.
      const reg = next(8) === 0 ? next(0x1000) : next(0x100);
      const size = ([1, 2, 4] as const)[next(3)]!;
      const raw = next(4) === 0 ? values[next(values.length)]! : (next(0x10000) << 16) | next(0x10000);
      const value = size === 4 ? raw >>> 0 : raw & ((1 << (8 * size)) - 1);
      const before = f.config.snapshot();
      const via = next(10);
      if (via < 5) {
        host.ecamWrite(ecam(bus, dev, fn, reg), size, value); // may cross a dword: reported, dropped
      } else if (via < 9) {
        host.ioWrite(0xcf8, 4, cf8(bus, dev, fn, reg));
        const port = 0xcfc + (reg & 3);
        if (port + size <= 0xd00) host.ioWrite(port, size, value);
      } else {
        host.ioWrite(0xcf8 + next(4), ([1, 2] as const)[next(2)]!, value & 0xff); // passes through
        host.ioWrite(0xcf8, 4, cf8(bus, dev, fn, reg) & 0x7fff_ffff); // disabled: dropped
        host.ioWrite(0xcfc, 4, value);
      }
      const after = f.config.snapshot();
      for (let i = 0; i < 0x100; i++) {
        if ((after[i]! & ro[k]![i]!) !== fixed[k]![i]) {
          throw new Error(`write #${n} (${size}B 0x${value.toString(16)} at 0x${reg.toString(16)}) changed RO bits of byte 0x${i.toString(16)}`);
        }
        const rose = after[i]! & w1c[k]![i]! & ~before[i]!;
        if (rose !== 0) throw new Error(`write #${n} set RW1C bits 0x${rose.toString(16)} of byte 0x${i.toString(16)}`);
      }
    }
    devices.forEach(([, , , f], k) => {
      const snap = f.config.snapshot();
      expect(snap.every((b, i) => (b & ro[k]![i]!) === fixed[k]![i])).toBe(true);
    });
    // The invariants above would pass vacuously if nothing were writable: check the fuzz did write.
    expect(devices.some(([, , , f]) => f.command !== 0)).toBe(true);
  });
});
