// Emulated PCI functions as pciutils' `lspci -vv` prints them (lspci.c show_verbose/show_bases,
// ls-caps.c cap_msi/cap_msix; real output of pciutils 3.9 in test/data/real/*/lspci-vv.txt), read
// from the functions' configuration space the way lspci reads it.
//
// irqslice carries no pci.ids: a vendor and device print as lspci prints IDs it has no name for
// (`Device fff0:0001`); base classes and the common subclasses carry pci.ids' names. Where lspci
// asks the kernel (sysfs) rather than the device, the caller supplies what the guest kernel knows:
// the IRQ number (`Interrupt: pin A routed to IRQ n`) and the bound driver.

import type { PciFunction } from '../hw/pci/pci-function.js';

export interface LspciEntry {
  /** Bus/device/function as irqslice names it ("00:03.0"). */
  bdf: string;
  fn: PciFunction;
  /**
   * Linux's dev->irq: the first MSI irq while MSI is enabled, otherwise the INTx GSI (the Interrupt
   * Line register). Absent: the Interrupt Line register is read.
   */
  irq?: number | null;
  /** `Kernel driver in use:`; absent when no driver is bound. */
  driver?: string | null;
  /** `IOMMU group:` (sysfs iommu_group), printed when the kernel has put the function in one. */
  iommuGroup?: number | null;
}

/** Base class names of pci.ids (`C xx` lines). */
const BASE_CLASSES: Readonly<Record<number, string>> = {
  0x00: 'Unclassified device', 0x01: 'Mass storage controller', 0x02: 'Network controller', 0x03: 'Display controller',
  0x04: 'Multimedia controller', 0x05: 'Memory controller', 0x06: 'Bridge', 0x07: 'Communication controller',
  0x08: 'Generic system peripheral', 0x09: 'Input device controller', 0x0a: 'Docking station', 0x0b: 'Processor',
  0x0c: 'Serial bus controller', 0x0d: 'Wireless controller', 0x0e: 'Intelligent controller',
  0x0f: 'Satellite communications controller', 0x10: 'Encryption controller', 0x11: 'Signal processing controller',
  0x12: 'Processing accelerators', 0x13: 'Non-Essential Instrumentation', 0x40: 'Coprocessor', 0xff: 'Unassigned class',
};
/** Subclass names of pci.ids for the classes QEMU machines and irqslice scenarios use. */
const SUBCLASSES: Readonly<Record<number, string>> = {
  0x0000: 'Non-VGA unclassified device', 0x0100: 'SCSI storage controller', 0x0101: 'IDE interface',
  0x0106: 'SATA controller', 0x0108: 'Non-Volatile memory controller', 0x0200: 'Ethernet controller',
  0x0300: 'VGA compatible controller', 0x0600: 'Host bridge', 0x0601: 'ISA bridge', 0x0604: 'PCI bridge',
  0x0c03: 'USB controller', 0x0c05: 'SMBus',
};

/** lspci's class lookup: the subclass name, else `<base class> [cccc]`, else `Class cccc`. */
function className(cls: number): string {
  const hex = cls.toString(16).padStart(4, '0');
  return SUBCLASSES[cls] ?? (BASE_CLASSES[cls >>> 8] !== undefined ? `${BASE_CLASSES[cls >>> 8]} [${hex}]` : `Class ${hex}`);
}

const hex = (n: number | bigint, w: number) => n.toString(16).padStart(w, '0');
const flag = (v: number, bit: number) => ((v & bit) !== 0 ? '+' : '-');

/** show_size(): bytes as lspci abbreviates them. */
function size(x: bigint): string {
  if (x === 0n) return '';
  if (x < 1024n) return ` [size=${x}]`;
  if (x < 1048576n) return ` [size=${x / 1024n}K]`;
  if (x < 0x8000_0000n) return ` [size=${x / 1048576n}M]`;
  return ` [size=${hex(x, 8)}]`;
}

function parseBdf(bdf: string): { bus: number; dev: number; fn: number } {
  const m = /^(?:[0-9a-fA-F]{4}:)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(bdf);
  if (!m) throw new TypeError(`not a PCI address: ${JSON.stringify(bdf)}`);
  return { bus: parseInt(m[1]!, 16), dev: parseInt(m[2]!, 16), fn: Number(m[3]) };
}

