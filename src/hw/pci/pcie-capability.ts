// PCI Express Capability structure (ID 0x10) of a Root Port, PCIe Base 4.0 §7.5.3 (version 2 layout, 0x3C bytes).
// Modelled: capability/port type, interrupt message number, device/link control as storage, Root Control/Status with PME (§6.1.6); no slot, no link training, no AER/CRS.
import type { CapabilityHost, PciCapability } from './capability.js';
import { PciUsageError } from './errors.js';
import { checkInt } from '../check.js';

export const PCI_CAP_ID_EXP = 0x10;
export const PCI_EXP_FLAGS = 0x02;
export const PCI_EXP_DEVCAP = 0x04;
export const PCI_EXP_DEVCTL = 0x08;
export const PCI_EXP_DEVSTA = 0x0a;
export const PCI_EXP_LNKCAP = 0x0c;
export const PCI_EXP_LNKCTL = 0x10;
export const PCI_EXP_LNKSTA = 0x12;
export const PCI_EXP_SLTCAP = 0x14;
export const PCI_EXP_SLTCTL = 0x18;
export const PCI_EXP_SLTSTA = 0x1a;
export const PCI_EXP_RTCTL = 0x1c;
export const PCI_EXP_RTCAP = 0x1e;
export const PCI_EXP_RTSTA = 0x20;
export const PCI_EXP_DEVCAP2 = 0x24;
export const PCI_EXP_DEVCTL2 = 0x28;
export const PCI_EXP_DEVSTA2 = 0x2a;
export const PCI_EXP_LNKCAP2 = 0x2c;
export const PCI_EXP_LNKCTL2 = 0x30;
export const PCI_EXP_LNKSTA2 = 0x32;
export const PCI_EXP_SLTCAP2 = 0x34;
export const PCI_EXP_SLTCTL2 = 0x38;
export const PCI_EXP_SLTSTA2 = 0x3a;
export const PCI_EXP_CAP_LENGTH = 0x3c;

/** Capabilities register: version 2 (3:0), Device/Port Type (7:4), Interrupt Message Number (13:9). */
export const PCI_EXP_FLAGS_VERS2 = 0x2;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_FLAGS_IRQ_SHIFT = 9;
/** Device Capabilities bit 15: Role-Based Error Reporting (required since 1.1). */
const DEVCAP_RBER = 1 << 15;
/** Device Control: error enables 3:0, relaxed ordering 4, MPS 7:5, ext tag 8, phantom 9, aux PM 10, no snoop 11, MRRS 14:12. */
const DEVCTL_RW = 0x7fff;
/** Reset: relaxed ordering and no snoop enabled, MRRS 512 bytes (§7.5.3.4). */
const DEVCTL_RESET = 0x2810;
/** Device Status error bits 3:0 are RW1C. */
const DEVSTA_RW1C = 0x000f;
/** Link: 2.5 GT/s (speed 1), width x1 (1 << 4). */
const LINK_SPEED_2_5 = 0x1;
const LINK_WIDTH_X1 = 0x1 << 4;
/** Link Control: ASPM 1:0, RCB 3, common clock 6, extended synch 7, clock PM 8, HW autonomous width 9, BW interrupts 11:10. */
const LNKCTL_RW = 0x0fcb;
/** Link Capabilities 2: supported speeds vector bit 1 = 2.5 GT/s. */
const LNKCAP2_SPEEDS = 0x2;
/** Root Control: SECEE 0, SENFEE 1, SEFEE 2, PME Interrupt Enable 3 (CRS visibility 4 not supported). */
export const PCI_EXP_RTCTL_PMEIE = 1 << 3;
const RTCTL_RW = 0x000f;
/** Root Status: PME Requester ID 15:0, PME Status 16 (RW1C), PME Pending 17. */
export const PCI_EXP_RTSTA_PME = 1 << 16;
export const PCI_EXP_RTSTA_PENDING = 1 << 17;

export interface PcieRootPortCapOptions {
  /** Interrupt Message Number (0–31): the MSI message offset or MSI-X entry the port's PME uses. */
  interruptMessageNumber: number;
  /** Physical port number (Link Capabilities 31:24). */
  portNumber: number;
}

/**
 * PME (§6.1.6): a PM_PME message received by the root port sets PME Status with the requester ID.
 * While PME Status is 1, further PMEs wait (PME Pending = 1) and load when software clears Status.
 * An interrupt is sent when Status becomes 1 with PME Interrupt Enable set, and when Enable is set
 * while Status is 1; the port's owner (PcieRootPort) chooses MSI, MSI-X or INTx for it.
 */
export class PcieRootPortCapability implements PciCapability {
  readonly id = PCI_CAP_ID_EXP;
  readonly length = PCI_EXP_CAP_LENGTH;
  private host: CapabilityHost | null = null;
  private base = -1;
  private readonly queue: number[] = [];
  private pmeIrq: () => void = () => {};
  private pmeLevel: (on: boolean) => void = () => {};

  constructor(private readonly options: PcieRootPortCapOptions) {
    checkInt(PciUsageError, 'interruptMessageNumber', options.interruptMessageNumber, 0, 31);
    checkInt(PciUsageError, 'portNumber', options.portNumber, 0, 0xff);
  }

