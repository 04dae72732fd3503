// The I/O APIC part of QEMU's monitor command `info pic`, as ioapic_print_redtbl() and
// ioapic_irr_dump() print it (QEMU hw/intc/ioapic_common.c; samples: test/data/real/*/info-pic.txt).
// QEMU always names the chip `ioapic0` and has 24 pins; irqslice prints every pin its chip has.

import type { IoApicState } from './ioapic.js';

const DELIVERY_NAMES = ['fixed', 'lowest', 'SMI', '...', 'NMI', 'INIT', '...', 'extINT'] as const;
const DEST_LOGICAL = 1 << 11;
const POLARITY_LOW = 1 << 13;
const REMOTE_IRR = 1 << 14;
const TRIGGER_LEVEL = 1 << 15;
const MASKED = 1 << 16;

/** ioapic_irr_dump(): `%-10s ` then `%-2u ` per pin, or `(none)`. */
function pinList(name: string, pins: readonly number[]): string {
  return `${name.padEnd(10)} ${pins.length === 0 ? '(none)' : pins.map((p) => `${String(p).padEnd(2)} `).join('')}\n`;
}

/**
 * `irr`: the pins QEMU's IRR would hold: a level-triggered pin whose line is asserted, or an edge
 * latched and not yet delivered.
 */
export function formatIoapicInfo(s: IoApicState, irr: readonly number[]): string {
  // QEMU prints `(redir[n])` for any non-zero IOREGSEL, with n computed in C int arithmetic and
  // printed as unsigned: a selector below 0x10 wraps around, as it does there.
  const sel = s.ioregsel & 0xff;
  let out = `ioapic0: ver=0x${s.version.toString(16)} id=0x${s.id.toString(16).padStart(2, '0')} sel=0x${sel.toString(16).padStart(2, '0')}`;
  out += sel ? ` (redir[${((sel - 0x10) >> 1) >>> 0}])\n` : '\n';
  const remote: number[] = [];
  s.redirection.forEach(({ low, high }, pin) => {
    const entry = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    // QEMU masks a physical destination to 4 bits (the 82093AA's APIC ID width) when it prints it.
    const dest = (high >>> 24) & (low & DEST_LOGICAL ? 0xff : 0xf);
    out +=
      `  pin ${String(pin).padEnd(2)} 0x${entry.toString(16).padStart(16, '0')} dest=${dest.toString(16)} vec=${String(low & 0xff).padEnd(3)} ` +
      `${low & POLARITY_LOW ? 'active-lo' : 'active-hi'} ${(low & TRIGGER_LEVEL ? 'level' : 'edge').padEnd(5)} ` +
      `${(low & MASKED ? 'masked' : '').padEnd(6)} ${DELIVERY_NAMES[(low >>> 8) & 7]!.padEnd(6)} ${low & DEST_LOGICAL ? 'logical' : 'physical'}\n`;
    if (low & TRIGGER_LEVEL && low & REMOTE_IRR) remote.push(pin);
  });
  return out + pinList('  IRR', irr) + pinList('  Remote IRR', remote);
}
