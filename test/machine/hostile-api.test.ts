// Hostile calls on the machine, the guest kernel's entry point and the exported firmware helpers:
// each throws its typed error (MachineConfigError/MachineUsageError, BootError, AffinityError,
// PciUsageError) with the argument named, never a TypeError from inside.

import { describe, expect, it } from 'vitest';
import { each, expectTyped, type Row } from '../hostile.js';
import {
  AffinityError, BootError, createMachine, kernelMain, MachineConfigError, MachineStateError, MachineUsageError, MsiEndpoint, PciFunction, PciStateError, PciUsageError,
  planBlockMove, planEvacuation, planSetAffinity, setAffinity, StepQueue, VectorShadow, createMatrixSync,
} from '../../src/index.js';
import { offlineCpu } from '../../firmware/hotplug.js';
import { MigrationBench } from '../../src/migrate/bench.js';


const BAD: [string, unknown][] = [
  ['null', null], ['undefined', undefined], ['NaN', NaN], ['1.5', 1.5], ['"1"', '1'], ['true', true], ['10n', 10n], ['{}', {}], ['a symbol', Symbol('s')],
];

describe('createMachine and Machine', () => {
  const m = () => createMachine({ cpus: 1 });
  const rows: Row[] = [
    ...each('createMachine(config)', [['null', null], ['7', 7], ['[]', []]], (c) => createMachine(c), MachineConfigError),
    ...each('cpus', BAD, (v) => createMachine({ cpus: v }), MachineConfigError),
    ['cpus 1025', () => createMachine({ cpus: 1025 }), MachineConfigError],
    ['an unknown option', () => createMachine({ cpus: 1, ram: 4096 } as never), MachineConfigError],
    ['apic null', () => createMachine({ cpus: 1, apic: null as never }), MachineConfigError],
    ['apic "x2APIC"', () => createMachine({ cpus: 1, apic: 'x2APIC' as never }), MachineConfigError],
    ['300 CPUs in xAPIC mode', () => createMachine({ cpus: 300, apic: 'xapic' }), MachineConfigError],
    ...each('ramSize', BAD.filter(([, v]) => v !== undefined), (v) => createMachine({ cpus: 1, ramSize: v }), MachineConfigError),
    ['ramSize above 1 GiB', () => createMachine({ cpus: 1, ramSize: 0x8000_0000 }), MachineConfigError],
    ...each('mcfg', [['1', 1], ['"no"', 'no'], ['null', null]], (v) => createMachine({ cpus: 1, mcfg: v }), MachineConfigError),
    ...each('traceWire', [['1', 1], ['null', null]], (v) => createMachine({ cpus: 1, traceWire: v }), MachineConfigError),
    ...each('timeLimitNs', BAD.filter(([, v]) => v !== undefined), (v) => createMachine({ cpus: 1, timeLimitNs: v }), MachineConfigError),
    ['lowestPriority "lowest-ppr"', () => createMachine({ cpus: 1, lowestPriority: 'lowest-ppr' as never }), MachineConfigError],
    ['acpiFaults with an unknown fault', () => createMachine({ cpus: 1, acpiFaults: { madtMissing: true } as never }), MachineConfigError],
    ['acpiFaults.rsdpChecksum 1', () => createMachine({ cpus: 1, acpiFaults: { rsdpChecksum: 1 as never } }), MachineConfigError],
    ['devices not an array', () => createMachine({ cpus: 1, devices: {} as never }), MachineConfigError],
    ['devices[0] null', () => createMachine({ cpus: 1, devices: [null as never] }), MachineConfigError],
    ['devices[0].fn null', () => createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn: null as never }] }), MachineConfigError],
    ['devices[0].fn a plain object', () => createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn: {} as never }] }), MachineConfigError],
    ['devices[0] with an extra field', () => createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn: new MsiEndpoint(), pin: 1 } as never] }), MachineConfigError],
    ['devices[0].bdf malformed', () => createMachine({ cpus: 1, devices: [{ bdf: '0:3.0', fn: new MsiEndpoint() }] }), MachineConfigError],
    ['two devices at one BDF', () => createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn: new MsiEndpoint() }, { bdf: '00:03.0', fn: new MsiEndpoint() }] }), MachineConfigError],
    ...each('run(program)', BAD, (v) => m().run(v), MachineUsageError),
    ...each('gsiFor(bdf, 1)', BAD, (v) => m().gsiFor(v, 1), PciUsageError),
    ...each('gsiFor("00:03.0", pin)', [...BAD, ['0', 0], ['5', 5]], (v) => m().gsiFor('00:03.0', v), PciUsageError),
    ...each('memRead(cpu, 0, 4)', BAD, (v) => m().memRead(v, 0, 4), MachineUsageError),
    ['memRead with another machine\'s CPU', () => m().memRead(m().cpus[0]!, 0, 4), MachineUsageError],
    ...each('memRead(cpu0, address, 4)', BAD, (v) => { const x = m(); return x.memRead(x.cpus[0]!, v, 4); }, MachineUsageError),
    ...each('memRead(cpu0, 0, size)', [...BAD, ['3', 3]], (v) => { const x = m(); return x.memRead(x.cpus[0]!, 0, v); }, MachineUsageError),
    ...each('memWrite(cpu0, 0, 4, value)', BAD, (v) => { const x = m(); x.memWrite(x.cpus[0]!, 0, 4, v); }, MachineUsageError),
    ...each('ioRead(port, 1)', BAD, (v) => m().ioRead(v, 1), MachineUsageError),
    ...each('ioWrite(0xe9, 1, value)', BAD, (v) => m().ioWrite(0xe9, 1, v), MachineUsageError),
    ...each('installCode(0x8000, program)', BAD, (v) => m().installCode(0x8000, v), MachineUsageError),
    ...each('codeAt(address)', BAD, (v) => m().codeAt(v), MachineUsageError),
    ...each('event(null, kind, "x")', BAD.filter(([, v]) => typeof v !== 'string'), (v) => m().event(null, v, 'x'), MachineUsageError),
    ...each('wake(cpu)', BAD, (v) => m().wake(v), MachineUsageError),
    ...each('syncApic(cpu)', BAD, (v) => m().syncApic(v), MachineUsageError),
    ...each('loadState(state)', [...BAD, ['[]', []], ['a null-prototype object', Object.create(null)]], (v) => m().loadState(v), MachineStateError),
    ...each('MsiEndpoint loadState(state)', [...BAD, ['[]', []]], (v) => new MsiEndpoint().loadState(v), PciStateError),
  ];
  it.each(rows)('%s → typed error', (_label, call, E) => expectTyped(call, E));

  it('a guest that passes garbage to its CPU context faults (its CPU shuts down), the machine does not crash', () => {
    const machine = createMachine({ cpus: 1 });
    const r = machine.run(function* (cpu) {
      cpu.write32(Number.NaN, 1);
    });
    expect(r.end).toBe('bsp-shutdown');
    expect(machine.cpus[0]!.shutdownReason).toMatch(/^guest fault: MachineUsageError: memWrite\(/);
  });

  it('a bad device function names its index in the configuration', () => {
    expect(() => createMachine({ cpus: 1, devices: [{ bdf: '00:03.0', fn: new PciFunction({ vendorId: 1, deviceId: 1, classCode: 0 }) }, { bdf: '00:04.0', fn: 5 as never }] })).toThrow(
      /^devices\[1\]\.fn must be a PciFunction, got 5$/,
    );
  });
});

