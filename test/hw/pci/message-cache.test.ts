// The MSI and MSI-X capabilities decode their registers at every config write (and MSI-X table write)
// instead of reading config space per message. Whatever the guest writes, a doorbell must send what
// the registers say at that moment: checked against a reference that reads the registers back through
// the guest's own config and BAR accesses, for random writes, both doorbell paths (ring() and the
// BAR0 write) and both upstream forms (BigInt memoryWrite, number memoryWriteParts).
import { describe, expect, it } from 'vitest';
import { randomInts as rng } from '../../../src/util/random.js';
import { MsiEndpoint, type DoorbellOutcome } from '../../../src/hw/pci/msi-endpoint.js';
import { PciHost } from '../../../src/hw/pci/pci-host.js';


interface Sent {
  address: bigint;
  data: number;
}

function rig(parts: boolean, is64: boolean, pvm: boolean, vectors: 1 | 2 | 4 | 8 | 16 | 32, tableSize: number) {
  const writes: Sent[] = [];
  const host = new PciHost({
    upstream: {
      memoryWrite: (address, data) => writes.push({ address, data }),
      intx: () => {},
      ...(parts ? { memoryWriteParts: (lo: number, hi: number, data: number) => writes.push({ address: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), data: data >>> 0 }) } : {}),
    },
  });
  const ep = new MsiEndpoint({ msi: { vectors, is64, pvm }, msix: { tableSize } });
  host.add('00:03.0', ep);
  const msiAt = ep.msi!.offset;
  const msixAt = ep.msix!.offset;
  return { host, ep, writes, msiAt, msixAt };
}

/** What a doorbell for `index` must do, from the registers as the guest reads them. */
function expected(r: ReturnType<typeof rig>, index: number): { outcome: DoorbellOutcome; sent?: Sent } {
  const { ep, msiAt, msixAt } = r;
  const cfg = (o: number, s: 1 | 2 | 4) => ep.configRead(o, s);
  const master = (cfg(0x04, 2) & 4) !== 0;
  const xctrl = cfg(msixAt + 2, 2);
  if (xctrl & 0x8000) {
    const n = (xctrl & 0x7ff) + 1;
    if (index < 0 || index >= n) return { outcome: { result: 'suppressed', mode: 'msix', reason: 'no-such-message' } };
    const t = (k: number) => ep.barAccessRead(1, index * 16 + k, 4);
    if (xctrl & 0x4000 || t(12) & 1) return { outcome: { result: 'pended', mode: 'msix' } };
    if (!master) return { outcome: { result: 'suppressed', mode: 'msix', reason: 'bus-master-off' } };
    return { outcome: { result: 'sent', mode: 'msix' }, sent: { address: (BigInt(t(4)) << 32n) | BigInt(t(0)), data: t(8) } };
  }
  const ctrl = cfg(msiAt + 2, 2);
  if (ctrl & 1) {
    if (index < 0 || index > 31) return { outcome: { result: 'suppressed', mode: 'msi', reason: 'no-such-message' } };
    const mme = (ctrl >> 4) & 7;
    if (index >= 1 << mme) return { outcome: { result: 'suppressed', mode: 'msi', reason: 'beyond-mme' } };
    const is64 = (ctrl & 0x80) !== 0;
    const pvm = (ctrl & 0x100) !== 0;
    const mask = pvm ? cfg(msiAt + (is64 ? 0x10 : 0x0c), 4) : 0;
    if (mask & (1 << index)) return { outcome: { result: 'pended', mode: 'msi' } };
    if (!master) return { outcome: { result: 'suppressed', mode: 'msi', reason: 'bus-master-off' } };
    const lo = cfg(msiAt + 4, 4);
    const hi = is64 ? cfg(msiAt + 8, 4) : 0;
    const data = cfg(msiAt + (is64 ? 0x0c : 0x08), 2);
    return { outcome: { result: 'sent', mode: 'msi' }, sent: { address: (BigInt(hi) << 32n) | BigInt(lo), data: ((data & ~((1 << mme) - 1)) | index) >>> 0 } };
  }
  return { outcome: { result: 'pended', mode: 'intx' } }; // INTx: not what this test is about (checked loosely)
}

