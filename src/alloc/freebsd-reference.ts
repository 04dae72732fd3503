// FreeBSD's x86 MSI vector placement as its source does it: msi_alloc, apic_alloc_vector(s), intr_next_cpu
// and pci_alloc_msi_method's halving. Left out: MSI-X tables, IRQ sources, NUMA domains, IOMMU remapping.
//
// Sources (freebsd/freebsd-src):
//   sys/x86/include/apicvar.h   APIC_IO_INTS = IDT_IO_INTS + 16, APIC_NUM_IOINTS = 191,
//                               APIC_TIMER_INT = APIC_IO_INTS + APIC_NUM_IOINTS
//   sys/x86/include/segments.h  IDT_IO_INTS = NRSVIDT = 32, IDT_SYSCALL 0x80, IDT_DTRACE_RET 0x92
//   sys/x86/x86/local_apic.c    lapic_create: la_ioint_irqs[APIC_NUM_IOINTS + 1] all IRQ_FREE except
//                               IDT_SYSCALL - APIC_IO_INTS, APIC_TIMER_INT - APIC_IO_INTS and (KDTRACE_HOOKS,
//                               as in GENERIC) IDT_DTRACE_RET - APIC_IO_INTS; apic_alloc_vector = first
//                               free index < APIC_NUM_IOINTS; apic_alloc_vectors(count, align) = first run
//                               of `count` free entries whose start passes the alignment test; both return
//                               APIC_IO_INTS + index, 0 on failure.
//   sys/x86/x86/msi.c           msi_alloc(count, maxcount): cpu = intr_next_cpu(domain), then
//                               apic_alloc_vectors(cpu, irqs, count, maxcount) on that CPU only; ENOSPC.
//   sys/x86/x86/intr_machdep.c  intr_next_cpu: returns current_cpu[domain] and advances it round robin
//                               (from CPU 0) on every call, whether or not the caller then succeeds.
//   sys/dev/pci/pci.c           pci_alloc_msi_method: actual = min(count, msgnum, 32), power of two;
//                               PCIB_ALLOC_MSI(actual, actual); on error halve down to 1.
// Alignment: freebsd-src main (local_apic.c at 019f643b) tests `((vector + APIC_IO_INTS) & (align - 1))`,
// the IDT vector: 'vector', the default. Older local_apic.c (every older copy seen, 13.0-RELEASE included)
// tests `(vector & (align - 1))` on the table INDEX, so a 32-block may start at IDT vector 0x30, which is
// not 32-aligned: 'index' reproduces that.

/** Base of IDT entries for I/O interrupts (NRSVIDT). */
export const IDT_IO_INTS = 32;
/** First IDT vector of la_ioint_irqs[0]. */
export const APIC_IO_INTS = IDT_IO_INTS + 16; // 0x30
/** Entries searched by apic_alloc_vector(s). */
export const APIC_NUM_IOINTS = 191;
export const APIC_TIMER_INT = APIC_IO_INTS + APIC_NUM_IOINTS; // 0xEF
export const IDT_SYSCALL = 0x80;
export const IDT_DTRACE_RET = 0x92;
/** Allocatable entries per CPU: 191 less the syscall and DTrace entries. */
export const FREEBSD_VECTORS_PER_CPU = APIC_NUM_IOINTS - 2;

// la_ioint_irqs values that are not IRQ numbers (local_apic.c).
const IRQ_FREE = -1;
const IRQ_TIMER = -2;
const IRQ_SYSCALL = -3;
const IRQ_DTRACE_RET = -4;
const TABLE = APIC_NUM_IOINTS + 1; // "Include IDT_SYSCALL to make indexing easier" — and the timer

/** PCI MSI carries at most 32 messages. */
const MAX_MSI = 32;

export type FreeBsdAlignment = 'index' | 'vector';

export interface FreeBsdMsi {
  cpu: number;
  /** IDT vector of the first message. */
  base: number;
  /** Messages granted (after halving, possibly fewer than requested). */
  count: number;
}

/** Caller misuse of FreeBsdVectors (bad CPU, bad count, freeing what is not allocated). */
export class FreeBsdVectorsError extends Error {
  override readonly name = 'FreeBsdVectorsError';
}

