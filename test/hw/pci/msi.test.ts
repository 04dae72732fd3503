import { describe, expect, it } from 'vitest';
import type { MsiOptions } from '../../../src/hw/pci/msi-capability.js';
import { MsiCapability } from '../../../src/hw/pci/msi-capability.js';
import { PciStateError, PciUsageError } from '../../../src/hw/pci/errors.js';
import { makeHost, plainFunction } from './helpers.js';

/** A function at 00:03.0 with one MSI capability, bus mastering on, INTA#. */
function rig(opts: MsiOptions) {
  const { host, writes, intx } = makeHost();
  const fn = plainFunction({ interruptPin: 1 });
  const msi = new MsiCapability(opts);
  const at = fn.addCapability(msi);
  host.add('00:03.0', fn);
  fn.configWrite(0x04, 2, 0x0004 /* bus master */);
  const ctrl = (v: number) => fn.configWrite(at + 2, 2, v);
  return { host, fn, msi, at, writes, intx, ctrl };
}

/** Program address 0xFEE00000 (APIC 0), data `data`, MME `mme`, then enable. */
function enable(r: ReturnType<typeof rig>, data: number, mme: number) {
  const L = r.msi.layout;
  r.fn.configWrite(r.at + L.address, 4, 0xfee0_0000);
  r.fn.configWrite(r.at + L.data, 2, data);
  r.ctrl((mme << 4) | 1);
}

describe('MSI capability layout (PCI 3.0 §6.8.1, docs/DESIGN.md F3)', () => {
  const variants: [boolean, boolean, Record<string, number | null>][] = [
    [false, false, { address: 0x04, upper: null, data: 0x08, mask: null, pending: null, length: 0x0a }],
    [true, false, { address: 0x04, upper: 0x08, data: 0x0c, mask: null, pending: null, length: 0x0e }],
    [false, true, { address: 0x04, upper: null, data: 0x08, mask: 0x0c, pending: 0x10, length: 0x14 }],
    [true, true, { address: 0x04, upper: 0x08, data: 0x0c, mask: 0x10, pending: 0x14, length: 0x18 }],
  ];
  for (const [is64, pvm, expected] of variants) {
    it(`places registers for is64=${is64} pvm=${pvm}`, () => {
      const msi = new MsiCapability({ vectors: 1, is64, pvm });
      expect(msi.layout).toMatchObject(expected);
      expect(msi.length).toBe(expected.length);
    });
  }

  it('Message Control resets to MMC and capability bits with MME = 0, enable = 0', () => {
    const { fn, at } = rig({ vectors: 32, is64: true, pvm: true });
    expect(fn.configRead(at, 4)).toBe(0x018a_0005 /* ctrl: 8 PVM | 7 64-bit | 3:1 MMC = 5; next 0x00; ID 0x05 */);
  });

  it('a 32-vector 32-bit function without PVM reports MMC 5 only', () => {
    const { fn, at } = rig({ vectors: 32, is64: false, pvm: false });
    expect(fn.configRead(at + 2, 2)).toBe(0x000a /* 3:1 = 5 */);
  });

  it('only enable and MME are writable; MME above MMC clamps to MMC', () => {
    const { fn, at, ctrl } = rig({ vectors: 4, is64: true, pvm: false });
    ctrl(0xffff);
    expect(fn.configRead(at + 2, 2)).toBe(0x00a5 /* 7 64-bit | 6:4 MME = 2 (clamped from 7) | 3:1 MMC = 2 | 0 enable */);
  });

  it('MME clamps on a write that leaves MSI disabled too', () => {
    const { msi, ctrl } = rig({ vectors: 2, is64: false, pvm: false });
    ctrl(5 << 4 /* MME = 5, enable = 0 */);
    expect(msi.multipleMessageEnable).toBe(1 /* MMC of a 2-vector function */);
    expect(msi.enabled).toBe(false);
  });

  it('MME at or below MMC is kept', () => {
    const { msi, ctrl } = rig({ vectors: 16, is64: false, pvm: false });
    ctrl(3 << 4);
    expect(msi.multipleMessageEnable).toBe(3);
  });

  it('address bits 1:0 read 0; data is 16 bits', () => {
    const { fn, at } = rig({ vectors: 1, is64: false, pvm: false });
    fn.configWrite(at + 4, 4, 0xfee0_100f);
    fn.configWrite(at + 8, 4, 0xffff_4041 /* dword write: only 0x08–0x09 belong to the capability */);
    expect(fn.configRead(at + 4, 4)).toBe(0xfee0_100c);
    expect(fn.configRead(at + 8, 4)).toBe(0x0000_4041 /* 0x0A–0x0B: no extended data, read 0 */);
  });

  it('mask bits beyond 2^MMC messages are reserved RO 0; pending is RO', () => {
    const { fn, at, msi } = rig({ vectors: 4, is64: true, pvm: true });
    fn.configWrite(at + 0x10, 4, 0xffff_ffff);
    fn.configWrite(at + 0x14, 4, 0xffff_ffff);
    expect(fn.configRead(at + 0x10, 4)).toBe(0x0000_000f /* messages 0..3 */);
    expect(fn.configRead(at + 0x14, 4)).toBe(0);
    expect(msi.maskBits()).toBe(0xf);
  });
});

