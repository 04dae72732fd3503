// Whole-board snapshots (Machine.saveState / loadState): a booted and probed 8-CPU board with MSI,
// MSI-X and INTx devices is saved, restored in a fresh Node process, and both machines are then driven
// with the same host traffic: every MSI on the wire, every IRR/ISR/TMR bit and the final state agree.
// The same for a board with a VT-d remapping unit programmed from the host. Hostile states are refused
// with a MachineStateError naming the field, and change nothing.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DMAR_UNIT_BASE, encodeIrte, encodeRemappableAddress, IOAPIC_SOURCE_ID, irteDestination, MachineStateError, MachineUsageError, MsiEndpoint, runScenario, type Machine, type MachineState, type ScenarioInput,
} from '../../src/index.js';
import { randomInts } from '../../src/util/random.js';
import { apply, buildMachine, drive, specOf, workload, type MachineSpec, type Observation, type TrafficOp } from './snapshot-traffic.js';
import { thrown } from '../hostile.js';

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** Corruption rounds and seed (SNAPSHOT_FUZZ_ROUNDS / SNAPSHOT_FUZZ_SEED for a longer hunt). */
const ROUNDS = Number(process.env.SNAPSHOT_FUZZ_ROUNDS ?? 120);
const SEED = Number(process.env.SNAPSHOT_FUZZ_SEED ?? 0x5a7e);

/** 8 CPUs; two MSI devices (with and without per-vector masking), two MSI-X devices, one INTx-only device. */
const SCENARIO = {
  cpus: 8,
  apic: 'xapic',
  engine: 'js',
  policy: 'aligned',
  devices: [
    { bdf: '00:03.0', msi: { vectors: 8, is64: true, pvm: true } },
    { bdf: '00:04.0', msix: { vectors: 8 } },
    { bdf: '00:05.0' },
    { bdf: '00:06.0', msi: { vectors: 4, is64: false, pvm: false } },
    { bdf: '01:00.0', msix: { vectors: 16 } },
  ],
};

/** Boots and probes the scenario, then leaves state behind worth saving: pending, in-service, asserted, RAM. */
async function probed(scenario: object = SCENARIO): Promise<Machine> {
  let machine: Machine | undefined;
  const report = await runScenario(scenario as ScenarioInput, { onMachine: (m) => (machine = m), traceWire: true });
  expect(report.ok).toBe(true);
  const m = machine!;
  const pre: TrafficOp[] = [
    { kind: 'msix-entry', bdf: '00:04.0', entry: 3, dword: 3, value: 1 }, // masked entry …
    { kind: 'ring', bdf: '00:04.0', index: 3 }, // … left pending in the PBA
    { kind: 'config', bdf: '00:03.0', offset: (m.pci.get('00:03.0') as MsiEndpoint).msi!.offset + 0x10, size: 4, value: 0b100 },
    { kind: 'ring', bdf: '00:03.0', index: 2 }, // MSI pending bit 2
    { kind: 'ring', bdf: '00:05.0', index: 0 }, // INTx asserted, delivered level-triggered
    { kind: 'ring', bdf: '00:03.0', index: 5 },
    ...m.cpus.map((c) => ({ kind: 'ack' as const, cpu: c.index })), // in service, no EOI yet
    { kind: 'ring', bdf: '01:00.0', index: 7 },
    // A periodic timer on CPU 2 (vector 0x73, divide by 1, count 3000), a third of the way down.
    { kind: 'lapic', cpu: 2, reg: 0x3e0, value: 0xb },
    { kind: 'lapic', cpu: 2, reg: 0x320, value: 0x20073 },
    { kind: 'lapic', cpu: 2, reg: 0x380, value: 3000 },
    { kind: 'tick', cpu: 2, ticks: 1000 },
    { kind: 'ram', address: 0x3000, value: 0xdead_beef },
    { kind: 'ram', address: 0x4ffc, value: 1 },
    { kind: 'ram', address: 0x10_0000, value: 0x0102_0304 },
  ];
  for (const op of pre) apply(m, op);
  return m;
}

const UNIT = DMAR_UNIT_BASE; // the unit's register page
const IRT = 0x10_0000; // interrupt-remapping table: 256 entries (IRTA.S = 7)
const IQ = 0x0c_0000; // invalidation queue: one page of 256 descriptors
const STATUS = 0x0d_0000; // the wait descriptor's status write
const GCMD_QIE = 1 << 26;
const GCMD_IRE = 1 << 25;
const GCMD_SIRTP = 1 << 24;

