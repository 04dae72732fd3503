// Hostile calls on every exported hardware model: wrong types, NaN, negative, out of range, null and
// undefined, extra option fields. Each must throw the model's own typed error with a message naming
// the argument, never a TypeError/RangeError from inside and never be accepted silently.

import { describe, expect, it } from 'vitest';
import { each, expectTyped, type Row } from '../hostile.js';
import {
  ApicBus, ApicUsageError, Bar, CapabilityList, ConfigSpace, decodeMsiAddress, decodeMsiData, encodeMsiAddress, encodeMsiData,
  formatBdf, IoApic, IoApicError, LocalApic, MsiCapability, msiLayout, MsiEndpoint, MsixCapability, parseBdf, PciError, PciFunction,
  PciHost, PciLayoutError, PciUsageError,
} from '../../src/index.js';

const sink = { intr() {}, nmi() {}, init() {}, sipi() {}, extint() {} };

/** Values no numeric, boolean or object parameter of these models accepts. */
const NOT_A_NUMBER: [string, unknown][] = [
  ['null', null], ['undefined', undefined], ['NaN', NaN], ['Infinity', Infinity], ['1.5', 1.5], ['"1"', '1'],
  ['true', true], ['10n', 10n], ['{}', {}], ['[]', []], ['a symbol', Symbol('s')], ['a null-prototype object', Object.create(null)],
];
const NOT_A_BOOLEAN: [string, unknown][] = [
  ['null', null], ['undefined', undefined], ['0', 0], ['1', 1], ['"yes"', 'yes'], ['{}', {}], ['a symbol', Symbol('s')],
];
const NOT_AN_OBJECT: [string, unknown][] = [['null', null], ['7', 7], ['"x"', 'x'], ['[]', []], ['true', true], ['a symbol', Symbol('s')]];

const lapic = () => {
  const a = new LocalApic({ apicId: 1, sink, tsc: () => 0n });
  a.write(0xf0, 0x1ff);
  return a;
};
const bus = () => {
  const b = new ApicBus();
  b.attach(lapic());
  return b;
};
const fn = () => new PciFunction({ vendorId: 0x1234, deviceId: 1, classCode: 0 });
const msi = () => {
  const f = fn();
  const c = new MsiCapability({ vectors: 4, is64: true, pvm: true });
  f.addCapability(c);
  return c;
};
const msix = () => {
  const f = fn();
  f.addBar(1, { kind: 'memory32', size: 4096 });
  const c = new MsixCapability({ tableSize: 8 });
  f.addCapability(c);
  return c;
};