describe('MSI message generation', () => {
  it('replaces the low MME bits of the data: base 0x42 with 4 messages sends 0x40..0x43', () => {
    const r = rig({ vectors: 4, is64: false, pvm: false });
    enable(r, 0x0042, 2 /* 4 messages */);
    for (let i = 0; i < 4; i++) r.msi.fire(i);
    // 0x42 = 0b0100_0010; bits 1:0 are replaced by the message number.
    expect(r.writes.map((w) => w.data)).toEqual([0x40, 0x41, 0x42, 0x43]);
    expect(r.writes.every((w) => w.address === 0xfee0_0000n)).toBe(true);
  });

  it('with MME = 0 the data goes out unmodified', () => {
    const r = rig({ vectors: 8, is64: false, pvm: false });
    enable(r, 0x4043, 0);
    expect(r.msi.fire(0)).toEqual({ result: 'sent', index: 0, address: 0xfee0_0000n, data: 0x4043 });
  });

  it('with 32 messages the low five bits carry the message number', () => {
    const r = rig({ vectors: 32, is64: false, pvm: false });
    enable(r, 0x00a0, 5);
    r.msi.fire(31);
    r.msi.fire(7);
    expect(r.writes.map((w) => w.data)).toEqual([0xbf /* 0xA0 | 31 */, 0xa7 /* 0xA0 | 7 */]);
  });

  it('a message number ≥ 2^MME is not sent and not pending', () => {
    const r = rig({ vectors: 8, is64: false, pvm: true });
    enable(r, 0x40, 1 /* 2 messages */);
    expect(r.msi.fire(2)).toEqual({ result: 'suppressed', index: 2, reason: 'beyond-mme' });
    expect(r.writes).toHaveLength(0);
    expect(r.msi.pendingBits()).toBe(0);
  });

  it('a 64-bit capability writes to upper:lower', () => {
    const r = rig({ vectors: 1, is64: true, pvm: false });
    r.fn.configWrite(r.at + 4, 4, 0xfee0_2000);
    r.fn.configWrite(r.at + 8, 4, 0x0000_0001);
    r.fn.configWrite(r.at + 0x0c, 2, 0x0031);
    r.ctrl(1);
    r.msi.fire(0);
    expect(r.writes).toEqual([{ address: 0x1_fee0_2000n, data: 0x31 }]);
  });

  it('MSI disabled: nothing sent, nothing pending', () => {
    const r = rig({ vectors: 4, is64: false, pvm: true });
    r.fn.configWrite(r.at + 0x0c, 4, 0xf /* all masked */);
    expect(r.msi.fire(0)).toEqual({ result: 'suppressed', index: 0, reason: 'msi-disabled' });
    expect(r.msi.pendingBits()).toBe(0);
  });

  it('bus mastering off drops an unmasked message', () => {
    const r = rig({ vectors: 4, is64: false, pvm: false });
    enable(r, 0x40, 2);
    r.fn.configWrite(0x04, 2, 0x0000 /* bus master off */);
    expect(r.msi.fire(1)).toEqual({ result: 'suppressed', index: 1, reason: 'bus-master-off' });
    expect(r.writes).toHaveLength(0);
  });

  it('a masked message sets its pending bit; the unmasking write sends it', () => {
    const r = rig({ vectors: 4, is64: false, pvm: true });
    enable(r, 0x42, 2);
    r.fn.configWrite(r.at + 0x0c, 4, 0b0010 /* mask message 1 */);
    expect(r.msi.fire(1)).toEqual({ result: 'pending', index: 1 });
    expect(r.fn.configRead(r.at + 0x10, 4)).toBe(0b0010 /* pending 1 */);
    expect(r.writes).toHaveLength(0);
    r.fn.configWrite(r.at + 0x0c, 4, 0);
    expect(r.writes).toEqual([{ address: 0xfee0_0000n, data: 0x41 /* 0x42 with bits 1:0 = 1 */ }]);
    expect(r.fn.configRead(r.at + 0x10, 4)).toBe(0);
  });

  it('unmasking another message leaves a still-masked pending message alone', () => {
    const r = rig({ vectors: 4, is64: false, pvm: true });
    enable(r, 0x40, 2);
    r.fn.configWrite(r.at + 0x0c, 4, 0b0011);
    r.msi.fire(0);
    r.msi.fire(1);
    r.fn.configWrite(r.at + 0x0c, 4, 0b0010 /* unmask 0 only */);
    expect(r.writes.map((w) => w.data)).toEqual([0x40]);
    expect(r.msi.pendingBits()).toBe(0b0010);
  });

  it('a pending message waits for bus mastering and goes out when it is enabled', () => {
    const r = rig({ vectors: 2, is64: false, pvm: true });
    enable(r, 0x50, 1);
    r.fn.configWrite(r.at + 0x0c, 4, 0b01);
    r.fn.configWrite(0x04, 2, 0);
    expect(r.msi.fire(0)).toEqual({ result: 'pending', index: 0 });
    r.fn.configWrite(r.at + 0x0c, 4, 0);
    expect(r.writes).toHaveLength(0);
    expect(r.msi.pendingBits()).toBe(0b01);
    r.fn.configWrite(0x04, 2, 0x0004);
    expect(r.writes.map((w) => w.data)).toEqual([0x50]);
  });

  it('lowering MME drops pending bits that can no longer be sent', () => {
    const r = rig({ vectors: 4, is64: false, pvm: true });
    enable(r, 0x40, 2);
    r.fn.configWrite(r.at + 0x0c, 4, 0b1000);
    r.msi.fire(3);
    r.ctrl((1 << 4) | 1 /* MME = 1: messages 0..1 */);
    expect(r.msi.pendingBits()).toBe(0);
  });

  it('enabling MSI de-asserts INTx; disabling it re-asserts a still-pending INTx', () => {
    const r = rig({ vectors: 1, is64: false, pvm: false });
    r.fn.setInterruptStatus(true);
    r.ctrl(1);
    r.ctrl(0);
    expect(r.intx).toEqual([
      { bdf: '00:03.0', pin: 1, level: true },
      { bdf: '00:03.0', pin: 1, level: false },
      { bdf: '00:03.0', pin: 1, level: true },
    ]);
    expect(r.fn.interruptStatus).toBe(true /* status.3 is the function's request, untouched */);
  });

  it('quirk ignoreMme sends the programmed data unchanged (a misrouting device)', () => {
    const { host, writes } = makeHost();
    const fn = plainFunction();
    const msi = new MsiCapability({ vectors: 4, is64: false, pvm: false, quirks: { ignoreMme: true } });
    const at = fn.addCapability(msi);
    host.add('00:04.0', fn);
    fn.configWrite(0x04, 2, 4);
    fn.configWrite(at + 4, 4, 0xfee0_0000);
    fn.configWrite(at + 8, 2, 0x40);
    fn.configWrite(at + 2, 2, 0x21);
    msi.fire(3);
    expect(writes[0]!.data).toBe(0x40 /* should have been 0x43 */);
  });

  it('rejects caller misuse', () => {
    expect(() => new MsiCapability({ vectors: 3 as 4, is64: false, pvm: false })).toThrow(PciUsageError);
    expect(() => new MsiCapability({ vectors: 4, is64: false, pvm: false }).fire(0) /* not attached */).toThrow(PciUsageError);
    const r = rig({ vectors: 4, is64: false, pvm: false });
    expect(() => r.msi.fire(32)).toThrow(PciUsageError);
  });
});

