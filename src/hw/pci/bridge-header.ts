// Type 1 configuration header of the PCI-to-PCI Bridge Architecture 1.2 §3.2 (as a PCIe root port carries it, PCIe Base 4.0 §7.5.1.3).
// Modelled: bus numbers, I/O (16-bit), memory and 64-bit prefetchable windows, bridge control; no expansion ROM; windows are stored, not decoded (no secondary bus behind).
import type { ConfigSpace } from './config-space.js';
import type { HeaderIds } from './header.js';
import { defineCommonHeader, PCI_CAPABILITY_LIST, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN } from './header.js';

export const PCI_HEADER_TYPE_BRIDGE = 0x01;
export const PCI_PRIMARY_BUS = 0x18;
export const PCI_SECONDARY_BUS = 0x19;
export const PCI_SUBORDINATE_BUS = 0x1a;
export const PCI_SEC_LATENCY_TIMER = 0x1b;
export const PCI_IO_BASE = 0x1c;
export const PCI_IO_LIMIT = 0x1d;
export const PCI_SEC_STATUS = 0x1e;
export const PCI_MEMORY_BASE = 0x20;
export const PCI_MEMORY_LIMIT = 0x22;
export const PCI_PREF_MEMORY_BASE = 0x24;
export const PCI_PREF_MEMORY_LIMIT = 0x26;
export const PCI_PREF_BASE_UPPER32 = 0x28;
export const PCI_PREF_LIMIT_UPPER32 = 0x2c;
export const PCI_IO_BASE_UPPER16 = 0x30;
export const PCI_IO_LIMIT_UPPER16 = 0x32;
export const PCI_ROM_ADDRESS1 = 0x38;
export const PCI_BRIDGE_CONTROL = 0x3e;

/** Type 1 headers have two BARs (0x10, 0x14). */
export const PCI_BRIDGE_BAR_COUNT = 2;
/** Windows: address bits 15:4 (I/O base/limit bits 7:4) are RW; the low nibble encodes the decode width. */
const WINDOW_RW = 0xfff0;
const IO_WINDOW_RW = 0xf0;
/** Prefetchable window low nibble 1: 64-bit decode (bridge spec §3.2.5.9). */
const PREF_64BIT = 0x1;
/** Secondary status RW1C bits 15:11 and 8 (parity, aborts, SERR). */
const SEC_STATUS_RW1C = 0xf900;
/**
 * Bridge control RW bits: parity response 0, SERR# enable 1, ISA enable 2, VGA enable 3, VGA 16-bit
 * decode 4, secondary bus reset 6. Master-abort mode (5) and the timers are hardwired 0 on PCIe (§7.5.1.3.13).
 */
const BRIDGE_CONTROL_RW = 0x005f;

/** Lay out the type 1 header (a bridge has no subsystem IDs here: those live in a capability). */
export function defineType1Header(config: ConfigSpace, ids: HeaderIds): void {
  defineCommonHeader(config, ids, PCI_HEADER_TYPE_BRIDGE);
  config.define('primary-bus', PCI_PRIMARY_BUS, 1, { writable: 0xff });
  config.define('secondary-bus', PCI_SECONDARY_BUS, 1, { writable: 0xff });
  config.define('subordinate-bus', PCI_SUBORDINATE_BUS, 1, { writable: 0xff });
  config.define('io-base', PCI_IO_BASE, 1, { writable: IO_WINDOW_RW });
  config.define('io-limit', PCI_IO_LIMIT, 1, { writable: IO_WINDOW_RW });
  config.define('secondary-status', PCI_SEC_STATUS, 2, { writeOneToClear: SEC_STATUS_RW1C });
  config.define('memory-base', PCI_MEMORY_BASE, 2, { writable: WINDOW_RW });
  config.define('memory-limit', PCI_MEMORY_LIMIT, 2, { writable: WINDOW_RW });
  config.define('pref-memory-base', PCI_PREF_MEMORY_BASE, 2, { value: PREF_64BIT, writable: WINDOW_RW });
  config.define('pref-memory-limit', PCI_PREF_MEMORY_LIMIT, 2, { value: PREF_64BIT, writable: WINDOW_RW });
  config.define('pref-base-upper32', PCI_PREF_BASE_UPPER32, 4, { writable: 0xffff_ffff });
  config.define('pref-limit-upper32', PCI_PREF_LIMIT_UPPER32, 4, { writable: 0xffff_ffff });
  config.define('capability-pointer', PCI_CAPABILITY_LIST, 1, { value: 0 });
  config.define('interrupt-line', PCI_INTERRUPT_LINE, 1, { writable: 0xff });
  config.define('interrupt-pin', PCI_INTERRUPT_PIN, 1, { value: ids.interruptPin });
  config.define('bridge-control', PCI_BRIDGE_CONTROL, 2, { writable: BRIDGE_CONTROL_RW });
}