describe('LocalApic', () => {
  const options = { apicId: 1, sink };
  const rows: Row[] = [
    ...each('new LocalApic(options)', NOT_AN_OBJECT, (o) => new LocalApic(o), ApicUsageError),
    ...each('apicId', NOT_A_NUMBER, (v) => new LocalApic({ ...options, apicId: v }), ApicUsageError),
    ['apicId −1', () => new LocalApic({ ...options, apicId: -1 }), ApicUsageError],
    ['apicId 0xFFFFFFFF (the x2APIC broadcast ID)', () => new LocalApic({ ...options, apicId: 0xffff_ffff }), ApicUsageError],
    // The example: accepted before, then its own saveState() failed to load.
    ...each('bsp', NOT_A_BOOLEAN.filter(([, v]) => v !== undefined), (v) => new LocalApic({ ...options, bsp: v }), ApicUsageError),
    ...each('sink', NOT_AN_OBJECT, (v) => new LocalApic({ ...options, sink: v }), ApicUsageError),
    ['sink without sipi', () => new LocalApic({ ...options, sink: { ...sink, sipi: undefined } as never }), ApicUsageError],
    ['sink.smi not a function', () => new LocalApic({ ...options, sink: { ...sink, smi: 1 } as never }), ApicUsageError],
    ['tsc not a function', () => new LocalApic({ ...options, tsc: 5 as never }), ApicUsageError],
    ['version 2^32', () => new LocalApic({ ...options, version: 2 ** 32 }), ApicUsageError],
    ['onEvent not a function', () => new LocalApic({ ...options, onEvent: 'log' as never }), ApicUsageError],
    ['an unknown option', () => new LocalApic({ ...options, x2apic: true } as never), ApicUsageError],
    ...each('read(offset)', NOT_A_NUMBER, (v) => lapic().read(v), ApicUsageError),
    ['read(0x1000)', () => lapic().read(0x1000), ApicUsageError],
    ...each('write(0x80, value)', NOT_A_NUMBER, (v) => lapic().write(0x80, v), ApicUsageError),
    ['write(0x80, 2^32)', () => lapic().write(0x80, 2 ** 32), ApicUsageError],
    ...each('rdmsr(msr)', NOT_A_NUMBER, (v) => lapic().rdmsr(v), ApicUsageError),
    ...each('wrmsr(0x1b, value)', NOT_A_NUMBER.filter(([, v]) => typeof v !== 'bigint'), (v) => lapic().wrmsr(0x1b, v), ApicUsageError),
    ['wrmsr(0x1b, −1n)', () => lapic().wrmsr(0x1b, -1n), ApicUsageError],
    ['wrmsr(0x1b, 2^64)', () => lapic().wrmsr(0x1b, 1n << 64n), ApicUsageError],
    ...each('LocalApic.handlesMsr(msr)', NOT_A_NUMBER, (v) => LocalApic.handlesMsr(v), ApicUsageError),
    ...each('matchesLogical(mda, false)', NOT_A_NUMBER, (v) => lapic().matchesLogical(v, false), ApicUsageError),
    ...each('matchesLogical(1, x2apic)', NOT_A_BOOLEAN, (v) => lapic().matchesLogical(1, v), ApicUsageError),
    ...each('matchesPhysical(id)', NOT_A_NUMBER, (v) => lapic().matchesPhysical(v), ApicUsageError),
    ['matchesPhysical(−1)', () => lapic().matchesPhysical(-1), ApicUsageError],
    ...each('matchesPhysical(1, x2apic)', NOT_A_BOOLEAN.filter(([, v]) => v !== undefined), (v) => lapic().matchesPhysical(1, v), ApicUsageError),
    ...each('connect(router)', NOT_AN_OBJECT, (v) => lapic().connect(v), ApicUsageError),
    ['connect({ deliver }) without eoiBroadcast', () => lapic().connect({ deliver: () => [] } as never), ApicUsageError],
    ...each('accept(message)', NOT_AN_OBJECT, (v) => lapic().accept(v), ApicUsageError),
    ...each('accept({ vector })', NOT_A_NUMBER, (v) => lapic().accept({ vector: v, mode: 'fixed', trigger: 'edge' }), ApicUsageError),
    ['accept({ vector: 256 })', () => lapic().accept({ vector: 256, mode: 'fixed', trigger: 'edge' }), ApicUsageError],
    ['accept({ mode: "startup" })', () => lapic().accept({ vector: 0x40, mode: 'startup' as never, trigger: 'edge' }), ApicUsageError],
    ['accept({ trigger: "rising" })', () => lapic().accept({ vector: 0x40, mode: 'fixed', trigger: 'rising' as never }), ApicUsageError],
    ...each('accept({ level })', NOT_A_BOOLEAN.filter(([, v]) => v !== undefined), (v) => lapic().accept({ vector: 0x40, mode: 'fixed', trigger: 'level', level: v }), ApicUsageError),
    ...each('acceptFixedMessage(vector, …)', NOT_A_NUMBER, (v) => lapic().acceptFixedMessage(v, false, false, false), ApicUsageError),
    ['acceptFixedMessage(256, …)', () => lapic().acceptFixedMessage(256, false, false, false), ApicUsageError],
    ...each('acceptFixedMessage(0x40, level, …)', NOT_A_BOOLEAN, (v) => lapic().acceptFixedMessage(0x40, v, false, false), ApicUsageError),
    ...each('acceptFixedMessage(0x40, false, deassert, …)', NOT_A_BOOLEAN, (v) => lapic().acceptFixedMessage(0x40, false, v, false), ApicUsageError),
    ...each('acceptFixedMessage(0x40, false, false, lowest)', NOT_A_BOOLEAN, (v) => lapic().acceptFixedMessage(0x40, false, false, v), ApicUsageError),
    // The example: IoApic.setIrq rejects a non-boolean level, setLint accepted one.
    ...each('setLint(0, level)', NOT_A_BOOLEAN, (v) => lapic().setLint(0, v), ApicUsageError),
    ...each('setLint(pin, true)', [...NOT_A_NUMBER, ['2', 2]], (v) => lapic().setLint(v, true), ApicUsageError),
    ...each('fireLvt(source)', [...NOT_A_NUMBER, ['"timer"', 'timer']], (v) => lapic().fireLvt(v), ApicUsageError),
    ...each('tick(n)', NOT_A_NUMBER, (v) => lapic().tick(v), ApicUsageError),
    ['tick(−1)', () => lapic().tick(-1), ApicUsageError],
    ['tick(2^53)', () => lapic().tick(2 ** 53), ApicUsageError],
  ];
  it.each(rows)('%s → ApicUsageError', (_label, call, E) => expectTyped(call, E));

  it('a valid construction still works and reports bsp as given', () => {
    expect(new LocalApic({ apicId: 0, bsp: true, sink }).isBsp).toBe(true);
    expect(new LocalApic({ apicId: 0, sink }).isBsp).toBe(false);
  });
});