describe('kernelMain', () => {
  const ok = { policy: 'aligned' as const, createMatrix: (cpus: number) => createMatrixSync({ cpus, engine: 'js', preset: 'x86' }), devices: {} };
  const rows: Row[] = [
    ...each('kernelMain(params)', [['null', null], ['undefined', undefined], ['7', 7], ['[]', []]], (v) => kernelMain(v), BootError),
    ...each('policy', BAD, (v) => kernelMain({ ...ok, policy: v }), BootError),
    ['policy "Linux"', () => kernelMain({ ...ok, policy: 'Linux' as never }), BootError],
    ...each('createMatrix', BAD, (v) => kernelMain({ ...ok, createMatrix: v }), BootError),
    ...each('devices', [['null', null], ['[]', []], ['"00:03.0"', '00:03.0']], (v) => kernelMain({ ...ok, devices: v }), BootError),
    ['devices["00:03.0"].min 0', () => kernelMain({ ...ok, devices: { '00:03.0': { min: 0 } } }), BootError],
    ['devices["00:03.0"].max 1.5', () => kernelMain({ ...ok, devices: { '00:03.0': { max: 1.5 } } }), BootError],
    ['devices["00:03.0"] min above max', () => kernelMain({ ...ok, devices: { '00:03.0': { min: 8, max: 4 } } }), BootError],
    ['devices["00:03.0"] with want', () => kernelMain({ ...ok, devices: { '00:03.0': { want: 4 } as never } }), BootError],
    ...each('fillPerCpu', [['-1', -1], ['1.5', 1.5], ['"1"', '1'], ['257', 257]], (v) => kernelMain({ ...ok, fillPerCpu: v }), BootError),
    // The boot loader's end of RAM: page aligned, above the first MiB the guest keeps, at most 1 GiB.
    ...each('ramEnd', [['0', 0], ['0xfffff', 0xfffff], ['0x100001', 0x100001], ['2 GiB', 0x8000_0000], ['"4M"', '4M']], (v) => kernelMain({ ...ok, ramEnd: v }), BootError),
    ['an unknown parameter', () => kernelMain({ ...ok, cpus: 4 } as never), BootError],
  ];
  it.each(rows)('%s → BootError (stage params)', (_label, call, E) => {
    expectTyped(call, E);
    try {
      call();
    } catch (e) {
      expect((e as BootError).stage).toBe('params');
    }
  });
});

