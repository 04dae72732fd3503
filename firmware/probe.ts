// The probe: ring every message of every device, let the machine run, and check that exactly one
// interrupt arrived per message — vector base + i, on the CPU named by the address, through the
// device's handler — and nothing anywhere else (no spurious, no lost, no stray vectors).

import type { CpuContext, GuestYield } from '../src/machine/guest-interface.js';
import type { IrqLayer, Observation } from './irq.js';
import type { IrqAllocation } from './msi.js';
import type { PciDevice } from './pci.js';

/** Doorbell register of the MSI test endpoint's BAR0: writing i fires message i. */
export const EP_DOORBELL = 0x00;
/** Writing here de-asserts the endpoint's INTx (the handler's "ack"). */
export const EP_INTX_ACK = 0x04;

export interface MessageResult {
  index: number;
  /** Where it arrived (the first arrival), or null if it was lost. */
  vector: number | null;
  cpu: number | null;
  expectedVector: number;
  expectedCpu: number;
  arrivals: number;
  /** Under interrupt remapping: the IRTE the message went through. */
  irte?: number;
  ok: boolean;
  problem?: string;
}

const SETTLE_NS = 2_000;
const TIMEOUT_NS = 50_000;

function* waitForArrivals(cpu: CpuContext, irq: IrqLayer, from: number): Generator<GuestYield, void, void> {
  let waited = 0;
  while (irq.observations.length === from && waited < TIMEOUT_NS) {
    yield* cpu.pause(500);
    waited += 500;
  }
  // Let stray or duplicate arrivals land before judging.
  yield* cpu.pause(SETTLE_NS);
}

function judge(index: number, expectedCpu: number, expectedVector: number, owner: string, seen: Observation[]): MessageResult {
  const first = seen[0];
  const r: MessageResult = {
    index,
    vector: first ? first.vector : null,
    cpu: first ? first.cpu : null,
    expectedVector,
    expectedCpu,
    arrivals: seen.length,
    ok: false,
  };
  if (!first) r.problem = 'lost: no interrupt arrived';
  else if (seen.length > 1) r.problem = `${seen.length} interrupts arrived: ${seen.map((o) => `CPU ${o.cpu} 0x${o.vector.toString(16)}`).join(', ')}`;
  else if (first.vector !== expectedVector || first.cpu !== expectedCpu) {
    r.problem = `misrouted: arrived on CPU ${first.cpu} vector 0x${first.vector.toString(16)}, expected CPU ${expectedCpu} vector 0x${expectedVector.toString(16)}`;
  } else if (first.owner !== owner || first.index !== index) {
    r.problem = `wrong handler: ran ${first.owner ?? 'no handler'}#${first.index ?? '-'}`;
  } else r.ok = true;
  return r;
}

/** Rings each message of `dev` and judges what arrived. */
export function* probeDevice(
  cpu: CpuContext,
  irq: IrqLayer,
  dev: PciDevice,
  alloc: IrqAllocation,
  out: MessageResult[],
): Generator<GuestYield, void, void> {
  const bar = dev.bars.find((b) => b.index === 0 && b.address !== 0);
  if (!bar) return;
  for (let i = 0; i < alloc.vectors.length; i++) {
    const want = alloc.vectors[i]!;
    const from = irq.observations.length;
    cpu.write32(bar.address + EP_DOORBELL, i);
    yield* waitForArrivals(cpu, irq, from);
    // Judged observations are dropped: the log holds one window at a time, however many messages.
    const r = judge(i, want.cpu, want.vector, dev.bdf, irq.observations.splice(from));
    out.push(want.irte === undefined ? r : { ...r, irte: want.irte });
  }
}

/**
 * After the last window: wait as long as a message may take and return whatever arrived since. An
 * arrival here belongs to no window (a late or duplicated message) and must fail the run; before, an
 * arrival after the last window went unseen.
 */
export function* lateArrivals(cpu: CpuContext, irq: IrqLayer): Generator<GuestYield, Observation[], void> {
  yield* cpu.pause(TIMEOUT_NS);
  return irq.observations.splice(0);
}
