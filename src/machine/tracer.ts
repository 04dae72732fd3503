// An observer of the board: what a logic analyser on the CPUs' interrupt pins, the local APICs' EOI
// and ICR registers and the PCI bus would see. The machine calls it only when one is set
// (machine.tracer), so a run without a tracer pays one null check at these points and nothing on
// the RAM or MSI fast paths. Times are virtual nanoseconds, as the accessing CPU sees them.

import type { MsiOutcome } from '../hw/signals.js';

export interface MachineTracer {
  /** CPU `cpu` (index) acknowledged `vector` (INTA, or NMI as vector 2) and entered its IDT handler. */
  interruptEnter(cpu: number, vector: number, timeNs: number): void;
  /** The handler of `vector` returned (IRET) on `cpu`. */
  interruptExit(cpu: number, vector: number, timeNs: number): void;
  /** `cpu` wrote its local APIC's EOI register. */
  eoi(cpu: number, timeNs: number): void;
  /** `cpu` wrote its ICR: the low dword (vector, delivery mode, shorthand) and the destination field. */
  ipi(cpu: number, icrLow: number, destination: number, timeNs: number): void;
  /** A configuration-space write reached function `bdf` (ECAM or CF8/CFC), register offset `reg`. */
  configWrite(bdf: string, reg: number, size: number, value: number, timeNs: number): void;
  /** A CPU store reached memory BAR `bar` of `bdf` at `offset` (a doorbell, an MSI-X table entry…). */
  barWrite(bdf: string, bar: number, offset: number, size: number, value: number, timeNs: number): void;
  /** Function `bdf` wrote into the MSI window, and what the APIC bus did with it. */
  msiWrite(bdf: string, address: bigint, data: number, outcome: MsiOutcome, timeNs: number): void;
}
