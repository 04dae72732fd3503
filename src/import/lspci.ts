// Reads `lspci -vv` text (pciutils ls-caps.c: cap_msi, cap_msix) for what interrupt placement
// needs: each function's BDF and its MSI and MSI-X capability lines. Every other line is passed
// over, so full real output (and mail-wrapped copies of it) reads; MSI lines themselves are strict.
//
//   00:03.0 USB controller: ...                        function header (optionally 0000:00:03.0)
//           Capabilities: [90] MSI: Enable+ Count=1/16 Maskable- 64bit+
//                   Address: 00000000fee08004  Data: 0022      (8 hex digits without 64bit+)
//                   Masking: 0000fffe  Pending: 00000000       (with Maskable+)
//           Capabilities: [b0] MSI-X: Enable+ Count=16 Masked-

import { decodeMsiAddressLow } from '../hw/apic/msi-format.js';
import { LspciError } from './errors.js';

export interface LspciMsi {
  /** Config-space offset of the capability. */
  offset: number;
  enabled: boolean;
  /** x of Count=x/y: messages enabled (1 << MME). */
  count: number;
  /** y: messages the device can send (1 << MMC). */
  max: number;
  maskable: boolean;
  is64: boolean;
  /** Address bits 31:0 and 63:32, and the data; null when the Address line is missing. */
  address: number | null;
  addressHi: number | null;
  data: number | null;
  masking: number | null;
  pending: number | null;
  line: number;
}

export interface LspciMsix {
  offset: number;
  enabled: boolean;
  /** Table size. */
  count: number;
  masked: boolean;
  line: number;
}

export interface LspciFunction {
  /** As printed: "00:03.0" or "0000:00:03.0". */
  bdf: string;
  /** The rest of the header line (class and name). */
  description: string;
  line: number;
  msi: LspciMsi | null;
  msix: LspciMsix | null;
}

