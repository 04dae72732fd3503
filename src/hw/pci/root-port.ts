// A PCI Express Root Port (PCIe Base 4.0 §7.5.1.3 type 1 header, §7.5.3 PCIe capability) with MSI or MSI-X, raising PME interrupts (§6.1.6).
// For embedding in a host emulator (src/adapters/v86/): irqslice's own machine keeps type 0 functions on bus 0 and puts nothing behind a bridge. No secondary bus, hotplug, AER (no extended config space) or link training.
//
// IDs: vendor 0xFFF0 (the same unassigned vendor as MsiEndpoint, see msi-endpoint.ts), device 0x0002,
// class 0x060400 (PCI-to-PCI bridge, normal decode) — the class Linux's pcieport driver binds to.
// MSI variant: MSI capability with `msiVectors` messages (default 2), 64-bit, no per-vector mask.
// MSI-X variant: `msixTableSize` entries (default 2) in BAR0 (32-bit memory, 4 KiB), PBA after the table.
// The PME interrupt uses Interrupt Message Number `pmeMessage` (MSI message offset or MSI-X entry).
import { MsiCapability } from './msi-capability.js';
import type { MsiVectors } from './msi-capability.js';
import { MsixCapability } from './msix-capability.js';
import { PcieRootPortCapability } from './pcie-capability.js';
import { PciFunction } from './pci-function.js';
import { PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';
import { checkInt, checkOptions } from '../check.js';

export const ROOT_PORT_VENDOR_ID = 0xfff0;
export const ROOT_PORT_DEVICE_ID = 0x0002;
export const ROOT_PORT_CLASS = 0x06_0400;

export interface PcieRootPortOptions {
  /** Message interrupts the port offers: 'msi' (default) or 'msix'. */
  interrupts?: 'msi' | 'msix';
  /** MSI messages (Multiple Message Capable), default 2. */
  msiVectors?: MsiVectors;
  /** MSI-X table entries, default 2. */
  msixTableSize?: number;
  /** Interrupt Message Number of the PME interrupt: default 0 for MSI, msixTableSize − 1 for MSI-X. */
  pmeMessage?: number;
  /** Link Capabilities port number, default 1. */
  portNumber?: number;
  ids?: { vendorId: number; deviceId: number };
}

export class PcieRootPort extends PciFunction {
  readonly pcie: PcieRootPortCapability;
  readonly msi: MsiCapability | null;
  readonly msix: MsixCapability | null;
  private pmeMessages = 0;

  constructor(options: PcieRootPortOptions = {}) {
    checkOptions(PciUsageError, 'PcieRootPort options', options, ['interrupts', 'msiVectors', 'msixTableSize', 'pmeMessage', 'portNumber', 'ids']);
    const mode = options.interrupts ?? 'msi';
    if (mode !== 'msi' && mode !== 'msix') throw new PciUsageError(`interrupts must be 'msi' or 'msix', got ${describeValue(mode)}`);
    const tableSize = options.msixTableSize ?? 2;
    if (mode === 'msix') checkInt(PciUsageError, 'msixTableSize', tableSize, 1, 32);
    const limit = mode === 'msix' ? tableSize - 1 : (options.msiVectors ?? 2) - 1;
    const pmeMessage = options.pmeMessage ?? (mode === 'msix' ? tableSize - 1 : 0);
    checkInt(PciUsageError, 'pmeMessage', pmeMessage, 0, Math.max(0, Math.min(31, limit)));
    super({
      vendorId: options.ids?.vendorId ?? ROOT_PORT_VENDOR_ID,
      deviceId: options.ids?.deviceId ?? ROOT_PORT_DEVICE_ID,
      classCode: ROOT_PORT_CLASS,
      interruptPin: 1,
      headerType: 1,
    });
    this.pcie = new PcieRootPortCapability({ interruptMessageNumber: pmeMessage, portNumber: options.portNumber ?? 1 });
    this.addCapability(this.pcie);
    if (mode === 'msix') {
      this.addBar(0, { kind: 'memory32', size: 4096 });
      this.msix = new MsixCapability({ tableSize, tableBar: 0 });
      this.msi = null;
      this.addCapability(this.msix);
    } else {
      this.msi = new MsiCapability({ vectors: options.msiVectors ?? 2, is64: true, pvm: false });
      this.msix = null;
      this.addCapability(this.msi);
    }
    this.pcie.onPmeInterrupt(
      () => this.sendPmeMessage(),
      (on) => this.setInterruptStatus(on),
    );
  }

  /** PME messages the port has written upstream (MSI or MSI-X), for checking against the guest's count. */
  get pmeMessagesSent(): number {
    return this.pmeMessages;
  }

  /** A PM_PME message from `requesterId` (default: the port itself, bus 0 devfn 0 until a host binds it). */
  raisePme(requesterId = 0): void {
    this.pcie.receivePme(requesterId);
  }

  /** PME interrupt as a message; a masked entry pends and is sent on unmask by the capability. */
  private sendPmeMessage(): void {
    const n = this.pcie.interruptMessageNumber;
    if (this.msix?.enabled === true) this.msix.fireCode(n);
    else if (this.msi?.enabled === true) this.msi.fireCode(n);
  }

  /** Every message this port masters is a PME interrupt. */
  protected override messageSent(_address: bigint, _data: number): void {
    this.pmeMessages++;
  }
}
