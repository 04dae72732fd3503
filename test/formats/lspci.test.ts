// lspci -vv against pciutils 3.9's real output (test/data/real/*/lspci-vv.txt): functions built
// to match the real devices' configuration space must print the real lines.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { formatLspciFunction } from '../../src/formats/lspci.js';
import { showLspci } from '../../src/formats/show.js';
import type { Machine as Board } from '../../src/machine/machine.js';
import { MsiCapability } from '../../src/hw/pci/msi-capability.js';
import { MsixCapability } from '../../src/hw/pci/msix-capability.js';
import { PciFunction } from '../../src/hw/pci/pci-function.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { lspciBlock, sample } from './real-samples.js';

const plain = sample('qemu-7.2-linux-6.1-q35-4cpu', 'lspci-vv.txt');
const remapped = sample('qemu-7.2-linux-6.1-q35-4cpu-ir', 'lspci-vv.txt');

/** QEMU's edu device (hw/misc/edu.c): 1234:11e8 rev 10, class 00ff00, 1 MiB BAR0, one 64-bit MSI. */
function edu(): PciFunction {
  const fn = new PciFunction({ vendorId: 0x1234, deviceId: 0x11e8, classCode: 0x00ff00, revision: 0x10, interruptPin: 1 });
  fn.addBar(0, { kind: 'memory32', size: 1 << 20 });
  fn.addCapability(new MsiCapability({ vectors: 1, is64: true, pvm: false }));
  // As SeaBIOS and Linux left it: BAR0 at fea00000, I/O and memory decode on, Interrupt Line 11.
  fn.configWrite(0x10, 4, 0xfea0_0000);
  fn.configWrite(0x04, 2, 0x0003);
  fn.configWrite(0x3c, 1, 11);
  return fn;
}

