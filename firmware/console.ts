// Guest console: printk over the debug console port (0xE9), one byte per OUT, as a guest would.

import type { CpuContext } from '../src/machine/guest-interface.js';

export const DEBUGCON_PORT = 0xe9;
/** Lines that carry machine-readable results start with this marker. */
export const RESULT_MARKER = '@irqslice ';

export class Console {
  constructor(private readonly cpu: () => CpuContext) {}

  private put(text: string): void {
    const c = this.cpu();
    for (let i = 0; i < text.length; i++) c.out8(DEBUGCON_PORT, text.charCodeAt(i) & 0x7f);
  }

  /** A timestamped log line (virtual time from the TSC at 1 GHz). */
  log(message: string): void {
    const ns = Number(this.cpu().rdtsc());
    const stamp = (ns / 1e9).toFixed(6).padStart(12);
    this.put(`[${stamp}] ${message}\n`);
  }

  /** A result record for the host: the marker, a kind and a JSON payload. */
  result(kind: string, payload: unknown): void {
    this.put(`${RESULT_MARKER}${kind} ${JSON.stringify(payload)}\n`);
  }
}
