// The guest's x86 vector domain: where interrupt vectors come from under each placement policy.
//   aligned  the irqslice block allocator (matrix allocBlock): multi-MSI as one aligned block
//   linux    today's kernel without interrupt remapping: multi-MSI refused, one vector (matrix alloc)
//   linux-ir the same kernel with VT-d interrupt remapping on: every vector, multi-MSI ones too, is an
//            independent single allocation (firmware/msi-ir.ts); without remapping it acts as linux
//   freebsd         FreeBSD's x86 placement (msi_alloc/apic_alloc_vectors/intr_next_cpu), its own tables,
//                   as freebsd-src main: a block is aligned on its IDT vector
//   freebsd-legacy  the same with the older local_apic.c, which aligns the table index (misroutes)

import { FreeBsdVectors } from '../src/alloc/freebsd-reference.js';
import type { VectorMatrix } from '../src/alloc/matrix.js';
import type { CpuMask } from '../src/alloc/cpumask.js';
import { MatrixError } from '../src/alloc/errors.js';
import { X86_LEGACY_VECTORS } from '../src/alloc/matrix.js';

export type Policy = 'aligned' | 'linux' | 'linux-ir' | 'freebsd' | 'freebsd-legacy';

export interface Placement {
  cpu: number;
  base: number;
  count: number;
  /** A managed vector (PCI_IRQ_AFFINITY): the CPUs of its affinity mask, which hold its managed reservation. */
  managed?: readonly number[];
}

/** A multi-MSI grant: `count` messages in an allocated block of `size` (a power of two >= count). */
export interface MsiPlacement extends Placement {
  size: number;
}

/** Highest APIC ID an MSI address can name without interrupt remapping (bits 19:12; 0xFF broadcasts). */
export const MAX_MSI_APIC_ID = 0xfe;

export class VectorDomain {
  private readonly freebsd: FreeBsdVectors | null;
  /** CPU indices an MSI or I/O APIC RTE can target: online, APIC ID <= 254 (any ID under remapping with EIM). */
  private readonly targets = new Set<number>();
  /** `targets` sorted, as a mask compiled once per change (allocations run once per vector). */
  private targetCache: CpuMask | null = null;
  /** Highest APIC ID a message can name: 254 without remapping (8-bit destination), all 32 bits with EIM. */
  private readonly maxDestId: number;

  constructor(
    readonly policy: Policy,
    readonly matrix: VectorMatrix,
    private readonly apicIds: readonly number[],
    /** Interrupt remapping in x2APIC mode (IRTA.EIME): IRTEs hold 32-bit destinations. */
    options: { eim?: boolean } = {},
  ) {
    this.maxDestId = options.eim ? 0xffff_ffff : MAX_MSI_APIC_ID;
    const addressable = apicIds.filter((id) => id <= MAX_MSI_APIC_ID).length;
    this.freebsd = policy === 'freebsd' || policy === 'freebsd-legacy' ? new FreeBsdVectors(addressable, { alignment: policy === 'freebsd' ? 'vector' : 'index' }) : null;
  }

  /** lapic_online(): the CPU's matrix map comes online; BSP first, with the legacy ISA vectors (until the I/O APIC takes them over). */
  online(cpu: number): void {
    this.matrix.online(cpu);
    if (cpu === 0) for (const v of X86_LEGACY_VECTORS) this.matrix.assign(0, v);
    if (this.apicIds[cpu]! <= this.maxDestId) {
      this.targets.add(cpu);
      this.targetCache = null;
    }
  }