describe('MSI / MSI-X message cache', () => {
  const layouts: Array<[boolean, boolean, 1 | 2 | 4 | 8 | 16 | 32, number]> = [[true, true, 32, 4], [false, true, 8, 70], [true, false, 2, 1], [false, false, 1, 3]];
  for (const parts of [false, true]) {
    for (const [is64, pvm, vectors, tableSize] of layouts) {
      it(`doorbells send what the registers say (${parts ? 'memoryWriteParts' : 'memoryWrite'}, is64 ${is64}, pvm ${pvm}, ${vectors} msgs, ${tableSize} MSI-X entries)`, () => {
        const r = rig(parts, is64, pvm, vectors, tableSize);
        const { ep, msiAt, msixAt, writes } = r;
        const rand = rng(0x5eed + tableSize + vectors + (parts ? 1 : 0));
        const msiLen = ep.msi!.length;
        let checked = 0;
        for (let step = 0; step < 6000; step++) {
          const op = rand(20);
          if (op < 6) {
            // A config write somewhere in the MSI capability (any size, any value).
            const size = ([1, 2, 4] as const)[rand(3)]!;
            const off = msiAt + 2 + rand(msiLen - 2);
            const at = off - (off % size);
            ep.configWrite(at, size, rand(3) === 0 ? 0xffff_ffff >>> (32 - 8 * size) : rand(2 ** (8 * size)));
          } else if (op < 8) {
            ep.configWrite(msixAt + 2, 2, rand(4) << 14); // MSI-X enable / function mask
          } else if (op < 9) {
            ep.configWrite(0x04, 2, rand(2) ? 0x0006 : 0x0002); // bus master on/off
          } else if (op < 11) {
            // A table write (any dword of any entry, sometimes bytes).
            const e = rand(tableSize);
            const k = rand(4) * 4;
            if (rand(4) === 0) ep.barAccessWrite(1, e * 16 + k + rand(4), 1, rand(256));
            else ep.barAccessWrite(1, e * 16 + k, 4, k === 0 ? 0xfee0_0000 | (rand(256) << 12) : rand(2 ** 32));
          } else {
            const index = rand(10) === 0 ? rand(80) : rand(Math.max(vectors, tableSize));
            const want = expected(r, index);
            const before = writes.length;
            const counts = ep.counters();
            if (op < 15) {
              const got = ep.ring(index);
              if (want.outcome.mode !== 'intx') expect(got).toEqual(want.outcome);
            } else {
              ep.barAccessWrite(0, 0, 4, index); // the DOORBELL register, as the machine's MMIO path reaches it
              const now = ep.counters();
              if (want.outcome.mode !== 'intx') {
                const key = want.outcome.result === 'suppressed' ? 'suppressed' : want.outcome.result === 'pended' ? 'pended' : 'sent';
                expect(now[key]).toBe(counts[key] + 1);
                if (want.outcome.result === 'suppressed') expect(now.lastReason).toBe(want.outcome.reason);
              }
            }
            if (want.outcome.mode === 'intx') continue;
            if (want.sent) {
              expect(writes.length).toBe(before + 1);
              expect(writes[before]).toEqual(want.sent);
              checked++;
            } else {
              expect(writes.length).toBe(before);
            }
          }
        }
        expect(checked).toBeGreaterThan(50);
      });
    }
  }

  it('fire() and its outcome follow a restored state, not the registers before it', () => {
    const a = rig(true, true, true, 8, 2);
    const b = rig(true, true, true, 8, 2);
    a.ep.configWrite(0x04, 2, 0x0006);
    a.ep.configWrite(a.msiAt + 4, 4, 0xfee0_3000);
    a.ep.configWrite(a.msiAt + 0x0c, 2, 0x48);
    a.ep.configWrite(a.msiAt + 2, 2, 0x31); // MME = 3, enabled
    b.ep.configWrite(0x04, 2, 0x0006);
    b.ep.msi!.loadState(a.ep.msi!.saveState());
    expect(b.ep.msi!.fire(5)).toEqual({ result: 'sent', index: 5, address: 0xfee0_3000n, data: 0x4d });
    expect(b.writes).toEqual([{ address: 0xfee0_3000n, data: 0x4d }]);
    a.ep.barAccessWrite(1, 16, 4, 0xfee0_1000);
    a.ep.barAccessWrite(1, 24, 4, 0x8000_0061); // data with reserved high bits: sent as an unsigned dword
    a.ep.barAccessWrite(1, 28, 4, 0);
    a.ep.configWrite(a.msixAt + 2, 2, 0x8000);
    b.ep.msix!.loadState(a.ep.msix!.saveState());
    expect(b.ep.msix!.fire(1)).toEqual({ result: 'sent', index: 1, address: 0xfee0_1000n, data: 0x8000_0061 });
    expect(b.writes[1]).toEqual({ address: 0xfee0_1000n, data: 0x8000_0061 });
  });
});