/**
 * A board whose remapping is set up from the host the way Linux's intel/irq_remapping.c does it (QI on,
 * IRTA + SIRTP, a global IEC and a wait, IRE; VT-d spec §10.4), with IRTEs for an MSI block, MSI-X
 * entries and the INTx device's I/O APIC pin, and the devices programmed with remappable addresses.
 */
function remapped(): { m: Machine; ops: TrafficOp[] } {
  const m = buildMachine({
    cpus: 8, apic: 'xapic', mcfg: true, iommu: true,
    devices: [
      { bdf: '00:03.0', msi: { vectors: 4, is64: false, pvm: true }, intxPin: 1 },
      { bdf: '00:04.0', msix: { tableSize: 4 }, intxPin: 1 },
      { bdf: '00:05.0', intxPin: 1 },
    ],
  });
  const w = (address: number, value: number) => apply(m, { kind: 'ram', address, value });
  const irte = (index: number, e: { low: bigint; high: bigint }) => {
    [e.low & 0xffff_ffffn, e.low >> 32n, e.high & 0xffff_ffffn, e.high >> 32n].forEach((d, k) => w(IRT + index * 16 + 4 * k, Number(d)));
  };
  for (const c of m.cpus) m.memWrite(c, 0xfee0_00f0, 4, 0x1ff); // each APIC software-enabled, spurious 0xFF
  for (let i = 0; i < 4; i++) irte(32 + i, encodeIrte({ vector: 0x41 + i, destination: irteDestination(3, false), sourceId: 0x0018, sourceValidation: 1 }));
  for (let i = 0; i < 4; i++) irte(40 + i, encodeIrte({ vector: 0x51 + i, destination: irteDestination(4 + i, false), sourceId: 0x0020, sourceValidation: 1 }));
  irte(50, encodeIrte({ vector: 0x61, trigger: 'level', destination: irteDestination(2, false), sourceId: IOAPIC_SOURCE_ID, sourceValidation: 1 }));
  w(UNIT + 0x88, 0); // IQT
  w(UNIT + 0x90, IQ); // IQA, QS = 0
  w(UNIT + 0x94, 0);
  w(UNIT + 0x18, GCMD_QIE);
  w(UNIT + 0xb8, IRT | 7); // IRTA: S = 7
  w(UNIT + 0xbc, 0);
  w(UNIT + 0x18, GCMD_QIE | GCMD_SIRTP);
  [4, 0, 0, 0, 5 | (1 << 5), 1, STATUS, 0].forEach((d, k) => w(IQ + 4 * k, d)); // global IEC; wait with status write
  w(UNIT + 0x88, 0x20);
  w(UNIT + 0x18, GCMD_QIE | GCMD_IRE);
  expect(m.memRead(m.cpus[0]!, STATUS, 4)).toBe(1);
  const msi = (m.pci.get('00:03.0') as MsiEndpoint).msi!;
  const setup: TrafficOp[] = [
    // BARs from the PCI window, as firmware would assign them: BAR0 (doorbells) and BAR1 (MSI-X table).
    ...m.pci.functions().flatMap(({ bdf }, k): TrafficOp[] => [
      { kind: 'config', bdf, offset: 0x10, size: 4, value: 0xc000_0000 + k * 0x10000 },
      { kind: 'config', bdf, offset: 0x14, size: 4, value: 0xc000_8000 + k * 0x10000 },
    ]),
    { kind: 'config', bdf: '00:03.0', offset: 0x04, size: 2, value: 0x6 },
    { kind: 'config', bdf: '00:03.0', offset: msi.offset + 4, size: 4, value: encodeRemappableAddress(32) },
    { kind: 'config', bdf: '00:03.0', offset: msi.offset + 8, size: 2, value: 0 }, // sub-handles 0..3
    { kind: 'config', bdf: '00:03.0', offset: msi.offset + 2, size: 2, value: 0x21 }, // MME 2, enable
    { kind: 'config', bdf: '00:04.0', offset: 0x04, size: 2, value: 0x6 },
    ...[0, 1, 2, 3].flatMap((i): TrafficOp[] => [
      { kind: 'msix-entry', bdf: '00:04.0', entry: i, dword: 0, value: encodeRemappableAddress(40 + i) },
      { kind: 'msix-entry', bdf: '00:04.0', entry: i, dword: 3, value: 0 },
    ]),
    { kind: 'config', bdf: '00:04.0', offset: (m.pci.get('00:04.0') as MsiEndpoint).msix!.offset + 2, size: 2, value: 0x8000 },
    { kind: 'config', bdf: '00:05.0', offset: 0x04, size: 2, value: 0x6 },
  ];
  const gsi = m.gsiFor('00:05.0', 1);
  // Remappable RTE (VT-d §5.1.5.1): bit 48 format, 63:49 index 50; level, active low, vector = the IRTE's.
  setup.push({ kind: 'ioapic', offset: 0, value: 0x10 + 2 * gsi + 1 }, { kind: 'ioapic', offset: 0x10, value: (0x1_0000 | (50 << 17)) >>> 0 });
  setup.push({ kind: 'ioapic', offset: 0, value: 0x10 + 2 * gsi }, { kind: 'ioapic', offset: 0x10, value: 0x61 | (1 << 13) | (1 << 15) });
  for (const op of setup) apply(m, op);
  // Before the save: a translated message in the IRTE cache, a pending masked one, INTx in service, a fault recorded.
  for (const op of [
    { kind: 'ring', bdf: '00:03.0', index: 1 },
    { kind: 'config', bdf: '00:03.0', offset: msi.offset + 0x0c, size: 4, value: 0b1000 },
    { kind: 'ring', bdf: '00:03.0', index: 3 },
    { kind: 'ring', bdf: '00:05.0', index: 0 },
    { kind: 'ack', cpu: 2 },
    { kind: 'message', bdf: '00:04.0', address: encodeRemappableAddress(60), data: 0 }, // not present: fault 0x22
  ] as TrafficOp[]) apply(m, op);
  const ops: TrafficOp[] = [
    ...workload(m),
    { kind: 'config', bdf: '00:03.0', offset: msi.offset + 0x0c, size: 4, value: 0 }, // the pending message 3 goes out
    { kind: 'message', bdf: '00:03.0', address: encodeRemappableAddress(33), data: 0 }, // SID 00:03.0: translated
    { kind: 'message', bdf: '00:05.0', address: encodeRemappableAddress(33), data: 0 }, // SID mismatch: fault
    { kind: 'message', bdf: '00:04.0', address: encodeRemappableAddress(61), data: 0 },
  ];
  return { m, ops };
}

