// irqslice/v86: run irqslice's PCI functions inside the v86 emulator (README.md in this folder).
export { attachToV86 } from './attach.js';
export type { V86AttachOptions, V86Attachment, V86Event, V86MsiRecord } from './attach.js';
export { V86AttachError } from './errors.js';
export { PIIX4_HOTPLUG_BASE, PIIX4_HOTPLUG_LENGTH } from './acpi.js';
export type { V86Emulator, V86Machine, V86Cpu, V86Pci, V86Io, V86Port, V86PciDevice, V86MmioRead, V86MmioWrite } from './v86-internals.js';
export { runGuestSession, parseReport } from './guest-session.js';
export type { GuestSessionOptions, GuestSessionResult, GuestReport, GuestDevice, GuestImages, InterruptRow, V86Instance, V86Constructor } from './guest-session.js';