describe('ApicBus', () => {
  const msg = { vector: 0x40, mode: 'fixed' as const, trigger: 'edge' as const };
  const rows: Row[] = [
    ...each('new ApicBus(options)', NOT_AN_OBJECT, (o) => new ApicBus(o), ApicUsageError),
    ['an unknown option', () => new ApicBus({ lowest: () => undefined } as never), ApicUsageError],
    ['lowestPriority not a function', () => new ApicBus({ lowestPriority: 'lowest-ppr' as never }), ApicUsageError],
    ...each('extendedDestId', NOT_A_BOOLEAN.filter(([, v]) => v !== undefined), (v) => new ApicBus({ extendedDestId: v }), ApicUsageError),
    ...each('attach(x)', NOT_AN_OBJECT, (v) => bus().attach(v), ApicUsageError),
    ...each('attachIoApic(x)', NOT_AN_OBJECT, (v) => bus().attachIoApic(v), ApicUsageError),
    ...each('byId(id)', NOT_A_NUMBER, (v) => bus().byId(v), ApicUsageError),
    // The example: eoiBroadcast(NaN) was accepted.
    ...each('eoiBroadcast(vector)', NOT_A_NUMBER, (v) => bus().eoiBroadcast(v), ApicUsageError),
    ['eoiBroadcast(256)', () => bus().eoiBroadcast(256), ApicUsageError],
    ['eoiBroadcast(−1)', () => bus().eoiBroadcast(-1), ApicUsageError],
    ...each('deliver(dest, msg)', NOT_AN_OBJECT, (v) => bus().deliver(v, msg), ApicUsageError),
    ...each('deliver({ id }, msg)', NOT_A_NUMBER, (v) => bus().deliver({ id: v, mode: 'physical' }, msg), ApicUsageError),
    ['deliver({ mode: "cluster" })', () => bus().deliver({ id: 1, mode: 'cluster' as never }, msg), ApicUsageError],
    ['deliver({ shorthand: "everyone" })', () => bus().deliver({ id: 0, mode: 'physical', shorthand: 'everyone' as never }, msg), ApicUsageError],
    ['deliver({ shorthand: "others" }) without a source', () => bus().deliver({ id: 0, mode: 'physical', shorthand: 'others' }, msg), ApicUsageError],
    ...each('deliver({ x2apic })', NOT_A_BOOLEAN.filter(([, v]) => v !== undefined), (v) => bus().deliver({ id: 1, mode: 'physical', x2apic: v }, msg), ApicUsageError),
    // A message nobody matches must still be checked (it was accepted and dropped before).
    ['deliver to nobody with a bad vector', () => bus().deliver({ id: 9, mode: 'physical' }, { ...msg, vector: 300 }), ApicUsageError],
    ...each('msiWrite(address, 0x41)', NOT_A_NUMBER.filter(([, v]) => typeof v !== 'bigint'), (v) => bus().msiWrite(v, 0x41), ApicUsageError),
    ['msiWrite(2^64, 0x41)', () => bus().msiWrite(1n << 64n, 0x41), ApicUsageError],
    ...each('msiWrite(0xfee01000n, data)', NOT_A_NUMBER, (v) => bus().msiWrite(0xfee0_1000n, v), ApicUsageError),
    ...each('deliverMsi(lo, 0, 0x41)', NOT_A_NUMBER, (v) => bus().deliverMsi(v, 0, 0x41), ApicUsageError),
    ...each('deliverMsi(lo, hi, 0x41)', NOT_A_NUMBER, (v) => bus().deliverMsi(0xfee0_1000, v, 0x41), ApicUsageError),
    ['deliverMsi(2^32, 0, 0x41)', () => bus().deliverMsi(2 ** 32, 0, 0x41), ApicUsageError],
    ...each('msiFailure(code, …)', NOT_A_NUMBER, (v) => bus().msiFailure(v, 0, 0, 0), ApicUsageError),
    ['msiFailure(0 = delivered, …)', () => bus().msiFailure(0, 0, 0, 0), ApicUsageError],
  ];
  it.each(rows)('%s → ApicUsageError', (_label, call, E) => expectTyped(call, E));
});

