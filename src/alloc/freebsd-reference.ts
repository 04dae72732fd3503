// FreeBSD's x86 interrupt vector placement, as its source does it:
//   sys/x86/include/apicvar.h   APIC_IO_INTS = IDT_IO_INTS + 16 = 0x30, APIC_NUM_IOINTS = 191
//   sys/x86/x86/local_apic.c    lapic_create (IDT_SYSCALL 0x80 and IDT_DTRACE_RET 0x92 reserved),
//                               apic_alloc_vector (first fit), apic_alloc_vectors (first-fit run whose
//                               START INDEX is a multiple of align — index 0 is IDT vector 0x30)
//   sys/x86/x86/intr_machdep.c  intr_next_cpu: round robin, advancing on every call
//   sys/x86/x86/msi.c           msi_alloc(count, maxcount): next CPU, apic_alloc_vectors(count, maxcount)
//   sys/dev/pci/pci.c           pci_alloc_msi_method: try N = maxcount, halve on failure down to 1

export const APIC_IO_INTS = 0x30;
export const APIC_NUM_IOINTS = 191;
const RESERVED_INDICES = [0x80 - APIC_IO_INTS /* IDT_SYSCALL */, 0x92 - APIC_IO_INTS /* IDT_DTRACE_RET */];

export class FreeBsdVectors {
  /** la_ioint_irqs per CPU: true = in use. */
  private readonly tables: Uint8Array[];
  private current = 0;

  constructor(readonly cpus: number) {
    this.tables = Array.from({ length: cpus }, () => {
      const t = new Uint8Array(APIC_NUM_IOINTS);
      for (const i of RESERVED_INDICES) t[i] = 1;
      return t;
    });
  }

  /** intr_next_cpu(): the current CPU, then advance (even when the caller's allocation fails). */
  nextCpu(): number {
    const cpu = this.current;
    this.current = (this.current + 1) % this.cpus;
    return cpu;
  }

  /** apic_alloc_vectors(): IDT vector of the first run, or 0 when none fits. */
  allocVectorsOn(cpu: number, count: number, align: number): number {
    const t = this.tables[cpu]!;
    let run = 0;
    let first = 0;
    for (let v = 0; v < APIC_NUM_IOINTS; v++) {
      if (t[v]) {
        run = 0;
        first = 0;
        continue;
      }
      if (run === 0) {
        if ((v & (align - 1)) !== 0) continue; // the alignment is applied to the index, not the IDT vector
        first = v;
      }
      run++;
      if (run < count) continue;
      for (let i = 0; i < count; i++) t[first + i] = 1;
      return first + APIC_IO_INTS;
    }
    return 0;
  }

  /** pci_alloc_msi_method + msi_alloc: `requested` (power of two) halving to 1, a new CPU each try. */
  allocMsi(requested: number): { cpu: number; base: number; count: number } | null {
    for (let actual = requested; actual >= 1; actual >>= 1) {
      const cpu = this.nextCpu();
      const base = this.allocVectorsOn(cpu, actual, actual);
      if (base !== 0) return { cpu, base, count: actual };
      if (actual === 1) break;
    }
    return null;
  }

  /** apic_alloc_vector() on intr_next_cpu(): one vector, first fit. */
  allocVector(): { cpu: number; vector: number } | null {
    const cpu = this.nextCpu();
    const base = this.allocVectorsOn(cpu, 1, 1);
    return base === 0 ? null : { cpu, vector: base };
  }

  /** Marks the lowest free entry of `cpu` used (another driver's interrupt); false if full. */
  occupy(cpu: number): boolean {
    return this.allocVectorsOn(cpu, 1, 1) !== 0;
  }

  free(cpu: number, base: number, count: number): void {
    for (let i = 0; i < count; i++) this.tables[cpu]![base - APIC_IO_INTS + i] = 0;
  }

  used(cpu: number): number {
    let n = 0;
    for (const x of this.tables[cpu]!) n += x;
    return n;
  }

  /** Largest free run starting at an index aligned to its size (what apic_alloc_vectors can grant). */
  largestFreeAligned(cpu: number): number {
    for (let n = 32; n >= 1; n >>= 1) {
      for (let s = 0; s + n <= APIC_NUM_IOINTS; s += n) {
        let free = true;
        for (let i = s; i < s + n && free; i++) if (this.tables[cpu]![i]) free = false;
        if (free) return n;
      }
    }
    return 0;
  }

  /** One line per CPU: used entries as IDT vector lists. */
  describe(): string {
    const lines = [`APIC_IO_INTS 0x30, ${APIC_NUM_IOINTS} entries per CPU; next CPU ${this.current}`];
    for (let c = 0; c < this.cpus; c++) {
      const ranges: string[] = [];
      const t = this.tables[c]!;
      for (let i = 0; i < APIC_NUM_IOINTS; ) {
        if (!t[i]) {
          i++;
          continue;
        }
        let j = i;
        while (j + 1 < APIC_NUM_IOINTS && t[j + 1]) j++;
        const a = (i + APIC_IO_INTS).toString(16);
        const b = (j + APIC_IO_INTS).toString(16);
        ranges.push(i === j ? `0x${a}` : `0x${a}-0x${b}`);
        i = j + 1;
      }
      lines.push(`  CPU ${String(c).padStart(4)}: used ${String(this.used(c)).padStart(3)}  ${ranges.join(',')}`);
    }
    return lines.join('\n') + '\n';
  }
}
