// Guest PCI enumeration (PCI Local Bus 3.0 §6.1–6.7, PCIe ECAM): config access through the MCFG's
// ECAM window or CF8/CFC, capability walk, BAR sizing and assignment, memory + bus master enable.

import type { CpuContext } from '../src/machine/guest-interface.js';

export const PCI_CAP_MSI = 0x05;
export const PCI_CAP_MSIX = 0x11;
const CMD_MEMORY = 1 << 1;
const CMD_BUS_MASTER = 1 << 2;

export interface ConfigAccess {
  readonly kind: 'ecam' | 'cf8';
  read(cpu: CpuContext, bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4): number;
  write(cpu: CpuContext, bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4, value: number): void;
}

export function ecamAccess(base: number): ConfigAccess {
  const addr = (b: number, d: number, f: number, r: number) => base + ((b << 20) | (d << 15) | (f << 12) | r);
  return {
    kind: 'ecam',
    read(cpu, b, d, f, r, size) {
      const a = addr(b, d, f, r);
      return size === 1 ? cpu.read8(a) : size === 2 ? cpu.read16(a) : cpu.read32(a);
    },
    write(cpu, b, d, f, r, size, v) {
      const a = addr(b, d, f, r);
      if (size === 1) cpu.write8(a, v);
      else if (size === 2) cpu.write16(a, v);
      else cpu.write32(a, v);
    },
  };
}

export const cf8Access: ConfigAccess = {
  kind: 'cf8',
  read(cpu, b, d, f, r, size) {
    cpu.out32(0xcf8, (0x80000000 | (b << 16) | (d << 11) | (f << 8) | (r & 0xfc)) >>> 0);
    const port = 0xcfc + (r & 3);
    return size === 1 ? cpu.in8(port) : size === 2 ? cpu.in16(port) : cpu.in32(port);
  },
  write(cpu, b, d, f, r, size, v) {
    cpu.out32(0xcf8, (0x80000000 | (b << 16) | (d << 11) | (f << 8) | (r & 0xfc)) >>> 0);
    const port = 0xcfc + (r & 3);
    if (size === 1) cpu.out8(port, v);
    else if (size === 2) cpu.out16(port, v);
    else cpu.out32(port, v);
  },
};

export interface PciBar {
  index: number;
  kind: 'mem32' | 'mem64' | 'io';
  size: number;
  address: number;
}

export interface PciDevice {
  bus: number;
  dev: number;
  fn: number;
  bdf: string;
  vendor: number;
  device: number;
  classCode: number;
  interruptPin: number;
  interruptLine: number;
  capabilities: Map<number, number>; // capability ID → offset (first occurrence)
  bars: PciBar[];
}

const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

export class PciBusDriver {
  constructor(readonly cfg: ConfigAccess, private nextMmio: number, private readonly mmioLimit: number) {}

  read(cpu: CpuContext, d: PciDevice, reg: number, size: 1 | 2 | 4): number {
    return this.cfg.read(cpu, d.bus, d.dev, d.fn, reg, size);
  }
  write(cpu: CpuContext, d: PciDevice, reg: number, size: 1 | 2 | 4, v: number): void {
    this.cfg.write(cpu, d.bus, d.dev, d.fn, reg, size, v);
  }

  /** Scans buses [startBus, endBus]; returns every present function with BARs assigned and decode on. */
  enumerate(cpu: CpuContext, startBus: number, endBus: number, log: (m: string) => void): PciDevice[] {
    const found: PciDevice[] = [];
    for (let bus = startBus; bus <= endBus; bus++) {
      for (let dev = 0; dev < 32; dev++) {
        const id0 = this.cfg.read(cpu, bus, dev, 0, 0, 4);
        if ((id0 & 0xffff) === 0xffff) continue;
        const multi = (this.cfg.read(cpu, bus, dev, 0, 0x0e, 1) & 0x80) !== 0;
        for (let fn = 0; fn < (multi ? 8 : 1); fn++) {
          const id = fn === 0 ? id0 : this.cfg.read(cpu, bus, dev, fn, 0, 4);
          if ((id & 0xffff) === 0xffff) continue;
          const d = this.probeFunction(cpu, bus, dev, fn, id);
          log(
            `pci ${d.bdf}: [${hex(d.vendor, 4)}:${hex(d.device, 4)}] class 0x${hex(d.classCode, 6)}` +
              ` pin ${d.interruptPin ? 'INT' + 'ABCD'[d.interruptPin - 1] : '-'} caps ${[...d.capabilities.keys()].map((c) => '0x' + hex(c, 2)).join(',') || '-'}` +
              d.bars.map((b) => ` BAR${b.index} ${b.kind} 0x${b.address.toString(16)} (${b.size} bytes)`).join(''),
          );
          found.push(d);
        }
      }
    }
    return found;
  }

