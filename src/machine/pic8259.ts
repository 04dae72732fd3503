// Intel 8259A pair (master at 0x20, slave at 0xA0, cascade on IR2), enough for a guest to
// initialise and mask it and for INTA to report spurious IRQ 7/15. Edge-triggered mode only;
// no special mask, rotation, poll or AEOI modes (a write selecting them is logged, not obeyed).
import { at, bool, int, MachineStateError, record } from './state-check.js';

export const PIC_STATE_FORMAT = 'irqslice.pic8259/1';

/** One 8259A: its registers and the initialisation sequence it is in the middle of. */
export interface Pic8259State {
  irr: number;
  isr: number;
  imr: number;
  /** ICW2 vector base (bits 7:3). */
  vectorBase: number;
  /** 0 = initialised; 2, 3, 4 = the next data-port write is ICW2, ICW3, ICW4. */
  initStep: 0 | 2 | 3 | 4;
  /** ICW1 bit 0: an ICW4 follows ICW3. */
  needIcw4: boolean;
  /** OCW3 read-register select: the command port reads the ISR (else the IRR). */
  readIsr: boolean;
  /** Input levels IR7..IR0 (edge detection compares against them). */
  lines: number;
}

export interface PicState {
  format: typeof PIC_STATE_FORMAT;
  master: Pic8259State;
  slave: Pic8259State;
}

const CHIP_KEYS: readonly string[] = ['irr', 'isr', 'imr', 'vectorBase', 'initStep', 'needIcw4', 'readIsr', 'lines'];

export interface PicEvents {
  /** The master's INT output (wired to the BSP's LINT0). */
  intr(level: boolean): void;
  /** A guest access the model does not implement, reported instead of silently ignored. */
  unsupported?(what: string): void;
}

class Pic8259 {
  irr = 0;
  isr = 0;
  imr = 0xff; // masked until initialised, as firmware leaves it after POST
  vectorBase = 0;
  initStep = 0; // 0 = ready; 2..4 = expecting ICW2..ICW4
  needIcw4 = false;
  /** OCW3 read-register select: true = the command port reads ISR (QEMU's rr_sel). */
  readIsr = false;
  lines = 0;

  constructor(private readonly spuriousIrq: number, private readonly report: (what: string) => void) {}

  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1: start initialisation; IMR and ISR are cleared, IR7 gets priority 7 (lowest).
      this.initStep = 2;
      this.needIcw4 = (v & 1) !== 0;
      this.imr = 0;
      this.isr = 0;
      this.irr = 0;
      this.readIsr = false;
      if (v & 0x08) this.report('8259 level-triggered mode (LTIM) is not modelled');
      return;
    }
    if ((v & 0x18) === 0x08) {
      // OCW3: bit 1 = act on bit 0 (1 = read ISR, 0 = read IRR).
      if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
      if (v & 0x44) this.report(`8259 OCW3 poll/special mask 0x${v.toString(16)} is not modelled`);
      return;
    }
    // OCW2: 0x20 non-specific EOI, 0x60 | n specific EOI.
    const op = v >>> 5;
    if (op === 1) this.isr &= ~lowestBit(this.isr); // highest priority = lowest IR with fixed priority
    else if (op === 3) this.isr &= ~(1 << (v & 7));
    else this.report(`8259 OCW2 rotation 0x${v.toString(16)} is not modelled`);
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        this.initStep = 3;
        return;
      case 3:
        this.initStep = this.needIcw4 ? 4 : 0;
        return;
      case 4:
        if ((v & 1) === 0) this.report('8259 MCS-80/85 mode is not modelled');
        if (v & 2) this.report('8259 AEOI mode is not modelled');
        this.initStep = 0;
        return;
      default:
        this.imr = v & 0xff; // OCW1
    }
  }

  readCommand(): number {
    return this.readIsr ? this.isr : this.irr;
  }
  readData(): number {
    return this.imr;
  }
  /** OCW3's read-register select: true when the command port reads ISR (QEMU's rr_sel). */
  get readsIsr(): boolean {
    return this.readIsr;
  }

  setLine(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level && !(this.lines & bit)) this.irr |= bit; // edge-triggered: latch rising edges
    this.lines = level ? this.lines | bit : this.lines & ~bit;
  }

  /** Highest-priority requested, unmasked IRQ not blocked by a higher in-service one, or -1. */
  pending(): number {
    const req = this.irr & ~this.imr;
    for (let i = 0; i < 8; i++) {
      if (this.isr & (1 << i)) return -1;
      if (req & (1 << i)) return i;
    }
    return -1;
  }

  /** INTA: returns the IRQ taken, or the spurious IRQ (7) when the request went away. */
  acknowledge(): { irq: number; spurious: boolean } {
    const irq = this.pending();
    if (irq < 0) return { irq: this.spuriousIrq, spurious: true };
    this.irr &= ~(1 << irq);
    this.isr |= 1 << irq;
    return { irq, spurious: false };
  }
}

function chipState(c: Pic8259): Pic8259State {
  const initStep = c.initStep as 0 | 2 | 3 | 4;
  return { irr: c.irr, isr: c.isr, imr: c.imr, vectorBase: c.vectorBase, initStep, needIcw4: c.needIcw4, readIsr: c.readIsr, lines: c.lines };
}

