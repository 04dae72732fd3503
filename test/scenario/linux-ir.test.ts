// Policy linux-ir end to end: the guest's VT-d driver on the remapping unit, compared with what the real
// Linux 6.1 kernel does under QEMU with intel-iommu,intremap=on (docs/DESIGN.md F10) and with Linux's allocation
// rules (irq_remapping.c alloc_irte: aligned power-of-two IRTE blocks; matrix.c: each vector on the CPU
// with the most available, lowest CPU on ties, lowest free vector there).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/machine/machine.js';
import type { MsiEndpoint } from '../../src/hw/pci/msi-endpoint.js';
import { runScenario, type ScenarioReport } from '../../src/scenario/run-scenario.js';
import { contractJson, formatReport } from '../../src/scenario/report-text.js';
import { DEFAULT_SCENARIO, parseScenario, ScenarioError } from '../../src/scenario/scenario.js';

const load = (name: string) => parseScenario(readFileSync(new URL(`../../examples/scenarios/${name}`, import.meta.url), 'utf8'));

/** "vector@cpu" per message, as docs/DESIGN.md F10 writes the real kernel's placements. */
const spread = (r: ScenarioReport, bdf: string) => r.devices.find((d) => d.bdf === bdf)!.messages.map((m) => `${m.vector}@${m.cpu}`);

/** The MSI capability's Message Control of a function, read from its configuration space. */
function msiControl(m: Machine, bdf: string): number {
  const fn = m.pci.get(bdf)!;
  for (let p = fn.configRead(0x34, 1) & 0xfc; p !== 0; p = fn.configRead(p + 1, 1) & 0xfc) {
    if (fn.configRead(p, 1) === 0x05) return fn.configRead(p + 2, 2);
  }
  throw new Error(`${bdf} has no MSI capability`);
}

/** Round robin starting at CPU 1 (CPU 0 holds the timer, so it has one vector fewer): CPUs 1..n-1, 0. */
function roundRobin(count: number, cpus: number, first: number): string[] {
  return Array.from({ length: count }, (_, i) => `${first + Math.floor(i / cpus)}@${(i % cpus) + 1 === cpus ? 0 : (i % cpus) + 1}`);
}

describe('linux-ir on the real 6.1 pattern (examples/scenarios/linux-ir-4cpu.json)', () => {
  it('the MMC 16 device gets 16: IRTE block 32 (count 16), address 0xfee00418 data 0, MME 4', async () => {
    let m: Machine | undefined;
    const r = await runScenario(load('linux-ir-4cpu.json'), { onMachine: (x) => (m = x) });
    expect(r.ok).toBe(true);
    const x = r.devices.find((d) => d.bdf === '00:03.0')!;
    expect([x.mode, x.vectors]).toEqual(['msi', 16]);
    // The 15 ISA pins take IRTEs 0-14 at setup_IO_APIC_irqs; NVMe binds first and its 4 MSI-X entries
    // take 15-18, so the first free 16-aligned block (bitmap_find_free_region order 4) is 32.
    expect(x.irte).toEqual({ index: 32, count: 16 });
    expect(x.messages.map((q) => q.irte)).toEqual(Array.from({ length: 16 }, (_, i) => 32 + i));
    expect(r.devices[0]!.messages.map((q) => q.irte)).toEqual([15, 16, 17, 18]);
    // Remappable format: handle 32 in 19:5, SHV (bit 3), IF (bit 4); data = sub-handle 0.
    expect([x.address, x.data]).toEqual([0xfee00418, 0]);
    // MME = log2 16 = 4 in Message Control 6:4, MSI enabled.
    expect((msiControl(m!, '00:03.0') >> 4) & 7).toBe(4);
    expect(msiControl(m!, '00:03.0') & 1).toBe(1);
  });

  it('the 16 vectors spread round robin exactly as the real kernel: 35@1, 35@2, 35@3, 35@0, 36@1 …', async () => {
    const r = await runScenario(load('linux-ir-4cpu.json'));
    // 6.1 layout: 33 is every CPU's (fill 1), 34 NVMe's managed one on each CPU; CPU 0 also holds the
    // timer's 48, so it has one vector fewer and comes last in each round.
    expect(spread(r, '00:03.0')).toEqual(roundRobin(16, 4, 35));
    expect(spread(r, '00:03.0').slice(0, 5)).toEqual(['35@1', '35@2', '35@3', '35@0', '36@1']);
    expect(spread(r, '00:02.0')).toEqual(['34@0', '34@1', '34@2', '34@3']);
    expect(r.devices.every((d) => d.messages.every((q) => q.ok))).toBe(true);
  });

  it('PCI_IRQ_AFFINITY on the MMC 16 device: grant 4, one managed vector per CPU (35 on each)', async () => {
    const r = await runScenario({
      cpus: 4, kernel: '6.1', policy: 'linux-ir', fill: 2,
      devices: [{ bdf: '00:03.0', msi: { vectors: 16, is64: true, pvm: false }, affinity: true }],
    });
    expect(r.ok).toBe(true);
    const d = r.devices[0]!;
    // irq_calc_affinity_vectors(1, 16, {0, 0}) on 4 CPUs = 4; MME 2; block of 4 after the ISA pins' 0-14: 16.
    expect([d.vectors, d.irte]).toEqual([4, { index: 16, count: 4 }]);
    // Managed: one per CPU group of one, each the lowest free vector there (33 and 34 are fill's).
    expect(spread(r, '00:03.0')).toEqual(['35@0', '35@1', '35@2', '35@3']);
    expect(r.vectors).toMatch(/\n\s+1\s+\d+\s+1\s+1\s+3\s+33-35\n/);
  });
});

