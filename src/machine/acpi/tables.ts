// ACPI tables as a BIOS lays them out (ACPI 6.5 §5.2.5 RSDP, §5.2.6 header, §5.2.7/8 RSDT/XSDT,
// §5.2.12 MADT; PCI Firmware 3.0 MCFG; VT-d spec §8.1–8.3 DMAR). Only what an interrupt-slice guest needs; no AML.

export interface MadtCpu {
  apicId: number;
  uid: number;
  enabled: boolean;
}

export interface AcpiPlatform {
  cpus: MadtCpu[];
  ioapic: { id: number; address: number; gsiBase: number };
  lapicAddress: number;
  /** Interrupt source overrides: ISA IRQ → GSI with MPS INTI flags. */
  overrides: Array<{ irq: number; gsi: number; flags: number }>;
  /** ECAM window; omit to build no MCFG (the guest must fall back to CF8/CFC). */
  ecam?: { base: number; segment: number; startBus: number; endBus: number };
  /** The remapping unit; omit to build no DMAR (no IOMMU on the board). */
  dmar?: DmarPlatform;
  /** Deliberate faults for negative tests of the guest's validation. */
  faults?: AcpiFaults;
}

/** What the DMAR table describes (VT-d §8): one DRHD covering every PCI device, with the I/O APIC in its scope. */
export interface DmarPlatform {
  registerBase: number;
  /** Host address width in bits (the table stores HAW − 1). */
  hostAddressWidth: number;
  /** The I/O APIC: its MADT ID (the scope's enumeration ID) and source-id path (start bus, device, function). */
  ioapic: { id: number; bus: number; dev: number; fn: number };
}

export interface AcpiFaults {
  rsdpChecksum?: boolean;
  rsdpSignature?: boolean;
  xsdtChecksum?: boolean;
  madtChecksum?: boolean;
  madtSignature?: boolean;
  /** MADT length field larger than the table really is. */
  madtTruncated?: boolean;
  dmarChecksum?: boolean;
  /** DMAR length field larger than the table really is. */
  dmarTruncated?: boolean;
}

/** DMAR flags (VT-d §8.1): bit 0 INTR_REMAP, bit 1 X2APIC_OPT_OUT. */
export const DMAR_INTR_REMAP = 0x1;
export const DMAR_X2APIC_OPT_OUT = 0x2;
/** DRHD (type 0) flags bit 0: the unit covers every PCI device not named by another DRHD (§8.3). */
export const DRHD_INCLUDE_PCI_ALL = 0x1;
/** Device scope types (§8.3.1). */
export const DMAR_SCOPE_IOAPIC = 3;

/** MPS INTI flags (ACPI Table 5.25): polarity 1:0, trigger 3:2. */
export const INTI_CONFORMING = 0x0;
export const INTI_POLARITY_HIGH = 0x1;
export const INTI_POLARITY_LOW = 0x3;
export const INTI_TRIGGER_EDGE = 0x4;
export const INTI_TRIGGER_LEVEL = 0xc;

const OEM_ID = 'IRQSLC';
const OEM_TABLE_ID = 'IRQSLICE';

