// The parts of a board snapshot, one by one: the RAM image and its base64 (RFC 4648), the 8259 pair's
// state in the middle of an initialisation, and a PCI function's state (config bytes against the masks,
// INTx restored without an edge on the wire).

import { describe, expect, it } from 'vitest';
import { MachineStateError, MsiEndpoint, PciHost, PciStateError } from '../../src/index.js';
import { checkRam, decodeBase64, encodeBase64, loadRam, saveRam } from '../../src/machine/ram-image.js';
import { PicPair } from '../../src/machine/pic8259.js';
import { randomInts } from '../../src/util/random.js';
import { thrown } from '../hostile.js';

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** Byte arrays compared in one call (a deep equality over 256 Ki elements would take seconds). */
const same = (x: Uint8Array, y: Uint8Array) => x.length === y.length && Buffer.compare(x, y) === 0;

describe('base64 (RFC 4648 §4)', () => {
  it('encodes and decodes the test vectors of RFC 4648 §10', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [text, b64] of vectors) {
      const bytes = new TextEncoder().encode(text);
      expect(encodeBase64(bytes)).toBe(b64);
      expect(decodeBase64(b64, 'x')).toEqual(bytes);
    }
  });

  it('round-trips every byte value at every length modulo 3', () => {
    for (const n of [0, 1, 2, 3, 255, 256, 257, 0x3001]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff);
      expect(same(decodeBase64(encodeBase64(bytes), 'x'), bytes)).toBe(true);
      expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });

  it.each([['whitespace', 'Zm9v\nYmFy'], ['no padding', 'Zg'], ['padding inside', 'Zg==Zm9v'], ['the URL alphabet', 'Zm-_'], ['a number', 7]])('refuses %s', (_what, v) => {
    const e = thrown(() => decodeBase64(v, 'ram.runs[0].data'));
    expect(e).toBeInstanceOf(MachineStateError);
    expect((e as MachineStateError).field).toBe('ram.runs[0].data');
  });
});

describe('RAM image', () => {
  it('keeps only pages with a non-zero byte, consecutive ones as one run', () => {
    const ram = new Uint8Array(0x10_000);
    expect(saveRam(ram).runs).toEqual([]);
    ram[0x1fff] = 1; // last byte of page 1
    ram[0x2000] = 2; // first byte of page 2
    ram[0xffff] = 3; // last byte of RAM
    const image = saveRam(ram);
    expect(image.runs.map((r) => [r.address, decodeBase64(r.data, 'x').length])).toEqual([[0x1000, 0x2000], [0xf000, 0x1000]]);
    const back = new Uint8Array(0x10_000).fill(0xaa); // whatever was there is replaced
    loadRam(back, checkRam(json(image), 'ram', back.length));
    expect(same(back, ram)).toBe(true);
  });

  it('random pages survive the trip', () => {
    const next = randomInts(0x5eed);
    const ram = new Uint8Array(0x40_000);
    for (let k = 0; k < 200; k++) ram[next(ram.length)] = next(255) + 1;
    const back = new Uint8Array(ram.length);
    loadRam(back, checkRam(json(saveRam(ram)), 'ram', ram.length));
    expect(same(back, ram)).toBe(true);
  });
});

describe('8259 pair state', () => {
  it('a pair saved between ICW2 and ICW3 finishes its initialisation after a restore as the original does', () => {
    const a = new PicPair({ intr: () => undefined });
    a.ioWrite(0x20, 0x11); // ICW1: edge, cascade, ICW4 follows
    a.ioWrite(0x21, 0x30); // ICW2: vector base 0x30
    a.setIrq(3, true);
    const state = json(a.saveState());
    expect(state.master).toMatchObject({ initStep: 3, needIcw4: true, vectorBase: 0x30, lines: 0b1000 });
    const b = new PicPair({ intr: () => undefined });
    b.loadState(state);
    for (const p of [a, b]) {
      p.ioWrite(0x21, 0x04); // ICW3
      p.ioWrite(0x21, 0x01); // ICW4: 8086 mode
      p.ioWrite(0x21, 0xf7); // OCW1: only IR3 unmasked
      p.setIrq(3, false);
      p.setIrq(3, true); // a new rising edge
    }
    expect(b.saveState()).toEqual(a.saveState());
    const [va, vb] = [a.acknowledge(), b.acknowledge()];
    expect(vb).toBe(va);
    expect(vb).toBe(0x33); // ICW2 base 0x30 + IR3
    expect(b.saveState()).toEqual(a.saveState());
  });

  it('refuses an initialisation step that does not exist, naming it', () => {
    const p = new PicPair({ intr: () => undefined });
    const s = json(p.saveState()) as { master: { initStep: number } };
    s.master.initStep = 1;
    const e = thrown(() => p.loadState(s));
    expect((e as MachineStateError).field).toBe('master.initStep');
  });
});

describe('PCI function state', () => {
  /** An endpoint on a host whose INTx edges are recorded. */
  const plugged = () => {
    const edges: boolean[] = [];
    const host = new PciHost({ upstream: { memoryWrite: () => true, intx: (_bdf, _pin, level) => edges.push(level) } });
    const ep = new MsiEndpoint({ msi: { vectors: 4, is64: true, pvm: true } });
    host.add('00:03.0', ep);
    return { ep, edges };
  };

  it('an asserted INTx pin is restored as asserted, without an edge upstream (the board restores its side)', () => {
    const a = plugged();
    a.ep.configWrite(0x04, 2, 0x0006); // memory + bus master
    a.ep.ring(0); // INTx: status bit 3, pin asserted
    expect(a.edges).toEqual([true]);
    const b = plugged();
    b.ep.loadState(json(a.ep.saveState()));
    expect(b.ep.intxAsserted).toBe(true);
    expect(b.edges).toEqual([]);
    expect(b.ep.counters()).toEqual(a.ep.counters());
    b.ep.barAccessWrite(0, 0x04, 4, 1); // INTX_ACK: the de-assertion is an edge again
    expect(b.edges).toEqual([false]);
  });

  it('writable and RW1C bits may differ; a read-only bit names its byte and field', () => {
    const { ep } = plugged();
    const s = json(ep.saveState());
    // Command (0x04) memory + master: writable. Interrupt line (0x3C): writable.
    const bytes = (s.config.padEnd(0x80, '0').match(/../g) as string[]).map((h) => parseInt(h, 16));
    bytes[0x04] = 0x06;
    bytes[0x3c] = 0x0b;
    const ok = { ...s, config: bytes.map((b) => b.toString(16).padStart(2, '0')).join('') };
    expect(() => plugged().ep.checkState(ok)).not.toThrow();
    bytes[0x3d] = 2; // interrupt pin: read-only
    const bad = { ...s, config: bytes.map((b) => b.toString(16).padStart(2, '0')).join('') };
    const e = thrown(() => plugged().ep.loadState(bad));
    expect(e).toBeInstanceOf(PciStateError);
    expect((e as PciStateError).field).toBe('config[0x03d]');
    expect(e.message).toMatch(/'interrupt-pin'/);
  });
});