  /**
   * setup_IO_APIC: the I/O APIC domain allocates the ISA IRQs the MADT maps to its pins and, in
   * x86_vector_alloc_irqs → vector_configure_legacy (arch/x86/kernel/apic/vector.c, 4.15 .. 6.10+),
   * an IRQ already activated keeps its boot vector 0x30+n on CPU 0 (normally IRQ 0, the timer); every
   * other one is released and, in reservation mode, only reserved (irq_matrix_reserve): it gets a
   * vector when a driver requests it. Returns the IRQs that kept their vector. FreeBSD has no such step.
   */
  takeOverLegacy(isaIrqs: readonly number[], activated: ReadonlySet<number>): number[] {
    const kept: number[] = [];
    if (this.freebsd) return kept;
    for (const irq of isaIrqs) {
      const v = 0x30 + irq;
      if (!X86_LEGACY_VECTORS.includes(v)) continue; // IRQ 2 is the cascade: a system bit, never a legacy vector
      if (activated.has(irq)) {
        kept.push(irq);
        continue;
      }
      this.matrix.free(0, v);
      this.matrix.reserve();
    }
    return kept;
  }

  /** lapic_update_legacy_vectors() without an I/O APIC: the PIC keeps them, so they become system bits. */
  legacyWithoutIoapic(): void {
    if (this.freebsd) return;
    for (const v of X86_LEGACY_VECTORS) this.matrix.assignSystem(v, true);
  }

  private targetList(): number[] {
    return [...this.targets].sort((a, b) => a - b);
  }

  private targetMask(): CpuMask {
    return (this.targetCache ??= this.matrix.mask(this.targetList()));
  }

  /**
   * A block for multi-MSI granting `nvec` messages (min(max, MMC), drivers/pci/msi/msi.c
   * __pci_enable_msi_range); null when nothing fits. The device is told MME = ceil(log2 nvec), so it
   * may send any message below the rounded-up `size`: under 'aligned' the whole size is allocated and
   * the tail beyond `count` stays reserved (no handler, no other owner). Where no block of that size
   * fits, 'aligned' shrinks by halves while the grant stays >= min. Under 'linux' (no multi-MSI
   * without remapping: the arch returns 1 and the loop retries with one) only count 1 is granted.
   * FreeBSD's pci_alloc_msi takes powers of two only, so its policies grant the largest one <= nvec.
   */
  allocMsi(nvec: number, min: number): MsiPlacement | null {
    if (this.freebsd) {
      let want = 1;
      while (want * 2 <= nvec) want *= 2;
      if (want < min) return null;
      const r = this.freebsd.allocMsi(want);
      if (!r || r.count < min) {
        if (r) this.freebsd.free(r.cpu, r.base, r.count);
        return null;
      }
      return { cpu: r.cpu, base: r.base, count: r.count, size: r.count };
    }
    if (this.policy === 'linux' || this.policy === 'linux-ir') {
      if (min > 1) return null;
      const p = this.allocSingle();
      return p && { ...p, size: 1 };
    }
    let size = 1;
    while (size < nvec) size *= 2;
    for (; size >= 1; size >>= 1) {
      const count = Math.min(nvec, size);
      if (count < Math.max(1, min)) break;
      try {
        const b = this.matrix.allocBlock(this.targetMask(), size);
        return { cpu: b.cpu, base: b.base, count, size };
      } catch (e) {
        if (!(e instanceof MatrixError) || e.code !== 'ENOSPC') throw e;
      }
    }
    return null;
  }

  /** One vector (MSI-X entry, INTx pin, single MSI). */
  allocSingle(): Placement | null {
    if (this.freebsd) {
      const r = this.freebsd.allocVector();
      return r ? { cpu: r.cpu, base: r.vector, count: 1 } : null;
    }
    // Reservation mode (vector.c: reserve_irq_vector at allocation, activate_reserved consumes it).
    // kernel/irq/msi.c msi_check_reservation_mode (is_msix || can_mask) decides when activation comes:
    // MSI without masking at allocation, MSI-X and maskable MSI at request_irq. The guest requests
    // right after allocating, so either way the reservation never outlives this call.
    this.matrix.reserve();
    try {
      const a = this.matrix.alloc(this.targetMask(), true);
      return { cpu: a.cpu, base: a.vector, count: 1 };
    } catch (e) {
      this.matrix.removeReserved();
      if (e instanceof MatrixError && e.code === 'ENOSPC') return null;
      throw e;
    }
  }

