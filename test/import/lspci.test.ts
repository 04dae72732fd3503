// The lspci -vv reader against real output from three machines (test/data/README.md gives the
// sources): tab-indented (AMD, no remapping), mail-wrapped with VT-d remapping, and
// domain-prefixed BDFs with nine-space indentation. Expected values are read off the samples and
// decoded by the VT-d and SDM address formats, field by field.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LspciError } from '../../src/import/errors.js';
import { isRemappedAddress, parseLspci } from '../../src/import/lspci.js';

const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../data/lspci');
const sample = (f: string) => readFileSync(path.join(dir, f), 'utf8');

function fails(text: string): LspciError {
  try {
    parseLspci(text);
  } catch (e) {
    if (e instanceof LspciError) return e;
    throw e;
  }
  throw new Error('parsed without an error');
}

describe('Acer Aspire 5560 (AMD Hudson, no remapping, tab-indented lspci -vvv)', () => {
  const fns = parseLspci(sample('acer-aspire-5560-amd-hudson.txt'));
  it('finds the three functions and their MSI lines', () => {
    expect(fns.map((f) => [f.bdf, f.msi?.count ?? null, f.msi?.max ?? null])).toEqual([['00:01.0', 1, 1], ['00:11.0', 1, 16], ['00:12.0', null, null]]);
  });
  it('AHCI 00:11.0: Count=1/16, 64-bit, address 0xfee0100c (dest 0x01, RH=1, DM=logical, bit 4 = 0: compatibility format), data 0x41a1', () => {
    const msi = fns[1]!.msi!;
    expect(msi).toMatchObject({ offset: 0x50, enabled: true, count: 1, max: 16, maskable: false, is64: true, address: 0xfee0100c, addressHi: 0, data: 0x41a1 });
    expect(isRemappedAddress(msi.address, msi.addressHi)).toBe(false);
  });
});

describe('Dell XPS 13 9360 (Kaby Lake, VT-d remapping; copied from a mail, so long lines are wrapped)', () => {
  const fns = parseLspci(sample('dell-xps13-9360-vtd.txt'));
  it('wrapped continuation lines are not functions', () => {
    expect(fns.map((f) => f.bdf)).toEqual(['00:02.0', '00:04.0', '00:14.0', '00:16.0']);
  });
  it('xHCI 00:14.0 has all 8 of 8 messages in remappable format: 0xfee00418 has bit 4 (Interrupt Format) set, data 0 (subhandle)', () => {
    const msi = fns[2]!.msi!;
    expect(msi).toMatchObject({ enabled: true, count: 8, max: 8, address: 0xfee00418, data: 0 });
    expect(isRemappedAddress(msi.address, msi.addressHi)).toBe(true);
  });
  it('a 32-bit capability prints an 8-digit address (00:02.0 fee00018, remapped); a disabled one prints zeros', () => {
    expect(fns[0]!.msi).toMatchObject({ offset: 0xac, is64: false, address: 0xfee00018, addressHi: 0 });
    expect(isRemappedAddress(0xfee00018)).toBe(true);
    expect(fns[1]!.msi).toMatchObject({ enabled: false, count: 1, max: 1, address: 0 });
    expect(isRemappedAddress(0)).toBe(false);
  });
});

describe('Acer Predator (Raptor Lake; lspci -vv with domain-prefixed BDFs)', () => {
  const fns = parseLspci(sample('acer-predator-raptor-lake-domain-bdf.txt'));
  it('keeps the domain in the BDF and reads MSI-X lines', () => {
    expect(fns.map((f) => f.bdf)).toEqual(['0000:00:14.0', '0000:00:14.3', '0000:00:16.0']);
    expect(fns[1]!.msix).toMatchObject({ offset: 0x80, enabled: true, count: 16, masked: false });
    expect(fns[1]!.msi).toMatchObject({ enabled: false, address: 0, addressHi: 0 });
  });
  it('mei 00:16.0 at 0xfee00838: bit 4 set, remapped', () => {
    expect(isRemappedAddress(fns[2]!.msi!.address)).toBe(true);
  });
});

