// Guest driver for the local APIC: xAPIC through MMIO at the MADT's address, x2APIC through
// MSRs 0x800 + offset/16 (SDM §11.12), chosen by reading IA32_APIC_BASE as Linux does.

import type { CpuContext } from '../src/machine/guest-interface.js';

export const IA32_APIC_BASE = 0x1b;
const APIC_BASE_EXTD = 1n << 10n;
const APIC_BASE_EN = 1n << 11n;

export const REG_ID = 0x20;
export const REG_VERSION = 0x30;
export const REG_TPR = 0x80;
export const REG_EOI = 0xb0;
export const REG_LDR = 0xd0;
export const REG_DFR = 0xe0;
export const REG_SVR = 0xf0;
export const REG_ESR = 0x280;
export const REG_ICR_LOW = 0x300;
export const REG_ICR_HIGH = 0x310;
export const REG_LVT_TIMER = 0x320;
export const REG_LVT_LINT0 = 0x350;
export const REG_LVT_LINT1 = 0x360;
export const REG_LVT_ERROR = 0x370;

export const SVR_ENABLE = 1 << 8;
export const SPURIOUS_VECTOR = 0xff;
export const ERROR_VECTOR = 0xfe;
const LVT_MASKED = 1 << 16;
const ICR_DELIVERY_PENDING = 1 << 12;

export const ICR_INIT = 0x500;
export const ICR_STARTUP = 0x600;
export const ICR_LEVEL_ASSERT = 1 << 14;
export const ICR_LEVEL_TRIGGER = 1 << 15;

export type LapicMode = 'xapic' | 'x2apic';

export class LapicDriver {
  /** The mode found at boot; like Linux's x2apic_mode it is read once, since every CPU uses the same. */
  private cached: LapicMode | null = null;

  /** The MMIO base as an int32 pattern (the CPU takes addresses >>> 0): no boxed number per access. */
  private readonly base: number;

  constructor(base: number) {
    this.base = base | 0;
  }

  mode(cpu: CpuContext): LapicMode {
    if (this.cached) return this.cached;
    const v = cpu.rdmsr(IA32_APIC_BASE);
    this.cached = (v & (APIC_BASE_EN | APIC_BASE_EXTD)) === (APIC_BASE_EN | APIC_BASE_EXTD) ? 'x2apic' : 'xapic';
    return this.cached;
  }

  read(cpu: CpuContext, reg: number): number {
    if (this.mode(cpu) === 'x2apic') return Number(cpu.rdmsr(0x800 + (reg >> 4)) & 0xffffffffn);
    return cpu.read32((this.base + reg) | 0);
  }

  write(cpu: CpuContext, reg: number, value: number): void {
    if (this.mode(cpu) === 'x2apic') cpu.wrmsr(0x800 + (reg >> 4), BigInt(value >>> 0));
    else cpu.write32((this.base + reg) | 0, value >>> 0);
  }

  id(cpu: CpuContext): number {
    const v = this.read(cpu, REG_ID);
    return this.mode(cpu) === 'x2apic' ? v : v >>> 24;
  }

  eoi(cpu: CpuContext): void {
    this.write(cpu, REG_EOI, 0);
  }

  /**
   * Flat logical mode for CPU `index` (< 8): DFR flat model, LDR logical ID 1 << index in bits 31:24,
   * as flat_init_apic_ldr / default_init_apic_ldr do before the APIC is enabled. xAPIC only: in
   * x2APIC mode the LDR is read-only and the DFR does not exist (SDM §11.12.10).
   */
  initFlatLdr(cpu: CpuContext, index: number): void {
    this.write(cpu, REG_DFR, 0xffffffff);
    this.write(cpu, REG_LDR, (this.read(cpu, REG_LDR) & 0x00ffffff) | ((1 << index) << 24));
  }

  /** Software-enables the APIC with the spurious vector, masks LINT0 (8259 off), LINT1 = NMI, error LVT. */
  enable(cpu: CpuContext): void {
    this.write(cpu, REG_TPR, 0);
    this.write(cpu, REG_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
    this.write(cpu, REG_LVT_LINT0, LVT_MASKED | 0x700); // ExtINT, masked: the 8259s are not used
    this.write(cpu, REG_LVT_LINT1, 0x400); // NMI
    this.write(cpu, REG_LVT_ERROR, ERROR_VECTOR);
    this.write(cpu, REG_ESR, 0);
    this.write(cpu, REG_ESR, 0);
  }

  /** Sends an IPI; xAPIC waits for the delivery-status bit like native_apic_mem_write + wait_icr_idle. */
  *sendIpi(cpu: CpuContext, dest: number, low: number): Generator<import('../src/machine/guest-interface.js').GuestYield, void, void> {
    if (this.mode(cpu) === 'x2apic') {
      cpu.wrmsr(0x830, (BigInt(dest >>> 0) << 32n) | BigInt(low >>> 0));
      return;
    }
    this.write(cpu, REG_ICR_HIGH, (dest & 0xff) << 24);
    this.write(cpu, REG_ICR_LOW, low);
    for (let i = 0; i < 1000 && this.read(cpu, REG_ICR_LOW) & ICR_DELIVERY_PENDING; i++) yield* cpu.pause(100);
  }
}