describe('firmware helpers (affinity, evacuation)', () => {
  const bench = () => new MigrationBench({ protocol: 'safe', mode: 'affinity', count: 4, pvm: false, is64: true, stale: 'free', schedule: 'eager' });
  const rows: Row[] = [
    ...each('planBlockMove(ctx, …)', [['null', null], ['{}', {}], ['7', 7]], (v) => { const b = bench(); return planBlockMove(v, b.binding, [2], 'safe'); }, AffinityError),
    ...each('planBlockMove(…, binding, …)', [['null', null], ['{}', {}]], (v) => { const b = bench(); return planBlockMove(b.ctx, v, [2], 'safe'); }, AffinityError),
    ...each('planBlockMove(…, mask, …)', [['null', null], ['"2"', '2'], ['[NaN]', [NaN]], ['[-1]', [-1]], ['[1.5]', [1.5]]], (v) => { const b = bench(); return planBlockMove(b.ctx, b.binding, v, 'safe'); }, AffinityError),
    ...each('planBlockMove(…, protocol)', [['null', null], ['"fast"', 'fast'], ['7', 7]], (v) => { const b = bench(); return planBlockMove(b.ctx, b.binding, [2], v); }, AffinityError),
    ['planBlockMove(…, expect { count: 3 })', () => { const b = bench(); return planBlockMove(b.ctx, b.binding, [2], 'safe', { cpu: 2, base: 0x40, count: 3 }); }, AffinityError],
    ...each('planSetAffinity(…, mask, …)', [['null', null], ['[{}]', [{}]]], (v) => { const b = bench(); return planSetAffinity(b.ctx, b.binding, v, 'linux'); }, AffinityError),
    ...each('setAffinity(…, cpu, …) (at the call, not the first step)', [['null', null], ['{}', {}]], (v) => { const b = bench(); return setAffinity(b.ctx, v, b.binding, [2]); }, AffinityError),
    ...each('offlineCpu(…, items, …)', [['null', null], ['[null]', [null]], ['[{ base: 1.5, count: 1 }]', [{ base: 1.5, count: 1, extra: 1 }]]], (v) => { const b = bench(); return offlineCpu(b.ctx, b.cpus[1]!, v); }, AffinityError),
    ...each('planEvacuation(apicIds, …)', [['null', null], ['[-1]', [-1]]], (v) => { const b = bench(); return planEvacuation(v, b.matrix, 1, [], 'safe'); }, AffinityError),
    ...each('planEvacuation(…, matrix, …)', [['null', null], ['{}', {}]], (v) => planEvacuation([0, 1, 2], v, 1, [], 'safe'), AffinityError),
    ...each('planEvacuation(…, cpu, …)', [['null', null], ['"1"', '1'], ['NaN', NaN], ['7', 7]], (v) => { const b = bench(); return planEvacuation([0, 1, 2], b.matrix, v, [], 'safe'); }, AffinityError),
    // An unknown protocol used to be planned as if it were not 'safe'.
    ['planEvacuation(…, protocol "fast")', () => { const b = bench(); return planEvacuation([0, 1, 2], b.matrix, 1, [], 'fast' as never); }, AffinityError],
    ...each('new StepQueue(steps)', [['null', null], ['[{}]', [{}]], ['[{ label: 1, run() {} }]', [{ label: 1, run() {} }]]], (v) => new StepQueue(v), AffinityError),
    ...each('StepQueue.runNext(cpu)', [['null', null], ['{}', {}]], (v) => new StepQueue([]).runNext(v), AffinityError),
    ...each('VectorShadow.of(matrix)', [['null', null], ['{}', {}]], (v) => VectorShadow.of(v), AffinityError),
    ...each('VectorShadow.isFree(cpu, 0x40, 1)', [['null', null], ['-1', -1], ['3', 3], ['"0"', '0']], (v) => VectorShadow.of(bench().matrix).isFree(v, 0x40, 1), AffinityError),
    ...each('VectorShadow.pickBlock(cpus, count)', [['0', 0], ['NaN', NaN], ['257', 257]], (v) => VectorShadow.of(bench().matrix).pickBlock([1], v), AffinityError),
    ...each('VectorShadow.pickHop(from, cpus)', [['null', null], ['{ count: 3 }', { cpu: 1, base: 0x40, count: 3 }]], (v) => VectorShadow.of(bench().matrix).pickHop(v, [2]), AffinityError),
  ];
  it.each(rows)('%s → AffinityError', (_label, call, E) => {
    expectTyped(call, E);
    try {
      call();
    } catch (e) {
      expect((e as AffinityError).code).toBe('EINVAL');
    }
  });
});
