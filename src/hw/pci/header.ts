// Type 0 configuration header of PCI Local Bus 3.0 §6.2 (offsets and bits as in Linux pci_regs.h).
// Modelled command bits: I/O, memory, bus master, INTx disable; parity/SERR/MWI/VGA snoop, BIST and expansion ROM read 0.
import type { ConfigSpace } from './config-space.js';

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
/** Class code: 09 prog-IF, 0A subclass, 0B base class (24 bits from 0x09). */
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BIST = 0x0f;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
/** Capabilities live after the header, from 0x40 up to 0xFF. */
export const PCI_CAPABILITY_START = 0x40;

export const PCI_COMMAND_IO = 1 << 0;
export const PCI_COMMAND_MEMORY = 1 << 1;
export const PCI_COMMAND_MASTER = 1 << 2;
export const PCI_COMMAND_INTX_DISABLE = 1 << 10;
/** The command bits this model implements; the rest are hardwired to 0 (RO). */
export const PCI_COMMAND_WRITABLE = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;

export const PCI_STATUS_INTERRUPT = 1 << 3; // RO: INTx pending inside the function
export const PCI_STATUS_CAP_LIST = 1 << 4; // RO: capability pointer valid
export const PCI_STATUS_PARITY = 1 << 8; // RW1C master data parity error
export const PCI_STATUS_SIG_TARGET_ABORT = 1 << 11; // RW1C
export const PCI_STATUS_REC_TARGET_ABORT = 1 << 12; // RW1C
export const PCI_STATUS_REC_MASTER_ABORT = 1 << 13; // RW1C
export const PCI_STATUS_SIG_SYSTEM_ERROR = 1 << 14; // RW1C
export const PCI_STATUS_DETECTED_PARITY = 1 << 15; // RW1C
export const PCI_STATUS_RW1C =
  PCI_STATUS_PARITY |
  PCI_STATUS_SIG_TARGET_ABORT |
  PCI_STATUS_REC_TARGET_ABORT |
  PCI_STATUS_REC_MASTER_ABORT |
  PCI_STATUS_SIG_SYSTEM_ERROR |
  PCI_STATUS_DETECTED_PARITY;

export const PCI_HEADER_TYPE_NORMAL = 0x00;
export const PCI_HEADER_TYPE_MULTIFUNCTION = 0x80;

export interface HeaderIds {
  vendorId: number;
  deviceId: number;
  /** 24-bit class code: base class 23:16, subclass 15:8, prog-IF 7:0. */
  classCode: number;
  revision: number;
  subsystemVendorId: number;
  subsystemId: number;
  /** 0 = none, 1–4 = INTA#–INTD#. */
  interruptPin: number;
}

/**
 * The fields every header type shares, 0x00–0x0E (PCI 3.0 §6.1): IDs, command, status, revision,
 * class code, cache line size and the header type byte (`headerType`: 0 device, 1 bridge).
 */
export function defineCommonHeader(config: ConfigSpace, ids: HeaderIds, headerType: number): void {
  config.define('vendor', PCI_VENDOR_ID, 2, { value: ids.vendorId });
  config.define('device', PCI_DEVICE_ID, 2, { value: ids.deviceId });
  config.define('command', PCI_COMMAND, 2, { writable: PCI_COMMAND_WRITABLE });
  config.define('status', PCI_STATUS, 2, { writeOneToClear: PCI_STATUS_RW1C });
  config.define('revision', PCI_REVISION_ID, 1, { value: ids.revision });
  config.define('prog-if', PCI_CLASS_PROG, 1, { value: ids.classCode & 0xff });
  config.define('class', PCI_CLASS_DEVICE, 2, { value: (ids.classCode >>> 8) & 0xffff });
  config.define('cache-line-size', PCI_CACHE_LINE_SIZE, 1, { writable: 0xff });
  config.define('header-type', PCI_HEADER_TYPE, 1, { value: headerType });
}

/** Lay out the type 0 header fields (BARs and capabilities are defined by their own modules). */
export function defineType0Header(config: ConfigSpace, ids: HeaderIds): void {
  defineCommonHeader(config, ids, PCI_HEADER_TYPE_NORMAL);
  config.define('subsystem-vendor', PCI_SUBSYSTEM_VENDOR_ID, 2, { value: ids.subsystemVendorId });
  config.define('subsystem', PCI_SUBSYSTEM_ID, 2, { value: ids.subsystemId });
  config.define('capability-pointer', PCI_CAPABILITY_LIST, 1, { value: 0 });
  // Interrupt line is a scratch register for firmware (x86: IRQ 0–15, 0xFF unknown); reset 0 like QEMU.
  config.define('interrupt-line', PCI_INTERRUPT_LINE, 1, { writable: 0xff });
  config.define('interrupt-pin', PCI_INTERRUPT_PIN, 1, { value: ids.interruptPin });
}
