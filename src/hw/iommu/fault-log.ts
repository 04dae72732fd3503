// Primary fault logging of a remapping unit (VT-d spec §7.2.1, §7.3.1, §10.4.9–14): fault recording
// registers, FSTS, the fault event control/data/address registers and the fault event interrupt.
// Left out: advanced fault logging (CAP.AFL = 0) and fault collapsing (QEMU merges faults of one SID; we record each).
import {
  CTL_IM, CTL_IP, FSTS_EVENT_CONDITIONS, FSTS_FRI_SHIFT, FSTS_IQE, FSTS_PFO, FSTS_PPF, FSTS_RW1C,
} from './registers.js';

/** Fault record high qword: F (bit 63) is RW1C; FR in 39:32, SID in 15:0 (§10.4.14). */
const FRCD_F = 1 << 31; // bit 63 = bit 31 of the fourth dword

/** What happened to a fault: written to a record, refused because PFO was already set, or overflowed into PFO. */
export type FaultRecording = 'recorded' | 'overflow' | 'lost';

export interface FaultRecordState {
  /** Interrupt index (FI 63:48). */
  index: number;
  sourceId: number;
  reason: number;
  /** F: the record holds a fault software has not cleared. */
  pending: boolean;
}

export interface FaultLogState {
  records: FaultRecordState[];
  /** PFO, IQE, ICE, ITE as FSTS holds them (PPF and FRI are derived / separate). */
  status: number;
  fri: number;
  next: number;
  fectl: number;
  fedata: number;
  feaddr: number;
  feuaddr: number;
}

/** The unit side of the log: sends the fault event MSI, hears when IQE is cleared. */
export interface FaultLogHost {
  sendEvent(addressLo: number, addressHi: number, data: number): void;
  queueErrorCleared(): void;
}

export class FaultLog {
  /** Four dwords per record, as the registers read. */
  private readonly frcd: Uint32Array;
  private status = 0;
  private fri = 0;
  /** The record the next fault goes to (round robin, §7.2.1). */
  private next = 0;
  private fectl = CTL_IM;
  private fedata = 0;
  private feaddr = 0;
  private feuaddr = 0;

  constructor(
    readonly count: number,
    private readonly host: FaultLogHost,
  ) {
    this.frcd = new Uint32Array(count * 4);
  }

  /** FSTS as software reads it: PPF is set while any record has F set; FRI names the first one (§10.4.9). */
  get fsts(): number {
    return (this.status | (this.ppf() ? FSTS_PPF : 0) | (this.fri << FSTS_FRI_SHIFT)) >>> 0;
  }

  get fectlValue(): number {
    return this.fectl >>> 0;
  }

  /** Logs an interrupt-remapping fault (FI = index << 48, no T bit). */
  record(reason: number, index: number, sourceId: number): FaultRecording {
    if (this.status & FSTS_PFO) return 'lost'; // §7.2.1: nothing is recorded while PFO is set
    const at = this.next * 4;
    const before = this.conditions();
    if (this.frcd[at + 3]! & FRCD_F) {
      this.status |= FSTS_PFO; // the record we would use is still pending: overflow
      this.after(before);
      return 'overflow';
    }
    if (!(before & FSTS_PPF)) this.fri = this.next;
    this.frcd[at] = 0;
    this.frcd[at + 1] = (index & 0xffff) << 16;
    this.frcd[at + 2] = sourceId & 0xffff;
    this.frcd[at + 3] = ((reason & 0xff) | FRCD_F) >>> 0;
    this.next = (this.next + 1) % this.count;
    this.after(before);
    return 'recorded';
  }

  /** An invalidation queue error (§6.5.2.10): FSTS.IQE and a fault event. */
  raiseQueueError(): void {
    const before = this.conditions();
    this.status |= FSTS_IQE;
    this.after(before);
  }

  get queueError(): boolean {
    return (this.status & FSTS_IQE) !== 0;
  }

  // ---- registers ---------------------------------------------------------------------------

