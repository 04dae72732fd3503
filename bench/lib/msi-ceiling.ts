// The "minimal loop" ceiling for part 4: the logical work of one end-to-end MSI message with no model
// layers — numbers and typed arrays only, no objects or closures per message. Per message: the device
// composes address/data from its doorbell index (MME low bits), the bus decodes them (window, RH/DM,
// destination ID, delivery mode, vector) and looks the destination up by APIC ID, the APIC sets the IRR
// bit, picks the highest IRR vector against the PPR, moves it IRR → ISR, a handler from a per-vector
// table runs (it counts the vector), and EOI clears the highest ISR bit.

/** IDT-like handler: called with the CPU index and the vector; one shared function, not a closure per entry. */
export type CeilingHandler = (state: CeilingMachine, cpu: number, vector: number) => void;

export interface CeilingMachine {
  cpus: number;
  /** Destination APIC ID (0..255) → CPU index, −1 when no APIC has that ID. */
  byApicId: Int32Array;
  /** 8 IRR and 8 ISR words per CPU. */
  irr: Uint32Array;
  isr: Uint32Array;
  tpr: Uint8Array;
  /** Interrupts taken per CPU and vector (cpu · 256 + vector). */
  taken: Uint32Array;
  /** Per vector: the handler (the same function for every vector here). */
  idt: CeilingHandler[];
  /** Handler runs, per CPU and vector (what the unit test checks). */
  handled: Uint32Array;
  /** Messages the bus refused or nobody accepted. */
  dropped: number;
}

const countHandler: CeilingHandler = (m, cpu, vector) => {
  m.handled[(cpu << 8) | vector]!++;
};

export function createCeiling(cpus: number): CeilingMachine {
  const byApicId = new Int32Array(256).fill(-1);
  for (let i = 0; i < Math.min(cpus, 255); i++) byApicId[i] = i; // APIC ID = CPU index
  return {
    cpus,
    byApicId,
    irr: new Uint32Array(cpus * 8),
    isr: new Uint32Array(cpus * 8),
    tpr: new Uint8Array(cpus),
    taken: new Uint32Array(cpus * 256),
    idt: new Array<CeilingHandler>(256).fill(countHandler),
    handled: new Uint32Array(cpus * 256),
    dropped: 0,
  };
}

/** Highest set bit of the 8 words at `at`, or −1. */
function highest(words: Uint32Array, at: number): number {
  for (let w = 7; w >= 0; w--) {
    const x = words[at + w]!;
    if (x !== 0) return (w << 5) | (31 - Math.clz32(x));
  }
  return -1;
}

/**
 * Sends `n` messages of a device whose MSI is programmed with `addressLo` (physical destination) and
 * `dataBase` (vector base, MME = `mme`): message k carries index k mod 2^mme. Each is delivered and
 * handled before the next (as the burst bench does). Returns the number of handler runs.
 */
export function runCeiling(m: CeilingMachine, addressLo: number, dataBase: number, mme: number, n: number): number {
  const { byApicId, irr, isr, tpr, taken, idt } = m;
  const low = (1 << mme) - 1;
  let handled = 0;
  for (let k = 0; k < n; k++) {
    // Device: the message number replaces the low MME bits of the data.
    const data = (dataBase & ~low) | (k & low);
    const lo = addressLo;
    // Bus: MSI window, no remappable format, physical destination, fixed delivery, legal vector.
    if (lo >>> 20 !== 0xfee || lo & 0x10 || lo & 0x4 || (data >>> 8) & 7 || (data & 0xff) < 16) {
      m.dropped++;
      continue;
    }
    const cpu = byApicId[(lo >>> 12) & 0xff]!;
    if (cpu < 0) {
      m.dropped++;
      continue;
    }
    const vector = data & 0xff;
    const at = cpu << 3;
    // APIC: accept into the IRR.
    irr[at + (vector >>> 5)]! |= 1 << (vector & 31);
    // INTA at the next boundary: highest IRR against the PPR (TPR or the in-service class).
    for (;;) {
      const v = highest(irr, at);
      if (v < 0) break;
      const isrv = highest(isr, at);
      const ppr = isrv < 0 || (tpr[cpu]! & 0xf0) >= (isrv & 0xf0) ? tpr[cpu]! : isrv & 0xf0;
      if ((v & 0xf0) <= (ppr & 0xf0)) break;
      irr[at + (v >>> 5)]! &= ~(1 << (v & 31));
      isr[at + (v >>> 5)]! |= 1 << (v & 31);
      taken[(cpu << 8) | v]!++;
      idt[v]!(m, cpu, v);
      handled++;
      // EOI: clear the highest in-service vector.
      const e = highest(isr, at);
      isr[at + (e >>> 5)]! &= ~(1 << (e & 31));
    }
  }
  return handled;
}
