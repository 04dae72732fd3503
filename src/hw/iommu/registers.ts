// VT-d remapping-unit register map (VT-d spec rev. 4.x §10.4; docs/DESIGN.md F11): offsets, bit positions and
// fault reasons of the interrupt-remapping subset. DMA-remapping registers are named only where decoded.

/** The register window is one 4 KiB page (DRHD size field 0, §8.3). */
export const VTD_MMIO_SIZE = 0x1000;

// ---- Offsets (§10.4) ---------------------------------------------------------------------------
export const VER = 0x00; // §10.4.1, 32-bit RO
export const CAP = 0x08; // §10.4.2, 64-bit RO
export const ECAP = 0x10; // §10.4.3, 64-bit RO
export const GCMD = 0x18; // §10.4.4, 32-bit WO
export const GSTS = 0x1c; // §10.4.5, 32-bit RO
export const RTADDR = 0x20; // §10.4.6, 64-bit (DMA remapping: stored, not walked)
export const CCMD = 0x28; // §10.4.7, 64-bit (register-based context invalidation: accepted, no effect)
export const FSTS = 0x34; // §10.4.9
export const FECTL = 0x38; // §10.4.10
export const FEDATA = 0x3c; // §10.4.11
export const FEADDR = 0x40; // §10.4.12
export const FEUADDR = 0x44; // §10.4.13
export const IQH = 0x80; // §10.4.22, 64-bit RO
export const IQT = 0x88; // §10.4.23, 64-bit
export const IQA = 0x90; // §10.4.24, 64-bit
export const ICS = 0x9c; // §10.4.25
export const IECTL = 0xa0; // §10.4.26
export const IEDATA = 0xa4; // §10.4.27
export const IEADDR = 0xa8; // §10.4.28
export const IEUADDR = 0xac; // §10.4.29
export const IQER = 0xb0; // §10.4.30, 64-bit RO (error details not modelled: reads 0)
export const IRTA = 0xb8; // §10.4.31, 64-bit
/** IOTLB registers at ECAP.IRO × 16 (§10.4.8): QEMU's 0xF0. Present for the layout; writes have no effect. */
export const IOTLB_REG_OFFSET = 0xf0;
/** Fault recording registers at CAP.FRO × 16 (§10.4.14): QEMU's 0x220. */
export const FRCD_OFFSET = 0x220;

// ---- VER -------------------------------------------------------------------------------------
/** Major 1, minor 0 (as QEMU reports). */
export const VER_VALUE = 0x10;

// ---- CAP (64-bit; bit positions, §10.4.2) ---------------------------------------------------------
export const CAP_ND_SHIFT = 0; // 2:0 number of domains (2 = 256)
export const CAP_SAGAW_SHIFT = 8; // 12:8
export const CAP_MGAW_SHIFT = 16; // 21:16 = MGAW − 1
export const CAP_FRO_SHIFT = 24; // 33:24 (×16 bytes)
export const CAP_NFR_SHIFT = 40; // 47:40 = count − 1
export const CAP_PI_BIT = 59; // posted interrupts (never set here)
export const CAP_ESIRTPS_BIT = 62;

// ---- ECAP ------------------------------------------------------------------------------------
export const ECAP_C = 1 << 0; // coherent: the model reads guest memory directly
export const ECAP_QI = 1 << 1;
export const ECAP_IR = 1 << 3;
export const ECAP_EIM = 1 << 4;
export const ECAP_IRO_SHIFT = 8; // 17:8
export const ECAP_MHMV_SHIFT = 20; // 23:20

// ---- GCMD / GSTS (same positions; §10.4.4/5) -----------------------------------------------------
export const GCMD_TE = 1 << 31; // status TES
export const GCMD_SRTP = 1 << 30; // one-shot, status RTPS
export const GCMD_SFL = 1 << 29; // one-shot, status FLS (fault log: not supported, ignored)
export const GCMD_EAFL = 1 << 28; // advanced fault logging (not supported)
export const GCMD_WBF = 1 << 27; // write-buffer flush (CAP.RWBF = 0: not needed)
export const GCMD_QIE = 1 << 26; // status QIES
export const GCMD_IRE = 1 << 25; // status IRES
export const GCMD_SIRTP = 1 << 24; // one-shot, status IRTPS
export const GCMD_CFI = 1 << 23; // status CFIS
/** Enables whose status follows the last command ("lasting"); the others are one-shot. */
export const GCMD_LASTING = (GCMD_TE | GCMD_QIE | GCMD_IRE | GCMD_CFI) >>> 0;

