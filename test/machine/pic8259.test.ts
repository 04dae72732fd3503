// The 8259 pair: initialisation words, masking, INTA priorities and spurious IRQ 7 / 15.

import { describe, expect, it } from 'vitest';
import { PicPair } from '../../src/machine/pic8259.js';

function initialised() {
  const intr: boolean[] = [];
  const pic = new PicPair({ intr: (l) => intr.push(l) });
  // ICW1 (edge, cascade, ICW4), ICW2 base, ICW3 (master: slave on IR2; slave: ID 2), ICW4 8086 mode.
  for (const [cmd, data, base, icw3] of [[0x20, 0x21, 0x30, 0x04], [0xa0, 0xa1, 0x38, 0x02]] as const) {
    pic.ioWrite(cmd, 0x11);
    pic.ioWrite(data, base);
    pic.ioWrite(data, icw3);
    pic.ioWrite(data, 0x01);
  }
  return { pic, intr };
}

describe('8259A pair', () => {
  it('is fully masked after power-up (IMR reads 0xFF) and unmasked by ICW1', () => {
    const pic = new PicPair({ intr: () => undefined });
    expect([pic.ioRead(0x21), pic.ioRead(0xa1)]).toEqual([0xff, 0xff]);
    expect(initialised().pic.ioRead(0x21)).toBe(0x00);
  });

  it('OCW1 masks: a masked IRQ raises no INT', () => {
    const { pic, intr } = initialised();
    pic.ioWrite(0x21, 0xff);
    pic.setIrq(1, true);
    expect(intr.at(-1)).toBe(false);
    pic.ioWrite(0x21, 0xfd); // unmask IRQ 1
    expect(intr.at(-1)).toBe(true);
  });

  it('INTA returns base + IRQ, sets ISR; non-specific EOI clears it', () => {
    const { pic } = initialised();
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x31);
    pic.ioWrite(0x20, 0x0b); // OCW3: read ISR
    expect(pic.ioRead(0x20)).toBe(0x02);
    pic.ioWrite(0x20, 0x20); // non-specific EOI
    expect(pic.ioRead(0x20)).toBe(0x00);
  });

  it('a slave IRQ goes through the cascade: vector from the slave base, master ISR bit 2', () => {
    const { pic } = initialised();
    pic.setIrq(12, true);
    expect(pic.acknowledge()).toBe(0x38 + 4);
    pic.ioWrite(0x20, 0x0b);
    expect(pic.ioRead(0x20)).toBe(0x04);
  });

  it('INTA with no request reports spurious IRQ 7 (vector base + 7) and counts it', () => {
    const { pic } = initialised();
    expect(pic.acknowledge()).toBe(0x37);
    expect(pic.spurious).toEqual({ irq7: 1, irq15: 0 });
  });

  it('a slave request withdrawn before INTA reports spurious IRQ 15', () => {
    const { pic } = initialised();
    pic.setIrq(10, true); // latched in the slave IRR, cascade requests IR2 at the master
    pic.ioWrite(0xa1, 0xff); // masked before the CPU acknowledges: the slave has nothing left
    pic.ioWrite(0x21, 0x00);
    // Master still saw IR2 latched; the slave answers INTA with its IR7.
    expect(pic.acknowledge()).toBe(0x38 + 7);
    expect(pic.spurious.irq15).toBe(1);
  });
});
