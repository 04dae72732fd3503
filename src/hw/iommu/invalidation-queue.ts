// Queued invalidation (VT-d spec §6.5.2, §10.4.22–29): the descriptor ring in guest memory, processed
// synchronously when software writes IQT. Interrupt-entry-cache (type 4) and wait (type 5) descriptors
// act; context-cache, IOTLB, device-TLB and PASID descriptors (types 1–3, 6–8) are accepted and do nothing,
// since DMA translation is out of scope. Anything else, or a reserved bit set, stops the queue with IQE.
import {
  CTL_IM, CTL_IP, DESC_CONTEXT_CACHE, DESC_DEVICE_TLB, DESC_IEC, DESC_IOTLB, DESC_PASID_CACHE, DESC_PASID_DEVICE_TLB,
  DESC_PASID_IOTLB, DESC_TYPE_HIGH, DESC_WAIT, IEC_G_INDEX, IEC_RSVD_DW0, IEC_RSVD_DW1, ICS_IWC, IQA_DW, IQA_LO_WRITABLE,
  IQA_QS_MASK, IQ_INDEX_MASK, WAIT_IF, WAIT_RSVD_DW0, WAIT_RSVD_DW2, WAIT_SW,
} from './registers.js';

/** Guest-physical memory as the unit sees it (reads of tables and descriptors, the wait status write). */
export interface RemappingMemory {
  /** Fills `into` from guest-physical `address`; false (nothing read) unless every byte is memory. */
  read(address: number, into: Uint8Array): boolean;
  /** Writes `from` at `address`; false (nothing written) unless every byte is RAM. */
  write(address: number, from: Uint8Array): boolean;
}

/** Why the queue stopped (the event detail; IQER itself is not modelled). */
export type QueueErrorCause = 'invalid-tail' | 'descriptor-read' | 'invalid-type' | 'reserved-bits' | 'index-mask' | 'status-write';

export interface QueueHost {
  readonly memory: RemappingMemory;
  readonly mhmv: number;
  invalidate(global: boolean, index: number, mask: number): void;
  queueError(cause: QueueErrorCause, head: number): void;
  queueErrorPending(): boolean;
  sendCompletion(addressLo: number, addressHi: number, data: number): void;
  /** Counts a descriptor of `type` that was processed. */
  processed(type: number): void;
}

export interface QueueState {
  iqaLo: number;
  iqaHi: number;
  tail: number;
  head: number;
  enabled: boolean;
  ics: number;
  iectl: number;
  iedata: number;
  ieaddr: number;
  ieuaddr: number;
}

/** Physical address from two dwords; −1 when beyond 2^53 (no memory there, and not a safe number). */
export function physical(lo: number, hi: number): number {
  return hi >>> 0 >= 0x20_0000 ? -1 : (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);
}

export class InvalidationQueue {
  iqaLo = 0;
  iqaHi = 0;
  /** IQT as written (offset 18:4). */
  tail = 0;
  /** Index of the next descriptor to fetch (IQH reads it shifted by the descriptor size). */
  head = 0;
  /** GSTS.QIES. */
  enabled = false;
  private ics = 0;
  private iectl = CTL_IM;
  private iedata = 0;
  private ieaddr = 0;
  private ieuaddr = 0;
  private readonly buf = new Uint8Array(32);
  private readonly view = new DataView(this.buf.buffer);
  private readonly status = new Uint8Array(4);
  private readonly statusView = new DataView(this.status.buffer);

  constructor(private readonly host: QueueHost) {}

  private get wide(): boolean {
    return (this.iqaLo & IQA_DW) !== 0;
  }

  /** Entries in the ring: 2^(QS+8) of 128 bits, or half as many 256-bit ones (§10.4.24). */
  private get entries(): number {
    return 1 << ((this.iqaLo & IQA_QS_MASK) + (this.wide ? 7 : 8));
  }

  get iqh(): number {
    return (this.head << (this.wide ? 5 : 4)) >>> 0;
  }

  writeIqa(lo: number, hi: number): void {
    this.iqaLo = (lo & IQA_LO_WRITABLE) >>> 0;
    this.iqaHi = hi >>> 0;
  }

  /** GCMD.QIE 0→1: the ring starts at IQH = 0 (§10.4.4). */
  enable(): void {
    this.enabled = true;
    this.head = 0;
    this.process();
  }

  /** GCMD.QIE 1→0: allowed only with the ring drained (IQH = IQT); returns false otherwise. */
  disable(): boolean {
    if (this.iqh !== (this.tail & IQ_INDEX_MASK)) return false;
    this.enabled = false;
    this.head = 0;
    return true;
  }

  /** IQT write: fetch and process descriptors up to the new tail (§6.5.2). */
  writeIqt(lo: number): void {
    this.tail = (lo & IQ_INDEX_MASK) >>> 0;
    this.process();
  }

