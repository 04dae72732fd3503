// The CPU side of the migration bench: a CpuContext whose memory/port/MSR accesses reach the real
// models (LAPIC page, ECAM, CF8/CFC, BARs, and with remapping a RAM and the VT-d unit's page). Left out:
// code installation, time passing (no waits).
import type { LocalApic } from '../hw/apic/local-apic.js';
import type { PciHost } from '../hw/pci/pci-host.js';
import type { CpuContext, CpuidInfo, GuestYield, IdtTable } from '../machine/guest-interface.js';
import { ECAM_BASE, ECAM_SIZE, LAPIC_BASE, LAPIC_SIZE } from '../machine/memory-map.js';
import { MigrateUsageError } from './errors.js';

/** More of the address space: answers an access it claims (a number, or true for a write), else null/false. */
export interface BenchMemory {
  read(address: number, size: 1 | 2 | 4): number | null;
  write(address: number, size: 1 | 2 | 4, value: number): boolean;
}

/** One bench CPU. Interrupts are taken by the bench's scheduler (service()), never behind its back. */
export class BenchCpu implements CpuContext {
  private ifFlag = false;
  private idt: IdtTable = new Map();

  constructor(
    readonly index: number,
    readonly lapic: LocalApic,
    private readonly pci: PciHost,
    private readonly clock: () => number,
    private readonly more: BenchMemory | null = null,
  ) {}

  get interruptsEnabled(): boolean {
    return this.ifFlag;
  }
  cli(): void {
    this.ifFlag = false;
  }
  sti(): void {
    this.ifFlag = true;
  }
  lidt(table: IdtTable): void {
    this.idt = table;
  }
  cpuid(): CpuidInfo {
    return { apicId: this.lapic.apicId, x2apic: this.lapic.mode === 'x2apic' };
  }
  rdtsc(): bigint {
    return BigInt(this.clock());
  }

  /**
   * INTA and the IDT entry for what it returns, as the CPU does when IF = 1 and INTR is up.
   * Returns the vector taken (the spurious vector when nothing was deliverable).
   */
  takeInterrupt(acknowledged?: (vector: number) => void): number {
    const vector = this.lapic.acknowledge();
    acknowledged?.(vector);
    const handler = this.idt.get(vector);
    if (handler === undefined) throw new MigrateUsageError(`CPU ${this.index}: no IDT entry for vector 0x${vector.toString(16)}`);
    const was = this.ifFlag;
    this.ifFlag = false; // interrupt gate
    handler(this, vector);
    this.ifFlag = was;
    return vector;
  }

  read32(address: number): number {
    return this.mem(address, 4, null);
  }
  read16(address: number): number {
    return this.mem(address, 2, null);
  }
  read8(address: number): number {
    return this.mem(address, 1, null);
  }
  write32(address: number, value: number): void {
    this.mem(address, 4, value);
  }
  write16(address: number, value: number): void {
    this.mem(address, 2, value);
  }
  write8(address: number, value: number): void {
    this.mem(address, 1, value);
  }

  private mem(address: number, size: 1 | 2 | 4, value: number | null): number {
    const a = address >>> 0;
    if (a >= LAPIC_BASE && a < LAPIC_BASE + LAPIC_SIZE) {
      if (size !== 4) throw new MigrateUsageError(`CPU ${this.index}: ${size}-byte access to the local APIC at 0x${a.toString(16)}`);
      if (value === null) return this.lapic.read(a - LAPIC_BASE);
      this.lapic.write(a - LAPIC_BASE, value >>> 0);
      return 0;
    }
    if (a >= ECAM_BASE && a < ECAM_BASE + ECAM_SIZE) {
      if (value === null) return this.pci.ecamRead(a - ECAM_BASE, size);
      this.pci.ecamWrite(a - ECAM_BASE, size, value);
      return 0;
    }
    if (value === null) {
      const v = this.pci.mmioRead(a, size) ?? this.more?.read(a, size) ?? null;
      if (v !== null) return v;
    } else if (this.pci.mmioWrite(a, size, value) || this.more?.write(a, size, value)) return 0;
    throw new MigrateUsageError(`CPU ${this.index}: the bench has nothing at 0x${a.toString(16)}`);
  }

  in8(port: number): number {
    return this.io(port, 1, null);
  }
  in16(port: number): number {
    return this.io(port, 2, null);
  }
  in32(port: number): number {
    return this.io(port, 4, null);
  }
  out8(port: number, value: number): void {
    this.io(port, 1, value);
  }
  out16(port: number, value: number): void {
    this.io(port, 2, value);
  }
  out32(port: number, value: number): void {
    this.io(port, 4, value);
  }

  private io(port: number, size: 1 | 2 | 4, value: number | null): number {
    if (value === null) {
      const v = this.pci.ioRead(port, size);
      if (v !== null) return v;
    } else if (this.pci.ioWrite(port, size, value)) return 0;
    throw new MigrateUsageError(`CPU ${this.index}: the bench has nothing at port 0x${port.toString(16)}`);
  }

  rdmsr(msr: number): bigint {
    return this.lapic.rdmsr(msr);
  }
  wrmsr(msr: number, value: bigint): void {
    this.lapic.wrmsr(msr, value);
  }

  installCode(): void {
    throw new MigrateUsageError('the migration bench does not start CPUs from code');
  }
  *hlt(): Generator<GuestYield, void, void> {
    yield { kind: 'hlt' };
  }
  *pause(ns: number): Generator<GuestYield, void, void> {
    yield { kind: 'pause', ns };
  }
  *spin(): Generator<GuestYield, void, void> {
    yield { kind: 'spin' };
  }
}
