// Test doubles for the I/O APIC: a router that records messages and accepts on demand.
import type { ApicMessage, Destination, InterruptRouter } from '../../../src/hw/signals.js';
import type { IoApicEvent } from '../../../src/hw/ioapic.js';
import { IOREDTBL, IOREGSEL, IOWIN, IoApic } from '../../../src/hw/ioapic.js';

export class RecordingRouter implements InterruptRouter {
  readonly log: { dest: Destination; msg: ApicMessage }[] = [];
  /** APIC IDs reported as accepting; empty = nobody accepts. */
  acceptors: number[] = [0];
  deliver(dest: Destination, msg: ApicMessage): number[] {
    this.log.push({ dest, msg });
    return [...this.acceptors];
  }
}

export function makeIoApic(opts: { version?: number; pins?: number } = {}) {
  const events: IoApicEvent[] = [];
  const io = new IoApic({ id: 2, ...opts, onEvent: (e) => events.push(e) });
  const router = new RecordingRouter();
  io.connect(router);
  return { io, router, events };
}

export function readReg(io: IoApic, index: number): number {
  io.write(IOREGSEL, index);
  return io.read(IOWIN);
}

export function writeReg(io: IoApic, index: number, value: number): void {
  io.write(IOREGSEL, index);
  io.write(IOWIN, value);
}

/** Program RTE `pin`: low dword then high dword. */
export function program(io: IoApic, pin: number, low: number, high = 0): void {
  writeReg(io, IOREDTBL + 2 * pin + 1, high);
  writeReg(io, IOREDTBL + 2 * pin, low);
}
