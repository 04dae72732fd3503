import { describe, expect, it } from 'vitest';
import {
  EP_DOORBELL,
  EP_INTX_ACK,
  EP_LAST_REASON,
  EP_MODE,
  EP_PENDED,
  EP_SENT,
  EP_SUPPRESSED,
  EP_SUPPRESSED_BY,
  MsiEndpoint,
} from '../../../src/hw/pci/msi-endpoint.js';
import type { MsiEndpointOptions } from '../../../src/hw/pci/msi-endpoint.js';
import { cfgRead, cfgWrite, makeHost } from './helpers.js';

const BAR0 = 0xfebf_0000;

/** Endpoint at 00:03.0, BAR0 at 0xFEBF0000, memory decode + bus mastering on. */
function rig(opts: MsiEndpointOptions) {
  const r = makeHost();
  const ep = new MsiEndpoint(opts);
  r.host.add('00:03.0', ep);
  cfgWrite(r.host, 0, 3, 0, 0x10, 4, BAR0);
  cfgWrite(r.host, 0, 3, 0, 0x04, 2, 0x0006);
  const reg = (off: number) => r.host.mmioRead(BAR0 + off, 4);
  const ring = (i: number) => r.host.mmioWrite(BAR0 + EP_DOORBELL, 4, i);
  return { ...r, ep, reg, ring };
}

function enableMsi(r: ReturnType<typeof rig>, data: number, mme: number) {
  const at = r.ep.msi!.offset;
  const L = r.ep.msi!.layout;
  cfgWrite(r.host, 0, 3, 0, at + L.address, 4, 0xfee0_0000);
  cfgWrite(r.host, 0, 3, 0, at + L.data, 2, data);
  cfgWrite(r.host, 0, 3, 0, at + 2, 2, (mme << 4) | 1);
}