function regions(fn: PciFunction, cmd: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) {
    const lower = fn.configRead(0x10 + 4 * i, 4) >>> 0;
    const len = fn.bar(i)?.size ?? 0n;
    if (lower === 0 && len === 0n) continue;
    if (lower & 1) {
      const a = (lower & 0xffff_fffc) >>> 0;
      const at = a || cmd & 1 ? hex(a, 4) : '<unassigned>';
      lines.push(`\tRegion ${i}: I/O ports at ${at}${cmd & 1 ? '' : ' [disabled]'}${size(len)}`);
      continue;
    }
    const type = (lower >>> 1) & 3;
    let address = BigInt((lower & 0xffff_fff0) >>> 0);
    const index = i;
    // A 64-bit BAR takes the next slot for its upper half; in the last slot it has none.
    const invalid = type === 2 && i === 5;
    if (type === 2 && i < 5) address |= BigInt(fn.configRead(0x10 + 4 * ++i, 4) >>> 0) << 32n;
    const width = type === 0 ? '32-bit' : type === 2 ? '64-bit' : type === 1 ? 'low-1M' : 'type 3';
    const at = invalid ? '<invalid-64bit-slot>' : address ? hex(address, 8) : '<unassigned>';
    lines.push(`\tRegion ${index}: Memory at ${at} (${width}, ${lower & 8 ? '' : 'non-'}prefetchable)${cmd & 2 ? '' : ' [disabled]'}${size(len)}`);
  }
  return lines;
}

function msiLines(fn: PciFunction, where: number, ctrl: number): string[] {
  const is64 = (ctrl & 0x80) !== 0;
  const lines = [
    `MSI: Enable${flag(ctrl, 1)} Count=${1 << ((ctrl >>> 4) & 7)}/${1 << ((ctrl >>> 1) & 7)} Maskable${flag(ctrl, 0x100)} 64bit${flag(ctrl, 0x80)}`,
  ];
  const lo = fn.configRead(where + 4, 4) >>> 0;
  const hi = is64 ? hex(fn.configRead(where + 8, 4) >>> 0, 8) : '';
  const data = fn.configRead(where + (is64 ? 0x0c : 0x08), 2);
  lines.push(`\t\tAddress: ${hi}${hex(lo, 8)}  Data: ${hex(data, 4)}`);
  if (ctrl & 0x100) {
    const m = where + (is64 ? 0x10 : 0x0c);
    lines.push(`\t\tMasking: ${hex(fn.configRead(m, 4) >>> 0, 8)}  Pending: ${hex(fn.configRead(m + 4, 4) >>> 0, 8)}`);
  }
  return lines;
}

function msixLines(fn: PciFunction, where: number, ctrl: number): string[] {
  const table = fn.configRead(where + 4, 4) >>> 0;
  const pba = fn.configRead(where + 8, 4) >>> 0;
  return [
    `MSI-X: Enable${flag(ctrl, 0x8000)} Count=${(ctrl & 0x7ff) + 1} Masked${flag(ctrl, 0x4000)}`,
    `\t\tVector table: BAR=${table & 7} offset=${hex((table & ~7) >>> 0, 8)}`,
    `\t\tPBA: BAR=${pba & 7} offset=${hex((pba & ~7) >>> 0, 8)}`,
  ];
}

function capabilities(fn: PciFunction): string[] {
  const lines: string[] = [];
  const seen = new Set<number>();
  for (let where = fn.configRead(0x34, 1) & ~3; where; ) {
    if (seen.has(where)) {
      lines.push(`\tCapabilities: [${hex(where, 2)}] <chain looped>`);
      break;
    }
    seen.add(where);
    const id = fn.configRead(where, 1);
    const next = fn.configRead(where + 1, 1) & ~3;
    const cap = fn.configRead(where + 2, 2);
    const body = id === 0x05 ? msiLines(fn, where, cap) : id === 0x11 ? msixLines(fn, where, cap) : [`#${hex(id, 2)} [${hex(cap, 4)}]`];
    lines.push(`\tCapabilities: [${hex(where, 2)}] ${body[0]}`, ...body.slice(1));
    where = next;
  }
  return lines;
}

