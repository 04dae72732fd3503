// Guest-side parsing of the ACPI DMAR table (VT-d spec §8.1 DMAR, §8.3 DRHD, §8.3.1 device scope;
// ACPICA actbl1.h), as Linux's drivers/iommu/intel/dmar.c walks it. Only what interrupt remapping
// needs is kept: the INTR_REMAP flag, each DRHD's register base and its IOAPIC device scopes.

/** DMAR flags (byte 37). */
export const DMAR_INTR_REMAP = 1 << 0;
export const DMAR_X2APIC_OPT_OUT = 1 << 1;
/** DRHD flags: the unit covers every PCI device not named by another DRHD. */
export const DRHD_INCLUDE_PCI_ALL = 1 << 0;
/** Device scope types (§8.3.1). */
export const SCOPE_PCI_ENDPOINT = 1;
export const SCOPE_PCI_SUB_HIERARCHY = 2;
export const SCOPE_IOAPIC = 3;
export const SCOPE_HPET = 4;

export interface DmarScope {
  type: number;
  /** IOAPIC: the MADT I/O APIC ID; HPET: its number. */
  enumerationId: number;
  startBus: number;
  /** (device, function) hops from startBus. */
  path: Array<{ dev: number; fn: number }>;
}

export interface DmarUnit {
  flags: number;
  segment: number;
  /** Register base address (4 KiB aligned). */
  base: number;
  scopes: DmarScope[];
}

export interface DmarInfo {
  /** Host address width: the table holds HAW − 1. */
  haw: number;
  flags: number;
  units: DmarUnit[];
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/**
 * Parses a checksummed DMAR table. Returns a reason string for a malformed one: Linux
 * (dmar_table_init → dmar_walk_remapping_entries) then gives up on remapping but keeps booting.
 */
export function parseDmar(t: Uint8Array): DmarInfo | string {
  if (t.length < 48) return `DMAR: table of ${t.length} bytes, shorter than its 48-byte header`;
  const info: DmarInfo = { haw: t[36]! + 1, flags: t[37]!, units: [] };
  for (let o = 48; o < t.length; ) {
    if (o + 4 > t.length) return `DMAR: truncated remapping structure at offset ${o}`;
    const type = u16(t, o);
    const len = u16(t, o + 2);
    if (len < 4 || o + len > t.length) return `DMAR: remapping structure at offset ${o} has bad length ${len}`;
    if (type === 0) {
      if (len < 16) return `DMAR: DRHD at offset ${o} has length ${len} < 16`;
      const lo = u32(t, o + 8);
      const hi = u32(t, o + 12);
      if (hi !== 0) return `DMAR: DRHD at offset ${o} has its registers above 4 GiB (0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}), beyond this guest's 32-bit physical addresses`;
      const unit: DmarUnit = { flags: t[o + 4]!, segment: u16(t, o + 6), base: lo, scopes: [] };
      for (let s = o + 16; s < o + len; ) {
        const stype = t[s]!;
        const slen = t[s + 1]!;
        if (slen < 6 || s + slen > o + len || (slen - 6) % 2 !== 0) return `DMAR: device scope at offset ${s} has bad length ${slen}`;
        const path: DmarScope['path'] = [];
        for (let p = s + 6; p < s + slen; p += 2) path.push({ dev: t[p]!, fn: t[p + 1]! });
        unit.scopes.push({ type: stype, enumerationId: t[s + 4]!, startBus: t[s + 5]!, path });
        s += slen;
      }
      info.units.push(unit);
    }
    // RMRR (1), ATSR (2), RHSA (3), ANDD (4), SATC (5): DMA translation only, not needed here.
    o += len;
  }
  return info;
}

/**
 * The source-id of a device scope's target: bus << 8 | dev << 3 | fn of its last hop. Linux's
 * ir_parse_one_ioapic_scope walks the path through bridges' secondary buses (read from their
 * configuration space); this guest takes one-hop paths only and answers null for longer ones, which
 * the caller reports as a reason to leave remapping off rather than guess a bus number.
 */
export function scopeSourceId(s: DmarScope): number | null {
  const last = s.path[0];
  if (s.path.length !== 1 || !last || last.dev > 31 || last.fn > 7) return null;
  return ((s.startBus << 8) | (last.dev << 3) | last.fn) & 0xffff;
}