describe('MsiEndpoint', () => {
  it('identifies as vendor 0xFFF0 device 0x0001, class 0xFF0000, with a 4 KiB BAR0', () => {
    const r = rig({ msi: { vectors: 4, is64: false, pvm: false } });
    expect(cfgRead(r.host, 0, 3, 0, 0x00, 4)).toBe(0x0001_fff0);
    expect(cfgRead(r.host, 0, 3, 0, 0x08, 4)).toBe(0xff00_0001 /* class FF/00/00, revision 1 */);
    cfgWrite(r.host, 0, 3, 0, 0x10, 4, 0xffff_ffff);
    expect(cfgRead(r.host, 0, 3, 0, 0x10, 4)).toBe(0xffff_f000 /* 4 KiB, 32-bit, non-prefetchable */);
  });

  it('a doorbell write of i fires MSI message i with the data rule applied', () => {
    const r = rig({ msi: { vectors: 4, is64: false, pvm: false } });
    enableMsi(r, 0x42, 2);
    for (let i = 0; i < 4; i++) r.ring(i);
    expect(r.writes.map((w) => w.data)).toEqual([0x40, 0x41, 0x42, 0x43]);
    expect(r.reg(EP_SENT)).toBe(4);
    expect(r.reg(EP_MODE)).toBe(2 /* MSI */);
  });

  it('counts suppressed doorbells by reason and exposes them in BAR0', () => {
    const r = rig({ msi: { vectors: 4, is64: false, pvm: false } });
    enableMsi(r, 0x40, 1);
    r.ring(3); // beyond MME (2 messages)
    r.ring(40); // no such MSI message
    cfgWrite(r.host, 0, 3, 0, 0x04, 2, 0x0002); // bus master off
    r.ring(0);
    expect(r.reg(EP_SUPPRESSED)).toBe(3);
    expect([r.reg(EP_SUPPRESSED_BY + 4), r.reg(EP_SUPPRESSED_BY + 8), r.reg(EP_SUPPRESSED_BY + 12)]).toEqual([1, 1, 1]);
    expect(r.reg(EP_LAST_REASON)).toBe(3 /* bus-master-off */);
    expect(r.ep.counters().byReason).toMatchObject({ 'no-such-message': 1, 'beyond-mme': 1, 'bus-master-off': 1 });
    expect(r.writes).toHaveLength(0);
  });

  it('a masked doorbell is pended, then counted as sent when unmasked', () => {
    const r = rig({ msi: { vectors: 2, is64: true, pvm: true } });
    enableMsi(r, 0x60, 1);
    const at = r.ep.msi!.offset;
    cfgWrite(r.host, 0, 3, 0, at + 0x10, 4, 0b10);
    r.ring(1);
    expect([r.reg(EP_PENDED), r.reg(EP_SENT)]).toEqual([1, 0]);
    cfgWrite(r.host, 0, 3, 0, at + 0x10, 4, 0);
    expect(r.reg(EP_SENT)).toBe(1);
    expect(r.writes.map((w) => w.data)).toEqual([0x61]);
  });

  it('without MSI enabled a doorbell asserts INTx through the host with the BDF', () => {
    const r = rig({ msi: { vectors: 1, is64: false, pvm: false }, intxPin: 1 });
    r.ring(0);
    expect(r.intx).toEqual([{ bdf: '00:03.0', pin: 1, level: true }]);
    expect(cfgRead(r.host, 0, 3, 0, 0x06, 2)! & 0x8).toBe(0x8 /* status.3 */);
    expect(r.reg(EP_INTX_ACK)).toBe(0b11 /* request + pin asserted */);
    r.host.mmioWrite(BAR0 + EP_INTX_ACK, 4, 1);
    expect(r.intx.at(-1)).toEqual({ bdf: '00:03.0', pin: 1, level: false });
    expect(r.reg(EP_SENT)).toBe(1);
  });

  it('INTx disable (command.10) keeps the pin low but sets status.3; clearing it asserts', () => {
    const r = rig({ intxPin: 2 });
    cfgWrite(r.host, 0, 3, 0, 0x04, 2, 0x0406);
    r.ring(0);
    expect(r.intx).toHaveLength(0);
    expect(r.reg(EP_INTX_ACK)).toBe(0b01);
    expect(r.reg(EP_PENDED)).toBe(1);
    cfgWrite(r.host, 0, 3, 0, 0x04, 2, 0x0006);
    expect(r.intx).toEqual([{ bdf: '00:03.0', pin: 2, level: true }]);
  });

  it('without an INTx pin or MSI a doorbell is suppressed', () => {
    const r = rig({ intxPin: 0 });
    r.ring(0);
    expect(r.ep.counters()).toMatchObject({ suppressed: 1, lastReason: 'no-interrupt-pin' });
    expect(r.reg(EP_MODE)).toBe(0);
  });

  it('MSI-X takes precedence: the doorbell fires table entry i from BAR1', () => {
    const r = rig({ msi: { vectors: 4, is64: false, pvm: false }, msix: { tableSize: 3 } });
    cfgWrite(r.host, 0, 3, 0, 0x14, 4, 0xfeb0_0000);
    const at = r.ep.msix!.tableOffset;
    r.host.mmioWrite(0xfeb0_0000 + at + 16 * 2 + 0, 4, 0xfee0_1000);
    r.host.mmioWrite(0xfeb0_0000 + at + 16 * 2 + 8, 4, 0x55);
    r.host.mmioWrite(0xfeb0_0000 + at + 16 * 2 + 12, 4, 0);
    enableMsi(r, 0x40, 2);
    expect(r.ep.msix!.offset).toBe(0x4c /* after MSI's 0x0A bytes at 0x40, dword aligned */);
    cfgWrite(r.host, 0, 3, 0, 0x4c + 2, 2, 0x8000 /* MSI-X enable */);
    r.ring(2);
    r.ring(3 /* table has 3 entries */);
    expect(r.reg(EP_MODE)).toBe(3);
    expect(r.writes).toEqual([{ address: 0xfee0_1000n, data: 0x55 }]);
    expect(r.ep.counters().byReason['no-such-message']).toBe(1);
  });

  it('quirk ignoreMme: every message carries the base data (firmware must catch it)', () => {
    const r = rig({ msi: { vectors: 4, is64: false, pvm: false }, quirks: { ignoreMme: true } });
    enableMsi(r, 0x40, 2);
    r.ring(1);
    r.ring(2);
    expect(r.writes.map((w) => w.data)).toEqual([0x40, 0x40]);
  });

  it('sub-dword reads of BAR0 registers return the addressed bytes', () => {
    const r = rig({ intxPin: 1 });
    for (let i = 0; i < 0x1_02; i++) r.ep.ring(0) /* first asserts, the rest are pended */;
    expect(r.host.mmioRead(BAR0 + EP_PENDED, 2)).toBe(0x0101);
    expect(r.host.mmioRead(BAR0 + EP_PENDED + 1, 1)).toBe(0x01);
  });
});