describe('lspci -vv: the layout of show_verbose(), show_bases() and cap_msi()/cap_msix()', () => {
  it("prints QEMU's edu device as pciutils 3.9 did, but for what irqslice's model does not carry", () => {
    const real = lspciBlock(plain, '00:03.0');
    const ours = formatLspciFunction({ bdf: '00:03.0', fn: edu() });
    // Two known differences: the real device has a subsystem ID (1af4:1100, "Red Hat, Inc. Device
    // 1100" from pci.ids; the model has none) and SERR# enable set (the model's command register does
    // not implement bit 8). Every other byte is the same.
    const expected = real.replace(/\tSubsystem: .*\n/, '').replace('SERR+', 'SERR-');
    expect(ours).toBe(expected);
  });

  it('prints an enabled 64-bit MSI capability (Count=enabled/capable) with Address and Data as for the xHCI', () => {
    const real = lspciBlock(plain, '00:02.0').split('\n');
    const fn = new PciFunction({ vendorId: 0x1033, deviceId: 0x0194, classCode: 0x0c0330, revision: 3, interruptPin: 1 });
    const msi = new MsiCapability({ vectors: 16, is64: true, pvm: false });
    const at = fn.addCapability(msi);
    // What Linux 6.1 programmed (flat logical destination 1 << 2, vector 0x22, one message): MME 0, enable.
    fn.configWrite(at + 4, 4, 0xfee0_4004);
    fn.configWrite(at + 8, 4, 0);
    fn.configWrite(at + 0x0c, 2, 0x0022);
    fn.configWrite(at + 2, 2, fn.configRead(at + 2, 2) | 1);
    const ours = formatLspciFunction({ bdf: '00:02.0', fn, irq: 24, driver: 'xhci_hcd' }).split('\n');
    const capLine = (lines: string[]) => lines.find((l) => l.includes('MSI: '))!.replace(/\[[0-9a-f]{2}\]/, '[..]');
    expect(capLine(ours)).toBe(capLine(real)); // '\tCapabilities: [..] MSI: Enable+ Count=1/16 Maskable- 64bit+'
    const next = (lines: string[]) => lines[lines.findIndex((l) => l.includes('MSI: ')) + 1];
    expect(next(ours)).toBe(next(real)); // '\t\tAddress: 00000000fee04004  Data: 0022'
    for (const l of ['\tInterrupt: pin A routed to IRQ 24', '\tKernel driver in use: xhci_hcd', '\tHeader']) {
      expect(ours.includes(l)).toBe(real.includes(l));
    }
  });

  it('prints the remappable-format address as the IR machine showed it (bit 4 set)', () => {
    const real = lspciBlock(remapped, '00:02.0').split('\n');
    const fn = new PciFunction({ vendorId: 0x1033, deviceId: 0x0194, classCode: 0x0c0330, revision: 3, interruptPin: 1 });
    const at = fn.addCapability(new MsiCapability({ vectors: 16, is64: true, pvm: false }));
    fn.configWrite(at + 4, 4, 0xfee0_0218);
    fn.configWrite(at + 0x0c, 2, 0);
    fn.configWrite(at + 2, 2, fn.configRead(at + 2, 2) | 1);
    const ours = formatLspciFunction({ bdf: '00:02.0', fn }).split('\n');
    const addr = (lines: string[]) => lines.find((l) => l.startsWith('\t\tAddress: '));
    expect(addr(ours)).toBe(addr(real)); // '\t\tAddress: 00000000fee00218  Data: 0000'
  });

  it('prints the IOMMU group after the Interrupt line, as the remapping machine showed edu', () => {
    const real = lspciBlock(remapped, '00:03.0');
    const ours = formatLspciFunction({ bdf: '00:03.0', fn: edu(), iommuGroup: 3 });
    expect(ours).toBe(real.replace(/\tSubsystem: .*\n/, '').replace('SERR+', 'SERR-'));
  });

  it('prints an MSI-X capability with its vector table and PBA as for virtio-rng', () => {
    const real = lspciBlock(plain, '00:04.0').split('\n');
    const fn = new PciFunction({ vendorId: 0x1af4, deviceId: 0x1005, classCode: 0x00ff00, interruptPin: 1 });
    fn.addBar(1, { kind: 'memory32', size: 0x1000 });
    const at = fn.addCapability(new MsixCapability({ tableSize: 2, tableBar: 1, tableOffset: 0, pbaBar: 1, pbaOffset: 0x800 }));
    fn.configWrite(at + 2, 2, 0x8000 | fn.configRead(at + 2, 2)); // MSI-X enable, function not masked
    const ours = formatLspciFunction({ bdf: '00:04.0', fn }).split('\n');
    const block = (lines: string[]) => {
      const i = lines.findIndex((l) => l.includes('MSI-X: '));
      return [lines[i]!.replace(/\[[0-9a-f]{2}\]/, '[..]'), lines[i + 1], lines[i + 2]];
    };
    expect(block(ours)).toEqual(block(real)); // MSI-X: Enable+ Count=2 Masked- / Vector table: BAR=1 offset=00000000 / PBA: BAR=1 offset=00000800
  });

  it('prints 64-bit, prefetchable and I/O BARs as the virtio-rng and xHCI Region lines', () => {
    const fn = new PciFunction({ vendorId: 0x1af4, deviceId: 0x1005, classCode: 0x00ff00, interruptPin: 1 });
    fn.addBar(0, { kind: 'io', size: 32 });
    fn.addBar(1, { kind: 'memory32', size: 0x1000 });
    fn.addBar(4, { kind: 'memory64', size: 0x4000, prefetchable: true });
    fn.configWrite(0x10, 4, 0xc040);
    fn.configWrite(0x14, 4, 0xfeb1_5000);
    fn.configWrite(0x20, 4, 0xfe00_0000);
    fn.configWrite(0x24, 4, 0);
    fn.configWrite(0x04, 2, 0x0007);
    const regions = (t: string) => t.split('\n').filter((l) => l.startsWith('\tRegion'));
    expect(regions(formatLspciFunction({ bdf: '00:04.0', fn }))).toEqual(regions(lspciBlock(plain, '00:04.0')));
    const xhci = new PciFunction({ vendorId: 0x1033, deviceId: 0x0194, classCode: 0x0c0330, interruptPin: 1 });
    xhci.addBar(0, { kind: 'memory64', size: 0x4000 });
    xhci.configWrite(0x10, 4, 0xfeb1_0000);
    xhci.configWrite(0x04, 2, 0x0006);
    expect(regions(formatLspciFunction({ bdf: '00:02.0', fn: xhci }))).toEqual(regions(lspciBlock(plain, '00:02.0')));
    // Memory decoding off: lspci appends [disabled].
    xhci.configWrite(0x04, 2, 0x0004);
    expect(regions(formatLspciFunction({ bdf: '00:02.0', fn: xhci }))).toEqual(['\tRegion 0: Memory at feb10000 (64-bit, non-prefetchable) [disabled] [size=16K]']);
  });

  it('prints a 32-bit maskable MSI (no upper address dword, Masking/Pending) as for the ioh3420 root port', () => {
    const real = lspciBlock(sample('qemu-7.2-linux-6.1-q35-4cpu-rootport', 'lspci-vv.txt'), '00:02.0').split('\n');
    const fn = new PciFunction({ vendorId: 0x8086, deviceId: 0x3420, classCode: 0x060400, interruptPin: 1 });
    const at = fn.addCapability(new MsiCapability({ vectors: 2, is64: false, pvm: true }));
    // Linux 6.1: one message (MME 0) at 0xfee04004 / 0x0021, message 1 masked.
    fn.configWrite(at + 4, 4, 0xfee0_4004);
    fn.configWrite(at + 8, 2, 0x0021);
    fn.configWrite(at + 0x0c, 4, 0x2);
    fn.configWrite(at + 2, 2, fn.configRead(at + 2, 2) | 1);
    const ours = formatLspciFunction({ bdf: '00:02.0', fn }).split('\n');
    const msi = (lines: string[]) => {
      const i = lines.findIndex((l) => l.includes(' MSI: '));
      return [lines[i]!.replace(/\[[0-9a-f]{2}\]/, '[..]'), lines[i + 1], lines[i + 2]];
    };
    expect(msi(ours)).toEqual(msi(real)); // MSI: Enable+ Count=1/2 Maskable+ 64bit- / Address: fee04004  Data: 0021 / Masking: 00000002  Pending: 00000000
  });

  it('prints a maskable MSI capability with the Masking/Pending line of cap_msi()', () => {
    const fn = new PciFunction({ vendorId: 0xfff0, deviceId: 1, classCode: 0xff0000, interruptPin: 1 });
    const at = fn.addCapability(new MsiCapability({ vectors: 32, is64: true, pvm: true }));
    fn.configWrite(at + 0x10, 4, 0xffff_fffe);
    fn.configWrite(at + 2, 2, fn.configRead(at + 2, 2) | (5 << 4) | 1);
    const lines = formatLspciFunction({ bdf: '00:03.0', fn }).split('\n');
    expect(lines).toContain('\tCapabilities: [40] MSI: Enable+ Count=32/32 Maskable+ 64bit+');
    expect(lines).toContain('\t\tMasking: fffffffe  Pending: 00000000');
    // ls-caps.c's format for the line: two tab indents, `Masking: %08x  Pending: %08x`.
    expect(lines.find((l) => l.includes('Masking'))).toMatch(/^\t\tMasking: [0-9a-f]{8} {2}Pending: [0-9a-f]{8}$/);
  });

  it('a run of the comparable scenario: every block has the real line kinds in the real order', async () => {
    const sc = JSON.parse(readFileSync(new URL('../../examples/scenarios/linux-6.1-qemu.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    let board: Board | undefined;
    const r = await runScenario(JSON.stringify({ ...sc, engine: 'js' }), { onMachine: (m) => (board = m) });
    const text = showLspci(board!, r);
    // show_verbose()'s order of line kinds; a capability's own lines (two tabs) belong to it.
    const ORDER = ['header', 'Subsystem', 'Control', 'Status', 'Latency', 'Interrupt', 'IOMMU group', 'Region', 'Expansion ROM', 'Capabilities', 'Kernel driver in use'];
    const kinds = (block: string) =>
      block.split('\n').filter((l) => l && !l.startsWith('\t\t')).map((l) => (l.startsWith('\t') ? ORDER.find((k) => l.startsWith(`\t${k}`)) ?? l : 'header'));
    const inOrder = (ks: string[]) => ks.every((k, i) => ORDER.includes(k) && (i === 0 || ORDER.indexOf(ks[i - 1]!) <= ORDER.indexOf(k)));
    const realBlocks = plain.split('\n\n').filter(Boolean);
    expect(realBlocks.length).toBe(8);
    for (const b of realBlocks) expect(inOrder(kinds(b))).toBe(true); // the order holds for pciutils' own output
    const blocks = text.split('\n\n').filter(Boolean);
    expect(blocks.length).toBe(6);
    for (const b of blocks) expect(kinds(b)).toSatisfy(inOrder);
    // Capability lines: the real `MSI:`/`MSI-X:` first lines and their sub-lines, nothing else.
    const capLines = (t: string) => t.split('\n').filter((l) => /^\t(Capabilities: \[[0-9a-f]{2}\] MSI|\t(Address|Masking|Vector table|PBA):)/.test(l));
    const shapes = [
      /^\tCapabilities: \[[0-9a-f]{2}\] MSI: Enable[+-] Count=\d+\/\d+ Maskable[+-] 64bit[+-]$/,
      /^\tCapabilities: \[[0-9a-f]{2}\] MSI-X: Enable[+-] Count=\d+ Masked[+-]$/,
      /^\t\tAddress: [0-9a-f]{8}([0-9a-f]{8})?  Data: [0-9a-f]{4}$/,
      /^\t\tMasking: [0-9a-f]{8}  Pending: [0-9a-f]{8}$/,
      /^\t\tVector table: BAR=\d offset=[0-9a-f]{8}$/,
      /^\t\tPBA: BAR=\d offset=[0-9a-f]{8}$/,
    ];
    const fits = (l: string) => shapes.some((re) => re.test(l));
    expect(capLines(plain).every(fits)).toBe(true);
    expect(capLines(text).length).toBeGreaterThan(6);
    expect(capLines(text).every(fits)).toBe(true);
    expect(text).toContain('00:03.0 Unassigned class [ff00]: Device fff0:0001 (rev 01)\n');
    expect(text).toMatch(/\tCapabilities: \[40\] MSI: Enable\+ Count=1\/16 Maskable- 64bit\+\n\t\tAddress: 00000000fee[0-9a-f]{5}  Data: 00[0-9a-f]{2}\n/);
  });
});