  /** Runs the ring from IQH to IQT unless disabled or stopped by an unserviced IQE. */
  process(): void {
    if (!this.enabled || this.host.queueErrorPending()) return;
    const shift = this.wide ? 5 : 4;
    // With 256-bit descriptors IQT bit 4 must be 0; a tail outside the ring is invalid too (§6.5.2.10).
    if ((this.wide && this.tail & 0x10) || this.tail >>> shift >= this.entries) {
      this.host.queueError('invalid-tail', this.head);
      return;
    }
    const tail = this.tail >>> shift;
    const base = physical(this.iqaLo & 0xffff_f000, this.iqaHi);
    const size = 1 << shift;
    while (this.head !== tail) {
      const at = base < 0 ? -1 : base + this.head * size;
      const into = size === 16 ? this.buf.subarray(0, 16) : this.buf;
      if (at < 0 || !this.host.memory.read(at, into)) {
        this.host.queueError('descriptor-read', this.head);
        return;
      }
      const cause = this.execute(size);
      if (cause !== null) {
        this.host.queueError(cause, this.head); // IQH keeps pointing at the bad descriptor
        return;
      }
      this.head = (this.head + 1) % this.entries;
    }
  }

  private dw(i: number): number {
    return this.view.getUint32(i * 4, true);
  }

  /** Acts on the descriptor in `buf`; returns why it is invalid, or null. */
  private execute(size: number): QueueErrorCause | null {
    const d0 = this.dw(0);
    const type = d0 & 0xf;
    if (d0 & DESC_TYPE_HIGH) return 'invalid-type';
    // 256-bit descriptors: bits 255:128 are reserved for the types this unit acts on.
    const upperClear = size === 16 || (this.dw(4) | this.dw(5) | this.dw(6) | this.dw(7)) === 0;
    switch (type) {
      case DESC_IEC: {
        if (d0 & IEC_RSVD_DW0 || this.dw(1) & IEC_RSVD_DW1 || this.dw(2) || this.dw(3) || !upperClear) return 'reserved-bits';
        const mask = d0 >>> 27;
        if (d0 & IEC_G_INDEX && mask > this.host.mhmv) return 'index-mask';
        this.host.invalidate(!(d0 & IEC_G_INDEX), this.dw(1) & 0xffff, mask);
        break;
      }
      case DESC_WAIT: {
        if (d0 & WAIT_RSVD_DW0 || this.dw(2) & WAIT_RSVD_DW2 || !upperClear) return 'reserved-bits';
        if (d0 & WAIT_SW) {
          this.statusView.setUint32(0, this.dw(1), true); // status data 63:32 to the address in 127:66
          const address = physical(this.dw(2) & ~3, this.dw(3));
          if (address < 0 || !this.host.memory.write(address, this.status)) return 'status-write';
        }
        if (d0 & WAIT_IF) this.completion();
        // FN (fence, WAIT_FN) needs nothing: every descriptor completes before the next is fetched.
        break;
      }
      case DESC_CONTEXT_CACHE:
      case DESC_IOTLB:
      case DESC_DEVICE_TLB:
      case DESC_PASID_IOTLB:
      case DESC_PASID_CACHE:
      case DESC_PASID_DEVICE_TLB:
        break; // DMA-remapping caches: nothing is cached, nothing to do
      default:
        return 'invalid-type';
    }
    this.host.processed(type);
    return null;
  }

  /** §6.5.2.8 invalidation completion event: ICS.IWC, then an interrupt unless masked or already pending. */
  private completion(): void {
    if (this.ics & ICS_IWC) return; // one outstanding completion is reported at a time (as QEMU)
    this.ics |= ICS_IWC;
    this.iectl = (this.iectl | CTL_IP) >>> 0;
    if (!(this.iectl & CTL_IM)) this.sendCompletion();
  }

  private sendCompletion(): void {
    this.iectl = (this.iectl & ~CTL_IP) >>> 0;
    this.host.sendCompletion(this.ieaddr, this.ieuaddr, this.iedata);
  }

  // ---- event registers (§10.4.25–29) -------------------------------------------------------

  get icsValue(): number {
    return this.ics;
  }
  get iectlValue(): number {
    return this.iectl >>> 0;
  }

  writeIcs(value: number): void {
    this.ics &= ~(value & ICS_IWC);
    if (!(this.ics & ICS_IWC)) this.iectl = (this.iectl & ~CTL_IP) >>> 0;
  }

  writeIectl(value: number): void {
    this.iectl = ((this.iectl & CTL_IP) | (value & CTL_IM)) >>> 0;
    if (this.iectl & CTL_IP && !(this.iectl & CTL_IM)) this.sendCompletion();
  }

  readData(which: 'data' | 'addr' | 'uaddr'): number {
    return (which === 'data' ? this.iedata : which === 'addr' ? this.ieaddr : this.ieuaddr) >>> 0;
  }

  writeData(which: 'data' | 'addr' | 'uaddr', value: number): void {
    if (which === 'data') this.iedata = value >>> 0;
    else if (which === 'addr') this.ieaddr = (value & ~3) >>> 0;
    else this.ieuaddr = value >>> 0;
  }

  save(): QueueState {
    return { iqaLo: this.iqaLo, iqaHi: this.iqaHi, tail: this.tail, head: this.head, enabled: this.enabled, ics: this.ics, iectl: this.iectl >>> 0, iedata: this.iedata, ieaddr: this.ieaddr, ieuaddr: this.ieuaddr };
  }

  load(s: QueueState): void {
    Object.assign(this, { iqaLo: s.iqaLo, iqaHi: s.iqaHi, tail: s.tail, head: s.head, enabled: s.enabled });
    this.ics = s.ics;
    this.iectl = s.iectl;
    this.iedata = s.iedata;
    this.ieaddr = s.ieaddr;
    this.ieuaddr = s.ieuaddr;
  }
}
