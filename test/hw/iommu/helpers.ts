// Test bench for the remapping unit: 1 MiB of guest RAM, a log of the unit's own MSIs and of its events,
// and the register sequences a driver uses (the order of Linux's intel/irq_remapping.c).
import { RemappingUnit, type RemappingEvent, type RemappingUnitOptions } from '../../../src/hw/iommu/remapping-unit.js';

export const RAM_SIZE = 0x10_0000;
export const IRT_BASE = 0x4_0000; // the table (S = 7: 256 entries = 4 KiB; S ≤ 11 fits below IQ_BASE)
export const IQ_BASE = 0x8_0000; // the invalidation queue (QS = 0: one 4 KiB page)
export const STATUS = 0x9_0000; // where wait descriptors write their status

// Register offsets (VT-d §10.4).
export const VER = 0x00, CAP = 0x08, ECAP = 0x10, GCMD = 0x18, GSTS = 0x1c, RTADDR = 0x20, CCMD = 0x28;
export const FSTS = 0x34, FECTL = 0x38, FEDATA = 0x3c, FEADDR = 0x40, FEUADDR = 0x44;
export const IQH = 0x80, IQT = 0x88, IQA = 0x90, ICS = 0x9c, IECTL = 0xa0, IEDATA = 0xa4, IEADDR = 0xa8, IEUADDR = 0xac, IQER = 0xb0, IRTA = 0xb8;
export const FRCD = 0x220;
export const TE = 1 << 31, SRTP = 1 << 30, QIE = 1 << 26, IRE = 1 << 25, SIRTP = 1 << 24, CFI = 1 << 23;
export const PFO = 1 << 0, PPF = 1 << 1, IQE = 1 << 4;
export const IM = 1 << 31, IP = 1 << 30;

export type Bench = ReturnType<typeof makeUnit>;

export function makeUnit(options: Omit<RemappingUnitOptions, 'memory' | 'interrupt' | 'onEvent'> = {}) {
  const ram = new Uint8Array(RAM_SIZE);
  const view = new DataView(ram.buffer);
  const sent: { lo: number; hi: number; data: number }[] = [];
  const events: RemappingEvent[] = [];
  const unit = new RemappingUnit({
    ...options,
    memory: {
      read: (a, into) => {
        if (a < 0 || a + into.length > RAM_SIZE) return false;
        into.set(ram.subarray(a, a + into.length));
        return true;
      },
      write: (a, from) => {
        if (a < 0 || a + from.length > RAM_SIZE) return false;
        ram.set(from, a);
        return true;
      },
    },
    interrupt: (lo, hi, data) => sent.push({ lo, hi, data }),
    onEvent: (e) => events.push(e),
  });
  let tail = 0; // descriptors submitted so far (128-bit)
  const b = {
    unit, ram, view, sent, events,
    /** Store an IRTE (two 64-bit halves, as encodeIrte returns them) at `index` of a table at `base`. */
    putIrte(index: number, e: { low: bigint; high: bigint }, base = IRT_BASE): void {
      view.setBigUint64(base + index * 16, e.low, true);
      view.setBigUint64(base + index * 16 + 8, e.high, true);
    },
    /** IRTA = base | EIME | S, then SIRTP (keeping the enables Linux keeps in its GCMD shadow). */
    setTable(s = 7, eime = false, base = IRT_BASE): void {
      unit.write64(IRTA, BigInt(base) | (eime ? 1n << 11n : 0n) | BigInt(s));
      unit.write32(GCMD, (unit.read32(GSTS) & (QIE | IRE | CFI)) | SIRTP);
    },
    /** IQT = 0, IQA = queue (QS 0, DW 0), QIE; the queue restarts at descriptor 0. */
    enableQi(iqa = IQ_BASE): void {
      unit.write64(IQT, 0n);
      unit.write64(IQA, BigInt(iqa));
      unit.write32(GCMD, (unit.read32(GSTS) & (IRE | CFI)) | QIE);
      tail = 0;
    },
    enableIr(): void {
      unit.write32(GCMD, (unit.read32(GSTS) & (QIE | CFI)) | IRE);
    },
    /** Linux's order: QI, table + SIRTP, global IEC, IRE. */
    enableAll(s = 7, eime = false): void {
      b.enableQi();
      b.setTable(s, eime);
      b.submit([iecGlobal()]);
      b.enableIr();
    },
    /** Writes 128-bit descriptors (four dwords each) at the tail and moves IQT past them. */
    submit(descs: number[][]): void {
      for (const d of descs) {
        d.forEach((w, i) => view.setUint32(IQ_BASE + ((tail % 256) * 16) + i * 4, w >>> 0, true));
        tail++;
      }
      unit.write32(IQT, (tail % 256) << 4);
    },
    get tail(): number {
      return tail;
    },
    /** A remappable MSI: handle, SHV, data; requester `sid`. */
    msi(handle: number, data = 0, sid = 0x18, shv = true): number {
      const lo = (0xfee0_0000 | ((handle & 0x7fff) << 5) | 0x10 | (shv ? 8 : 0) | ((handle >>> 15) << 2)) >>> 0;
      return unit.interrupt(lo, 0, data, sid);
    },
    faults(): Extract<RemappingEvent, { kind: 'fault' }>[] {
      return events.filter((e): e is Extract<RemappingEvent, { kind: 'fault' }> => e.kind === 'fault');
    },
  };
  return b;
}

/** IEC descriptors (§6.5.2.7): type 4; G = 0 global; G = 1 index-selective with IM 31:27, IIDX 47:32. */
export const iecGlobal = (): number[] => [4, 0, 0, 0];
export const iecIndex = (index: number, im = 0): number[] => [(4 | (1 << 4) | (im << 27)) >>> 0, index, 0, 0];
/** Wait descriptor (§6.5.2.8): type 5, IF 4, SW 5, status data 63:32, status address 127:66. */
export const wait = (o: { sw?: boolean; iflag?: boolean; data?: number; address?: number }): number[] => [
  5 | (o.iflag ? 1 << 4 : 0) | (o.sw ? 1 << 5 : 0), o.data ?? 0, (o.address ?? STATUS) >>> 0, 0,
];

/** Fault recording register `n`, high qword: F 63, FR 39:32, SID 15:0; low qword: FI (index in 63:48). */
export function record(unit: RemappingUnit, n: number): { fi: bigint; hi: bigint } {
  return { fi: unit.read64(FRCD + 16 * n), hi: unit.read64(FRCD + 16 * n + 8) };
}
export const recordHi = (reason: number, sid: number, f = true): bigint => (f ? 1n << 63n : 0n) | (BigInt(reason) << 32n) | BigInt(sid);