  attach(host: CapabilityHost, offset: number): void {
    this.host = host;
    this.base = offset;
    const c = host.config;
    const d = (name: string, off: number, size: 1 | 2 | 4, spec: { value?: number; writable?: number; writeOneToClear?: number } = {}) =>
      c.define(`pcie-${name}`, offset + off, size, spec);
    d('flags', PCI_EXP_FLAGS, 2, {
      value: PCI_EXP_FLAGS_VERS2 | (PCI_EXP_TYPE_ROOT_PORT << 4) | (this.options.interruptMessageNumber << PCI_EXP_FLAGS_IRQ_SHIFT),
    });
    d('devcap', PCI_EXP_DEVCAP, 4, { value: DEVCAP_RBER });
    d('devctl', PCI_EXP_DEVCTL, 2, { value: DEVCTL_RESET, writable: DEVCTL_RW });
    d('devsta', PCI_EXP_DEVSTA, 2, { writeOneToClear: DEVSTA_RW1C });
    d('lnkcap', PCI_EXP_LNKCAP, 4, { value: (LINK_SPEED_2_5 | LINK_WIDTH_X1 | (this.options.portNumber << 24)) >>> 0 });
    d('lnkctl', PCI_EXP_LNKCTL, 2, { writable: LNKCTL_RW });
    d('lnksta', PCI_EXP_LNKSTA, 2, { value: LINK_SPEED_2_5 | LINK_WIDTH_X1 });
    d('sltcap', PCI_EXP_SLTCAP, 4);
    d('sltctl', PCI_EXP_SLTCTL, 2);
    d('sltsta', PCI_EXP_SLTSTA, 2);
    d('rtctl', PCI_EXP_RTCTL, 2, { writable: RTCTL_RW });
    d('rtcap', PCI_EXP_RTCAP, 2);
    d('rtsta', PCI_EXP_RTSTA, 4, { writeOneToClear: PCI_EXP_RTSTA_PME });
    d('devcap2', PCI_EXP_DEVCAP2, 4);
    d('devctl2', PCI_EXP_DEVCTL2, 2);
    d('devsta2', PCI_EXP_DEVSTA2, 2);
    d('lnkcap2', PCI_EXP_LNKCAP2, 4, { value: LNKCAP2_SPEEDS });
    d('lnkctl2', PCI_EXP_LNKCTL2, 2, { value: LINK_SPEED_2_5, writable: 0x000f });
    d('lnksta2', PCI_EXP_LNKSTA2, 2);
    d('sltcap2', PCI_EXP_SLTCAP2, 4);
    d('sltctl2', PCI_EXP_SLTCTL2, 2);
    d('sltsta2', PCI_EXP_SLTSTA2, 2);
    let enabled = false;
    c.onWrite(offset + PCI_EXP_RTCTL, 2, () => {
      const now = this.pmeInterruptEnabled;
      if (now && !enabled && this.pmeStatus) this.pmeIrq();
      enabled = now;
      this.pmeLevel(now && this.pmeStatus);
    });
    c.onWrite(offset + PCI_EXP_RTSTA, 4, () => this.afterStatusWrite());
  }

  get offset(): number {
    return this.base;
  }
  get interruptMessageNumber(): number {
    return this.options.interruptMessageNumber;
  }
  get pmeInterruptEnabled(): boolean {
    return (this.cfg().getRaw(this.base + PCI_EXP_RTCTL, 2) & PCI_EXP_RTCTL_PMEIE) !== 0;
  }
  get pmeStatus(): boolean {
    return (this.rootStatus() & PCI_EXP_RTSTA_PME) !== 0;
  }
  rootStatus(): number {
    return this.cfg().getRaw(this.base + PCI_EXP_RTSTA, 4);
  }

  /**
   * Where the PME interrupt goes (set by the port before any PME can arrive): `edge` for a message
   * (MSI/MSI-X), `level` with the INTx level (PME Status and PME Interrupt Enable both 1).
   */
  onPmeInterrupt(edge: () => void, level: (on: boolean) => void): void {
    this.pmeIrq = edge;
    this.pmeLevel = level;
  }

  /** A PM_PME message from `requesterId` (bus << 8 | devfn) reached the port. */
  receivePme(requesterId: number): void {
    checkInt(PciUsageError, 'PME requester ID', requesterId, 0, 0xffff);
    if (this.pmeStatus) {
      this.queue.push(requesterId);
      this.cfg().setBits(this.base + PCI_EXP_RTSTA, 4, PCI_EXP_RTSTA_PENDING, true);
      return;
    }
    this.load(requesterId);
  }

  private load(requesterId: number): void {
    const pending = this.queue.length > 0 ? PCI_EXP_RTSTA_PENDING : 0;
    this.cfg().setRaw(this.base + PCI_EXP_RTSTA, 4, (PCI_EXP_RTSTA_PME | pending | requesterId) >>> 0);
    if (this.pmeInterruptEnabled) this.pmeIrq();
    this.pmeLevel(this.pmeInterruptEnabled);
  }

  /** Software cleared PME Status: the oldest pending PME takes its place. */
  private afterStatusWrite(): void {
    if (this.pmeStatus) return;
    const next = this.queue.shift();
    if (next === undefined) {
      this.cfg().setBits(this.base + PCI_EXP_RTSTA, 4, PCI_EXP_RTSTA_PENDING, false);
      this.pmeLevel(false);
      return;
    }
    this.load(next);
  }

  private cfg() {
    if (this.host === null) throw new PciUsageError('the PCIe capability is not attached to a function');
    return this.host.config;
  }
}