describe('MSI address/data codecs', () => {
  const rows: Row[] = [
    ...each('decodeMsiAddress', NOT_A_NUMBER.filter(([, v]) => typeof v !== 'bigint'), (v) => decodeMsiAddress(v), ApicUsageError),
    ...each('decodeMsiData', NOT_A_NUMBER, (v) => decodeMsiData(v), ApicUsageError),
    ...each('encodeMsiAddress(input)', NOT_AN_OBJECT, (v) => encodeMsiAddress(v), ApicUsageError),
    ...each('encodeMsiAddress({ dest })', NOT_A_NUMBER, (v) => encodeMsiAddress({ dest: v }), ApicUsageError),
    ['encodeMsiAddress({ dest: 256 })', () => encodeMsiAddress({ dest: 256 }), ApicUsageError],
    ...each('encodeMsiAddress({ rh })', NOT_A_BOOLEAN.filter(([, v]) => v !== undefined), (v) => encodeMsiAddress({ dest: 1, rh: v }), ApicUsageError),
    ['encodeMsiAddress({ dm: "cluster" })', () => encodeMsiAddress({ dest: 1, dm: 'cluster' as never }), ApicUsageError],
    ['encodeMsiAddress with an unknown field', () => encodeMsiAddress({ dest: 1, redirect: true } as never), ApicUsageError],
    ...each('encodeMsiData({ vector })', NOT_A_NUMBER, (v) => encodeMsiData({ vector: v }), ApicUsageError),
    ['encodeMsiData({ mode: "sipi" })', () => encodeMsiData({ vector: 1, mode: 'sipi' }), ApicUsageError],
    ['encodeMsiData({ trigger: "high" })', () => encodeMsiData({ vector: 1, trigger: 'high' as never }), ApicUsageError],
    ...each('encodeMsiData({ level })', NOT_A_BOOLEAN.filter(([, v]) => v !== undefined), (v) => encodeMsiData({ vector: 1, level: v }), ApicUsageError),
  ];
  it.each(rows)('%s → ApicUsageError', (_label, call, E) => expectTyped(call, E));
});

describe('IoApic', () => {
  const io = () => new IoApic({ id: 1 });
  const rows: Row[] = [
    ...each('new IoApic(options)', NOT_AN_OBJECT, (o) => new IoApic(o), IoApicError),
    ...each('id', NOT_A_NUMBER, (v) => new IoApic({ id: v }), IoApicError),
    ['id 16 (4-bit field)', () => new IoApic({ id: 16 }), IoApicError],
    ['pins 121', () => new IoApic({ id: 1, pins: 121 }), IoApicError],
    ['pins null', () => new IoApic({ id: 1, pins: null as never }), IoApicError],
    ['an unknown option', () => new IoApic({ id: 1, pin: 24 } as never), IoApicError],
    ['onEvent not a function', () => new IoApic({ id: 1, onEvent: {} as never }), IoApicError],
    ...each('connect(router)', NOT_AN_OBJECT, (v) => io().connect(v), IoApicError),
    ...each('read(offset)', NOT_A_NUMBER, (v) => io().read(v), IoApicError),
    ...each('write(0x10, value)', NOT_A_NUMBER, (v) => io().write(0x10, v), IoApicError),
    ...each('setIrq(pin, true)', NOT_A_NUMBER, (v) => io().setIrq(v, true), IoApicError),
    ['setIrq(24, true)', () => io().setIrq(24, true), IoApicError],
    ...each('setIrq(1, level)', NOT_A_BOOLEAN, (v) => io().setIrq(1, v), IoApicError),
    ...each('eoi(vector)', NOT_A_NUMBER, (v) => io().eoi(v), IoApicError),
    ...each('lineLevel(pin)', NOT_A_NUMBER, (v) => io().lineLevel(v), IoApicError),
    ...each('rte(pin)', NOT_A_NUMBER, (v) => io().rte(v), IoApicError),
  ];
  it.each(rows)('%s → IoApicError', (_label, call, E) => expectTyped(call, E));
});