// ---- FSTS / FECTL (§10.4.9/10) -------------------------------------------------------------------
export const FSTS_PFO = 1 << 0; // RW1C
export const FSTS_PPF = 1 << 1; // RO: some record has F set
export const FSTS_IQE = 1 << 4; // RW1C
export const FSTS_ICE = 1 << 5; // RW1C (device-TLB invalidation: never raised here)
export const FSTS_ITE = 1 << 6; // RW1C (never raised here)
export const FSTS_FRI_SHIFT = 8; // 15:8 RO
export const FSTS_RW1C = FSTS_PFO | FSTS_IQE | FSTS_ICE | FSTS_ITE;
/** Conditions that make a fault event (§7.3.1); an event is sent when the first of them appears. */
export const FSTS_EVENT_CONDITIONS = FSTS_PFO | FSTS_PPF | FSTS_IQE | FSTS_ICE | FSTS_ITE;
export const CTL_IM = 0x8000_0000; // FECTL/IECTL interrupt mask (reset 1)
export const CTL_IP = 1 << 30; // FECTL/IECTL interrupt pending (RO)

// ---- Queued invalidation (§6.5.2, §10.4.22–29) ---------------------------------------------------
export const IQA_DW = 1 << 11;
export const IQA_QS_MASK = 0x7;
/** IQA low dword: base 31:12, DW 11, QS 2:0 (10:3 reserved). */
export const IQA_LO_WRITABLE = 0xffff_f807;
/** IQH/IQT: descriptor offset in 18:4 (128-bit descriptors) or 18:5 (256-bit). */
export const IQ_INDEX_MASK = 0x0007_fff0;
export const ICS_IWC = 1 << 0; // RW1C

export const DESC_CONTEXT_CACHE = 1;
export const DESC_IOTLB = 2;
export const DESC_DEVICE_TLB = 3;
export const DESC_IEC = 4;
export const DESC_WAIT = 5;
export const DESC_PASID_IOTLB = 6;
export const DESC_PASID_CACHE = 7;
export const DESC_PASID_DEVICE_TLB = 8;
/** IEC descriptor (§6.5.2.7): G bit 4 (1 = index-selective), IM 31:27, IIDX 47:32. */
export const IEC_G_INDEX = 1 << 4;
/** Reserved bits of the IEC descriptor's first dword: 8:5 and 26:12 (QEMU's VTD_INV_DESC_IEC_RSVD); type 11:9 apart. */
export const IEC_RSVD_DW0 = 0x07ff_f1e0;
/** Reserved bits of the IEC descriptor's second dword: 63:48. */
export const IEC_RSVD_DW1 = 0xffff_0000;
/** Wait descriptor (§6.5.2.8): IF 4, SW 5, FN 6; 31:7 reserved (PD, type 11:9 and the rest). */
export const WAIT_IF = 1 << 4;
export const WAIT_SW = 1 << 5;
export const WAIT_FN = 1 << 6;
export const WAIT_RSVD_DW0 = 0xffff_ff80;
/** Status address bits 65:64 are reserved (the address is 127:66, dword aligned). */
export const WAIT_RSVD_DW2 = 0x3;
/** Descriptor type bits 11:9 (type[6:4], VT-d 3.0): types ≥ 16 do not exist on this unit. */
export const DESC_TYPE_HIGH = 0x0e00;

// ---- IRTA (§10.4.31) ----------------------------------------------------------------------------
export const IRTA_EIME = 1 << 11;
export const IRTA_S_MASK = 0xf;
/** IRTA low dword: base 31:12, EIME 11, S 3:0 (10:4 reserved). */
export const IRTA_LO_WRITABLE = 0xffff_f80f;

// ---- Interrupt-remapping fault reasons (§7.1.3; docs/DESIGN.md F11) ---------------------------
export const FR_RESERVED_REQUEST = 0x20;
export const FR_INDEX_BEYOND_TABLE = 0x21;
export const FR_NOT_PRESENT = 0x22;
export const FR_TABLE_READ = 0x23;
export const FR_RESERVED_IRTE = 0x24;
export const FR_COMPAT_BLOCKED = 0x25;
export const FR_SOURCE_ID = 0x26;

export const FAULT_NAMES = {
  0x20: 'reserved-request',
  0x21: 'index-beyond-table',
  0x22: 'not-present',
  0x23: 'table-read-error',
  0x24: 'reserved-irte',
  0x25: 'compatibility-blocked',
  0x26: 'source-id',
} as const;
export type FaultReason = keyof typeof FAULT_NAMES;
export type FaultName = (typeof FAULT_NAMES)[FaultReason];
/**
 * Qualified faults (an IRTE was fetched) are the ones its FPD bit may suppress; 0x20, 0x21, 0x23 and
 * 0x25 happen before any IRTE is read and are always recorded (§7.1.3).
 */
export const QUALIFIED_FAULTS: ReadonlySet<number> = new Set([FR_NOT_PRESENT, FR_RESERVED_IRTE, FR_SOURCE_ID]);
