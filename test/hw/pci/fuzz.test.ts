// Config-space writes by a hostile guest, judged against the specification, not the model's masks.
// The oracle is a per-register table of RO / RW / RW1C bits written down from PCI Local Bus 3.0 §6.2
// (type 0 header), §6.8.1 (MSI) and §6.8.2 (MSI-X) — see SPEC below — laid over what each function
// advertises (its capability chain, Message Control bits, the BARs it was built with). Every offset,
// width and a spread of values is swept on each function; then seeded random sequences mix guest
// writes through CF8/CFC and ECAM with device-side events (messages fired while masked, error bits).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BarSpec } from '../../../src/hw/pci/bar.js';
import { PciUsageError } from '../../../src/hw/pci/errors.js';
import { MsiEndpoint } from '../../../src/hw/pci/msi-endpoint.js';
import type { PciFunction } from '../../../src/hw/pci/pci-function.js';
import type { PciHost } from '../../../src/hw/pci/pci-host.js';
import { fcParams, intRng, withSeed } from '../../fuzz/params.js';
import { capabilityChain, cf8, ecam, makeHost, plainFunction } from './helpers.js';

// ---- The specification, as tables ----------------------------------------------------------------

/** Bits of one register: RW takes the written value, RW1C clears where 1 is written, the rest is RO. */
interface Bits {
  rw?: number;
  w1c?: number;
}

const SPEC = {
  // PCI 3.0 §6.2.2 Command: 0 I/O space, 1 memory space, 2 bus master, 10 interrupt disable are the
  // features this function implements (src/hw/pci/header.ts); 3 special cycles, 4 MWI, 5 VGA snoop,
  // 6 parity response, 8 SERR#, 9 fast back-to-back are optional and not implemented, so hardwired
  // 0 (RO); 7 and 15:11 are reserved (RO 0).
  command: { rw: (1 << 0) | (1 << 1) | (1 << 2) | (1 << 10) },
  // §6.2.3 Status: 8 master data parity error, 11 signaled target abort, 12 received target abort,
  // 13 received master abort, 14 signaled system error, 15 detected parity error are RW1C; 3 interrupt
  // status, 4 capabilities list, 5 66 MHz, 7 fast back-to-back, 10:9 DEVSEL timing are RO; 2:0, 6 reserved.
  status: { w1c: (1 << 8) | (0x1f << 11) },
  // §6.2.4 Cache Line Size: read/write.
  cacheLineSize: { rw: 0xff },
  // §6.2.4 Latency Timer: may be read-only for a master bursting at most two data phases (an MSI is one
  // DWORD write) — hardwired 0 here, as PCIe requires. Header type, BIST (not supported → 0): RO.
  // §6.2.4 Interrupt Line: read/write scratch for software. Interrupt Pin, Min_Gnt, Max_Lat: RO.
  interruptLine: { rw: 0xff },
  // §6.8.1.3 MSI Message Control: 0 MSI enable RW; 3:1 multiple message capable RO; 6:4 multiple
  // message enable RW; 7 64-bit address capable RO; 8 per-vector masking capable RO; 15:9 reserved.
  msiControl: { rw: 0x0001 | 0x0070 },
  // §6.8.1.4 Message Address: 1:0 reserved (read 0, writes have no effect); §6.8.1.5 upper address
  // and §6.8.1.6 message data (16 bits) RW.
  msiAddress: { rw: 0xffff_fffc },
  msiUpper: { rw: 0xffff_ffff },
  msiData: { rw: 0xffff },
  // §6.8.2.3 MSI-X Message Control: 10:0 table size RO, 13:11 reserved, 14 function mask RW, 15 MSI-X
  // enable RW. §6.8.2.4/5 table offset/BIR and PBA offset/BIR: RO.
  msixControl: { rw: (1 << 14) | (1 << 15) },
} satisfies Record<string, Bits>;

/** PCI 3.0 §6.8.1 Figure 6-9: register offsets of the four MSI layouts (docs/DESIGN.md F3). */
function msiLayout(is64: boolean, pvm: boolean) {
  const data = is64 ? 0x0c : 0x08;
  return { address: 0x04, upper: is64 ? 0x08 : null, data, mask: pvm ? data + 4 : null, pending: pvm ? data + 8 : null, length: pvm ? data + 0x0c : data + 2 };
}

interface Oracle {
  rw: Uint8Array;
  w1c: Uint8Array;
  /** MSI capability as advertised, when present. */
  msi: { at: number; mmc: number; layout: ReturnType<typeof msiLayout> } | null;
}

