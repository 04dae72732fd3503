// The board around a VT-d remapping unit (VT-d spec §5.1, §8): device interrupt requests carry their
// requester ID into the unit, the I/O APIC's messages carry its DMAR source-id, results go to the APIC bus,
// and the unit reads and writes guest RAM. Every message ends in exactly one report to the board.
import { type ApicBus, MSI_DELIVERED, MSI_ILLEGAL_VECTOR, MSI_NO_DESTINATION } from '../hw/apic/apic-bus.js';
import { DELIVER_DECODED, DELIVER_MSI, LAST_ACCEPTED } from '../hw/internal.js';
import type { RemappingMemory } from '../hw/iommu/invalidation-queue.js';
import { RemappingUnit, REMAP_BLOCKED, REMAP_TRANSLATED, type RemappingEvent, type RemappingUnitOptions } from '../hw/iommu/remapping-unit.js';
import type { IoApic } from '../hw/ioapic.js';
import type { DeliveryMode, MsiOutcome } from '../hw/signals.js';
import * as MAP from './memory-map.js';

/** What the board lends the port. */
export interface RemappingHost {
  readonly bus: ApicBus;
  readonly ioapic: IoApic;
  readonly ram: Uint8Array;
  readonly rom: Uint8Array;
  /** A device write that is not an interrupt request (DMA): false when nothing claimed it. */
  dma(address: bigint, data: number): boolean;
  /** One interrupt message written to 0xFEExxxxx and what became of it (counted, traced, reported). */
  message(addressLo: number, addressHi: number, data: number, outcome: MsiOutcome): void;
  event(kind: string, detail: string): void;
}

export type RemappingPortOptions = Omit<RemappingUnitOptions, 'memory' | 'interrupt' | 'onEvent'>;

/** Delivery-mode names of MSI data 10:8 for delivered messages (reserved codes are never delivered). */
const MODE_NAMES: readonly DeliveryMode[] = ['fixed', 'lowest', 'smi', 'fixed', 'nmi', 'init', 'fixed', 'extint'];
const BLOCKED = -1;
const hex = (n: number) => `0x${n.toString(16)}`;

export class RemappingPort {
  readonly unit: RemappingUnit;
  /** Event interrupts raised while a request is in the unit, sent after it (lo, hi, data triples): causal order on the wire. */
  private readonly held: number[] = [];
  private inRequest = false;

  constructor(
    options: RemappingPortOptions,
    private readonly host: RemappingHost,
  ) {
    this.unit = new RemappingUnit({
      ...options,
      memory: dmaPort(host),
      interrupt: (lo, hi, data) => this.unitInterrupt(lo, hi, data),
      onEvent: (e) => this.report(e),
    });
    host.ioapic.connectRemapping({ message: (address, data) => this.ioapicMessage(address, data) });
  }

  /** A DWORD write mastered by requester `sid`: interrupt requests (0xFEExxxxx) are remapped, the rest is DMA. */
  deviceWrite(sid: number, lo: number, hi: number, data: number): boolean {
    if (hi !== 0 || lo >>> 20 !== MAP.MSI_WINDOW_BASE >>> 20) return this.host.dma((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), data >>> 0);
    const unit = this.unit;
    const r = this.request(lo, data, sid);
    if (r === REMAP_BLOCKED) {
      this.settle(BLOCKED, lo, data, `fault ${hex(unit.out.reason)} at index ${unit.out.index}, source-id ${hex(sid)}`);
    } else {
      const code = r === REMAP_TRANSLATED ? this.deliverRemapped() : this.host.bus[DELIVER_MSI](lo, 0, data);
      this.settle(code, lo, data, r === REMAP_TRANSLATED ? `remapped (index ${unit.out.index})` : null);
    }
    this.releaseHeld();
    return true; // the host bridge claims every interrupt request, whatever the unit does with it
  }

  /** unit.interrupt(), holding back the fault event a blocked request raises until the request is settled. */
  private request(lo: number, data: number, sid: number): number {
    this.inRequest = true;
    try {
      return this.unit.interrupt(lo, 0, data, sid);
    } finally {
      this.inRequest = false;
    }
  }

  private releaseHeld(): void {
    const h = this.held;
    for (let i = 0; i < h.length; i += 3) this.sendUnitInterrupt(h[i]!, h[i + 1]!, h[i + 2]!);
    h.length = 0;
  }

  private deliverRemapped(): number {
    const o = this.unit.out;
    return this.host.bus[DELIVER_DECODED](o.dest, o.x2apic, o.logical, o.redirectionHint, o.data);
  }

  /**
   * One device message after the bus: `code` from the bus (BLOCKED: the unit faulted), `remap` a note
   * when the unit translated or blocked it (the outcome then describes the remapped interrupt).
   */
  private settle(code: number, lo: number, data: number, remap: string | null): void {
    const bus = this.host.bus;
    const o = this.unit.out;
    const translated = remap !== null && code !== BLOCKED;
    const eff = translated ? o.data : data;
    let outcome: MsiOutcome;
    if (code === MSI_DELIVERED) {
      outcome = { delivered: true, apicIds: bus[LAST_ACCEPTED](), vector: eff & 0xff, mode: MODE_NAMES[(eff >>> 8) & 7]!, trigger: eff & 0x8000 ? 'level' : 'edge' };
    } else if (code === BLOCKED) {
      outcome = { delivered: false, reason: 'remapping-fault', detail: remap! };
    } else if (translated) {
      const failure = bus.msiFailure(code, 0xfee0_0000, 0, eff);
      const detail = code === MSI_NO_DESTINATION ? `no APIC matches ${o.logical ? 'logical' : 'physical'} destination ${hex(o.dest)}${o.x2apic ? ' (x2APIC)' : ''}` : failure.detail;
      outcome = { ...failure, detail: `${remap}: ${detail}` };
    } else {
      outcome = bus.msiFailure(code, lo, 0, data);
    }
    this.host.message(lo, 0, data, outcome);
  }