describe('linux-ir on 8 CPUs (examples/scenarios/linux-ir-8cpu.json)', () => {
  it('MMC 16 gets 16 at IRTE 32; vectors go one per CPU per round; flat logical IRTE destinations', async () => {
    const r = await runScenario(load('linux-ir-8cpu.json'));
    expect(r.ok).toBe(true);
    const x = r.devices.find((d) => d.bdf === '00:03.0')!;
    expect([x.vectors, x.irte, x.address, x.data]).toEqual([16, { index: 32, count: 16 }, 0xfee00418, 0]);
    expect(spread(r, '00:03.0')).toEqual(roundRobin(16, 8, 35));
    // The INTx-only device's pin (GSI 16) is remapped too: the next free single IRTE after NVMe's 15-22.
    const intx = r.devices.find((d) => d.bdf === '00:04.0')!;
    expect(intx.mode).toBe('intx');
    expect(intx.messages[0]!.irte).toBe(23);
    const pin16 = r.remapping!.ioapicPins.find((p) => p.pin === 16)!;
    expect(pin16).toMatchObject({ irte: 23, requested: true, vector: intx.messages[0]!.vector, cpu: intx.messages[0]!.cpu });
  });
});

describe('linux-ir on the default scenario (npm start)', () => {
  it('every device gets all its messages; blocks 32, 16, 64, 15 by alignment; vectors round robin from CPU 1', async () => {
    const r = await runScenario(DEFAULT_SCENARIO, { policy: 'linux-ir' });
    expect(r.ok).toBe(true);
    expect(r.scenario.iommu).toBe(true);
    // ISA pins 0-14. 32 → order 5: 0 is taken, so 32. 16 → order 4: 16-31 is free, so 16. 8 → 64 (0-63
    // hold something in every 8-aligned slot). 1 → the first free bit, 15.
    expect(r.devices.map((d) => [d.bdf, d.vectors, d.irte])).toEqual([
      ['00:03.0', 32, { index: 32, count: 32 }],
      ['00:04.0', 16, { index: 16, count: 16 }],
      ['00:05.0', 8, { index: 64, count: 8 }],
      ['00:06.0', 1, { index: 15, count: 1 }],
    ]);
    expect(r.devices.map((d) => d.address)).toEqual([0xfee00418, 0xfee00218, 0xfee00818, 0xfee001f8]);
    // 6.10 layout, nothing else allocated: 0x20 is the first free vector on every CPU.
    expect(spread(r, '00:03.0')).toEqual(roundRobin(32, 4, 0x20));
    expect(spread(r, '00:04.0')).toEqual(roundRobin(16, 4, 0x28));
    expect(spread(r, '00:06.0')).toEqual(['46@1']);
    expect(r.checks.filter((c) => c.name.startsWith('remapping')).map((c) => [c.name, c.ok])).toEqual([['remapping', true], ['remapping-faults', true]]);
    expect(r.machine.iommu).toMatchObject({ requests: 57, translated: 57, blocked: 0 });
  });

  it('GSTS after boot: QIES, IRES, IRTPS set, CFIS clear, TES clear (DMA translation stays off)', async () => {
    let m: Machine | undefined;
    const r = await runScenario(DEFAULT_SCENARIO, { policy: 'linux-ir', onMachine: (x) => (m = x) });
    const gsts = m!.iommu!.mmioRead(0x1c, 4) >>> 0;
    expect(gsts).toBe(((1 << 26) | (1 << 25) | (1 << 24)) >>> 0);
    expect(r.remapping!.units[0]!.gsts).toBe(gsts);
    // IRTA: the 1 MiB table at 2 MiB, EIME clear in xAPIC mode, S = 0xF.
    expect(m!.iommu!.mmioRead(0xb8, 4) >>> 0).toBe(0x200000 | 0xf);
  });

  it('the driver programs the unit in Linux order: IQT, IQA, QIE, IRTA, SIRTP, global IEC, IRE', async () => {
    const writes: Array<[number, number]> = [];
    await runScenario({ cpus: 2, policy: 'linux-ir', devices: [] }, {
      onMachine: (m) => {
        const u = m.iommu!;
        const orig = u.mmioWrite.bind(u);
        u.mmioWrite = (off: number, size: number, v: number) => {
          writes.push([off, v >>> 0]);
          return orig(off, size, v);
        };
      },
    });
    const gcmd = writes.filter(([o]) => o === 0x18).map(([, v]) => v);
    // QIE; QIE|SIRTP (one-shot, not kept in the shadow); QIE|IRE. CFIS was never set: no CFI write.
    expect(gcmd).toEqual([1 << 26, ((1 << 26) | (1 << 24)) >>> 0, ((1 << 26) | (1 << 25)) >>> 0]);
    const order = writes.map(([o]) => o).filter((o) => [0x88, 0x90, 0x94, 0x18, 0xb8, 0xbc].includes(o));
    // IQT = 0, IQA (low dword, then high), GCMD QIE, IRTA (low, high), GCMD SIRTP, then IQT for the global
    // IEC + wait (CAP.ESIRTPS = 0), then GCMD IRE, then IQT once per IRTE written (each a selective IEC).
    expect(order.slice(0, 9)).toEqual([0x88, 0x90, 0x94, 0x18, 0xb8, 0xbc, 0x18, 0x88, 0x18]);
    // The 15 ISA pins' IRTEs (the timer's written twice: allocated, then requested) = 16 selective IECs.
    expect(order.slice(9)).toEqual(new Array(16).fill(0x88));
  });

  it('every remapped message lands: the unit translated each request and faulted none', async () => {
    const r = await runScenario(load('linux-ir-8cpu.json'));
    const total = r.devices.reduce((n, d) => n + d.messages.length, 0);
    expect(r.devices.every((d) => d.messages.every((q) => q.ok && q.irte !== undefined))).toBe(true);
    expect(r.machine.iommu!.blocked).toBe(0);
    expect(r.machine.iommu!.translated).toBeGreaterThanOrEqual(total);
    expect(r.remapping!.units[0]!.faults).toEqual([]);
  });
});