/**
 * The per-byte oracle of a function: built from the tables above and from what the function
 * advertises to a guest (the capability chain, Message Control, MSI-X table size), plus the BARs it
 * was built with (§6.2.5.1: a BAR of size 2^n has address bits 31:n writable, 3:0 / 1:0 type bits RO,
 * the bits between RO 0; a 64-bit BAR's upper dword is writable above bit n − 32; absent BARs RO 0).
 */
function oracleFor(fn: PciFunction, bars: (BarSpec | null)[]): Oracle {
  const rw = new Uint8Array(0x1000);
  const w1c = new Uint8Array(0x1000);
  const put = (at: number, size: number, b: Bits) => {
    for (let i = 0; i < size; i++) {
      rw[at + i] = ((b.rw ?? 0) >>> (8 * i)) & 0xff;
      w1c[at + i] = ((b.w1c ?? 0) >>> (8 * i)) & 0xff;
    }
  };
  put(0x04, 2, SPEC.command);
  put(0x06, 2, SPEC.status);
  put(0x0c, 1, SPEC.cacheLineSize);
  put(0x3c, 1, SPEC.interruptLine);
  for (let i = 0; i < 6; i++) {
    const bar = bars[i];
    if (!bar) continue;
    const size = BigInt(bar.size);
    const writable = ((1n << 64n) - 1n) ^ (size - 1n);
    const low = Number(writable & (bar.kind === 'io' ? 0xffff_fffcn : 0xffff_fff0n));
    put(0x10 + 4 * i, 4, { rw: low });
    if (bar.kind === 'memory64') {
      put(0x14 + 4 * i, 4, { rw: Number((writable >> 32n) & 0xffff_ffffn) });
      i++;
    }
  }
  let msi: Oracle['msi'] = null;
  for (const [at, id] of capabilityChain(fn)) {
    if (id === 0x05) {
      const ctrl = fn.configRead(at + 2, 2);
      const mmc = (ctrl >> 1) & 7;
      const layout = msiLayout((ctrl & 0x80) !== 0, (ctrl & 0x100) !== 0);
      put(at + 2, 2, SPEC.msiControl);
      put(at + layout.address, 4, SPEC.msiAddress);
      if (layout.upper !== null) put(at + layout.upper, 4, SPEC.msiUpper);
      put(at + layout.data, 2, SPEC.msiData);
      // §6.8.1.7 Mask Bits: one RW bit per message the function can send (2^MMC); the rest reserved.
      if (layout.mask !== null) put(at + layout.mask, 4, { rw: mmc === 5 ? 0xffff_ffff : (1 << (1 << mmc)) - 1 });
      msi = { at, mmc, layout };
    } else if (id === 0x11) {
      put(at + 2, 2, SPEC.msixControl);
    } else {
      throw new Error(`capability 0x${id.toString(16)} at 0x${at.toString(16)} has no spec table in this test`);
    }
  }
  return { rw, w1c, msi };
}

// ---- The functions under test ----------------------------------------------------------------------

interface Dut {
  bus: number;
  dev: number;
  fn: number;
  f: PciFunction;
  ep: MsiEndpoint | null;
  bars: (BarSpec | null)[];
  oracle: Oracle;
}

function rig() {
  const { host, writes, events } = makeHost();
  const mem4k: BarSpec = { kind: 'memory32', size: 0x1000 };
  const make = (bus: number, dev: number, fn: number, f: PciFunction, bars: (BarSpec | null)[]) => ({ bus, dev, fn, f, ep: f instanceof MsiEndpoint ? f : null, bars });
  const plain = plainFunction({ interruptPin: 4 });
  plain.addBar(0, { kind: 'memory64', size: 1n << 33n, prefetchable: true });
  plain.addBar(4, { kind: 'io', size: 16 });
  const msixBar = (n: number): BarSpec => ({ kind: 'memory32', size: Math.max(0x1000, 2 ** Math.ceil(Math.log2(n * 16 + Math.ceil(n / 64) * 8))) });
  const list = [
    make(0, 3, 0, new MsiEndpoint({ msi: { vectors: 32, is64: true, pvm: true }, msix: { tableSize: 70 } }), [mem4k, msixBar(70), null, null, null, null]),
    make(0, 4, 0, new MsiEndpoint({ msi: { vectors: 4, is64: false, pvm: true }, intxPin: 3 }), [mem4k, null, null, null, null, null]),
    make(0, 5, 0, new MsiEndpoint({ msi: { vectors: 2, is64: true, pvm: false }, intxPin: 0, barSize: 64 }), [{ kind: 'memory32', size: 64 }, null, null, null, null, null]),
    make(0, 6, 0, plain, [{ kind: 'memory64', size: 1n << 33n, prefetchable: true }, null, null, null, { kind: 'io', size: 16 }, null]),
    make(0, 6, 1, plainFunction(), [null, null, null, null, null, null]),
    make(1, 0, 0, new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false }, msix: { tableSize: 1 } }), [mem4k, msixBar(1), null, null, null, null]),
    make(2, 31, 7, new MsiEndpoint({ msi: { vectors: 8, is64: true, pvm: true }, intxPin: 2 }), [mem4k, null, null, null, null, null]),
  ];
  for (const d of list) host.add({ bus: d.bus, dev: d.dev, fn: d.fn }, d.f);
  const duts: Dut[] = list.map((d) => ({ ...d, oracle: oracleFor(d.f, d.bars) }));
  return { host, writes, events, duts };
}

