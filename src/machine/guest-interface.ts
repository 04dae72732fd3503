// What guest software sees of a CPU: the instructions it may execute (port I/O, memory/MMIO,
// MSRs, CLI/STI/HLT, LIDT, CPUID, RDTSC) and the shape of guest programs and interrupt handlers.
// Guest code gets nothing else of the machine: no references to device models.

/** A guest thread of execution: a generator that yields whenever it waits. */
export type GuestProgram = (cpu: CpuContext) => Generator<GuestYield, void, void>;

/** Interrupt/exception handler, entered through the IDT with IF cleared (an interrupt gate). */
export type InterruptHandler = (cpu: CpuContext, vector: number) => void;

/** Vector → handler, as the guest lays out its IDT. */
export type IdtTable = ReadonlyMap<number, InterruptHandler>;

/** What a guest program yields to the machine. */
export type GuestYield =
  | { kind: 'pause'; ns: number } // a calibrated delay loop (udelay/ndelay)
  | { kind: 'hlt' } // HLT: sleep until an interrupt (with IF=1) or NMI/INIT
  | { kind: 'spin' }; // one iteration of a polling loop

export interface CpuidInfo {
  /** Initial APIC ID (CPUID.01H:EBX[31:24], or the 32-bit x2APIC ID of leaf 0Bh). */
  apicId: number;
  x2apic: boolean;
}

/**
 * Memory addresses are 32-bit physical addresses: the CPU takes `address >>> 0`, so a signed int32
 * pattern (`a | 0`) names the same byte and stays a small integer for the JS engine.
 */
export interface CpuContext {
  in8(port: number): number;
  in16(port: number): number;
  in32(port: number): number;
  out8(port: number, value: number): void;
  out16(port: number, value: number): void;
  out32(port: number, value: number): void;
  read8(address: number): number;
  read16(address: number): number;
  read32(address: number): number;
  write8(address: number, value: number): void;
  write16(address: number, value: number): void;
  write32(address: number, value: number): void;
  /** RDMSR/WRMSR; throw GeneralProtectionFault where the CPU would raise #GP. */
  rdmsr(msr: number): bigint;
  wrmsr(msr: number, value: bigint): void;
  cli(): void;
  sti(): void;
  readonly interruptsEnabled: boolean;
  lidt(table: IdtTable): void;
  cpuid(): CpuidInfo;
  rdtsc(): bigint;
  /** Places code for the AP start-up page (what copying a real-mode trampoline achieves). */
  installCode(address: number, program: GuestProgram): void;
  /** Helpers for generator code: `yield* cpu.hlt()`, `yield* cpu.pause(ns)`, `yield* cpu.spin()`. */
  hlt(): Generator<GuestYield, void, void>;
  pause(ns: number): Generator<GuestYield, void, void>;
  spin(): Generator<GuestYield, void, void>;
}