describe('I/O APIC pins under remapping', () => {
  it('the 15 ISA pins take IRTEs 0-14 in pin order; unrequested ones point at 239 and stay masked; the timer at 0x30', async () => {
    let m: Machine | undefined;
    const r = await runScenario({ cpus: 4, policy: 'linux-ir', devices: [] }, { onMachine: (x) => (m = x) });
    const pins = r.remapping!.ioapicPins;
    expect(pins.map((p) => [p.pin, p.irte])).toEqual(Array.from({ length: 15 }, (_, i) => [i + 1, i]));
    expect(pins.filter((p) => p.requested).map((p) => [p.pin, p.vector, p.cpu])).toEqual([[2, 0x30, 0]]);
    expect(pins.filter((p) => !p.requested).every((p) => p.vector === 239)).toBe(true);
    // The RTE itself: remappable format (bit 48), index 1 in 63:49, vector field = pin 2, unmasked.
    const io = m!.ioapic;
    io.write(0x00, 0x10 + 2 * 2);
    const low = io.read(0x10) >>> 0;
    io.write(0x00, 0x11 + 2 * 2);
    const high = io.read(0x10) >>> 0;
    expect(low & 0x1ffff).toBe(2);
    expect(high).toBe(((1 << 17) | (1 << 16)) >>> 0);
    // The IRTE in guest memory at 2 MiB + 16 × 1: present, vector 0x30, DST = flat logical CPU 0 (1 << 8).
    const ram = (a: number) => m!.cpus[0]!.bus.memRead(m!.cpus[0]!, a, 4) >>> 0;
    expect(ram(0x200000 + 16) & 0xff0001).toBe((0x30 << 16) | 1);
    expect(ram(0x200000 + 20)).toBe(1 << 8);
  });

  it('a level-triggered INTx device is delivered through its IRTE and EOIed at the I/O APIC (pin in the RTE)', async () => {
    let m: Machine | undefined;
    const r = await runScenario({ cpus: 2, policy: 'linux-ir', devices: [{ bdf: '00:04.0', intxPin: 1 }] }, { onMachine: (x) => (m = x) });
    expect(r.ok).toBe(true);
    expect(r.devices[0]!.messages[0]).toMatchObject({ ok: true, irte: 15 });
    // GSI 16 (00:04.0 INTA): level, active low, remappable, vector field = pin 16, unmasked — and its
    // remote IRR clear again: the local APIC's EOI broadcast (the IRTE's vector) cannot match a pin
    // number, so only the guest's EOI of the pin at the I/O APIC (ioapic_ir_ack_level) clears it.
    m!.ioapic.write(0x00, 0x10 + 2 * 16);
    const low = m!.ioapic.read(0x10) >>> 0;
    expect(low & 0xff).toBe(16);
    expect(low & ((1 << 15) | (1 << 13))).toBe((1 << 15) | (1 << 13));
    expect(low & ((1 << 16) | (1 << 14))).toBe(0);
  });
});