  /** The unit's fault-event and completion interrupts; those a request raised wait until it is settled. */
  private unitInterrupt(lo: number, hi: number, data: number): void {
    if (this.inRequest) this.held.push(lo, hi, data);
    else this.sendUnitInterrupt(lo, hi, data);
  }

  /**
   * An event interrupt: a compatibility-format MSI straight onto the APIC bus (not remapped). With EIM the
   * upper address (FEUADDR/IEUADDR, §10.4.13) carries destination bits 31:8 in its bits 31:8, as Linux
   * writes it in x2APIC mode: such a message goes to that 32-bit APIC ID.
   */
  private sendUnitInterrupt(lo: number, hi: number, data: number): void {
    const bus = this.host.bus;
    const x2 = hi !== 0 && (hi & 0xff) === 0 && this.unit.config.eim && lo >>> 20 === MAP.MSI_WINDOW_BASE >>> 20 && !(lo & 0x10);
    const dest = (hi | ((lo >>> 12) & 0xff)) >>> 0;
    const code = x2 ? bus[DELIVER_DECODED](dest, true, (lo & 4) !== 0, (lo & 8) !== 0, data) : bus[DELIVER_MSI](lo, hi, data);
    let outcome: MsiOutcome;
    if (code === MSI_DELIVERED) {
      outcome = { delivered: true, apicIds: bus[LAST_ACCEPTED](), vector: data & 0xff, mode: MODE_NAMES[(data >>> 8) & 7]!, trigger: data & 0x8000 ? 'level' : 'edge' };
    } else if (x2 && code === MSI_NO_DESTINATION) {
      outcome = { delivered: false, reason: 'no-destination', detail: `no APIC matches ${lo & 4 ? 'logical' : 'physical'} x2APIC destination ${hex(dest)}` };
    } else {
      outcome = bus.msiFailure(code, lo, x2 ? 0 : hi, data);
    }
    this.host.message(lo, hi, data, outcome);
  }

  /**
   * The I/O APIC's messages (source-id MAP.IOAPIC_SOURCE_ID, the DMAR scope's path). Returns who accepted
   * ([]: nobody, the I/O APIC keeps it pending) or null when the message is gone (blocked or undeliverable).
   */
  private ioapicMessage(address: number, data: number): readonly number[] | null {
    const bus = this.host.bus;
    const r = this.request(address, data, MAP.IOAPIC_SOURCE_ID);
    if (r === REMAP_BLOCKED) {
      this.releaseHeld();
      return null;
    }
    const code = r === REMAP_TRANSLATED ? this.deliverRemapped() : bus[DELIVER_MSI](address, 0, data);
    if (code === MSI_DELIVERED || code === MSI_ILLEGAL_VECTOR) return bus[LAST_ACCEPTED]();
    if (code === MSI_NO_DESTINATION) return [];
    const f = bus.msiFailure(code, address, 0, r === REMAP_TRANSLATED ? this.unit.out.data : data);
    this.host.event('ioapic-message-dropped', `${f.reason}: ${f.detail}`);
    return null;
  }

  private report(e: RemappingEvent): void {
    const ev = (kind: string, detail: string) => this.host.event(`iommu:${kind}`, detail);
    switch (e.kind) {
      case 'fault': return ev(e.kind, `${hex(e.reason)} ${e.name}: index ${e.index}, source-id ${hex(e.sourceId)} (${e.recording})`);
      case 'queue-error': return ev(e.kind, `${e.cause} at descriptor ${e.head}`);
      case 'event-interrupt': return; // the MSI itself is on the wire
      case 'unsupported-access': return ev(e.kind, `${e.size}-byte ${e.access} at ${hex(e.offset)}`);
      case 'reserved-offset': return ev(e.kind, `${e.access} at ${hex(e.offset)}`);
      case 'read-only-register': return ev(e.kind, `write of ${hex(e.value)} to ${hex(e.offset)} ignored`);
      case 'ignored-command':
      case 'command-warning': return ev(e.kind, `${e.command}: ${e.why}`);
    }
  }
}

/**
 * The unit's DMA: whole ranges of RAM (reads also of the BIOS ROM). Anything else — a range crossing into
 * unclaimed space or MMIO — is refused, which the unit turns into fault 0x23 or IQE.
 */
function dmaPort(host: RemappingHost): RemappingMemory {
  const { ram, rom } = host;
  const ROM_END = MAP.BIOS_ROM_BASE + MAP.BIOS_ROM_SIZE;
  const inRam = (a: number, n: number): boolean => a >= 0 && a + n <= ram.length && (a + n <= MAP.BIOS_ROM_BASE || a >= ROM_END);
  const inRom = (a: number, n: number): boolean => a >= MAP.BIOS_ROM_BASE && a + n <= ROM_END;
  return {
    read: (address, into) => {
      if (inRam(address, into.length)) into.set(ram.subarray(address, address + into.length));
      else if (inRom(address, into.length)) into.set(rom.subarray(address - MAP.BIOS_ROM_BASE, address - MAP.BIOS_ROM_BASE + into.length));
      else return false;
      return true;
    },
    write: (address, from) => {
      if (!inRam(address, from.length)) return false;
      ram.set(from, address);
      return true;
    },
  };
}
