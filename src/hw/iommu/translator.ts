// Translation of a remappable-format interrupt request through the interrupt-remapping table (VT-d spec
// §5.1.2.2 the request, §5.1.4 remapping, §9.10 the IRTE) and the interrupt entry cache (§6.5.2.7): the
// table SIRTP latched, the entries cached by index, and the remapped interrupt composed from one of them.
import { physical, type RemappingMemory } from './invalidation-queue.js';
import { IRTE_DLM_SHIFT, IRTE_DM, IRTE_FPD, IRTE_P, IRTE_RH, IRTE_TM, IRTE_VECTOR_SHIFT, irteHasReservedBits, MSI_HANDLE15, MSI_SHV, sourceIdMatches } from './irte.js';
import * as R from './registers.js';

/** The remapped interrupt of the last translation, or the index and fault of the last refusal. */
export interface RemapOutput {
  /** APIC ID / logical MDA: 8 bits when x2apic is false, 32 when true (IRTA.EIME). */
  dest: number;
  x2apic: boolean;
  logical: boolean;
  redirectionHint: boolean;
  /** Compatibility MSI data: vector 7:0, delivery mode 10:8, level assert 14, trigger 15. */
  data: number;
  /** The interrupt index the request named (handle, + sub-handle with SHV). */
  index: number;
  /** Fault reason of a blocked request (0 otherwise). */
  reason: number;
}

/** translate() result for a fault whose IRTE had FPD set (added to the reason). */
export const FAULT_FPD = 0x100;

export class Translator {
  readonly out: RemapOutput = { dest: 0, x2apic: false, logical: false, redirectionHint: false, data: 0, index: 0, reason: 0 };
  /** The table latched by the last SIRTP (§10.4.31); no entries before the first. */
  baseLo = 0;
  baseHi = 0;
  entries = 0;
  eime = false;
  /** Present, well-formed IRTEs by index: dwords 0–2 (dword 3 is all reserved). */
  readonly cache: Map<number, Uint32Array> = new Map();
  cacheHits = 0;
  cacheMisses = 0;
  private readonly buf = new Uint8Array(16);
  private readonly view = new DataView(this.buf.buffer);

  constructor(private readonly memory: RemappingMemory) {}

  /** SIRTP: base, 2^(S+1) entries, EIME where the unit offers EIM. */
  latch(irtaLo: number, irtaHi: number, eimSupported: boolean): void {
    this.baseLo = (irtaLo & 0xffff_f000) >>> 0;
    this.baseHi = irtaHi >>> 0;
    this.entries = 2 ** ((irtaLo & R.IRTA_S_MASK) + 1);
    this.eime = (irtaLo & R.IRTA_EIME) !== 0 && eimSupported;
  }

  /**
   * A remappable-format request (address bit 4 set; the unit has checked everything else). Returns 0 with
   * `out` holding the remapped interrupt, or a fault reason, + FAULT_FPD when the IRTE suppresses recording.
   */
  translate(lo: number, data: number, sid: number): number {
    const out = this.out;
    // handle[14:0] in 19:5, handle[15] in bit 2; with SHV the sub-handle (data 15:0) is added, not ORed.
    const handle = ((lo >>> 5) & 0x7fff) | ((lo & MSI_HANDLE15) << 13);
    out.index = handle;
    if (lo & MSI_SHV) {
      if (data >>> 16 !== 0) return R.FR_RESERVED_REQUEST;
      out.index = handle + (data & 0xffff);
    }
    const index = out.index;
    if (index >= this.entries) return R.FR_INDEX_BEYOND_TABLE;
    let e = this.cache.get(index);
    if (e === undefined) {
      this.cacheMisses++;
      const base = physical(this.baseLo, this.baseHi);
      if (base < 0 || !this.memory.read(base + index * 16, this.buf)) return R.FR_TABLE_READ;
      const v = this.view;
      const w0 = v.getUint32(0, true);
      const w1 = v.getUint32(4, true);
      const w2 = v.getUint32(8, true);
      const fpd = w0 & IRTE_FPD ? FAULT_FPD : 0;
      if (!(w0 & IRTE_P)) return R.FR_NOT_PRESENT + fpd;
      if (irteHasReservedBits(w0, w1, w2, v.getUint32(12, true), this.eime)) return R.FR_RESERVED_IRTE + fpd;
      e = Uint32Array.of(w0, w1, w2);
      this.cache.set(index, e); // only present, well-formed entries are cached
    } else {
      this.cacheHits++;
    }
    const w0 = e[0]!;
    if (!sourceIdMatches(e[2]!, sid)) return R.FR_SOURCE_ID + (w0 & IRTE_FPD ? FAULT_FPD : 0);
    out.x2apic = this.eime;
    out.dest = this.eime ? e[1]! >>> 0 : (e[1]! >>> 8) & 0xff;
    out.logical = (w0 & IRTE_DM) !== 0;
    out.redirectionHint = (w0 & IRTE_RH) !== 0;
    // A level interrupt (TM) is sent asserted: data bits 15 and 14.
    out.data = (((w0 >>> IRTE_VECTOR_SHIFT) & 0xff) | (((w0 >>> IRTE_DLM_SHIFT) & 7) << 8) | (w0 & IRTE_TM ? 0xc000 : 0)) >>> 0;
    return 0;
  }

  /** IEC invalidation (§6.5.2.7): global, or the 2^mask entries of the aligned block holding `index`. Returns how many cached entries went. */
  invalidate(global: boolean, index: number, mask: number): number {
    const before = this.cache.size;
    if (global) {
      this.cache.clear();
      return before;
    }
    const first = index & ~((1 << mask) - 1);
    const end = first + (1 << mask);
    if (this.cache.size < end - first) {
      for (const k of [...this.cache.keys()]) if (k >= first && k < end) this.cache.delete(k);
    } else {
      for (let k = first; k < end; k++) this.cache.delete(k);
    }
    return before - this.cache.size;
  }
}