describe('snapshot round trip through a fresh process', () => {
  let dir: string;
  let child: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'irqslice-snapshot-'));
    child = path.join(dir, 'child.mjs');
    // The child runs the library as built from these sources (not a possibly stale dist/).
    await build({ entryPoints: [new URL('./snapshot-child.ts', import.meta.url).pathname], outfile: child, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function inFreshProcess(spec: MachineSpec, state: unknown, ops: TrafficOp[]): { reloaded: MachineState; observations: Observation[]; final: MachineState } {
    const input = path.join(dir, 'in.json');
    const output = path.join(dir, 'out.json');
    writeFileSync(input, JSON.stringify({ spec, state, ops }));
    const r = spawnSync(process.execPath, [child, input, output], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(readFileSync(output, 'utf8'));
  }

  it('8 CPUs, MSI + MSI-X + INTx: the same host traffic gives the same MSIs, IRR, ISR and TMR bit for bit', async () => {
    const m = await probed();
    const state = m.saveState();
    const ops = workload(m);
    const there = inFreshProcess(specOf(m), state, ops);
    expect(there.reloaded).toEqual(json(state)); // save → load → save, in the other process
    const here = json(drive(m, ops));
    // The workload is not empty: messages sent, some dropped by masks and then flushed, level INTx.
    const wire = here.flatMap((o) => o.wire);
    expect(wire.length).toBeGreaterThan(40);
    expect(wire.every((w) => (w.outcome as { delivered: boolean }).delivered)).toBe(true);
    expect(here.some((o) => o.tmr.some((t) => t.some((w) => w !== 0)))).toBe(true);
    // The timers fired: vector 0x73 (CPU 2, periodic, armed before the save) and 0x74 (CPU 7, one-shot).
    expect(here.some((o) => (o.irr[2]![0x73 >> 5]! >>> (0x73 & 31)) & 1)).toBe(true);
    expect(here.some((o) => (o.irr[7]![0x74 >> 5]! >>> (0x74 & 31)) & 1)).toBe(true);
    expect(there.observations).toEqual(here);
    expect(there.final).toEqual(json(m.saveState()));
  });

  it('with a VT-d remapping unit: IRTE cache, fault records and remappable entries come back in the other process', () => {
    const { m, ops } = remapped();
    const state = m.saveState();
    const there = inFreshProcess(specOf(m), state, ops);
    expect(there.reloaded).toEqual(json(state));
    expect(there.observations).toEqual(json(drive(m, ops)));
    expect(there.final).toEqual(json(m.saveState()));
  });
});

describe('snapshot contents', () => {
  it('survives JSON, and save → load → save is the identity', async () => {
    const m = await probed();
    const state = m.saveState();
    const text = JSON.stringify(state);
    expect(JSON.parse(text)).toEqual(state); // nothing JSON loses (no bigint, no undefined, no NaN)
    const fresh = buildMachine(specOf(m));
    fresh.loadState(JSON.parse(text));
    expect(JSON.stringify(fresh.saveState())).toBe(text);
  });

  it('holds what the scenario left behind: pending MSI and MSI-X bits, in-service vectors, INTx, RAM pages', async () => {
    const m = await probed();
    const s = m.saveState();
    expect(s.format).toBe('irqslice.machine/1');
    expect(s.config).toEqual({ cpus: 8, apic: 'xapic', ramSize: 0x20_0000, mcfg: true, acpiFaults: [], iommu: false });
    const fn = (bdf: string) => s.pci.functions.find((f) => f.bdf === bdf)!.state;
    expect((fn('00:03.0').capabilities[0]!.state as { pending: number }).pending).toBe(0b100);
    expect((fn('00:04.0').capabilities[0]!.state as { pending: number[] }).pending).toEqual([3]);
    const intx = m.pci.get('00:05.0') as MsiEndpoint;
    expect(intx.intxAsserted).toBe(true);
    expect(fn('00:05.0').device).toEqual({ format: 'irqslice.msi-endpoint/1', ...intx.counters() });
    // Status (config 0x06) bit 3: the function's interrupt request, which keeps INTx asserted.
    expect(parseInt(fn('00:05.0').config.slice(12, 14), 16) & 0x08).toBe(0x08);
    expect(s.cpus.some((c) => c.lapic.isr.some((w) => w !== 0))).toBe(true);
    expect(s.cpus[2]!.lapic.timer).toMatchObject({ initialCount: 3000, currentCount: 2000 });
    // Pages 3 and 4 (adjacent: one run) and page 0x100 hold the host's stores; base64 is 4 characters
    // per 3 bytes, padded: 8192 bytes → 10924 characters, 4096 → 5464.
    expect(s.ram.runs.map((r) => [r.address, r.data.length])).toEqual([[0x3000, 10924], [0x10_0000, 5464]]);
  });

  it('a used machine rewound to a snapshot replays the traffic exactly as the first time', async () => {
    const m = await probed();
    const state = m.saveState();
    const ops = workload(m);
    const first = json(drive(m, ops));
    m.loadState(state);
    expect(m.saveState()).toEqual(state);
    expect(json(drive(m, ops))).toEqual(first);
  });

  it('an x2APIC board (EOI by MSR, 32-bit destinations) round-trips and replays the same', async () => {
    const m = await probed({ ...SCENARIO, apic: 'x2apic' });
    const state = json(m.saveState());
    const fresh = buildMachine(specOf(m));
    fresh.loadState(state);
    const ops = workload(m);
    expect(json(drive(fresh, ops))).toEqual(json(drive(m, ops)));
    expect(fresh.saveState()).toEqual(m.saveState());
  });

  it('guest code started after a restore sees the restored RAM, clock and APIC', async () => {
    const m = await probed();
    const state = json(m.saveState());
    const fresh = buildMachine(specOf(m));
    fresh.loadState(state);
    const seen: number[] = [];
    let tsc = 0n;
    const end = fresh.run(function* (c) {
      seen.push(c.read32(0x3000), c.read32(0x10_0000), c.read32(0xfee0_0020) >>> 24); // RAM, RAM, APIC ID register
      tsc = c.rdtsc();
      yield* c.pause(1000);
    });
    expect(end.end).toBe('bsp-finished');
    expect(seen).toEqual([0xdead_beef, 0x0102_0304, 0]);
    expect(tsc >= BigInt(state.clock.timeNs)).toBe(true); // the TSC goes on from the saved time
    expect(end.timeNs).toBeGreaterThan(state.clock.timeNs);
  });

  it('cannot be taken or loaded while guest code runs', async () => {
    const m = await probed();
    const state = m.saveState();
    const errors: unknown[] = [];
    m.run(function* () {
      errors.push(thrown(() => m.saveState()), thrown(() => m.loadState(state)));
    });
    expect(errors.map((e) => (e as Error).name)).toEqual(['MachineUsageError', 'MachineUsageError']);
    expect(errors[0]).toBeInstanceOf(MachineUsageError);
  });
});

describe('hostile states are refused, naming the field, and change nothing', () => {
  // One probed board for all the cases: they read its state and spec and never change it.
  let shared: Promise<{ m: Machine; spec: MachineSpec; state: MachineState }> | null = null;
  const saved = () => (shared ??= probed().then((m) => ({ m, spec: specOf(m), state: json(m.saveState()) })));
  type Mutation = (s: any) => void;
  const cases: [string, Mutation, string, RegExp][] = [
    ['a wrong format string', (s) => (s.format = 'irqslice.machine/0'), 'format', /irqslice\.machine\/1/],
    ['an unknown top-level field', (s) => (s.devices = []), 'devices', /unknown field/],
    ['an empty object', (s) => Object.keys(s).forEach((k) => delete s[k]), 'format', /irqslice\.machine\/1/],
    ['no config', (s) => delete s.config, 'config', /expected an object/],
    ['a CPU count as a string', (s) => (s.config.cpus = '8'), 'config.cpus', /"8"/],
    ['IF as a number', (s) => (s.cpus[2].interruptsEnabled = 1), 'cpus[2].interruptsEnabled', /boolean/],
    ['an unknown CPU state', (s) => (s.cpus[3].state = 'sleeping'), 'cpus[3].state', /wait-for-sipi/],
    ['the BSP waiting for SIPI', (s) => (s.cpus[0].state = 'wait-for-sipi'), 'cpus[0].state', /BSP/],
    ['a CPU missing', (s) => s.cpus.pop(), 'cpus', /expected 8 entries/],
    ['an APIC clock ahead of the clock', (s) => (s.cpus[1].apicClockTicks = s.clock.timeNs), 'cpus[1].apicClockTicks', /0\.\./],
    ['a bad IRR word in the last CPU', (s) => (s.cpus[7].lapic.irr[2] = -1), 'cpus[7].lapic.irr[2]', /32-bit unsigned/],
    ['an illegal vector in an ISR', (s) => (s.cpus[4].lapic.isr[0] = 0x8), 'cpus[4].lapic.isr[0]', /0–15/],
    ['the state of another APIC', (s) => (s.cpus[5].lapic.apicId = 6), 'cpus[5].lapic.apicId', /APIC 6/],
    ['an I/O APIC entry as a string', (s) => (s.ioapic.redirection[3].low = 'x'), 'ioapic', /redirection\[3\]\.low/],
    ['an 8259 vector base not a multiple of 8', (s) => (s.pic.slave.vectorBase = 0x71), 'pic.slave.vectorBase', /multiple of 8/],
    ['a CONFIG_ADDRESS with bits 1:0 set', (s) => (s.pci.configAddress = 0x8000_0003), 'pci.configAddress', /1:0/],
    ['a config space that is not hex', (s) => (s.pci.functions[1].state.config = 'zz'), 'pci.functions[1].state.config', /hex/],
    ['another device ID in config space', (s) => (s.pci.functions[0].state.config = '0000' + s.pci.functions[0].state.config.slice(4)), 'pci.functions[0].state.config[0x000]', /'vendor'/],
    ['an MSI state that disagrees with config space', (s) => (s.pci.functions[0].state.capabilities[0].state.data ^= 1), 'pci.functions[0].state.config[0x', /implies/],
    ['MSI mask bits beyond the capability', (s) => (s.pci.functions[0].state.capabilities[0].state.mask = 0x100), 'pci.functions[0].state.capabilities[0].state', /reserved/],
    ['an MSI-X entry with reserved vector-control bits', (s) => (s.pci.functions[1].state.capabilities[0].state.entries[2].vectorControl = 2), 'pci.functions[1].state.capabilities[0].state', /entries\[2\]/],
    ['endpoint counters that do not add up', (s) => (s.pci.functions[2].state.device.suppressed += 1), 'pci.functions[2].state.device.suppressed', /byReason/],
    ['functions at other BDFs', (s) => (s.pci.functions[4].bdf = '02:00.0'), 'pci.functions', /02:00\.0/],
    ['truncated RAM', (s) => (s.ram.runs[1].data = s.ram.runs[1].data.slice(0, 4000)), 'ram.runs[1].data', /whole 4 KiB pages/],
    ['RAM that is not base64', (s) => (s.ram.runs[0].data = '*'.repeat(5464)), 'ram.runs[0].data', /base64/],
    ['RAM runs out of order', (s) => s.ram.runs.reverse(), 'ram.runs[1].address', /ascending/],
    ['RAM beyond its end', (s) => (s.ram.runs[1].address = 0x20_0000), 'ram.runs[1].address', /0\.\./],
    ['RAM runs overlapping', (s) => (s.ram.runs[1].address = 0x4000), 'ram.runs[1].address', /overlap/],
    ['RAM behind the BIOS ROM', (s) => (s.ram.runs[1].address = 0xf_0000), 'ram.runs[1].data', /BIOS ROM/],
    ['a remapping unit this machine lacks', (s) => (s.iommu = { format: 'irqslice.vtd/1' }), 'iommu', /no interrupt-remapping unit/],
    ['a remapping unit in the configuration', (s) => (s.config.iommu = true), 'config.iommu', /true/],
  ];

  it.each(cases)('%s', async (_what, mutate, field, detail) => {
    const { spec, state: original } = await saved();
    const state = json(original);
    mutate(state);
    const target = buildMachine(spec);
    const before = target.saveState();
    const e = thrown(() => target.loadState(state));
    expect(e).toBeInstanceOf(MachineStateError);
    expect((e as MachineStateError).field.startsWith(field)).toBe(true);
    expect(e.message).toMatch(detail);
    expect(target.saveState()).toEqual(before);
  });

  it.each<[string, () => Promise<Machine>]>([
    ['the probed board', async () => (await saved()).m],
    ['the VT-d board', async () => remapped().m],
  ])('random single-field corruptions of %s: a MachineStateError and no change, or a state that loads and saves back as given', async (_what, make) => {
    const m = await make();
    const original = json(m.saveState());
    // Every path into the state (containers and leaves), as key lists.
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, p: (string | number)[]) => {
      paths.push(p);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    };
    walk(original, []);
    const values: unknown[] = [null, -1, 1.5, 'x', true, {}, [], 2 ** 32, 0, 1, 0xff, '0x1', 'AAAA'];
    const next = randomInts(SEED);
    const spec = specOf(m);
    let target = buildMachine(spec);
    let before = target.saveState();
    let refused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const path = paths[1 + next(paths.length - 1)]!;
      const state = json(original) as any;
      let parent = state;
      for (const k of path.slice(0, -1)) parent = parent[k];
      parent[path.at(-1)!] = values[next(values.length)];
      let error: unknown = null;
      try {
        target.loadState(state);
      } catch (e) {
        error = e;
      }
      if (error !== null) {
        expect(error, path.join('.')).toBeInstanceOf(MachineStateError);
        expect(target.saveState()).toEqual(before);
        refused++;
        continue;
      }
      // Accepted: the machine now holds exactly that state. RAM runs may be re-cut and the unit lists its
      // IRTE cache by index (it has no eviction order to keep), so those two are compared as sets.
      const back = json(target.saveState()) as any;
      delete back.ram;
      delete state.ram;
      state.iommu?.cache?.sort?.((a: { index: number }, b: { index: number }) => a.index - b.index);
      expect(back, path.join('.')).toEqual(state);
      target = buildMachine(spec);
      before = target.saveState();
    }
    expect(refused).toBeGreaterThan(ROUNDS / 2);
  });

  it('a state that is not an object names the root', async () => {
    const target = buildMachine((await saved()).spec);
    for (const bad of [null, [], 'state', 7, undefined]) {
      const e = thrown(() => target.loadState(bad));
      expect(e).toBeInstanceOf(MachineStateError);
      expect((e as MachineStateError).field).toBe('$');
    }
  });

  it.each<[string, Partial<MachineSpec> | ((s: MachineSpec) => MachineSpec), string]>([
    ['fewer CPUs', { cpus: 4 }, 'config.cpus'],
    ['another APIC mode', { apic: 'x2apic' }, 'config.apic'],
    ['no MCFG', { mcfg: false }, 'config.mcfg'],
    ['a device missing', (s) => ({ ...s, devices: s.devices.slice(1) }), 'pci.functions'],
    ['an MSI device with fewer messages', (s) => ({ ...s, devices: s.devices.map((d) => (d.msi ? { ...d, msi: { ...d.msi, vectors: 2 as const } } : d)) }), 'pci.functions[0].state'],
    ['a device with a larger BAR0', (s) => ({ ...s, devices: s.devices.map((d) => (d.bdf === '00:05.0' ? { ...d, barSize: 0x2000 } : d)) }), 'pci.functions[2].state.bars'],
    ['an INTx device with another pin', (s) => ({ ...s, devices: s.devices.map((d) => (d.bdf === '00:05.0' ? { ...d, intxPin: 2 as const } : d)) }), 'pci.functions[2].state.config[0x03d]'],
  ])('a machine of another configuration: %s', async (_what, change, field) => {
    const { spec, state } = await saved();
    const other = buildMachine(typeof change === 'function' ? change(spec) : { ...spec, ...change });
    const before = other.saveState();
    const e = thrown(() => other.loadState(json(state)));
    expect(e).toBeInstanceOf(MachineStateError);
    expect((e as MachineStateError).field.startsWith(field)).toBe(true);
    expect(other.saveState()).toEqual(before);
  });

  it('another RAM size', async () => {
    const { spec, state } = await saved();
    const other = buildMachine(spec, { ramSize: 0x40_0000 });
    const e = thrown(() => other.loadState(json(state)));
    expect((e as MachineStateError).field).toBe('config.ramSize');
  });
});