  private probeFunction(cpu: CpuContext, bus: number, dev: number, fn: number, id: number): PciDevice {
    const d: PciDevice = {
      bus,
      dev,
      fn,
      bdf: `${hex(bus, 2)}:${hex(dev, 2)}.${fn}`,
      vendor: id & 0xffff,
      device: id >>> 16,
      classCode: this.cfg.read(cpu, bus, dev, fn, 0x08, 4) >>> 8,
      interruptPin: this.cfg.read(cpu, bus, dev, fn, 0x3d, 1),
      interruptLine: this.cfg.read(cpu, bus, dev, fn, 0x3c, 1),
      capabilities: new Map(),
      bars: [],
    };
    const status = this.read(cpu, d, 0x06, 2);
    if (status & 0x10) {
      let ptr = this.read(cpu, d, 0x34, 1) & 0xfc;
      for (let guard = 0; ptr >= 0x40 && guard < 48; guard++) {
        const capId = this.read(cpu, d, ptr, 1);
        if (!d.capabilities.has(capId)) d.capabilities.set(capId, ptr);
        ptr = this.read(cpu, d, ptr + 1, 1) & 0xfc;
      }
    }
    this.sizeAndAssignBars(cpu, d);
    const cmd = this.read(cpu, d, 0x04, 2);
    this.write(cpu, d, 0x04, 2, cmd | CMD_MEMORY | CMD_BUS_MASTER);
    return d;
  }

  /** Linux's __pci_read_base: decode off, write all ones, read the size mask, restore; then assign. */
  private sizeAndAssignBars(cpu: CpuContext, d: PciDevice): void {
    const cmd = this.read(cpu, d, 0x04, 2);
    this.write(cpu, d, 0x04, 2, cmd & ~0x3);
    for (let i = 0; i < 6; i++) {
      const reg = 0x10 + 4 * i;
      const orig = this.read(cpu, d, reg, 4);
      this.write(cpu, d, reg, 4, 0xffffffff);
      const mask = this.read(cpu, d, reg, 4);
      this.write(cpu, d, reg, 4, orig);
      if (mask === 0 || mask === 0xffffffff) continue;
      if (mask & 1) {
        const size = (~(mask & ~3) + 1) & 0xffff;
        d.bars.push({ index: i, kind: 'io', size, address: 0 });
        continue;
      }
      const is64 = ((mask >>> 1) & 3) === 2;
      let size = (~(mask & ~0xf) >>> 0) + 1;
      if (is64) {
        const hiOrig = this.read(cpu, d, reg + 4, 4);
        this.write(cpu, d, reg + 4, 4, 0xffffffff);
        const hi = this.read(cpu, d, reg + 4, 4);
        this.write(cpu, d, reg + 4, 4, hiOrig);
        if (hi !== 0xffffffff) size = Number(((~((BigInt(hi) << 32n) | BigInt(mask & ~0xf)) & 0xffff_ffff_ffff_ffffn) + 1n));
      }
      const address = Math.ceil(this.nextMmio / size) * size;
      if (address + size - 1 > this.mmioLimit) {
        d.bars.push({ index: i, kind: is64 ? 'mem64' : 'mem32', size, address: 0 });
      } else {
        this.nextMmio = address + size;
        this.write(cpu, d, reg, 4, address);
        if (is64) this.write(cpu, d, reg + 4, 4, 0);
        d.bars.push({ index: i, kind: is64 ? 'mem64' : 'mem32', size, address });
      }
      if (is64) i++;
    }
    this.write(cpu, d, 0x04, 2, cmd);
  }
}