function checkChip(v: unknown, path: string): Pic8259State {
  const c = record(v, path, CHIP_KEYS);
  const byte = (k: string) => int(c[k], at(path, k), 0, 0xff);
  const vectorBase = byte('vectorBase');
  if (vectorBase & 7) throw new MachineStateError(at(path, 'vectorBase'), 'ICW2 bits 2:0 are not stored (the base is a multiple of 8)');
  const initStep = int(c.initStep, at(path, 'initStep'), 0, 4);
  if (initStep === 1) throw new MachineStateError(at(path, 'initStep'), 'expected 0 (ready) or 2, 3, 4 (the next ICW)');
  return {
    irr: byte('irr'), isr: byte('isr'), imr: byte('imr'), vectorBase, initStep: initStep as 0 | 2 | 3 | 4,
    needIcw4: bool(c.needIcw4, at(path, 'needIcw4')), readIsr: bool(c.readIsr, at(path, 'readIsr')), lines: byte('lines'),
  };
}

function lowestBit(x: number): number {
  return x & -x;
}

export class PicPair {
  private readonly master: Pic8259;
  private readonly slave: Pic8259;
  /** Spurious interrupts seen at INTA: IRQ 7 (master) and IRQ 15 (slave). */
  readonly spurious = { irq7: 0, irq15: 0 };

  constructor(private readonly events: PicEvents) {
    const report = (w: string) => events.unsupported?.(w);
    this.master = new Pic8259(7, report);
    this.slave = new Pic8259(7, report);
  }

  ioRead(port: number): number {
    switch (port) {
      case 0x20: return this.master.readCommand();
      case 0x21: return this.master.readData();
      case 0xa0: return this.slave.readCommand();
      case 0xa1: return this.slave.readData();
      default: return 0xff;
    }
  }

  ioWrite(port: number, value: number): void {
    switch (port) {
      case 0x20: this.master.writeCommand(value); break;
      case 0x21: this.master.writeData(value); break;
      case 0xa0: this.slave.writeCommand(value); break;
      case 0xa1: this.slave.writeData(value); break;
    }
    this.update();
  }

  /** ISA IRQ line 0..15 (0..7 master, 8..15 slave). */
  setIrq(irq: number, level: boolean): void {
    if (irq >= 8) this.slave.setLine(irq - 8, level);
    else this.master.setLine(irq, level);
    this.update();
  }

  saveState(): PicState {
    return { format: PIC_STATE_FORMAT, master: chipState(this.master), slave: chipState(this.slave) };
  }

  /** Validates a PicState without applying it (MachineStateError naming the field under `path`). */
  checkState(state: unknown, path = '$'): PicState {
    const s = record(state, path, ['format', 'master', 'slave']);
    if (s.format !== PIC_STATE_FORMAT) throw new MachineStateError(at(path, 'format'), `expected '${PIC_STATE_FORMAT}'`);
    return { format: PIC_STATE_FORMAT, master: checkChip(s.master, at(path, 'master')), slave: checkChip(s.slave, at(path, 'slave')) };
  }

  /**
   * Restores both chips exactly (validated first). The INT output is not re-driven: its level is
   * part of the BSP local APIC's state (LINT0), restored with it.
   */
  loadState(state: unknown): void {
    const s = this.checkState(state);
    Object.assign(this.master, s.master);
    Object.assign(this.slave, s.slave);
  }

  get masks(): { master: number; slave: number } {
    return { master: this.master.imr, slave: this.slave.imr };
  }

  /**
   * The pair in the layout of QEMU's `info pic` (pic_print_info, hw/intc/i8259_common.c), slave first
   * as QEMU lists them. Not modelled, so printed as QEMU shows them after reset: hprio (rotation) 0,
   * elcr 00 (no ELCR ports), fnm (special fully nested mode) 0.
   */
  infoPic(): string {
    const hex2 = (n: number) => n.toString(16).padStart(2, '0');
    const line = (name: string, p: Pic8259) =>
      `${name}: irr=${hex2(p.irr)} imr=${hex2(p.imr)} isr=${hex2(p.isr)} hprio=0 irq_base=${hex2(p.vectorBase)} rr_sel=${p.readsIsr ? 1 : 0} elcr=00 fnm=0\n`;
    return line('pic1', this.slave) + line('pic0', this.master);
  }

  /** INTA cycle as the CPU runs it for an ExtINT delivery; returns the vector. */
  acknowledge(): number {
    const m = this.master.acknowledge();
    let vector: number;
    if (!m.spurious && m.irq === 2) {
      const s = this.slave.acknowledge();
      if (s.spurious) this.spurious.irq15++;
      vector = this.slave.vectorBase + s.irq;
    } else {
      if (m.spurious) this.spurious.irq7++;
      vector = this.master.vectorBase + m.irq;
    }
    this.update();
    return vector;
  }

  private update(): void {
    this.master.setLine(2, this.slave.pending() >= 0);
    this.events.intr(this.master.pending() >= 0);
  }
}
