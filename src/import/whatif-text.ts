// The readable report of `irqslice whatif` (without --json): the same answers as the JSON, with
// the numbers behind each and what was assumed.

import { formatList } from '../alloc/cpumask.js';
import type { VectorDump } from './vector-dump.js';
import { BLOCK_SIZES, type Spot, type WhatIfResult } from './whatif.js';

const hex = (n: number) => `0x${n.toString(16)}`;
const spot = (s: Spot | null) => (s ? `CPU ${s.cpu} at ${hex(s.base)}` : 'no room');

const LAYOUT_NAMES: Record<string, string> = {
  'x86': 'Linux 6.10 and later',
  'x86-6.6': 'Linux 6.6 to 6.9',
  'x86-6.1': 'Linux before 6.6 (with the move-cleanup vector 0x20)',
};

export function formatWhatIf(dump: VectorDump, r: WhatIfResult): string {
  const { rebuilt } = r;
  const inRange = dump.system.filter((b) => b >= rebuilt.start && b < rebuilt.end);
  const capacity = rebuilt.end - rebuilt.start - inRange.length;
  const out: string[] = [];
  out.push(`== ${dump.domain ?? 'VECTOR'} matrix: ${dump.rows.length} online CPU${dump.rows.length === 1 ? '' : 's'} (${formatList(rebuilt.cpus)})`);
  out.push(`  range [${hex(rebuilt.start)}, ${hex(rebuilt.end)}) less system vectors ${inRange.map(hex).join(', ') || 'none'} = ${capacity} per CPU` +
    (rebuilt.layout ? `: the layout of ${LAYOUT_NAMES[rebuilt.layout]} (preset ${rebuilt.layout})` : ': no known kernel layout'));
  out.push(`  Global available ${dump.globalAvailable}, reserved ${dump.globalReserved}, allocated ${dump.totalAllocated}`);
  const assumed = rebuilt.assumed.filter((a) => a.allocated.length || a.reserved.length);
  if (assumed.length) {
    out.push('  Assumed (the dump does not say which bits are managed):');
    for (const a of assumed) {
      const parts = [];
      if (a.allocated.length) parts.push(`managed allocated ${formatList(a.allocated)}`);
      if (a.reserved.length) parts.push(`managed reserved, unallocated ${formatList(a.reserved)}`);
      out.push(`    CPU ${a.cpu}: ${parts.join('; ')}`);
    }
  }
  if (rebuilt.hiddenCpus.length) out.push(`  Total allocated exceeds the rows: the surplus is kept on offline CPU${rebuilt.hiddenCpus.length > 1 ? 's' : ''} ${formatList(rebuilt.hiddenCpus)}`);
  out.push('');
  out.push('== Free aligned windows per CPU (not allocated, not system, not managed-reserved)');
  out.push(`   CPU   avl  act  man  mac  ${BLOCK_SIZES.map((n) => String(n).padStart(4)).join('')}`);
  for (const c of r.json.cpus) {
    out.push(`  ${String(c.cpu).padStart(4)}  ${String(c.available).padStart(4)} ${String(c.allocated).padStart(4)} ${String(c.managed).padStart(4)} ${String(c.managedAllocated).padStart(4)}  ${BLOCK_SIZES.map((n) => String(c.blocks[`${n}`]).padStart(4)).join('')}`);
  }
  out.push('');
  out.push(`== allocBlock(CPUs ${formatList(rebuilt.cpus)}, n): the CPU with the most available among those with a window, then the window`);
  out.push('      n  first fit            best fit');
  for (const n of BLOCK_SIZES) {
    const c = r.json.choice[`${n}`];
    out.push(`  ${String(n).padStart(5)}  ${spot(c.firstFit).padEnd(19)}  ${spot(c.bestFit)}`);
  }
  out.push('');
  out.push('== CPU offline now? (lapic_can_unplug_cpu, then each regular vector re-homed; managed vectors shut down)');
  for (const o of r.offline) {
    if (!o.possible) {
      out.push(`  CPU ${o.cpu}: no: ${o.reason}`);
      continue;
    }
    const where = [...o.blocks.map((b) => `${b.bdf}'s ${b.from.count}-block to ${spot(b.to)}`), ...[...o.singles].sort((a, b) => a[0] - b[0]).map(([cpu, k]) => `${k} to CPU ${cpu}`)];
    out.push(`  CPU ${o.cpu}: yes: ${o.toMove} to move, ${o.available} available elsewhere${where.length ? ` (${where.join(', ')})` : ''}${o.shutDown ? `; ${o.shutDown} managed shut down` : ''}`);
  }
  if (r.devices.length) {
    out.push('');
    out.push('== MSI functions (lspci): enabled/capable, remapping, and one aligned block of the capable size now');
    for (const d of r.devices) {
      const msi = d.fn.msi!;
      const today = d.current
        ? `block ${hex(d.current.base)}-${hex(d.current.base + d.current.count - 1)} on CPU ${d.current.cpu}`
        : !msi.enabled ? 'MSI disabled'
        : d.remapped ? `${msi.count} message${msi.count > 1 ? 's' : ''} through the IRTE` : msi.data !== null ? `vector ${hex(msi.data & 0xff)}` : 'enabled';
      out.push(`  ${d.fn.bdf.padEnd(12)} Count=${msi.count}/${msi.max}  ${d.remapped ? 'remapped    ' : 'not remapped'}  today: ${today}; a block of ${msi.max}: ${spot(d.block)}${d.note ? ` (${d.note})` : ''}`);
    }
  } else {
    out.push('', '  (no --lspci: a VECTOR dump alone shows no multi-MSI blocks; every vector is moved on its own)');
  }
  return out.join('\n') + '\n';
}