describe('PCI models', () => {
  const ids = { vendorId: 0x1234, deviceId: 1, classCode: 0 };
  const host = () => new PciHost();
  const rows: Row[] = [
    ...each('new PciFunction(options)', NOT_AN_OBJECT, (o) => new PciFunction(o), PciUsageError),
    ['PciFunction without vendorId', () => new PciFunction({ deviceId: 1, classCode: 0 } as never), PciUsageError],
    ...each('PciFunction vendorId', NOT_A_NUMBER, (v) => new PciFunction({ ...ids, vendorId: v }), PciUsageError),
    ['PciFunction vendorId 0xFFFF (no function)', () => new PciFunction({ ...ids, vendorId: 0xffff }), PciUsageError],
    ['PciFunction interruptPin 5', () => new PciFunction({ ...ids, interruptPin: 5 }), PciUsageError],
    ['PciFunction with an unknown option', () => new PciFunction({ ...ids, pin: 1 } as never), PciUsageError],
    ...each('addBar(index, spec)', NOT_A_NUMBER, (v) => fn().addBar(v, { kind: 'memory32', size: 4096 }), PciUsageError),
    ...each('addBar(0, spec)', NOT_AN_OBJECT, (v) => fn().addBar(0, v), PciUsageError),
    ['addBar(0, { size: "4096" })', () => fn().addBar(0, { kind: 'memory32', size: '4096' as never }), PciLayoutError],
    ['addBar(0, { size: 4096.5 })', () => fn().addBar(0, { kind: 'memory32', size: 4096.5 }), PciLayoutError],
    ['addBar(0, { kind: "rom" })', () => fn().addBar(0, { kind: 'rom' as never, size: 4096 }), PciLayoutError],
    ['addBar(0, { prefetchable: 1 })', () => fn().addBar(0, { kind: 'memory32', size: 4096, prefetchable: 1 as never }), PciLayoutError],
    ['addBar(0, { extra })', () => fn().addBar(0, { kind: 'memory32', size: 4096, offset: 0 } as never), PciUsageError],
    ...each('bar(index)', NOT_A_NUMBER, (v) => fn().bar(v), PciUsageError),
    ...each('addCapability(cap)', NOT_AN_OBJECT, (v) => fn().addCapability(v), PciUsageError),
    ...each('bind(binding)', NOT_AN_OBJECT, (v) => fn().bind(v), PciUsageError),
    ['bind without upstream.intx', () => fn().bind({ upstream: { memoryWrite() {} } as never, label: 'x', report() {} }), PciUsageError],
    ...each('setMultiFunction(on)', NOT_A_BOOLEAN, (v) => fn().setMultiFunction(v), PciUsageError),
    ...each('configRead(offset, 4)', NOT_A_NUMBER, (v) => fn().configRead(v, 4), PciUsageError),
    ...each('configRead(0, size)', NOT_A_NUMBER, (v) => fn().configRead(0, v), PciUsageError),
    ...each('configWrite(4, 2, value)', NOT_A_NUMBER, (v) => fn().configWrite(4, 2, v), PciUsageError),
    ['configWrite(4, 2, 0x10000)', () => fn().configWrite(4, 2, 0x10000), PciUsageError],
    ...each('memoryBarSize(index)', NOT_A_NUMBER, (v) => fn().memoryBarSize(v), PciUsageError),
    ...each('decodeMemory(address, 4)', NOT_A_NUMBER.filter(([, v]) => typeof v !== 'bigint'), (v) => fn().decodeMemory(v, 4), PciUsageError),
    ...each('decodeIo(port, 4)', NOT_A_NUMBER, (v) => fn().decodeIo(v, 4), PciUsageError),
    ...each('barAccessRead(bar, 0, 4)', NOT_A_NUMBER, (v) => fn().barAccessRead(v, 0, 4), PciUsageError),
    ...each('barAccessRead(0, offset, 4)', NOT_A_NUMBER, (v) => fn().barAccessRead(0, v, 4), PciUsageError),
    ...each('barAccessWrite(0, 0, 4, value)', NOT_A_NUMBER, (v) => fn().barAccessWrite(0, 0, 4, v), PciUsageError),
    ...each('setInterruptStatus(pending)', NOT_A_BOOLEAN, (v) => fn().setInterruptStatus(v), PciUsageError),
    ...each('sendMessage(address, 0)', NOT_A_NUMBER.filter(([, v]) => typeof v !== 'bigint'), (v) => fn().sendMessage(v, 0), PciUsageError),
    ...each('sendMessage(0n, data)', NOT_A_NUMBER, (v) => fn().sendMessage(0n, v), PciUsageError),
    ...each('sendMessageParts(lo, 0, 0)', NOT_A_NUMBER, (v) => fn().sendMessageParts(v, 0, 0), PciUsageError),
    ...each('report(event)', NOT_AN_OBJECT, (v) => fn().report(v), PciUsageError),
    ...each('new PciHost(options)', NOT_AN_OBJECT.filter(([, v]) => v !== undefined), (o) => new PciHost(o), PciUsageError),
    ['PciHost with an unknown option', () => new PciHost({ sink: {} } as never), PciUsageError],
    ['PciHost upstream without intx', () => new PciHost({ upstream: { memoryWrite() {} } as never }), PciUsageError],
    // The example: add(bdf, null) failed with "Cannot read properties of null".
    ...each('add("00:03.0", fn)', NOT_AN_OBJECT, (v) => host().add('00:03.0', v), PciUsageError),
    ['add("00:03.0", a plain object)', () => host().add('00:03.0', { bind() {} } as never), PciUsageError],
    ...each('add(bdf, fn)', NOT_A_NUMBER, (v) => host().add(v, fn()), PciUsageError),
    ...each('get(bdf)', NOT_A_NUMBER, (v) => host().get(v), PciUsageError),
    ...each('ioRead(port, 4)', NOT_A_NUMBER, (v) => host().ioRead(v, 4), PciUsageError),
    ...each('ioRead(0xcfc, size)', NOT_A_NUMBER, (v) => host().ioRead(0xcfc, v), PciUsageError),
    ...each('ioWrite(0xcf8, 4, value)', NOT_A_NUMBER, (v) => host().ioWrite(0xcf8, 4, v), PciUsageError),
    ...each('ecamRead(offset, 4)', NOT_A_NUMBER, (v) => host().ecamRead(v, 4), PciUsageError),
    ...each('ecamWrite(0, size, 0)', NOT_A_NUMBER, (v) => host().ecamWrite(0, v, 0), PciUsageError),
    ...each('mmioRead(address, 4)', NOT_A_NUMBER.filter(([, v]) => typeof v !== 'bigint'), (v) => host().mmioRead(v, 4), PciUsageError),
    ...each('mmioWrite(0n, 4, value)', NOT_A_NUMBER, (v) => host().mmioWrite(0n, 4, v), PciUsageError),
    ...each('parseBdf', NOT_A_NUMBER, (v) => parseBdf(v), PciUsageError),
    ...each('parseBdf({ bus })', NOT_A_NUMBER, (v) => parseBdf({ bus: v, dev: 0, fn: 0 }), PciUsageError),
    ['parseBdf({ …, seg: 0 })', () => parseBdf({ bus: 0, dev: 0, fn: 0, seg: 0 } as never), PciUsageError],
    ['parseBdf("00:20.0") (device 0x20)', () => parseBdf('00:20.0'), PciUsageError],
    ...each('formatBdf', NOT_A_NUMBER, (v) => formatBdf(v), PciUsageError),
    ...each('ConfigSpace.define(name, …)', [...NOT_A_NUMBER.filter(([, v]) => typeof v !== 'string'), ['""', '']], (v) => new ConfigSpace().define(v, 0x40, 4), PciUsageError),
    ...each('ConfigSpace.define(…, spec)', NOT_AN_OBJECT.filter(([, v]) => v !== undefined), (v) => new ConfigSpace().define('f', 0x40, 4, v), PciUsageError),
    ['ConfigSpace.define(…, { writable: 0x100 }) on one byte', () => new ConfigSpace().define('f', 0x40, 1, { writable: 0x100 }), PciUsageError],
    ['ConfigSpace.define(…, { mask })', () => new ConfigSpace().define('f', 0x40, 4, { mask: 1 } as never), PciUsageError],
    ['ConfigSpace.define overlapping', () => {
      const c = new ConfigSpace();
      c.define('a', 0x40, 4);
      c.define('b', 0x42, 2);
    }, PciLayoutError],
    ...each('ConfigSpace.onWrite(start, 4, fn)', NOT_A_NUMBER, (v) => new ConfigSpace().onWrite(v, 4, () => {}), PciUsageError),
    ...each('ConfigSpace.onWrite(0, 4, fn)', NOT_AN_OBJECT, (v) => new ConfigSpace().onWrite(0, 4, v), PciUsageError),
    ...each('ConfigSpace.setBits(0, 4, bits, true)', NOT_A_NUMBER, (v) => new ConfigSpace().setBits(0, 4, v, true), PciUsageError),
    ...each('ConfigSpace.setBits(0, 4, 1, on)', NOT_A_BOOLEAN, (v) => new ConfigSpace().setBits(0, 4, 1, v), PciUsageError),
    ['ConfigSpace.read(0x3ff, 2) across a dword', () => new ConfigSpace().read(0x3ff, 2), PciUsageError],
    ...each('ConfigSpace.fieldAt(offset)', NOT_A_NUMBER, (v) => new ConfigSpace().fieldAt(v), PciUsageError),
    ...each('new Bar(config, …)', NOT_AN_OBJECT, (v) => new Bar(v, 0, { kind: 'memory32', size: 16 }), PciUsageError),
    ...each('new Bar(…, index, …)', NOT_A_NUMBER, (v) => new Bar(new ConfigSpace(), v, { kind: 'memory32', size: 16 }), PciLayoutError),
    ...each('Bar.offsetOf(address, 4)', NOT_A_NUMBER.filter(([, v]) => typeof v !== 'bigint'), (v) => new Bar(new ConfigSpace(), 0, { kind: 'memory32', size: 16 }).offsetOf(v, 4), PciUsageError),
    ...each('new CapabilityList(config, host)', NOT_AN_OBJECT, (v) => new CapabilityList(v, fn()), PciUsageError),
    ['new CapabilityList(another config, fn)', () => new CapabilityList(new ConfigSpace(), fn()), PciUsageError],
    ...each('new MsiCapability(options)', NOT_AN_OBJECT, (v) => new MsiCapability(v), PciUsageError),
    ...each('MSI vectors', [...NOT_A_NUMBER, ['3', 3], ['64', 64]], (v) => new MsiCapability({ vectors: v, is64: true, pvm: true }), PciUsageError),
    ...each('MSI is64', NOT_A_BOOLEAN, (v) => new MsiCapability({ vectors: 1, is64: v, pvm: true }), PciUsageError),
    ['MSI quirks with an unknown field', () => new MsiCapability({ vectors: 1, is64: true, pvm: true, quirks: { ignoreMMe: true } as never }), PciUsageError],
    ['MSI with an unknown option', () => new MsiCapability({ vectors: 1, is64: true, pvm: true, maskable: true } as never), PciUsageError],
    ...each('msiLayout(is64, false)', NOT_A_BOOLEAN, (v) => msiLayout(v, false), PciUsageError),
    ...each('MsiCapability.attach(host, 0x40)', NOT_AN_OBJECT, (v) => new MsiCapability({ vectors: 1, is64: true, pvm: true }).attach(v, 0x40), PciUsageError),
    ...each('MsiCapability.fire(index)', [...NOT_A_NUMBER, ['32', 32], ['−1', -1]], (v) => msi().fire(v), PciUsageError),
    ...each('MsiCapability.fireCode(index)', [...NOT_A_NUMBER, ['32', 32], ['−1', -1]], (v) => msi().fireCode(v), PciUsageError),
    ...each('MsiCapability.messageFor(index)', [...NOT_A_NUMBER, ['32', 32]], (v) => msi().messageFor(v), PciUsageError),
    ...each('new MsixCapability(options)', NOT_AN_OBJECT, (v) => new MsixCapability(v), PciUsageError),
    ...each('MSI-X tableSize', [...NOT_A_NUMBER, ['0', 0], ['2049', 2049]], (v) => new MsixCapability({ tableSize: v }), PciUsageError),
    ['MSI-X with an unknown option', () => new MsixCapability({ tableSize: 8, bir: 1 } as never), PciUsageError],
    ['MSI-X tableOffset 4 (not 8-aligned)', () => new MsixCapability({ tableSize: 8, tableOffset: 4 }), PciUsageError],
    ...each('MsixCapability.entry(index)', [...NOT_A_NUMBER, ['8', 8]], (v) => msix().entry(v), PciUsageError),
    ...each('MsixCapability.fire(index)', [...NOT_A_NUMBER, ['8', 8]], (v) => msix().fire(v), PciUsageError),
    ...each('MsixCapability.fireCode(index)', [...NOT_A_NUMBER, ['8', 8]], (v) => msix().fireCode(v), PciUsageError),
    ...each('MsixCapability.barRead(1, offset, 4)', NOT_A_NUMBER, (v) => msix().barRead(1, v, 4), PciUsageError),
    ...each('MsixCapability.barWrite(1, 0, 4, value)', NOT_A_NUMBER, (v) => msix().barWrite(1, 0, 4, v), PciUsageError),
    ...each('new MsiEndpoint(options)', NOT_AN_OBJECT.filter(([, v]) => v !== undefined), (v) => new MsiEndpoint(v), PciUsageError),
    ['MsiEndpoint with an unknown option', () => new MsiEndpoint({ msiX: { tableSize: 4 } } as never), PciUsageError],
    // Unknown fields inside msix were ignored while unknown msi fields were rejected.
    ['MsiEndpoint msix with an unknown field', () => new MsiEndpoint({ msix: { tableSize: 4, vectors: 4 } as never }), PciUsageError],
    ['MsiEndpoint msi with an unknown field', () => new MsiEndpoint({ msi: { vectors: 4, is64: true, pvm: true, want: 2 } as never }), PciUsageError],
    ['MsiEndpoint ids with an unknown field', () => new MsiEndpoint({ ids: { vendorId: 1, deviceId: 1, rev: 1 } as never }), PciUsageError],
    ...each('MsiEndpoint msix.tableSize', NOT_A_NUMBER, (v) => new MsiEndpoint({ msix: { tableSize: v } }), PciUsageError),
    ...each('MsiEndpoint barSize', [...NOT_A_NUMBER.filter(([, v]) => v !== undefined), ['48', 48]], (v) => new MsiEndpoint({ barSize: v }), PciUsageError),
    ...each('MsiEndpoint.ring(value)', [...NOT_A_NUMBER, ['2^32', 2 ** 32], ['−1', -1]], (v) => new MsiEndpoint({}).ring(v), PciUsageError),
  ];
  it.each(rows)('%s → typed PCI error', (_label, call, E) => {
    expectTyped(call, E);
    expect(E.prototype).toBeInstanceOf(PciError);
  });

  it('a doorbell value out of the message range is architected, not an error: no-such-message', () => {
    const ep = new MsiEndpoint({ msi: { vectors: 4, is64: true, pvm: false } });
    new PciHost().add('00:03.0', ep);
    ep.configWrite(ep.msi!.offset + 2, 2, 1); // MSI enable
    ep.configWrite(4, 2, 4); // bus master
    expect(ep.ring(32)).toEqual({ result: 'suppressed', mode: 'msi', reason: 'no-such-message' });
  });
});
