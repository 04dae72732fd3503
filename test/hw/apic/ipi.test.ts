import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../../src/hw/apic/apic-bus.js';
import { encodeIcr } from '../../../src/hw/apic/registers.js';
import { enterX2apic, makeApic, swEnable, type Rig } from './helpers.js';

// SDM vol. 3A §11.6.1 (ICR), §11.6.2 (destinations), §9.4 (INIT/SIPI), §11.12.9 (x2APIC ICR).
function system(n: number, opts: { enable?: boolean } = {}): { bus: ApicBus; cpus: Rig[] } {
  const bus = new ApicBus();
  const cpus: Rig[] = [];
  for (let id = 0; id < n; id++) {
    const rig = makeApic({ apicId: id, bsp: id === 0 });
    if (opts.enable ?? true) swEnable(rig.apic);
    bus.attach(rig.apic);
    cpus.push(rig);
  }
  return { bus, cpus };
}

/** xAPIC ICR send: high word first (destination 63:56), then the low word triggers the send. */
function sendXapic(rig: Rig, low: number, dest = 0): void {
  rig.apic.write(0x310, (dest << 24) >>> 0);
  rig.apic.write(0x300, low);
}

const pending = (rig: Rig, vector: number) => (rig.apic.read(0x200 + ((vector >>> 5) << 4)) >>> (vector & 31)) & 1;

describe('ICR destinations', () => {
  it('a physical fixed IPI reaches only the APIC with that ID', () => {
    const { cpus } = system(4);
    sendXapic(cpus[0]!, 0x0000_0041 /* fixed, physical, vector 0x41 */, 2);
    expect(cpus.map((c) => pending(c, 0x41))).toEqual([0, 0, 1, 0]);
  });

  it('physical destination 0xFF is a broadcast to every APIC including the sender', () => {
    const { cpus } = system(3);
    sendXapic(cpus[1]!, 0x0000_0042, 0xff);
    expect(cpus.map((c) => pending(c, 0x42))).toEqual([1, 1, 1]);
  });

  it('flat logical mode: MDA bits select every APIC whose LDR[31:24] shares a bit', () => {
    const { cpus } = system(4);
    cpus.forEach((c, i) => c.apic.write(0x0d0, (1 << (24 + i)) >>> 0));
    sendXapic(cpus[0]!, 0x0000_0843 /* logical, vector 0x43 */, 0b0110);
    expect(cpus.map((c) => pending(c, 0x43))).toEqual([0, 1, 1, 0]);
  });

  it('cluster logical mode: MDA 7:4 must equal the cluster, 3:0 selects members', () => {
    const { cpus } = system(4);
    // LDR 31:28 cluster, 27:24 member bitmap
    const ldr = [0x11 /* c1 m0 */, 0x12 /* c1 m1 */, 0x14 /* c1 m2 */, 0x21 /* c2 m0 */];
    ldr.forEach((v, i) => {
      cpus[i]!.apic.write(0x0e0, 0x0fff_ffff /* cluster model */);
      cpus[i]!.apic.write(0x0d0, (v << 24) >>> 0);
    });
    sendXapic(cpus[0]!, 0x0000_0844, 0x13 /* cluster 1, members 0 and 1 */);
    expect(cpus.map((c) => pending(c, 0x44))).toEqual([1, 1, 0, 0]);
  });

  it('DFR keeps bits 27:0 at 1 whatever is written', () => {
    const { cpus } = system(1);
    cpus[0]!.apic.write(0x0e0, 0x0000_0000);
    expect(cpus[0]!.apic.read(0x0e0)).toBe(0x0fff_ffff);
  });

  it('LDR keeps only bits 31:24 in xAPIC mode', () => {
    const { cpus } = system(1);
    cpus[0]!.apic.write(0x0d0, 0xffff_ffff);
    expect(cpus[0]!.apic.read(0x0d0)).toBe(0xff00_0000);
  });
});