export class FreeBsdVectors {
  readonly cpus: number;
  readonly alignment: FreeBsdAlignment;
  private readonly table: Int32Array;
  private readonly usedCount: Int32Array;
  private currentCpu = 0;
  /** IRQ numbers handed to the entries (msi_create_source numbers them from first_msi_irq). */
  private nextIrq = 0;

  constructor(cpus: number, options: { alignment?: FreeBsdAlignment } = {}) {
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 8192) throw new FreeBsdVectorsError(`cpus must be an integer 1..8192, got ${String(cpus)}`);
    if (options === null || typeof options !== 'object') throw new FreeBsdVectorsError(`options must be an object, got ${options === null ? 'null' : typeof options}`);
    const alignment = options.alignment ?? 'vector';
    if (alignment !== 'index' && alignment !== 'vector') throw new FreeBsdVectorsError(`alignment must be "index" or "vector", got ${String(alignment)}`);
    this.cpus = cpus;
    this.alignment = alignment;
    this.table = new Int32Array(cpus * TABLE).fill(IRQ_FREE);
    this.usedCount = new Int32Array(cpus);
    for (let c = 0; c < cpus; c++) {
      const o = c * TABLE;
      this.table[o + IDT_SYSCALL - APIC_IO_INTS] = IRQ_SYSCALL;
      this.table[o + APIC_TIMER_INT - APIC_IO_INTS] = IRQ_TIMER;
      this.table[o + IDT_DTRACE_RET - APIC_IO_INTS] = IRQ_DTRACE_RET;
    }
  }

  private checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) throw new FreeBsdVectorsError(`CPU ${String(cpu)} is not in 0..${this.cpus - 1}`);
  }

  /** intr_next_cpu: the current CPU, advancing the round robin (even when the caller then fails). */
  nextCpu(): number {
    const cpu = this.currentCpu;
    this.currentCpu = cpu + 1 >= this.cpus ? 0 : cpu + 1;
    return cpu;
  }

  /** The CPU the next allocation will be tried on. */
  get cursor(): number {
    return this.currentCpu;
  }

  /** Index of the first run apic_alloc_vectors would take, or -1. */
  private findRun(cpu: number, count: number, align: number): number {
    const o = cpu * TABLE;
    const shift = this.alignment === 'vector' ? APIC_IO_INTS : 0;
    let run = 0;
    let first = 0;
    for (let v = 0; v < APIC_NUM_IOINTS; v++) {
      if (this.table[o + v] !== IRQ_FREE) {
        run = 0;
        first = 0;
        continue;
      }
      if (run === 0) {
        if (((v + shift) & (align - 1)) !== 0) continue;
        first = v;
      }
      if (++run >= count) return first;
    }
    return -1;
  }

  /** apic_alloc_vectors(cpu, irqs, count, align) on a given CPU: the first IDT vector, or 0. */
  allocVectorsOn(cpu: number, count: number, align: number): number {
    this.checkCpu(cpu);
    const pow2 = (n: number) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
    // KASSERTs of apic_alloc_vectors: powerof2(count), powerof2(align), align >= count.
    if (!pow2(count) || !pow2(align) || align < count || count > MAX_MSI) {
      throw new FreeBsdVectorsError(`apic_alloc_vectors needs powers of two with count <= align and count <= ${MAX_MSI}, got count ${String(count)} align ${String(align)}`);
    }
    return this.allocVectors(cpu, count, align);
  }

  private allocVectors(cpu: number, count: number, align: number): number {
    const first = this.findRun(cpu, count, align);
    if (first < 0) return 0;
    const o = cpu * TABLE;
    for (let i = 0; i < count; i++) this.table[o + first + i] = this.nextIrq++;
    this.usedCount[cpu]! += count;
    return first + APIC_IO_INTS;
  }

  /**
   * pci_alloc_msi_method over msi_alloc: `requested` messages (power of two, 1..32) on the next CPU;
   * on failure halve, each retry on the next CPU, down to 1. Null when even one message failed.
   */
  allocMsi(requested: number): FreeBsdMsi | null {
    if (!Number.isInteger(requested) || requested < 1 || requested > MAX_MSI || (requested & (requested - 1)) !== 0) {
      throw new FreeBsdVectorsError(`MSI message count must be a power of two 1..${MAX_MSI}, got ${String(requested)}`);
    }
    for (let actual = requested; ; actual >>= 1) {
      const cpu = this.nextCpu();
      const base = this.allocVectors(cpu, actual, actual); // count = maxcount = actual
      if (base !== 0) return { cpu, base, count: actual };
      if (actual === 1) return null;
    }
  }

  /** apic_alloc_vector on the next CPU (MSI-X and I/O APIC pins): first free entry. */
  allocVector(): { cpu: number; vector: number } | null {
    const cpu = this.nextCpu();
    const base = this.allocVectors(cpu, 1, 1);
    return base === 0 ? null : { cpu, vector: base };
  }

  /** apic_free_vector for each of `count` entries from IDT vector `base` on `cpu`; all must be allocated. */
  free(cpu: number, base: number, count: number): void {
    this.checkCpu(cpu);
    if (!Number.isInteger(count) || count < 1 || count > MAX_MSI) throw new FreeBsdVectorsError(`count must be 1..${MAX_MSI}, got ${String(count)}`);
    if (!Number.isInteger(base) || base < APIC_IO_INTS || base + count > APIC_IO_INTS + APIC_NUM_IOINTS) {
      throw new FreeBsdVectorsError(`vectors ${String(base)}+${count} do not map to I/O interrupt entries 0x30..0xEE`);
    }
    const o = cpu * TABLE + base - APIC_IO_INTS;
    for (let i = 0; i < count; i++) {
      if (this.table[o + i]! < 0) throw new FreeBsdVectorsError(`vector 0x${(base + i).toString(16)} on CPU ${cpu} is not allocated`);
    }
    for (let i = 0; i < count; i++) this.table[o + i] = IRQ_FREE;
    this.usedCount[cpu]! -= count;
  }

  /** Entries of `cpu` held by allocations (reserved entries excluded). */
  used(cpu: number): number {
    this.checkCpu(cpu);
    return this.usedCount[cpu]!;
  }

  /** Largest n (1..32, power of two) that allocMsi(n) could place on `cpu` now; 0 if the CPU is full. */
  largestFreeAligned(cpu: number): number {
    this.checkCpu(cpu);
    for (let n = MAX_MSI; n >= 1; n >>= 1) if (this.findRun(cpu, n, n) >= 0) return n;
    return 0;
  }

  /** Takes the lowest free entry of `cpu` (another driver's interrupt); false if the CPU is full. */
  occupy(cpu: number): boolean {
    this.checkCpu(cpu);
    return this.allocVectors(cpu, 1, 1) !== 0;
  }

  /** One line per CPU: the entries held by allocations, as IDT vector ranges. */
  describe(): string {
    const lines = [`APIC_IO_INTS 0x30, ${APIC_NUM_IOINTS} entries per CPU; next CPU ${this.currentCpu}`];
    for (let c = 0; c < this.cpus; c++) {
      const o = c * TABLE;
      const held = (i: number) => i < APIC_NUM_IOINTS && this.table[o + i]! >= 0;
      const ranges: string[] = [];
      for (let i = 0; i < APIC_NUM_IOINTS; i++) {
        if (!held(i)) continue;
        let j = i;
        while (held(j + 1)) j++;
        const a = (i + APIC_IO_INTS).toString(16);
        const b = (j + APIC_IO_INTS).toString(16);
        ranges.push(i === j ? `0x${a}` : `0x${a}-0x${b}`);
        i = j;
      }
      lines.push(`  CPU ${String(c).padStart(4)}: used ${String(this.usedCount[c]).padStart(3)}  ${ranges.join(',')}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Whether the entry for IDT vector `vector` on `cpu` is free. */
  isFree(cpu: number, vector: number): boolean {
    this.checkCpu(cpu);
    const i = vector - APIC_IO_INTS;
    return i >= 0 && i < APIC_NUM_IOINTS && this.table[cpu * TABLE + i] === IRQ_FREE;
  }
}
