// Guest-side ACPI discovery (ACPI 6.5 §5.2.5.1 RSDP search, §5.2.6 checksums, §5.2.12 MADT,
// PCI Firmware 3.0 MCFG) using only physical memory reads. Rejects bad signatures/checksums.

import type { CpuContext } from '../src/machine/guest-interface.js';
import { BootError } from './errors.js';

export interface AcpiCpu {
  apicId: number;
  uid: number;
  enabled: boolean;
}

export interface AcpiInfo {
  rsdpAddress: number;
  revision: number;
  lapicAddress: number;
  pcatCompat: boolean;
  cpus: AcpiCpu[];
  ioapics: Array<{ id: number; address: number; gsiBase: number }>;
  overrides: Array<{ irq: number; gsi: number; flags: number }>;
  ecam: { base: number; segment: number; startBus: number; endBus: number } | null;
  /** The DMAR table as read (checksum verified), or null without one; firmware/dmar.ts parses it. */
  dmar: Uint8Array | null;
  /** Why a DMAR table present in the XSDT could not be read (bad signature, length or checksum). */
  dmarError: string | null;
  tables: string[];
}

function readBytes(cpu: CpuContext, addr: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = cpu.read8(addr + i);
  return out;
}

function sum(bytes: Uint8Array, len = bytes.length): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += bytes[i]!;
  return s & 0xff;
}

const ascii = (b: Uint8Array, off: number, len: number) => String.fromCharCode(...b.subarray(off, off + len));
const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 2 ** 32;

/** Scans the EBDA's first KiB, then 0xE0000–0xFFFFF on 16-byte boundaries, for a valid RSDP. */
export function findRsdp(cpu: CpuContext): number {
  const ebdaSeg = cpu.read16(0x40e);
  const windows: Array<[number, number]> = [];
  if (ebdaSeg !== 0) windows.push([ebdaSeg << 4, (ebdaSeg << 4) + 1024]);
  windows.push([0xe0000, 0x100000]);
  let sawSignature = false;
  for (const [lo, hi] of windows) {
    for (let a = lo; a < hi; a += 16) {
      // Cheap first test on the first dword ("RSD ").
      if (cpu.read32(a) !== 0x20445352) continue;
      const b = readBytes(cpu, a, 20);
      if (ascii(b, 0, 8) !== 'RSD PTR ') continue;
      sawSignature = true;
      if (sum(b, 20) !== 0) continue; // bad checksum: keep scanning, as Linux does
      return a;
    }
  }
  throw new BootError('acpi', sawSignature ? 'RSDP found but its checksum is invalid' : 'no RSDP signature in the BIOS area');
}

/** Reads and validates a whole SDT at `addr` whose signature must be `sig`. */
function readTable(cpu: CpuContext, addr: number, sig: string): Uint8Array {
  const head = readBytes(cpu, addr, 36);
  const got = ascii(head, 0, 4);
  if (got !== sig) throw new BootError('acpi', `table at 0x${addr.toString(16)}: signature "${got}", expected "${sig}"`);
  const len = u32(head, 4);
  if (len < 36 || len > 0x10000) throw new BootError('acpi', `${sig}: implausible length ${len}`);
  const t = readBytes(cpu, addr, len);
  if (sum(t) !== 0) throw new BootError('acpi', `${sig}: checksum invalid`);
  return t;
}

export function parseAcpi(cpu: CpuContext): AcpiInfo {
  const rsdpAddress = findRsdp(cpu);
  const rsdp = readBytes(cpu, rsdpAddress, 36);
  const revision = rsdp[15]!;
  const entries: number[] = [];
  if (revision >= 2) {
    if (sum(rsdp, 36) !== 0) throw new BootError('acpi', 'RSDP extended checksum invalid');
    const xsdt = readTable(cpu, u64(rsdp, 24), 'XSDT');
    for (let o = 36; o + 8 <= xsdt.length; o += 8) entries.push(u64(xsdt, o));
  } else {
    const rsdt = readTable(cpu, u32(rsdp, 16), 'RSDT');
    for (let o = 36; o + 4 <= rsdt.length; o += 4) entries.push(u32(rsdt, o));
  }
  const info: AcpiInfo = {
    rsdpAddress,
    revision,
    lapicAddress: 0,
    pcatCompat: false,
    cpus: [],
    ioapics: [],
    overrides: [],
    ecam: null,
    dmar: null,
    dmarError: null,
    tables: [],
  };
  let madtSeen = false;
  for (const addr of entries) {
    const sig = ascii(readBytes(cpu, addr, 4), 0, 4);
    info.tables.push(sig);
    if (sig === 'APIC') {
      parseMadt(readTable(cpu, addr, 'APIC'), info);
      madtSeen = true;
    } else if (sig === 'DMAR') {
      // A broken DMAR costs remapping, not the boot (Linux's dmar_table_init fails, IR stays off).
      try {
        info.dmar = readTable(cpu, addr, 'DMAR');
      } catch (e) {
        if (!(e instanceof BootError)) throw e;
        info.dmarError = e.message;
      }
    } else if (sig === 'MCFG') {
      const t = readTable(cpu, addr, 'MCFG');
      if (t.length >= 44 + 16) {
        info.ecam = { base: u64(t, 44), segment: u16(t, 52), startBus: t[54]!, endBus: t[55]! };
      }
    }
  }
  if (!madtSeen) throw new BootError('acpi', 'no MADT ("APIC") table');
  if (info.cpus.length === 0) throw new BootError('acpi', 'MADT lists no enabled processor');
  return info;
}

function parseMadt(t: Uint8Array, info: AcpiInfo): void {
  info.lapicAddress = u32(t, 36);
  info.pcatCompat = (u32(t, 40) & 1) !== 0;
  for (let o = 44; o < t.length; ) {
    const type = t[o]!;
    const len = t[o + 1]!;
    if (len < 2 || o + len > t.length) throw new BootError('acpi', `MADT entry at offset ${o} has bad length ${len}`);
    if (type === 0 && len >= 8) {
      const flags = u32(t, o + 4);
      if (flags & 1) info.cpus.push({ uid: t[o + 2]!, apicId: t[o + 3]!, enabled: true });
    } else if (type === 9 && len >= 16) {
      const flags = u32(t, o + 8);
      if (flags & 1) info.cpus.push({ apicId: u32(t, o + 4), uid: u32(t, o + 12), enabled: true });
    } else if (type === 1 && len >= 12) {
      info.ioapics.push({ id: t[o + 2]!, address: u32(t, o + 4), gsiBase: u32(t, o + 8) });
    } else if (type === 2 && len >= 10) {
      info.overrides.push({ irq: t[o + 3]!, gsi: u32(t, o + 4), flags: u16(t, o + 8) });
    }
    o += len;
  }
}
