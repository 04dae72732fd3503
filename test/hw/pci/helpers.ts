// Shared rigs for the PCI tests: a host whose upstream sink records MSI writes and INTx levels.
import type { PciEvent } from '../../../src/hw/pci/errors.js';
import { PciHost } from '../../../src/hw/pci/pci-host.js';
import { PciFunction } from '../../../src/hw/pci/pci-function.js';

export function makeHost() {
  const writes: { address: bigint; data: number }[] = [];
  const intx: { bdf: string; pin: number; level: boolean }[] = [];
  const events: PciEvent[] = [];
  const host = new PciHost({
    upstream: {
      memoryWrite: (address, data) => writes.push({ address, data }),
      intx: (bdf, pin, level) => intx.push({ bdf, pin, level }),
    },
    onEvent: (e) => events.push(e),
  });
  return { host, writes, intx, events };
}

/** A plain function with made-up IDs (vendor 0xFFF0 is the test vendor, see msi-endpoint.ts). */
export function plainFunction(overrides: Partial<ConstructorParameters<typeof PciFunction>[0]> = {}) {
  return new PciFunction({ vendorId: 0xfff0, deviceId: 0x1234, classCode: 0x02_0000, revision: 3, ...overrides });
}

/** CONFIG_ADDRESS value for bus/dev/fn/register with the enable bit (PCI 3.0 §3.2.2.3.2). */
export function cf8(bus: number, dev: number, fn: number, reg: number): number {
  return (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}

/** ECAM offset of bus/dev/fn/register (PCIe Base §7.2.2). */
export function ecam(bus: number, dev: number, fn: number, reg: number): number {
  return (bus << 20) | (dev << 15) | (fn << 12) | reg;
}

export function cfgRead(host: PciHost, bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4): number | null {
  host.ioWrite(0xcf8, 4, cf8(bus, dev, fn, reg));
  return host.ioRead(0xcfc + (reg & 3), size);
}

export function cfgWrite(host: PciHost, bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4, value: number): void {
  host.ioWrite(0xcf8, 4, cf8(bus, dev, fn, reg));
  host.ioWrite(0xcfc + (reg & 3), size, value);
}

/** Walk the capability list from 0x34; returns [offset, id] pairs. */
export function capabilityChain(fn: PciFunction): [number, number][] {
  const out: [number, number][] = [];
  let at = fn.configRead(0x34, 1) & ~3;
  while (at !== 0 && out.length < 48) {
    out.push([at, fn.configRead(at, 1)]);
    at = fn.configRead(at + 1, 1) & ~3;
  }
  return out;
}