  writeFsts(value: number): void {
    const hadIqe = this.status & FSTS_IQE;
    this.status &= ~(value & FSTS_RW1C);
    this.settleIp();
    if (hadIqe && !(this.status & FSTS_IQE)) this.host.queueErrorCleared();
  }

  /** FECTL: IM is writable, IP read-only; unmasking with IP set sends the held event (§10.4.10). */
  writeFectl(value: number): void {
    this.fectl = ((this.fectl & CTL_IP) | (value & CTL_IM)) >>> 0;
    if (this.fectl & CTL_IP && !(this.fectl & CTL_IM)) this.send();
  }

  readData(which: 'data' | 'addr' | 'uaddr'): number {
    return (which === 'data' ? this.fedata : which === 'addr' ? this.feaddr : this.feuaddr) >>> 0;
  }

  writeData(which: 'data' | 'addr' | 'uaddr', value: number): void {
    if (which === 'data') this.fedata = value >>> 0;
    else if (which === 'addr') this.feaddr = (value & ~3) >>> 0; // 1:0 reserved
    else this.feuaddr = value >>> 0;
  }

  /** Dword `dword` (0–3) of record `n`. */
  readRecord(n: number, dword: number): number {
    return this.frcd[n * 4 + dword]! >>> 0;
  }

  /** Only F (bit 127 of the record) is writable, and only to clear it; the rest is read-only. */
  writeRecord(n: number, dword: number, value: number): void {
    if (dword !== 3 || !(value & FRCD_F)) return;
    this.frcd[n * 4 + 3] = (this.frcd[n * 4 + 3]! & ~FRCD_F) >>> 0;
    this.settleIp();
  }

  // ---- internals ---------------------------------------------------------------------------

  private ppf(): boolean {
    for (let i = 3; i < this.frcd.length; i += 4) if (this.frcd[i]! & FRCD_F) return true;
    return false;
  }

  private conditions(): number {
    return this.fsts & FSTS_EVENT_CONDITIONS;
  }

  /** §7.3.1: an event when the first status condition appears (none were pending before). */
  private after(before: number): void {
    if (before !== 0 || this.conditions() === 0) return;
    this.fectl = (this.fectl | CTL_IP) >>> 0;
    if (!(this.fectl & CTL_IM)) this.send();
  }

  /** Software has serviced every condition: the pending event is withdrawn (§10.4.10 IP). */
  private settleIp(): void {
    if (this.fectl & CTL_IP && this.conditions() === 0) this.fectl = (this.fectl & ~CTL_IP) >>> 0;
  }

  private send(): void {
    this.fectl = (this.fectl & ~CTL_IP) >>> 0;
    this.host.sendEvent(this.feaddr, this.feuaddr, this.fedata);
  }

  // ---- state -------------------------------------------------------------------------------

  save(): FaultLogState {
    const records: FaultRecordState[] = [];
    for (let n = 0; n < this.count; n++) {
      records.push({ index: this.frcd[n * 4 + 1]! >>> 16, sourceId: this.frcd[n * 4 + 2]!, reason: this.frcd[n * 4 + 3]! & 0xff, pending: (this.frcd[n * 4 + 3]! & FRCD_F) !== 0 });
    }
    return { records, status: this.status, fri: this.fri, next: this.next, fectl: this.fectl >>> 0, fedata: this.fedata, feaddr: this.feaddr, feuaddr: this.feuaddr };
  }

  /** Restores a state the caller has validated (see unit-state.ts). */
  load(s: FaultLogState): void {
    s.records.forEach((r, n) => {
      this.frcd[n * 4] = 0;
      this.frcd[n * 4 + 1] = (r.index << 16) >>> 0;
      this.frcd[n * 4 + 2] = r.sourceId;
      this.frcd[n * 4 + 3] = (r.reason | (r.pending ? FRCD_F : 0)) >>> 0;
    });
    this.status = s.status;
    this.fri = s.fri;
    this.next = s.next;
    this.fectl = s.fectl;
    this.fedata = s.fedata;
    this.feaddr = s.feaddr;
    this.feuaddr = s.feuaddr;
  }
}