describe('a board with a VT-d remapping unit', () => {
  it('the unit is saved under iommu and restored with the board; the same traffic translates and faults alike', () => {
    const { m, ops } = remapped();
    const state = json(m.saveState());
    expect(state.config.iommu).toBe(true);
    expect(state.iommu).toMatchObject({ format: 'irqslice.vtd/1' });
    expect((state.iommu as { cache: unknown[] }).cache.length).toBeGreaterThan(0);
    const fresh = buildMachine(specOf(m));
    fresh.loadState(state);
    expect(json(fresh.saveState())).toEqual(state);
    const here = json(drive(m, ops));
    expect(json(drive(fresh, ops))).toEqual(here);
    expect(fresh.saveState()).toEqual(m.saveState());
    const outcomes = here.flatMap((o) => o.wire.map((r) => r.outcome as { delivered: boolean; reason?: string }));
    expect(outcomes.filter((o) => o.delivered).length).toBeGreaterThan(8);
    expect(outcomes.some((o) => o.reason === 'remapping-fault')).toBe(true);
  });

  it('a unit state with another configuration or a bad field is refused, naming iommu.…, and changes nothing', () => {
    const { m } = remapped();
    const state = json(m.saveState()) as any;
    const target = buildMachine(specOf(m));
    const before = target.saveState();
    const bad = json(state);
    bad.iommu.config.faultRecords = 4;
    expect((thrown(() => target.loadState(bad)) as MachineStateError).field).toBe('iommu.config.faultRecords');
    const bad2 = json(state);
    bad2.iommu.table.base = '0x100001';
    expect((thrown(() => target.loadState(bad2)) as MachineStateError).field).toBe('iommu.table.base');
    const late = json(state);
    late.ram.runs.at(-1).data = 'AAAA'; // valid unit state, bad RAM: the unit must not have been touched
    expect((thrown(() => target.loadState(late)) as MachineStateError).field).toMatch(/^ram\.runs/);
    expect(target.saveState()).toEqual(before);
    expect((thrown(() => buildMachine({ ...specOf(m), iommu: false }).loadState(state)) as MachineStateError).field).toBe('config.iommu');
  });
});