/** One function as `lspci -vv` prints it, ending with lspci's blank line. */
export function formatLspciFunction(e: LspciEntry): string {
  const { fn } = e;
  const { bus, dev, fn: func } = parseBdf(e.bdf);
  const cls = fn.configRead(0x0a, 2);
  const rev = fn.configRead(0x08, 1);
  const progIf = fn.configRead(0x09, 1);
  const vendor = fn.configRead(0x00, 2);
  const device = fn.configRead(0x02, 2);
  const lines = [
    `${hex(bus, 2)}:${hex(dev, 2)}.${func} ${className(cls)}: Device ${hex(vendor, 4)}:${hex(device, 4)}` +
      `${rev ? ` (rev ${hex(rev, 2)})` : ''}${progIf ? ` (prog-if ${hex(progIf, 2)})` : ''}`,
  ];
  const headerType = fn.configRead(0x0e, 1) & 0x7f;
  if (headerType === 0) {
    const sv = fn.configRead(0x2c, 2);
    if (sv && sv !== 0xffff) lines.push(`\tSubsystem: Device ${hex(sv, 4)}:${hex(fn.configRead(0x2e, 2), 4)}`);
  }
  const cmd = fn.configRead(0x04, 2);
  const st = fn.configRead(0x06, 2);
  const devsel = ['fast', 'medium', 'slow', '??'][(st >>> 9) & 3]!;
  lines.push(
    `\tControl: I/O${flag(cmd, 1)} Mem${flag(cmd, 2)} BusMaster${flag(cmd, 4)} SpecCycle${flag(cmd, 8)} MemWINV${flag(cmd, 0x10)} ` +
      `VGASnoop${flag(cmd, 0x20)} ParErr${flag(cmd, 0x40)} Stepping${flag(cmd, 0x80)} SERR${flag(cmd, 0x100)} FastB2B${flag(cmd, 0x200)} DisINTx${flag(cmd, 0x400)}`,
    `\tStatus: Cap${flag(st, 0x10)} 66MHz${flag(st, 0x20)} UDF${flag(st, 0x40)} FastB2B${flag(st, 0x80)} ParErr${flag(st, 0x100)} DEVSEL=${devsel} ` +
      `>TAbort${flag(st, 0x800)} <TAbort${flag(st, 0x1000)} <MAbort${flag(st, 0x2000)} >SERR${flag(st, 0x4000)} <PERR${flag(st, 0x8000)} INTx${flag(st, 0x08)}`,
  );
  if (cmd & 4) {
    const minGnt = headerType === 0 ? fn.configRead(0x3e, 1) : 0;
    const maxLat = headerType === 0 ? fn.configRead(0x3f, 1) : 0;
    const cacheLine = fn.configRead(0x0c, 1);
    const timing = minGnt || maxLat ? ` (${[minGnt ? `${minGnt * 250}ns min` : '', maxLat ? `${maxLat * 250}ns max` : ''].filter(Boolean).join(', ')})` : '';
    lines.push(`\tLatency: ${fn.configRead(0x0d, 1)}${timing}${cacheLine ? `, Cache Line Size: ${cacheLine * 4} bytes` : ''}`);
  }
  const pin = fn.configRead(0x3d, 1);
  const irq = e.irq ?? fn.configRead(0x3c, 1);
  if (pin || irq) lines.push(`\tInterrupt: pin ${pin ? String.fromCharCode(0x40 + pin) : '?'} routed to IRQ ${irq}`);
  if (e.iommuGroup != null) lines.push(`\tIOMMU group: ${e.iommuGroup}`);
  if (headerType === 0) lines.push(...regions(fn, cmd));
  if (st & 0x10) lines.push(...capabilities(fn));
  if (e.driver) lines.push(`\tKernel driver in use: ${e.driver}`);
  return lines.join('\n') + '\n\n';
}

/** Every function, in bus/device/function order as lspci sorts them. */
export function formatLspci(entries: readonly LspciEntry[]): string {
  const key = (e: LspciEntry) => {
    const b = parseBdf(e.bdf);
    return (b.bus << 8) | (b.dev << 3) | b.fn;
  };
  return [...entries].sort((a, b) => key(a) - key(b)).map(formatLspciFunction).join('');
}