describe('ICR shorthands and status', () => {
  it("shorthand 'self' interrupts only the sender, ignoring the destination field", () => {
    const { cpus } = system(3);
    sendXapic(cpus[1]!, 0x0004_0045 /* self */, 0);
    expect(cpus.map((c) => pending(c, 0x45))).toEqual([0, 1, 0]);
  });

  it("shorthand 'all including self' interrupts every APIC", () => {
    const { cpus } = system(3);
    sendXapic(cpus[1]!, 0x0008_0046);
    expect(cpus.map((c) => pending(c, 0x46))).toEqual([1, 1, 1]);
  });

  it("shorthand 'all excluding self' interrupts every other APIC", () => {
    const { cpus } = system(3);
    sendXapic(cpus[1]!, 0x000c_0047);
    expect(cpus.map((c) => pending(c, 0x47))).toEqual([1, 0, 1]);
  });

  it('delivery status (bit 12) reads 0 right after a send: delivery is synchronous', () => {
    const { cpus } = system(2);
    sendXapic(cpus[0]!, 0x0000_4048, 1);
    expect(cpus[0]!.apic.read(0x300)).toBe(0x0000_4048);
  });

  it('ICR low keeps only vector, mode, destination mode, level, trigger and shorthand bits', () => {
    const { cpus } = system(1);
    cpus[0]!.apic.write(0x300, 0xfff3_3000 /* only reserved/RO bits */);
    expect(cpus[0]!.apic.read(0x300)).toBe(0);
  });

  it('a reserved ICR delivery mode (111) sends nothing and is reported', () => {
    const { cpus } = system(2);
    sendXapic(cpus[0]!, 0x0000_0749, 1);
    expect(pending(cpus[1]!, 0x49)).toBe(0);
    expect(cpus[0]!.events.map((e) => e.kind)).toEqual(['ipi-not-sent']);
  });

  it('an NMI IPI reaches the destination CPU as NMI', () => {
    const { cpus } = system(2);
    sendXapic(cpus[0]!, 0x0000_0400 /* NMI */, 1);
    expect(cpus[1]!.calls).toEqual(['nmi']);
  });

  it('a lowest-priority IPI in xAPIC mode reaches exactly one of the logical destinations', () => {
    const { cpus } = system(3);
    cpus.forEach((c, i) => c.apic.write(0x0d0, (1 << (24 + i)) >>> 0));
    cpus[0]!.apic.write(0x080, 0x20);
    sendXapic(cpus[2]!, 0x0000_094a /* lowest, logical */, 0b011);
    expect(cpus.map((c) => pending(c, 0x4a))).toEqual([0, 1, 0]);
  });

  it('x2APIC ICR: one WRMSR sends to the 32-bit destination in bits 63:32', () => {
    const bus = new ApicBus();
    const a = makeApic({ apicId: 0 });
    const b = makeApic({ apicId: 0x1_0000, bsp: false });
    for (const r of [a, b]) {
      enterX2apic(r.apic);
      swEnable(r.apic);
      bus.attach(r.apic);
    }
    const { low, high } = encodeIcr({ vector: 0x50, destination: 0x1_0000 }, true);
    a.apic.wrmsr(0x830, (BigInt(high) << 32n) | BigInt(low));
    expect(b.apic.acknowledge()).toBe(0x50);
  });
});

describe('INIT and start-up IPIs', () => {
  it('INIT puts an AP into wait-for-SIPI and a SIPI then starts it with the page number', () => {
    const { cpus } = system(2);
    const ap = cpus[1]!;
    ap.apic.accept({ vector: 0x9a, mode: 'sipi', trigger: 'edge' }); // first SIPI after reset
    sendXapic(cpus[0]!, 0x0000_c500 /* INIT, level assert, level trigger */, 1);
    expect(ap.apic.waitingForSipi).toBe(true);
    sendXapic(cpus[0]!, 0x0000_0608 /* start-up, page 0x08 */, 1);
    expect(ap.calls.filter((c) => c !== 'intr:false')).toEqual(['sipi:0x9a', 'init', 'sipi:0x8']);
    expect(ap.apic.waitingForSipi).toBe(false);
  });

  it('a SIPI outside wait-for-SIPI is ignored and reported', () => {
    const { cpus } = system(2);
    const ap = cpus[1]!;
    ap.apic.accept({ vector: 0x10, mode: 'sipi', trigger: 'edge' });
    sendXapic(cpus[0]!, 0x0000_0620, 1);
    expect(ap.calls).toEqual(['sipi:0x10']);
    expect(ap.events.map((e) => e.kind)).toEqual(['sipi-ignored']);
  });

  it('INIT level de-assert (level 0, trigger level) is a no-op', () => {
    const { cpus } = system(2);
    cpus[1]!.apic.write(0x080, 0x30);
    sendXapic(cpus[0]!, 0x0000_8500 /* INIT, de-assert, level trigger */, 1);
    expect(cpus[1]!.calls).toEqual([]);
    expect(cpus[1]!.apic.read(0x080)).toBe(0x30);
  });

  it('INIT resets the APIC registers but keeps its ID', () => {
    const { cpus } = system(2);
    const ap = cpus[1]!;
    ap.apic.write(0x020, 0x0700_0000);
    ap.apic.write(0x080, 0x30);
    ap.apic.accept({ vector: 0, mode: 'init', trigger: 'edge' });
    expect([ap.apic.read(0x020), ap.apic.read(0x080), ap.apic.read(0x0f0)]).toEqual([0x0700_0000, 0, 0xff]);
  });

  it('INIT on the BSP restarts it without entering wait-for-SIPI', () => {
    const { cpus } = system(1);
    cpus[0]!.apic.accept({ vector: 0, mode: 'init', trigger: 'edge' });
    expect(cpus[0]!.calls).toEqual(['init']);
    expect(cpus[0]!.apic.waitingForSipi).toBe(false);
  });

  it('INIT keeps x2APIC mode (only RESET leaves it)', () => {
    const { apic } = makeApic({ apicId: 1, bsp: false });
    enterX2apic(apic);
    apic.accept({ vector: 0, mode: 'init', trigger: 'edge' });
    expect(apic.mode).toBe('x2apic');
  });
});