describe('lspci -vv lines that break the format name their line', () => {
  const head = '00:03.0 USB controller: Red Hat, Inc. QEMU XHCI Host Controller (rev 01)\n';
  it.each([
    ['a count that is not a power of two', `${head}\tCapabilities: [90] MSI: Enable+ Count=3/16 Maskable- 64bit+\n`, 2, /not 1, 2, 4, 8, 16 or 32/],
    ['a garbled MSI line', `${head}\tCapabilities: [90] MSI: Enable+ Count=1 of 16\n`, 2, /malformed MSI capability line/],
    ['a 64-bit address under 64bit-', `${head}\tCapabilities: [90] MSI: Enable+ Count=1/16 Maskable- 64bit-\n\t\tAddress: 00000000fee08004  Data: 0022\n`, 3, /64-bit address under an MSI capability that says 64bit-/],
    ['a garbled Address line', `${head}\tCapabilities: [90] MSI: Enable+ Count=1/16 Maskable- 64bit+\n\t\tAddress: fee08004zz  Data: 0022\n`, 3, /malformed MSI Address\/Data line/],
    ['MSI before any function', '\tCapabilities: [90] MSI: Enable+ Count=1/16 Maskable- 64bit+\n', 1, /before any function header/],
    ['not lspci at all', 'hello\nworld\n', 3, /no function header/],
    ['lspci run without root', `${head}\tCapabilities: <access denied>\n`, 1, /run lspci -vv as root/],
  ])('%s', (_what, text, line, re) => {
    const e = fails(text);
    expect(e.line).toBe(line);
    expect(e.reason).toMatch(re);
  });
});

describe('Debian 6.1 under QEMU 7.2 (test/data/real, captured by the formats work): without and with remapping', () => {
  const real = path.resolve(dir, '../real');
  const read = (run: string, f: string) => parseLspci(readFileSync(path.join(real, run, f), 'utf8'));
  const plain = read('qemu-7.2-linux-6.1-q35-4cpu', 'lspci-vv.txt');
  const ir = read('qemu-7.2-linux-6.1-q35-4cpu-ir', 'lspci-vv.txt');
  it('the xHCI advertises 16 messages and got 1: 0xfee04004 (dest 0x04, DM=1 flat logical: CPU 2) data 0x22 without remapping', () => {
    const x = plain.find((f) => f.bdf === '00:02.0')!.msi!;
    expect(x).toMatchObject({ offset: 0x70, enabled: true, count: 1, max: 16, is64: true, address: 0xfee04004, addressHi: 0, data: 0x22 });
    expect(isRemappedAddress(x.address, x.addressHi)).toBe(false);
  });
  it('with intel-iommu,intremap=on the same function programs 0xfee00218: bit 4 set, remapped; AHCI too', () => {
    expect(isRemappedAddress(ir.find((f) => f.bdf === '00:02.0')!.msi!.address)).toBe(true);
    expect(isRemappedAddress(ir.find((f) => f.bdf === '00:1f.2')!.msi!.address)).toBe(true);
    expect(isRemappedAddress(plain.find((f) => f.bdf === '00:1f.2')!.msi!.address)).toBe(false);
  });
  it('virtio-rng has MSI-X Count=2; the edu device with no driver shows MSI Enable- Count=1/1', () => {
    expect(plain.find((f) => f.bdf === '00:04.0')!.msix).toMatchObject({ enabled: true, count: 2, masked: false });
    expect(plain.find((f) => f.bdf === '00:03.0')!.msi).toMatchObject({ enabled: false, count: 1, max: 1 });
  });
  it('lspci -vvnn (numeric IDs in the headers) gives the same functions and capabilities', () => {
    const strip = (fs: ReturnType<typeof parseLspci>) => fs.map((f) => ({ bdf: f.bdf, msi: f.msi && { ...f.msi, line: 0 }, msix: f.msix && { ...f.msix, line: 0 } }));
    expect(strip(read('qemu-7.2-linux-6.1-q35-4cpu', 'lspci-vvnn.txt'))).toEqual(strip(plain));
    expect(plain).toHaveLength(8);
  });
});

describe('a PLX PEX 8619 switch port (Ben Greear\'s 12-radio system): per-vector masking lines', () => {
  const fns = parseLspci(sample('candela-plx-switch-maskable.txt'));
  it('Count=1/4 Maskable+: Masking 00000001 (message 0 masked when lspci ran) and Pending 0; remapped (0xfee00418)', () => {
    expect(fns[0]!.msi).toMatchObject({ offset: 0x48, count: 1, max: 4, maskable: true, masking: 1, pending: 0, address: 0xfee00418 });
    expect(isRemappedAddress(fns[0]!.msi!.address)).toBe(true);
  });
  it('the excerpt stops after the MSI lines of 04:00.0 (test/data/README.md): a function cut short still reads', () => {
    expect(fns.map((f) => f.bdf)).toEqual(['03:0d.0', '04:00.0']);
    expect(fns[1]!.msi).toMatchObject({ enabled: false, address: 0 });
  });
});