// ---- Applying the oracle -----------------------------------------------------------------------------

/** A guest access as it reaches config space: through ECAM or CF8/CFC, or dropped on the way. */
type Via = 'ecam' | 'cf8' | 'cf8-disabled';

/** Performs the guest write; returns whether it reached the function (the rules of §3.2.2.3.2 / ECAM). */
function guestWrite(host: PciHost, d: Dut, via: Via, reg: number, size: 1 | 2 | 4, value: number): boolean {
  if (via === 'ecam') {
    host.ecamWrite(ecam(d.bus, d.dev, d.fn, reg), size, value); // a dword-crossing access is dropped
    return (reg & 3) + size <= 4;
  }
  if (reg >= 0x100) return false; // CF8 reaches only the first 256 bytes
  host.ioWrite(0xcf8, 4, via === 'cf8' ? cf8(d.bus, d.dev, d.fn, reg) : cf8(d.bus, d.dev, d.fn, reg) & 0x7fff_ffff);
  const port = 0xcfc + (reg & 3);
  if (port + size > 0xd00) return false; // not a config data access: the host does not claim it
  host.ioWrite(port, size, value);
  return via === 'cf8';
}

/** What the guest reads back through the same path (all ones when the access is not claimed). */
function guestRead(host: PciHost, d: Dut, reg: number, size: 1 | 2 | 4): number | null {
  if (reg >= 0x100 || (reg & 3) + size > 4) return host.ecamRead(ecam(d.bus, d.dev, d.fn, reg), size);
  host.ioWrite(0xcf8, 4, cf8(d.bus, d.dev, d.fn, reg));
  return host.ioRead(0xcfc + (reg & 3), size);
}

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Checks one guest write against the oracle: `before` is the config space before it, `sent` the MSI
 * data values that left the function during it. Returns a description of the first violation.
 */
function judgeWrite(d: Dut, before: Uint8Array, reached: boolean, reg: number, size: number, value: number, sent: number[]): string | null {
  const after = d.f.config.snapshot();
  const { rw, w1c, msi } = d.oracle;
  const want = before.slice();
  if (reached) {
    for (let i = 0; i < size; i++) {
      const at = reg + i;
      const b = (value >>> (8 * i)) & 0xff;
      want[at] = ((before[at]! & ~rw[at]!) | (b & rw[at]!)) & ~(b & w1c[at]!);
    }
  }
  let pendingSent = 0;
  if (msi !== null) {
    const c = msi.at + 2;
    // Model choice (src/hw/pci/msi-capability.ts, documented): MME written above MMC reads MMC.
    if ((((want[c]! >> 4) & 7) > msi.mmc)) want[c] = (want[c]! & ~0x70) | (msi.mmc << 4);
    const p = msi.layout.pending;
    if (p !== null) {
      const at = msi.at + p;
      const rd = (a: Uint8Array, o: number) => (a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24)) >>> 0;
      const was = rd(before, at);
      const now = rd(after, at);
      // §6.8.1.8 Pending Bits are read-only: a write never sets one. One clears only when its message
      // is sent (enabled, unmasked, bus master on), or (model choice) when MME drops below it.
      if ((now & ~was) !== 0) return `pending bits ${hex(now & ~was)} set by a guest write`;
      const ctrl = want[c]! | (want[c + 1]! << 8);
      const mme = (ctrl >> 4) & 7;
      const mask = rd(want, msi.at + msi.layout.mask!);
      const canSend = (ctrl & 1) !== 0 && ((want[4]! | (want[5]! << 8)) & 4) !== 0;
      for (let i = 0; i < 32; i++) {
        const bit = (1 << i) >>> 0;
        if (!(was & bit)) continue;
        const live = i < 1 << mme;
        const mustGo = live && canSend && !(mask & bit);
        if (!live && now & bit) return `pending bit ${i} kept beyond 2^MME = ${1 << mme}`;
        if (mustGo && now & bit) return `pending message ${i} not sent although enabled, unmasked and bus master on`;
        if (live && !mustGo && !(now & bit)) return `pending bit ${i} cleared without its message being sent`;
        if (mustGo) pendingSent++;
      }
      for (let k = 0; k < 4; k++) want[at + k] = after[at + k]!;
    }
  }
  if (sent.length !== pendingSent) return `${sent.length} message(s) sent, ${pendingSent} pending bit(s) cleared`;
  const limit = reached && reg >= 0x100 ? 0x1000 : 0x100;
  for (let i = 0; i < limit; i++) {
    if (after[i] !== want[i]) {
      return `byte ${hex(i)} is ${hex(after[i]!)}, the spec says ${hex(want[i]!)} (before ${hex(before[i]!)}; rw ${hex(rw[i]!)} w1c ${hex(w1c[i]!)})`;
    }
  }
  if (reached && reg >= 0x100 && after[reg] !== 0) return `extended config byte ${hex(reg)} reads ${hex(after[reg]!)}: no extended capability exists`;
  return null;
}