const HEADER = /^((?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+(\S.*)$/;
const MSI = /^Capabilities:\s*\[([0-9a-fA-F]+)\]\s*MSI:\s*Enable([+-])\s+Count=(\d+)\/(\d+)\s+Maskable([+-])\s+64bit([+-])\s*$/;
const MSIX = /^Capabilities:\s*\[([0-9a-fA-F]+)\]\s*MSI-X:\s*Enable([+-])\s+Count=(\d+)\s+Masked([+-])\s*$/;
const ADDRESS = /^Address:\s*([0-9a-fA-F]{8}|[0-9a-fA-F]{16})\s+Data:\s*([0-9a-fA-F]{4}|[0-9a-fA-F]{8})\s*$/;
const MASKING = /^Masking:\s*([0-9a-fA-F]{8})\s+Pending:\s*([0-9a-fA-F]{8})\s*$/;

function show(text: string): string {
  const t = text.length > 60 ? `${text.slice(0, 50)}…` : text;
  return JSON.stringify(t).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function messages(s: string, line: number, what: string): number {
  const n = Number(s);
  if (!(n === 1 || n === 2 || n === 4 || n === 8 || n === 16 || n === 32)) {
    throw new LspciError(line, `MSI ${what} ${s.slice(0, 12)} is not 1, 2, 4, 8, 16 or 32 (PCI Local Bus 3.0 §6.8.1.3 encodes log2 in 3 bits, values 6 and 7 reserved)`);
  }
  return n;
}

/** Parses lspci -vv text; LspciError names the line of a malformed MSI/MSI-X line. */
export function parseLspci(text: string): LspciFunction[] {
  if (typeof text !== 'string') throw new LspciError(1, 'lspci output must be text');
  const out: LspciFunction[] = [];
  let cur: LspciFunction | null = null;
  let denied = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const t = lines[i]!.trim();
    if (t === '') continue;
    // A header starts in column 0 in lspci's output; a leading indent would make it a detail line.
    const h = /^\S/.test(lines[i]!) ? HEADER.exec(t) : null;
    if (h) {
      cur = { bdf: h[1]!.toLowerCase(), description: h[2]!, line: n, msi: null, msix: null };
      out.push(cur);
      continue;
    }
    if (/<access denied>/.test(t)) denied++;
    if (/^Capabilities:\s*\[[0-9a-fA-F]+\]\s*MSI:/.test(t)) {
      const m = MSI.exec(t);
      if (!m) throw new LspciError(n, `malformed MSI capability line ${show(t)} (expected "Capabilities: [50] MSI: Enable+ Count=1/16 Maskable- 64bit+")`);
      if (!cur) throw new LspciError(n, 'an MSI capability before any function header like "00:03.0 USB controller: ..."');
      if (cur.msi) throw new LspciError(n, `${cur.bdf} has a second MSI capability (the first on line ${cur.msi.line})`);
      cur.msi = {
        offset: parseInt(m[1]!, 16),
        enabled: m[2] === '+',
        count: messages(m[3]!, n, 'enabled count'),
        max: messages(m[4]!, n, 'capable count'),
        maskable: m[5] === '+',
        is64: m[6] === '+',
        address: null,
        addressHi: null,
        data: null,
        masking: null,
        pending: null,
        line: n,
      };
      continue;
    }
    if (/^Capabilities:\s*\[[0-9a-fA-F]+\]\s*MSI-X:/.test(t)) {
      const m = MSIX.exec(t);
      if (!m) throw new LspciError(n, `malformed MSI-X capability line ${show(t)} (expected "Capabilities: [b0] MSI-X: Enable+ Count=16 Masked-")`);
      if (!cur) throw new LspciError(n, 'an MSI-X capability before any function header');
      const count = Number(m[3]);
      if (!(count >= 1 && count <= 2048)) throw new LspciError(n, `MSI-X table size ${m[3]!.slice(0, 12)} is outside 1..2048`);
      cur.msix = { offset: parseInt(m[1]!, 16), enabled: m[2] === '+', count, masked: m[4] === '+', line: n };
      continue;
    }
    if (/^Address:/.test(t) && /\bData:/.test(t) && cur?.msi && cur.msi.data === null) {
      const m = ADDRESS.exec(t);
      if (!m) throw new LspciError(n, `malformed MSI Address/Data line ${show(t)} (expected "Address: 00000000fee08004  Data: 0022")`);
      const a = m[1]!;
      if ((a.length === 16) !== cur.msi.is64) throw new LspciError(n, `${cur.bdf}: a ${a.length * 4}-bit address under an MSI capability that says 64bit${cur.msi.is64 ? '+' : '-'}`);
      cur.msi.address = parseInt(a.slice(-8), 16);
      cur.msi.addressHi = a.length === 16 ? parseInt(a.slice(0, 8), 16) : 0;
      cur.msi.data = parseInt(m[2]!, 16);
      continue;
    }
    if (/^Masking:/.test(t) && cur?.msi && cur.msi.masking === null) {
      const m = MASKING.exec(t);
      if (!m) throw new LspciError(n, `malformed MSI Masking/Pending line ${show(t)}`);
      cur.msi.masking = parseInt(m[1]!, 16);
      cur.msi.pending = parseInt(m[2]!, 16);
    }
  }
  if (out.length === 0) throw new LspciError(Math.max(1, lines.length), 'no function header like "00:03.0 USB controller: ..." (is this lspci -vv output?)');
  if (denied > 0 && out.every((f) => !f.msi && !f.msix)) {
    throw new LspciError(1, 'capabilities show <access denied>: run lspci -vv as root (sudo lspci -vv)');
  }
  return out;
}

/**
 * VT-d remappable format (VT-d spec §5.1.5.2): an MSI address in the 0xFEExxxxx window with bit 4
 * (Interrupt Format) set carries an IRTE handle, not a destination and vector. AMD-Vi remaps
 * without this bit, so there "false" means "not in Intel's remappable format".
 */
export function isRemappedAddress(address: number | null, addressHi: number | null = 0): boolean {
  if (address === null || (addressHi ?? 0) !== 0) return false;
  const a = decodeMsiAddressLow(address);
  return a.inWindow && a.remappableFormat;
}
