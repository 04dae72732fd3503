// The guest's physical page allocator, reduced to what boot needs: a bump allocator over the usable
// RAM the boot loader reported (Linux's memblock before the buddy allocator), handing out aligned,
// zeroed pages that are never freed. Only the interrupt-remapping driver uses it today.

import { BootError } from './errors.js';

/** Linux keeps the first MiB for real-mode, BIOS and ISA use; so does this guest (trampoline, EBDA, ROM). */
export const LOW_MEMORY_END = 0x10_0000;
export const PAGE_SIZE = 0x1000;

export class PhysPages {
  private next: number;

  /** `ramEnd`: the end of usable RAM (exclusive), from the boot loader's memory map. */
  constructor(readonly ramEnd: number) {
    this.next = LOW_MEMORY_END;
  }

  /**
   * `size` bytes aligned to `align` (a power of two, at least a page). The pages are zero: RAM above
   * 1 MiB powers on zeroed and nothing else in the guest writes there, as __GFP_ZERO would ensure.
   */
  alloc(size: number, align: number, what: string): number {
    const a = Math.max(align, PAGE_SIZE);
    const base = Math.ceil(this.next / a) * a;
    const end = base + Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    if (end > this.ramEnd) {
      throw new BootError('memory', `${what}: ${size} bytes at 0x${base.toString(16)} do not fit below the end of RAM 0x${this.ramEnd.toString(16)}`);
    }
    this.next = end;
    return base;
  }

  /** Bytes still free above the last allocation. */
  get free(): number {
    return Math.max(0, this.ramEnd - this.next);
  }
}