function writeAndJudge(host: PciHost, writes: { data: number }[], d: Dut, via: Via, reg: number, size: 1 | 2 | 4, value: number): void {
  const before = d.f.config.snapshot();
  const n = writes.length;
  const reached = guestWrite(host, d, via, reg, size, value);
  const problem = judgeWrite(d, before, reached, reg, size, value, writes.slice(n).map((w) => w.data));
  if (problem !== null) throw new Error(`${via} write of ${hex(value)} (${size} B) at ${hex(reg)} of ${d.f.label}: ${problem}`);
  if ((reg & 3) + size <= 4) {
    const got = guestRead(host, d, reg, size);
    const want = d.f.config.getRaw(reg, size);
    if (got !== want) throw new Error(`${d.f.label} ${hex(reg)}: guest reads ${String(got)}, the register holds ${want}`);
  }
}

// ---- Properties ------------------------------------------------------------------------------------

describe('config write fuzz against the specification (PCI 3.0 §6.2, §6.8)', () => {
  it('the oracle matches what each function advertises (and is not vacuous)', () => {
    const { duts } = rig();
    for (const d of duts) {
      // Header type: single function except 00:06.0 (function 1 exists); Interrupt Pin as built.
      expect(d.f.configRead(0x0e, 1)).toBe(d.dev === 6 && d.fn === 0 ? 0x80 : 0x00);
      expect(d.oracle.rw.reduce((n, b) => n + b, 0)).toBeGreaterThan(0);
    }
    const [ep] = duts;
    expect(capabilityChain(ep!.f).map(([, id]) => id)).toEqual([0x05, 0x11]);
    expect(ep!.oracle.msi).toMatchObject({ mmc: 5, layout: { mask: 0x10, pending: 0x14 } });
  });

  it('every offset, width and a spread of values on every function, through ECAM and CF8/CFC', () => {
    withSeed(0xc0f16, (seed) => {
      const { host, writes, duts } = rig();
      const next = intRng(seed);
      let n = 0;
      for (const d of duts) {
        for (let reg = 0; reg < 0x1000; reg++) {
          for (const size of [1, 2, 4] as const) {
            if ((reg & 3) + size > 4 && reg >= 0x100 && next(8) !== 0) continue; // crossing: sampled
            const r = (next(0x10000) << 16) | next(0x10000);
            const patterns = reg < 0x100 ? [0xffff_ffff, 0, r >>> 0, ~r >>> 0] : [0xffff_ffff, r >>> 0];
            for (const p of patterns) {
              const value = size === 4 ? p : p & ((1 << (8 * size)) - 1);
              writeAndJudge(host, writes, d, reg >= 0x100 || next(2) === 0 ? 'ecam' : 'cf8', reg, size, value);
              n++;
            }
          }
        }
      }
      expect(n).toBeGreaterThan(100_000);
    });
  });

  it('RW1C status bits: set by the device, cleared only by writing 1 (§6.2.3)', () => {
    const { host, writes, duts } = rig();
    for (const d of duts) {
      for (let bit = 0; bit < 16; bit++) {
        const mask = 1 << bit;
        if (!(SPEC.status.w1c & mask)) continue;
        d.f.config.setBits(0x06, 2, mask, true); // the device reports the error
        writeAndJudge(host, writes, d, 'cf8', 0x06, 2, 0); // 0 leaves it
        expect(d.f.status & mask).toBe(mask);
        writeAndJudge(host, writes, d, 'ecam', 0x06, 2, ~mask & 0xffff); // 1s elsewhere leave it
        expect(d.f.status & mask).toBe(mask);
        writeAndJudge(host, writes, d, 'ecam', 0x07, 1, mask >> 8); // byte write of 1 clears it
        expect(d.f.status & mask).toBe(0);
      }
    }
  });

  it('seeded random sequences: guest writes by every path, device-side events in between', () => {
    const step = fc.oneof(
      { weight: 12, arbitrary: fc.record({ kind: fc.constant('write' as const), dev: fc.nat(6), via: fc.constantFrom<Via>('ecam', 'ecam', 'cf8', 'cf8', 'cf8-disabled'), reg: fc.oneof({ weight: 6, arbitrary: fc.nat(0x7f) }, { weight: 1, arbitrary: fc.nat(0xfff) }), size: fc.constantFrom<1 | 2 | 4>(1, 2, 4), value: fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(0, 0xffff_ffff, 0xfee0_0000, 0x0000_0071, 0x0000_0005, 0x0000_0007)) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('fire' as const), dev: fc.nat(6), index: fc.nat(31) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('error' as const), dev: fc.nat(6), bit: fc.constantFrom(8, 11, 12, 13, 14, 15) }) },
      // What a driver does (so that the random writes meet enabled, masked and pending states):
      // bus master on, MSI enabled with some MME, some mask bits.
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('driver' as const), dev: fc.nat(6), mme: fc.nat(5), mask: fc.nat({ max: 0xffff_ffff }) }) },
    );
    let fired = 0;
    let pended = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 100, maxLength: 400 }), (steps) => {
        const { host, writes, duts } = rig();
        for (const s of steps) {
          const d = duts[s.dev]!;
          if (s.kind === 'write') {
            const value = s.size === 4 ? s.value : s.value & ((1 << (8 * s.size)) - 1);
            writeAndJudge(host, writes, d, s.via, s.reg, s.size, value);
          } else if (s.kind === 'driver') {
            const msi = d.oracle.msi;
            if (msi === null) continue;
            writeAndJudge(host, writes, d, 'ecam', 0x04, 2, 0x0006);
            if (msi.layout.mask !== null) writeAndJudge(host, writes, d, 'cf8', msi.at + msi.layout.mask, 4, s.mask);
            writeAndJudge(host, writes, d, 'ecam', msi.at + 2, 2, (s.mme << 4) | 1);
          } else if (s.kind === 'fire') {
            // Device side: the function signals message `index` (MSI: pending while masked).
            if (d.ep?.msi && d.ep.msi.enabled && s.index < 32) {
              const out = d.ep.msi.fire(s.index);
              fired++;
              if (out.result === 'pending') pended++;
            }
          } else {
            d.f.config.setBits(0x06, 2, 1 << s.bit, true);
          }
        }
      }),
      fcParams(0xc0f17, 60),
    );
    expect(fired).toBeGreaterThan(100);
    expect(pended).toBeGreaterThan(5);
  });

  it('CONFIG_ADDRESS (0xCF8): bits 30:24 and 1:0 read 0, the rest holds what was written; narrow accesses are not claimed (§3.2.2.3.2)', () => {
    const { host } = rig();
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(0xcf8, 0xcf9, 0xcfa, 0xcfb), fc.constantFrom<1 | 2>(1, 2), (v, port, size) => {
        host.ioWrite(0xcf8, 4, v);
        expect(host.ioRead(0xcf8, 4)).toBe((v & 0x80ff_fffc) >>> 0);
        if (port + size <= 0xcfc) {
          expect(host.ioWrite(port, size, v & ((1 << (8 * size)) - 1))).toBe(false);
          expect(host.ioRead(port, size)).toBeNull();
          expect(host.ioRead(0xcf8, 4)).toBe((v & 0x80ff_fffc) >>> 0);
        }
      }),
      fcParams(0xc0f18, 500),
    );
  });

  it('values that do not fit the access width are typed errors, never a silent write', () => {
    const { host, duts } = rig();
    const d = duts[0]!;
    for (const [size, value] of [[1, 0x100], [2, 0x1_0000], [4, 2 ** 32], [1, -1], [4, 1.5], [2, NaN]] as const) {
      const before = d.f.config.snapshot();
      expect(() => host.ecamWrite(ecam(0, 3, 0, 0x3c), size, value)).toThrow(PciUsageError);
      expect(d.f.config.snapshot()).toEqual(before);
    }
  });
});
