// The parts of v86 0.5.462 (npm `v86`) the adapter touches. None of them is in v86.d.ts: they are
// the emulator's internals (src/pci.js, src/io.js, src/cpu.js, src/main.js in v86's source), declared
// here as interfaces so the adapter is typed without depending on v86's own types.

/** An I/O port entry of v86's IO bus (`cpu.io.ports[port]`). */
export interface V86Port {
  /** `this` of the handlers when v86 calls them. */
  device: object | undefined;
  read8(): number;
  read16(): number;
  read32(): number;
  write8(value: number): void;
  write16(value: number): void;
  write32(value: number): void;
}

export type V86MmioRead = (address: number) => number;
export type V86MmioWrite = (address: number, value: number) => void;

/** v86's IO bus: port handlers and the 128 KiB-block memory map. */
export interface V86Io {
  ports: V86Port[];
  /** Install handlers on [address, address + size); both must be multiples of 128 KiB. No unregister. */
  mmap_register(address: number, size: number, read8: V86MmioRead, write8: V86MmioWrite, read32?: V86MmioRead, write32?: V86MmioWrite): void;
}

/** A device record as `pci.register_device` takes it. */
export interface V86PciDevice {
  pci_id: number;
  pci_space: number[];
  pci_bars: ({ size: number } | undefined)[];
  name: string;
}

/** v86's PCI host (src/pci.js). Config data reads are latched by pci_query when CF8 is written. */
export interface V86Pci {
  pci_addr: Uint8Array;
  pci_response32: Int32Array;
  pci_status32: Int32Array;
  devices: (V86PciDevice | undefined)[];
  pci_query(): void;
  pci_write8(address: number, value: number): void;
  pci_write16(address: number, value: number): void;
  pci_write32(address: number, value: number): void;
  register_device(device: V86PciDevice): Int32Array;
  /** Assert / de-assert the device's INTx through the PIIX3 PIRQ routing (isa bridge 0x60–0x63). */
  raise_irq(pciId: number): void;
  lower_irq(pciId: number): void;
}

export interface V86Cpu {
  io: V86Io;
  devices: { pci: V86Pci };
  /** v86's WebAssembly.Memory (only its buffer is used; typed structurally so no DOM lib is needed). */
  wasm_memory: { readonly buffer: ArrayBuffer };
  memory_map_read8: (V86MmioRead | undefined)[];
  memory_map_write8: (V86MmioWrite | undefined)[];
  memory_map_read32: (V86MmioRead | undefined)[];
  memory_map_write32: (V86MmioWrite | undefined)[];
  /** RAM size in bytes at index 0 (a view into wasm memory). */
  memory_size: Uint32Array;
  /** Address of the local APIC state struct in wasm memory (layout asserted in v86's apic.rs). */
  get_apic_addr(): number;
  /** Deliver the highest pending interrupt if IF allows; never call it inside an MMIO handler. */
  handle_irqs(): void;
}

/** v86's machine object (`emulator.v86`). */
export interface V86Machine {
  cpu: V86Cpu;
  running: boolean;
  stopping: boolean;
  /** Schedule the next main-loop slice after `ms` (0: at once); supersedes a pending idle wait. */
  next_tick(ms: number): void;
}

/** The public `V86` object from `new V86({...})`, once `emulator-loaded` has fired. */
export interface V86Emulator {
  v86: V86Machine;
}

/** The APIC state struct: IRR at dword 16, TMR at dword 32 (v86 apic.rs, mirrored by cpu.js get_state_apic). */
export const APIC_IRR_DWORD = 16;
export const APIC_TMR_DWORD = 32;
export const APIC_STRUCT_DWORDS = 46;
/** v86 maps MMIO in blocks of this many bytes (memory_map_* are indexed by address >>> 17). */
export const MMAP_BLOCK_SHIFT = 17;
export const MMAP_BLOCK_SIZE = 1 << MMAP_BLOCK_SHIFT;