describe('x2APIC with extended interrupt mode (examples/scenarios/linux-ir-300cpu.json)', () => {
  it('300 CPUs: IRTA.EIME is set and MSI-X entries reach APIC IDs 255-299', async () => {
    const r = await runScenario(load('linux-ir-300cpu.json'));
    expect(r.ok).toBe(true);
    expect(r.remapping!.eim).toBe(true);
    const x = r.devices.find((d) => d.bdf === '00:03.0')!;
    expect(x.vectors).toBe(300);
    const cpus = new Set(x.messages.map((q) => q.cpu));
    // One entry on every CPU: the 32 MSI vectors went to CPUs 1-32, so CPUs 33-299 (more available)
    // come first, then 0-32.
    expect(cpus.size).toBe(300);
    expect(x.messages.filter((q) => q.cpu! >= 255)).toHaveLength(45);
    expect(x.messages.every((q) => q.ok)).toBe(true);
    expect(x.messages[0]!.cpu).toBe(33);
  }, 120_000);
});

describe('linux-ir scenario validation', () => {
  it('"iommu": false with linux-ir is refused, naming the field', () => {
    expect(() => parseScenario(JSON.stringify({ cpus: 2, policy: 'linux-ir', iommu: false, devices: [] }))).toThrow(
      new ScenarioError('iommu', 'false contradicts policy "linux-ir", which remaps interrupts through the VT-d unit: drop "iommu" or set it to true'),
    );
    // The same through a run-time policy.
    return expect(runScenario({ cpus: 2, iommu: false, devices: [] }, { policy: 'linux-ir' })).rejects.toThrow(ScenarioError);
  });
  it('"iommu" must be a boolean', () => {
    expect(() => parseScenario('{"cpus":2,"iommu":"yes","devices":[]}')).toThrow(new ScenarioError('iommu', 'must be true or false, got "yes"'));
  });
  it('plain MSI with affinity is accepted under linux-ir (each message its own IRTE)', () => {
    expect(parseScenario(JSON.stringify({ cpus: 4, policy: 'linux-ir', devices: [{ bdf: '00:03.0', msi: { vectors: 8 }, affinity: true }] })).policy).toBe('linux-ir');
  });
});

