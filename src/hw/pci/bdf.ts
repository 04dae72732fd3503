// Bus/device/function numbers of PCI Local Bus 3.0 §3.2.2.3 (8-bit bus, 5-bit device, 3-bit function).
// Accepts lspci-style strings ("00:03.0", optional "0000:" segment); segments other than 0 are not modelled.
import { PciUsageError } from './errors.js';
import { describeValue } from '../describe.js';

export interface Bdf {
  bus: number;
  dev: number;
  fn: number;
}

const BDF_RE = /^(?:0{4}:)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i;

/** Parse "bb:dd.f" (hex) or validate an object form; throws PciUsageError on anything else. */
export function parseBdf(bdf: string | Bdf): Bdf {
  if (typeof bdf === 'string') {
    const m = BDF_RE.exec(bdf);
    if (m === null) throw new PciUsageError(`BDF ${describeValue(bdf)} is not of the form bb:dd.f (hex, device ≤ 1f, function ≤ 7)`);
    return checkBdf({ bus: parseInt(m[1]!, 16), dev: parseInt(m[2]!, 16), fn: parseInt(m[3]!, 16) });
  }
  if (typeof bdf !== 'object' || bdf === null || Array.isArray(bdf)) throw new PciUsageError(`BDF must be a string or {bus, dev, fn}, got ${describeValue(bdf)}`);
  for (const k of Object.keys(bdf)) if (k !== 'bus' && k !== 'dev' && k !== 'fn') throw new PciUsageError(`BDF field ${k} is not bus, dev or fn`);
  return checkBdf({ bus: bdf.bus, dev: bdf.dev, fn: bdf.fn });
}

function checkBdf(b: Bdf): Bdf {
  const ok = (v: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  if (!ok(b.bus, 0xff) || !ok(b.dev, 0x1f) || !ok(b.fn, 7)) {
    throw new PciUsageError(`BDF {bus: ${describeValue(b.bus)}, dev: ${describeValue(b.dev)}, fn: ${describeValue(b.fn)}} out of range (bus ≤ 255, dev ≤ 31, fn ≤ 7)`);
  }
  return b;
}

/** "bb:dd.f", lower-case hex, as lspci prints it. */
export function formatBdf(b: Bdf): string {
  const v = parseBdf(b);
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(v.bus, 2)}:${h(v.dev, 2)}.${v.fn}`;
}

/** Routing key: bus << 8 | dev << 3 | fn (the "devfn" layout of CONFIG_ADDRESS bits 23:8). */
export function bdfKey(b: Bdf): number {
  return (b.bus << 8) | (b.dev << 3) | b.fn;
}