describe('MSI saveState/loadState', () => {
  it('round-trips through JSON into a fresh function', () => {
    const r = rig({ vectors: 8, is64: true, pvm: true });
    enable(r, 0x4060, 3);
    r.fn.configWrite(r.at + 8, 4, 0x2);
    r.fn.configWrite(r.at + 0x10, 4, 0b1010_0000);
    r.msi.fire(5);
    const saved = JSON.parse(JSON.stringify(r.msi.saveState()));
    expect(saved).toEqual({
      format: 'irqslice.msi/1', vectors: 8, is64: true, pvm: true, enabled: true, mme: 3,
      address: 0xfee0_0000, upperAddress: 2, data: 0x4060, mask: 0xa0, pending: 0x20,
    });
    const s = rig({ vectors: 8, is64: true, pvm: true });
    s.msi.loadState(saved);
    expect(s.msi.saveState()).toEqual(saved);
    expect(s.fn.configRead(s.at + 2, 2)).toBe(0x01b7 /* PVM | 64 | MME 3 | MMC 3 | enable */);
    expect(s.writes).toHaveLength(0);
  });

  it('a restored enabled MSI blocks INTx', () => {
    const r = rig({ vectors: 1, is64: false, pvm: false });
    r.fn.setInterruptStatus(true);
    r.msi.loadState({ ...r.msi.saveState(), enabled: true });
    expect(r.fn.intxAsserted).toBe(false);
  });

  it('rejects states the hardware cannot hold', () => {
    const r = rig({ vectors: 4, is64: false, pvm: true });
    const ok = r.msi.saveState();
    expect(() => r.msi.loadState({ ...ok, mme: 3 /* > MMC 2 */ })).toThrow(PciStateError);
    expect(() => r.msi.loadState({ ...ok, address: 0xfee0_0001 })).toThrow(PciStateError);
    expect(() => r.msi.loadState({ ...ok, upperAddress: 1 /* 32-bit capability */ })).toThrow(PciStateError);
    expect(() => r.msi.loadState({ ...ok, mask: 0x10 /* message 4 of 4 */ })).toThrow(PciStateError);
    expect(() => r.msi.loadState({ ...ok, pending: 0b10 /* MME 0 → only message 0 */ })).toThrow(PciStateError);
    expect(() => r.msi.loadState({ ...ok, vectors: 8 })).toThrow(PciStateError);
  });
});