  /**
   * A managed vector on one of `cpus` (PCI_IRQ_AFFINITY): reserve_managed_vector at allocation
   * (irq_matrix_reserve_managed: one managed bit on every CPU of the mask), then assign_managed_vector
   * at activation (irq_matrix_alloc_managed on the mask's online CPUs). FreeBSD has no managed vectors:
   * there the driver binds the vector to the group's first CPU (bus_bind_intr).
   */
  allocManaged(cpus: readonly number[]): Placement | null {
    const on = cpus.filter((c) => this.targets.has(c));
    if (on.length === 0) return null;
    if (this.freebsd) {
      const v = this.freebsd.allocVectorsOn(on[0]!, 1, 1);
      return v === 0 ? null : { cpu: on[0]!, base: v, count: 1 };
    }
    const mask = this.matrix.mask(cpus);
    try {
      this.matrix.reserveManaged(mask);
    } catch (e) {
      if (e instanceof MatrixError && e.code === 'ENOSPC') return null;
      throw e;
    }
    try {
      const a = this.matrix.allocManaged(on.length === cpus.length ? mask : this.matrix.mask(on));
      return { cpu: a.cpu, base: a.vector, count: 1, managed: cpus };
    } catch (e) {
      this.matrix.removeManaged(mask);
      if (e instanceof MatrixError && e.code === 'ENOSPC') return null;
      throw e;
    }
  }

  /** Gives back a placement this domain granted (a refused request must not keep what it took). */
  release(p: Placement | MsiPlacement): void {
    const size = 'size' in p ? p.size : p.count;
    if (p.managed) {
      this.matrix.free(p.cpu, p.base, true);
      this.matrix.removeManaged(this.matrix.mask(p.managed));
    } else if (this.freebsd) this.freebsd.free(p.cpu, p.base, size);
    else if (size === 1) this.matrix.free(p.cpu, p.base);
    else this.matrix.freeBlock(p.cpu, p.base, size);
  }

  /** Occupies `perCpu` single vectors on every target CPU (other drivers' interrupts). */
  fill(perCpu: number): number {
    let n = 0;
    for (const cpu of this.targetList()) {
      for (let i = 0; i < perCpu; i++) {
        if (this.freebsd) {
          if (!this.freebsd.occupy(cpu)) break;
        } else {
          try {
            this.matrix.alloc([cpu]);
          } catch {
            break;
          }
        }
        n++;
      }
    }
    return n;
  }

  describe(): string {
    if (this.freebsd) return this.freebsd.describe();
    return this.matrix.dump();
  }

  /**
   * What each IDT vector 0..255 of `cpu` is in this domain's own tables, one character each (the
   * codes of VECTOR_CELL): 's' system, 'l' legacy ISA, 'm' managed, 'u' held by an allocation, '.'
   * free, '-' a CPU the domain cannot target. Owners are the IRQ layer's business (vector-map.ts).
   */
  cells(cpu: number): string {
    const out = new Array<string>(256).fill('s');
    if (this.freebsd) {
      if (cpu >= this.freebsd.cpus) return '-'.repeat(256);
      // IDT_IO_INTS (0x20..0x2F): the 8259 pair's ISA IRQs; APIC_IO_INTS on: la_ioint_irqs.
      for (let v = 0x20; v < 0x30; v++) out[v] = 'l';
      for (let v = 0x30; v < 0x30 + 191; v++) if (v !== 0x80 && v !== 0x92) out[v] = this.freebsd.isFree(cpu, v) ? '.' : 'u';
      return out.join('');
    }
    if (!this.matrix.isOnline(cpu)) return '-'.repeat(256);
    const m = this.matrix;
    for (let v = m.start; v < m.end; v++) out[v] = '.';
    for (const v of m.systemVectors()) out[v] = 's';
    for (const v of m.managedVectors(cpu)) out[v] = 'm';
    for (const v of m.vectors(cpu)) if (out[v] !== 'm') out[v] = cpu === 0 && X86_LEGACY_VECTORS.includes(v) ? 'l' : 'u';
    return out.join('');
  }
}
