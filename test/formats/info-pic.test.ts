// IoApic.infoPic() and PicPair.infoPic() against QEMU 7.2's real `info pic`
// (test/data/real/*/info-pic.txt): chips put in the state Linux 6.1 left QEMU's in print the same bytes.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { IoApic, IOREGSEL, IOWIN } from '../../src/hw/ioapic.js';
import { formatIoapicInfo } from '../../src/hw/ioapic-info.js';
import { PicPair } from '../../src/machine/pic8259.js';
import { showPic } from '../../src/formats/show.js';
import type { Machine as Board } from '../../src/machine/machine.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { sample } from './real-samples.js';

const plain = sample('qemu-7.2-linux-6.1-q35-4cpu', 'info-pic.txt');
const remapped = sample('qemu-7.2-linux-6.1-q35-4cpu-ir', 'info-pic.txt');
const ioapicPart = (t: string) => t.slice(0, t.indexOf('pic1:'));
const picPart = (t: string) => t.slice(t.indexOf('pic1:'));

/** The redirection entries Linux 6.1 programmed on QEMU's I/O APIC (pin → [high, low]), from the sample. */
const RTES: Record<number, [number, number]> = {
  1: [0x0800_0000, 0x0821], 2: [0x0100_0000, 0x0830], 4: [0x0200_0000, 0x0822], 8: [0x0100_0000, 0x0821],
  9: [0x0200_0000, 0x8821], 12: [0x0400_0000, 0x0821],
};

describe("info pic: QEMU's ioapic_print_redtbl() and pic_print_info() layouts", () => {
  it('reproduces the I/O APIC of Linux 6.1 on QEMU q35 byte for byte', () => {
    const io = new IoApic({ id: 0, pins: 24, version: 0x20 }); // QEMU's q35 I/O APIC is version 0x20
    const reg = (index: number, value: number) => {
      io.write(IOREGSEL, index);
      io.write(IOWIN, value);
    };
    for (const [pin, [high, low]] of Object.entries(RTES)) {
      reg(0x10 + 2 * Number(pin) + 1, high);
      reg(0x10 + 2 * Number(pin), low);
    }
    io.write(IOREGSEL, 0x18); // the last register Linux selected: redirection entry 4
    expect(io.infoPic()).toBe(ioapicPart(plain));
  });

  it('prints remappable-format entries (bit 48, handle in 63:49) as the remapping machine showed them', () => {
    // irqslice's I/O APIC stores only bits 63:56 of the high dword, so the formatter is fed the state directly.
    const entries = new Array(24).fill(0).map(() => ({ low: 0x10000, high: 0 }));
    const ir: Record<number, [number, number]> = { 1: [0x0001_0000, 0x1], 2: [0x0003_0000, 0x2], 4: [0x0007_0000, 0x4], 8: [0x000f_0000, 0x8], 9: [0x0011_0000, 0x8009], 12: [0x0017_0000, 0xc] };
    for (const [pin, [high, low]] of Object.entries(ir)) entries[Number(pin)] = { low, high };
    const text = formatIoapicInfo({ format: 'irqslice.ioapic/1', pins: 24, version: 0x20, id: 0, arbitrationId: 0, ioregsel: 0x18, redirection: entries, lines: new Array(24).fill(false) }, []);
    expect(text).toBe(ioapicPart(remapped));
  });

  it('prints IRR and Remote IRR pin lists as ioapic_irr_dump() (`%-10s ` then `%-2u ` per pin)', () => {
    const entries = new Array(24).fill(0).map(() => ({ low: 0x10000, high: 0 }));
    entries[9] = { low: 0xc821, high: 0 }; // level, remote IRR set
    const text = formatIoapicInfo({ format: 'irqslice.ioapic/1', pins: 24, version: 0x20, id: 0, arbitrationId: 0, ioregsel: 0, redirection: entries, lines: new Array(24).fill(false) }, [9, 16]);
    expect(text.split('\n').slice(-3)).toEqual(['  IRR      9  16 ', '  Remote IRR 9  ', '']);
    expect(text.startsWith('ioapic0: ver=0x20 id=0x00 sel=0x00\n')).toBe(true); // no `(redir[n])` for IOREGSEL 0
    expect(plain).toContain('  IRR      (none)\n  Remote IRR (none)\n'); // the same `%-10s ` label, from QEMU itself
  });

  it('prints the 8259 pair after Linux initialised it, slave first; ELCR is not modelled', () => {
    const pic = new PicPair({ intr: () => {} });
    // init_8259A(0): ICW1..4 then OCW1 = 0xFF on each, vectors 0x30 and 0x38.
    for (const [cmd, data, base, icw3] of [[0x20, 0x21, 0x30, 0x04], [0xa0, 0xa1, 0x38, 0x02]] as const) {
      pic.ioWrite(cmd, 0x11);
      pic.ioWrite(data, base);
      pic.ioWrite(data, icw3);
      pic.ioWrite(data, 0x01);
      pic.ioWrite(data, 0xff);
    }
    // The edges QEMU's chips had latched: IRQ 0, 1, 4 (master: irr=13) and IRQ 8, 12 (slave: irr=11).
    for (const irq of [0, 1, 4, 8, 12]) pic.setIrq(irq, true);
    // QEMU's q35 sets ELCR bits for the PCI-routed IRQs (elcr=0c on the slave); irqslice has no ELCR.
    expect(pic.infoPic()).toBe(picPart(plain).replace('elcr=0c', 'elcr=00'));
  });

  it('a run of irqslice prints the real line sequence', async () => {
    const sc = JSON.parse(readFileSync(new URL('../../examples/scenarios/linux-6.1-qemu.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    let board: Board | undefined;
    await runScenario(JSON.stringify({ ...sc, engine: 'js' }), { onMachine: (m) => (board = m) });
    const text = showPic(board!);
    const shape = (t: string) => t.split('\n').map((l) => l.replace(/^( {2}pin \d+| {2}IRR| {2}Remote IRR|ioapic0:|pic[01]:).*$/, '$1'));
    expect(shape(text)).toEqual(shape(plain));
    // The timer's entry is the one Linux 6.1 wrote on QEMU: pin 2, vector 0x30, flat logical CPU 0.
    expect(text.split('\n')[3]).toBe(plain.split('\n')[3]);
  });
});
