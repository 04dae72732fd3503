// Guest RAM in a snapshot: only the 4 KiB pages holding a non-zero byte, as runs of consecutive pages
// in base64 (RFC 4648 §4, padded), so a 2 MiB board that used a few pages saves a few KiB of JSON.
import { describeValue } from '../hw/describe.js';
import { at, int, list, MachineStateError, record } from './state-check.js';
import { BIOS_ROM_BASE, BIOS_ROM_SIZE } from './memory-map.js';

export const RAM_PAGE_SIZE = 0x1000;

export interface RamImage {
  /** RAM size in bytes (the machine's ramSize). */
  size: number;
  /** Runs of consecutive pages that hold a non-zero byte, ascending; every other byte is 0. */
  runs: { address: number; data: string }[];
}

/** A checked run: where it goes and its bytes. */
export interface RamRun {
  address: number;
  bytes: Uint8Array;
}

export function saveRam(ram: Uint8Array): RamImage {
  const runs: RamImage['runs'] = [];
  const words = new Uint32Array(ram.buffer, ram.byteOffset, ram.length >>> 2); // RAM is whole pages
  let start = -1;
  for (let page = 0; page <= ram.length / RAM_PAGE_SIZE; page++) {
    let used = false;
    if (page < ram.length / RAM_PAGE_SIZE) {
      for (let w = page * (RAM_PAGE_SIZE / 4), end = w + RAM_PAGE_SIZE / 4; w < end && !used; w++) used = words[w] !== 0;
    }
    if (used && start < 0) start = page;
    if (!used && start >= 0) {
      runs.push({ address: start * RAM_PAGE_SIZE, data: encodeBase64(ram.subarray(start * RAM_PAGE_SIZE, page * RAM_PAGE_SIZE)) });
      start = -1;
    }
  }
  return { size: ram.length, runs };
}

/** Validates a RamImage for RAM of `size` bytes (errors name fields under `path`). */
export function checkRam(v: unknown, path: string, size: number): RamRun[] {
  const s = record(v, path, ['size', 'runs']);
  if (s.size !== size) throw new MachineStateError(at(path, 'size'), `${describeValue(s.size)} bytes; this machine has ${size} (ramSize)`);
  const runs = list(s.runs, at(path, 'runs'));
  let next = 0;
  return runs.map((r, i) => {
    const p = at(at(path, 'runs'), i);
    const e = record(r, p, ['address', 'data']);
    const address = int(e.address, at(p, 'address'), 0, size - RAM_PAGE_SIZE);
    if (address % RAM_PAGE_SIZE !== 0) throw new MachineStateError(at(p, 'address'), 'expected a multiple of 4 KiB (a page boundary)');
    if (address < next) throw new MachineStateError(at(p, 'address'), 'runs are listed in ascending order and do not overlap');
    const bytes = decodeBase64(e.data, at(p, 'data'));
    if (bytes.length === 0 || bytes.length % RAM_PAGE_SIZE !== 0) {
      throw new MachineStateError(at(p, 'data'), `${bytes.length} bytes: expected whole 4 KiB pages (truncated?)`);
    }
    if (address + bytes.length > size) throw new MachineStateError(at(p, 'data'), `ends at 0x${(address + bytes.length).toString(16)}, beyond the end of RAM`);
    // RAM behind the BIOS ROM is reachable by no access (CPU reads hit the ROM, writes are dropped), so it stays 0.
    const lo = Math.max(address, BIOS_ROM_BASE);
    const hi = Math.min(address + bytes.length, BIOS_ROM_BASE + BIOS_ROM_SIZE);
    for (let a = lo; a < hi; a++) {
      if (bytes[a - address] !== 0) throw new MachineStateError(at(p, 'data'), `non-zero byte at 0x${a.toString(16)}, behind the BIOS ROM where nothing can write`);
    }
    next = address + bytes.length;
    return { address, bytes };
  });
}

/** Zeroes `ram` and writes the checked runs. */
export function loadRam(ram: Uint8Array, runs: readonly RamRun[]): void {
  ram.fill(0);
  for (const r of runs) ram.set(r.bytes, r.address);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) CODE[ALPHABET.charCodeAt(i)] = i;

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    chunk += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + (i + 1 < bytes.length ? ALPHABET[(n >>> 6) & 63]! : '=') + (i + 2 < bytes.length ? ALPHABET[n & 63]! : '=');
    if (chunk.length >= 0x4000) {
      out += chunk;
      chunk = '';
    }
  }
  return out + chunk;
}

/** Strict decoding: the standard alphabet, padded to a multiple of 4, nothing else (no whitespace). */
export function decodeBase64(v: unknown, path: string): Uint8Array {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)) {
    throw new MachineStateError(path, `expected padded base64, got ${typeof v === 'string' ? `${v.length} characters that are not` : describeValue(v)}`);
  }
  const pad = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((v.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < v.length; i += 4) {
    const n = (CODE[v.charCodeAt(i)]! << 18) | (CODE[v.charCodeAt(i + 1)]! << 12) | (Math.max(0, CODE[v.charCodeAt(i + 2)]!) << 6) | Math.max(0, CODE[v.charCodeAt(i + 3)]!);
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}