class Bytes {
  readonly data: number[] = [];
  u8(v: number): this {
    this.data.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  str(s: string, len: number): this {
    for (let i = 0; i < len; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0x20);
    return this;
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.u8(b[i]!);
    return this;
  }
}

/** Sets byte `at` so that bytes [0, len) sum to zero modulo 256. */
function fixChecksum(buf: Uint8Array, at: number, len: number): void {
  buf[at] = 0;
  let sum = 0;
  for (let i = 0; i < len; i++) sum += buf[i]!;
  buf[at] = (0x100 - (sum & 0xff)) & 0xff;
}

/** A system description table: 36-byte header + body, checksum at offset 9. */
function sdt(signature: string, revision: number, body: Bytes): Uint8Array {
  const len = 36 + body.data.length;
  const h = new Bytes()
    .str(signature, 4)
    .u32(len)
    .u8(revision)
    .u8(0)
    .str(OEM_ID, 6)
    .str(OEM_TABLE_ID, 8)
    .u32(1)
    .str('IRQS', 4)
    .u32(1)
    .bytes(body.data);
  const buf = Uint8Array.from(h.data);
  fixChecksum(buf, 9, len);
  return buf;
}

export function buildMadt(p: AcpiPlatform): Uint8Array {
  const b = new Bytes().u32(p.lapicAddress).u32(1 /* PCAT_COMPAT: dual 8259 present */);
  for (const c of p.cpus) {
    const flags = c.enabled ? 1 : 0;
    if (c.apicId < 0xff && c.uid < 0xff) {
      b.u8(0).u8(8).u8(c.uid).u8(c.apicId).u32(flags); // Processor Local APIC
    } else {
      b.u8(9).u8(16).u16(0).u32(c.apicId).u32(flags).u32(c.uid); // Processor Local x2APIC
    }
  }
  b.u8(1).u8(12).u8(p.ioapic.id).u8(0).u32(p.ioapic.address).u32(p.ioapic.gsiBase);
  for (const o of p.overrides) b.u8(2).u8(10).u8(0).u8(o.irq).u32(o.gsi).u16(o.flags);
  b.u8(4).u8(6).u8(0xff).u16(INTI_CONFORMING).u8(1); // Local APIC NMI: all processors, LINT1
  if (p.cpus.some((c) => c.apicId >= 0xff)) b.u8(0xa).u8(12).u16(INTI_CONFORMING).u32(0xffffffff).u8(1).u8(0).u16(0);
  const t = sdt('APIC', 5, b);
  if (p.faults?.madtSignature) t[0] = 'X'.charCodeAt(0);
  if (p.faults?.madtTruncated) {
    new DataView(t.buffer).setUint32(4, t.length + 64, true);
    fixChecksum(t, 9, t.length);
  }
  if (p.faults?.madtChecksum) t[9] = (t[9]! + 1) & 0xff;
  return t;
}

export function buildMcfg(ecam: NonNullable<AcpiPlatform['ecam']>): Uint8Array {
  const b = new Bytes().u64(0).u64(ecam.base).u16(ecam.segment).u8(ecam.startBus).u8(ecam.endBus).u32(0);
  return sdt('MCFG', 1, b);
}

/**
 * DMAR (§8.1): header, HAW − 1, flags = INTR_REMAP (x2APIC opt-out clear), 10 reserved bytes; one DRHD
 * (§8.3, 16 bytes + scopes) with INCLUDE_PCI_ALL, size 0 (one 4 KiB page), segment 0, the register base;
 * one IOAPIC device scope (§8.3.1: type 3, length 6 + 2 per hop, enumeration ID, start bus, one hop).
 */
export function buildDmar(d: DmarPlatform, faults?: AcpiFaults): Uint8Array {
  const scope = new Bytes().u8(DMAR_SCOPE_IOAPIC).u8(8).u16(0).u8(d.ioapic.id).u8(d.ioapic.bus).u8(d.ioapic.dev).u8(d.ioapic.fn);
  const drhdLength = 16 + scope.data.length;
  const b = new Bytes().u8(d.hostAddressWidth - 1).u8(DMAR_INTR_REMAP).bytes(new Array<number>(10).fill(0));
  b.u16(0).u16(drhdLength).u8(DRHD_INCLUDE_PCI_ALL).u8(0).u16(0).u64(d.registerBase).bytes(scope.data);
  const t = sdt('DMAR', 1, b);
  if (faults?.dmarTruncated) {
    new DataView(t.buffer).setUint32(4, t.length + 64, true);
    fixChecksum(t, 9, t.length);
  }
  if (faults?.dmarChecksum) t[9] = (t[9]! + 1) & 0xff;
  return t;
}

export interface AcpiImage {
  /** Bytes to place at `tablesAddress` (RSDT, XSDT, MADT, MCFG, DMAR). */
  tables: Uint8Array;
  tablesAddress: number;
  /** The 36-byte RSDP to place at `rsdpAddress`. */
  rsdp: Uint8Array;
  rsdpAddress: number;
  addresses: Record<string, number>;
}

/** Lays out RSDT, XSDT, MADT, MCFG and DMAR from `tablesAddress` and builds the RSDP pointing at them. */
export function buildAcpi(p: AcpiPlatform, tablesAddress: number, rsdpAddress: number): AcpiImage {
  const tables: Uint8Array[] = [buildMadt(p)];
  const names = ['APIC'];
  if (p.ecam) {
    tables.push(buildMcfg(p.ecam));
    names.push('MCFG');
  }
  if (p.dmar) {
    tables.push(buildDmar(p.dmar, p.faults));
    names.push('DMAR');
  }
  const align = (n: number) => (n + 15) & ~15;
  // Order in the ROM: XSDT, RSDT, then the tables they list.
  const xsdtLen = 36 + 8 * tables.length;
  const rsdtLen = 36 + 4 * tables.length;
  const xsdtAt = tablesAddress;
  const rsdtAt = xsdtAt + align(xsdtLen);
  let at = rsdtAt + align(rsdtLen);
  const addrs: number[] = [];
  for (const t of tables) {
    addrs.push(at);
    at += align(t.length);
  }
  const xsdtBody = new Bytes();
  const rsdtBody = new Bytes();
  for (const a of addrs) {
    xsdtBody.u64(a);
    rsdtBody.u32(a);
  }
  const xsdt = sdt('XSDT', 1, xsdtBody);
  if (p.faults?.xsdtChecksum) xsdt[9] = (xsdt[9]! + 1) & 0xff;
  const rsdt = sdt('RSDT', 1, rsdtBody);
  const image = new Uint8Array(at - tablesAddress);
  image.set(xsdt, 0);
  image.set(rsdt, rsdtAt - tablesAddress);
  tables.forEach((t, i) => image.set(t, addrs[i]! - tablesAddress));

  const r = new Bytes().str('RSD PTR ', 8).u8(0).str(OEM_ID, 6).u8(2).u32(rsdtAt).u32(36).u64(xsdtAt).u8(0).u8(0).u8(0).u8(0);
  const rsdp = Uint8Array.from(r.data);
  fixChecksum(rsdp, 8, 20);
  fixChecksum(rsdp, 32, 36);
  if (p.faults?.rsdpChecksum) rsdp[8] = (rsdp[8]! + 1) & 0xff;
  if (p.faults?.rsdpSignature) rsdp[0] = 'X'.charCodeAt(0);
  const addresses: Record<string, number> = { RSDP: rsdpAddress, XSDT: xsdtAt, RSDT: rsdtAt };
  names.forEach((n, i) => (addresses[n] = addrs[i]!));
  return { tables: image, tablesAddress, rsdp, rsdpAddress, addresses };
}