describe('the unit present, remapping left off (policy linux, "iommu": true)', () => {
  it('compatibility-format MSIs pass through; the report says why remapping is off', async () => {
    const r = await runScenario({ ...DEFAULT_SCENARIO, iommu: true }, { policy: 'linux' });
    expect(r.ok).toBe(true);
    expect(r.remapping).toMatchObject({ enabled: false, reason: 'policy linux boots with intremap=off' });
    expect(r.machine.iommu).toMatchObject({ passedThrough: 4, translated: 0, blocked: 0 });
    expect(formatReport(r)).toMatch(/Interrupt remapping \(VT-d\)\n {2}off: policy linux boots with intremap=off/);
  });
});

describe('report fields', () => {
  it('JSON: per MSI device "irte": {index, count}; per message "irte"; the remapping part with the fault counters', async () => {
    const r = await runScenario(DEFAULT_SCENARIO, { policy: 'linux-ir' });
    const j = contractJson(r) as {
      devices: Array<{ bdf: string; irte?: { index: number; count: number }; messages: Array<{ irte?: number; cpu: number; vector: number }> }>;
      remapping: { eim: boolean; ioapic: Array<{ pin: number; irte: number }>; faults: number; blocked: number };
    };
    expect(j.devices[1]!.irte).toEqual({ index: 16, count: 16 });
    expect(j.devices[1]!.messages[3]).toMatchObject({ irte: 19, cpu: 0, vector: 0x28 });
    expect(j.remapping).toMatchObject({ eim: false, faults: 0, blocked: 0 });
    expect(j.remapping.ioapic[1]).toEqual({ pin: 2, irte: 1, vector: 0x30, cpu: 0 });
  });
});

describe('a dropped request is never silent', () => {
  it('a request with reserved data bits (fault 0x20) is blocked, recorded, and fails the run by name', async () => {
    let calls = 0;
    const r = await runScenario({ cpus: 2, policy: 'linux-ir', devices: [{ bdf: '00:03.0', msi: { vectors: 4, is64: true, pvm: false } }] }, {
      onMachine: (m) => {
        const u = m.iommu!;
        const orig = u.interrupt.bind(u);
        // The device's third message gets data bit 16 set: with SHV = 1, data 31:16 must be 0 (VT-d §5.1.4).
        u.interrupt = (lo: number, hi: number, data: number, sid: number) => orig(lo, hi, ++calls === 3 ? data | 0x10000 : data, sid);
      },
    });
    expect(r.ok).toBe(false);
    expect(r.devices[0]!.messages[2]).toMatchObject({ ok: false, vector: null, irte: 18, problem: 'lost: no interrupt arrived' });
    expect(r.machine.iommu!.faults['reserved-request']).toBe(1);
    // Which index a malformed request's record names is the unit's business (src/hw/iommu); the guest
    // reports what the fault recording register holds.
    expect(r.remapping!.units[0]!.faults).toMatchObject([{ slot: 0, reason: 0x20, sid: 0x0018 }]);
    const f = r.checks.find((c) => c.name === 'remapping-faults')!;
    expect(f.ok).toBe(false);
    expect(f.detail).toMatch(/^1 fault record\(s\): reason 0x20 index \d+/);
    expect(r.checks.find((c) => c.name === 'remapping-blocked')).toMatchObject({ ok: false, detail: 'the remapping unit blocked 1 request(s): reserved-request 1' });
  });

  it('a 3-grant has a block of 4: message 3, beyond the grant, hits a not-present IRTE (fault 0x22)', async () => {
    let m: Machine | undefined;
    const r = await runScenario({ cpus: 2, policy: 'linux-ir', devices: [{ bdf: '00:03.0', msi: { vectors: 4, is64: true, pvm: false }, want: 3 }] }, { onMachine: (x) => (m = x) });
    expect(r.ok).toBe(true);
    expect([r.devices[0]!.vectors, r.devices[0]!.irte, r.devices[0]!.reservedTail]).toEqual([3, { index: 16, count: 4 }, 0]);
    const ep = m!.pci.get('00:03.0') as unknown as MsiEndpoint;
    ep.ring(3);
    expect(m!.iommu!.counters().faults['not-present']).toBe(1);
  });
});

