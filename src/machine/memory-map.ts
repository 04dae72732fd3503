// The board's physical address map and port assignments (a PC/Q35-like layout).

/** Conventional RAM from 0; the rest of the low 1 MiB below the BIOS ROM is RAM too. */
export const RAM_BASE = 0x0000_0000;
export const DEFAULT_RAM_SIZE = 0x0020_0000; // 2 MiB is plenty for a guest written in TypeScript
/** BIOS area scanned for the RSDP (ACPI 6.5 §5.2.5.1): read-only to the guest. */
export const BIOS_ROM_BASE = 0x000e_0000;
export const BIOS_ROM_SIZE = 0x0002_0000;
/** Where the platform places the RSDP (16-byte aligned, inside the scanned window). */
export const RSDP_ADDRESS = 0x000f_0000;
/** Where the platform places the other ACPI tables (inside the ROM). */
export const ACPI_TABLES_ADDRESS = 0x000e_0000;
/** AP start-up trampoline page (SIPI vector 0x08 → 0x8000). */
export const TRAMPOLINE_ADDRESS = 0x0000_8000;
/** PCI Express enhanced configuration window: 256 buses × 1 MiB. */
export const ECAM_BASE = 0xb000_0000;
export const ECAM_SIZE = 0x1000_0000;
/** Window the firmware assigns memory BARs from. */
export const PCI_MMIO_BASE = 0xc000_0000;
export const PCI_MMIO_LIMIT = 0xfebf_ffff;
/** VT-d remapping unit registers (QEMU's Q35_HOST_BRIDGE_IOMMU_ADDR), present with MachineConfig.iommu. */
export const DMAR_UNIT_BASE = 0xfed9_0000;
export const DMAR_UNIT_SIZE = 0x1000;
/**
 * The I/O APIC's source-id behind the remapping unit, as the DMAR device scope names it: bus 0xFF,
 * device 0, function 0 (QEMU's Q35_PSEUDO_BUS_PLATFORM and Q35_PSEUDO_DEVFN_IOAPIC).
 */
export const IOAPIC_SOURCE_BUS = 0xff;
export const IOAPIC_SOURCE_DEV = 0;
export const IOAPIC_SOURCE_FN = 0;
export const IOAPIC_SOURCE_ID = (IOAPIC_SOURCE_BUS << 8) | (IOAPIC_SOURCE_DEV << 3) | IOAPIC_SOURCE_FN;
export const IOAPIC_BASE = 0xfec0_0000;
export const IOAPIC_SIZE = 0x1000;
export const LAPIC_BASE = 0xfee0_0000;
export const LAPIC_SIZE = 0x1000;
/** x86 MSI address window: a DWORD write here is an interrupt message, not a memory cycle. */
export const MSI_WINDOW_BASE = 0xfee0_0000;
export const MSI_WINDOW_SIZE = 0x0010_0000;

/** Legacy I/O ports. */
export const PORT_PIC_MASTER = 0x20;
export const PORT_PIC_SLAVE = 0xa0;
export const PORT_POST = 0x80;
export const PORT_PCI_CONFIG_ADDRESS = 0xcf8;
export const PORT_PCI_CONFIG_DATA = 0xcfc;
/** Bochs/QEMU debug console: bytes written here are the guest's console output. */
export const PORT_DEBUG_CONSOLE = 0xe9;

/** First GSI of the PCI INTx lines (PIRQA..D → GSI 16..19, as on Q35). */
export const PCI_INTX_GSI_BASE = 16;
/** Time base: the TSC runs at 1 GHz (1 tick per ns) and the APIC bus clock at 100 MHz. */
export const TSC_HZ = 1_000_000_000;
export const BUS_CLOCK_NS = 10;