describe('remapping stays off, with the reason, when Linux would leave it off', () => {
  it('a DMAR table with a bad checksum: linux-ir fails its remapping check and grants as linux (one vector)', async () => {
    const r = await runScenario({ cpus: 2, policy: 'linux-ir', devices: [{ bdf: '00:03.0', msi: { vectors: 8, is64: true, pvm: false } }] }, { acpiFaults: { dmarChecksum: true } });
    expect(r.ok).toBe(false);
    expect(r.remapping!.reason).toBe('DMAR table unusable: acpi: DMAR: checksum invalid');
    expect(r.checks.find((c) => c.name === 'remapping')).toMatchObject({ ok: false });
    expect(r.devices[0]!.vectors).toBe(1);
    expect(r.bootLog.some((l) => l.includes('DMAR-IR: not enabling interrupt remapping: DMAR table unusable'))).toBe(true);
  });

  it('a unit without queued invalidation (ECAP.QI = 0): IR is not enabled', async () => {
    const r = await runScenario({ cpus: 2, policy: 'linux-ir', devices: [] }, { iommu: { qi: false } });
    expect(r.remapping).toMatchObject({ enabled: false, reason: 'DRHD at 0xfed90000 lacks ECAP.QI: failed to enable queued invalidation' });
  });

  it('ECAP.MHMV = 3: a 16-message block exceeds 2^MHMV, so MSI fails and the driver falls back to INTx', async () => {
    const r = await runScenario({ cpus: 2, policy: 'linux-ir', devices: [{ bdf: '00:03.0', msi: { vectors: 16, is64: true, pvm: false } }] }, { iommu: { mhmv: 3 } });
    expect(r.ok).toBe(true);
    expect(r.devices[0]!.mode).toBe('intx');
    expect(r.bootLog.some((l) => l.includes('no interrupt-remapping block for 16 message(s) (MHMV 3: at most 8)'))).toBe(true);
  });

  it('x2APIC mode on a unit without EIM: remapping in xAPIC format, so CPUs above APIC ID 254 get nothing', async () => {
    const r = await runScenario(load('linux-ir-300cpu.json'), { iommu: { eim: false } });
    expect(r.remapping).toMatchObject({ enabled: true, eim: false });
    expect(r.bootLog.some((l) => l.includes('does not support EIM'))).toBe(true);
    const x = r.devices.find((d) => d.bdf === '00:03.0')!;
    expect(x.messages.every((q) => q.ok && q.cpu! <= 254)).toBe(true);
  }, 120_000);
});

describe('remapping needs memory', () => {
  it('on a 2 MiB board the 1 MiB table does not fit above the queue pages: IR stays off with the reason, the boot goes on', async () => {
    const { createMachine } = await import('../../src/machine/machine.js');
    const { kernelMain } = await import('../../firmware/kernel.js');
    const { createMatrixSync } = await import('../../src/alloc/matrix.js');
    const m = createMachine({ cpus: 2, iommu: true });
    const run = m.run(kernelMain({ policy: 'linux-ir', devices: {}, createMatrix: (cpus) => createMatrixSync({ cpus, engine: 'js', preset: 'x86' }) }));
    expect(run.end).toBe('bsp-finished');
    // Queue 0x100000, status 0x101000, then a size-aligned 1 MiB table at 0x200000: the end of 2 MiB RAM.
    expect(run.console).toContain('DMAR-IR: not enabling interrupt remapping: failed to set up irq remapping: memory: interrupt-remapping table: 1048576 bytes at 0x200000 do not fit below the end of RAM 0x200000');
    // Nothing was written to the unit: GSTS is still 0.
    expect(m.iommu!.mmioRead(0x1c, 4)).toBe(0);
  });
});
