// Text and JSON renderings of migration and evacuation results (the `irqslice migrate` report).
// Left out: colour, widths beyond the fixed columns.

import type { EvacuationCell } from './evacuation.js';
import type { ExploreResult } from './explore.js';
import { FATES, failures } from './fates.js';

const pad = (v: string | number, w: number) => String(v).padStart(w);
const padEnd = (v: string | number, w: number) => String(v).padEnd(w);

/** One line of settings shared by a group of results. */
export function describeSetup(r: ExploreResult): string {
  const o = r.options;
  return (
    `block of ${o.count}, ${o.is64 ? '64' : '32'}-bit address, ${o.pvm ? 'per-vector masking' : 'no per-vector masking'}, ` +
    `mode ${o.mode}, ${o.target === 'same-base' ? 'old base free on the new CPU' : 'old base taken on the new CPU'}, new base on the old CPU ${o.stale}, schedule ${o.schedule}, ${o.fires} message(s) per run, ` +
    (r.method === 'exhaustive' ? 'every interleaving' : `${r.tally.runs} random interleavings (seed ${r.seed})`)
  );
}

const COLS = ['runs', 'fired', 'delivered', 'forwarded', 'misrouted', 'lost', 'duplicated', 'spurious', 'stuck'] as const;

/** The outcome table: one row per protocol. */
export function formatOutcomes(results: readonly ExploreResult[]): string {
  const lines = [`  ${padEnd('protocol', 13)}${COLS.map((c) => pad(c, 11)).join('')}  ${pad('held old/new', 12)}`];
  for (const r of results) {
    const t = r.tally;
    lines.push(`  ${padEnd(r.options.protocol, 13)}${COLS.map((c) => pad(t[c], 11)).join('')}  ${pad(`+${r.peakExtra.old}/+${r.peakExtra.new}`, 12)}`);
  }
  for (const r of results) {
    if (r.remap === null || r.remap.runs === 0) continue;
    const n = r.options.count;
    lines.push(
      `  remap costs: ${(r.remap.invalidations / r.remap.runs).toFixed(1)} interrupt-entry-cache invalidations (each with a wait) per move of ${n} message(s), ` +
        `${r.remap.faults} remapping faults in ${r.remap.runs} runs; the device's IRTEs take ${n * 16} bytes of a 1 MiB table (65536 entries)`,
    );
  }
  return lines.join('\n');
}

/** Fates by the guest step after which the message was fired. */
export function formatPositions(r: ExploreResult): string {
  const lines = [`  ${r.options.protocol}: fates by the step the message was fired after`, `    ${padEnd('fired after guest step', 72)}${FATES.map((f) => pad(f, 11)).join('')}`];
  const order = [...r.byPosition].sort((a, b) => parseInt(a[0], 10) - parseInt(b[0], 10) || (a[0] < b[0] ? -1 : 1));
  for (const [after, row] of order) lines.push(`    ${padEnd(after.slice(0, 71), 72)}${FATES.map((f) => pad(row[f], 11)).join('')}`);
  return lines.join('\n');
}

export function formatExample(r: ExploreResult): string {
  if (r.example === null) return '';
  return [`  first failing interleaving under ${r.options.protocol}:`, ...r.example.map((s) => `    ${s}`)].join('\n');
}

export function resultJson(r: ExploreResult): object {
  return {
    ...r.options,
    method: r.method,
    seed: r.seed,
    ...r.tally,
    ok: failures(r.tally) === 0,
    peakExtraVectors: r.peakExtra,
    ...(r.remap ? { remap: r.remap } : {}),
    positions: [...r.byPosition].sort((a, b) => parseInt(a[0], 10) - parseInt(b[0], 10)).map(([after, row]) => ({ after, ...row })),
    example: r.example,
  };
}

const pct = (n: number, d: number) => (d === 0 ? '-' : `${Math.round((100 * n) / d)}%`);

/** Evacuation success against load and CPU count. */
export function formatEvacuation(cells: readonly EvacuationCell[]): string {
  const head = ['cpus', 'load', 'trials', 'count-ok', 'blocks-fit', 'safe-fit', 'count-ok-no-fit', 'executed', 'victim', 'per-cpu', 'largest', 'after', 'largest'];
  const w = [5, 6, 7, 10, 11, 10, 16, 9, 8, 8, 8, 8, 8];
  const lines = [`  ${head.map((h, i) => pad(h, w[i]!)).join('')}`];
  for (const c of cells) {
    const row = [
      c.cpus, c.load.toFixed(2), c.trials, pct(c.countCheckOk, c.trials), pct(c.blocksFit, c.trials), pct(c.safeFit, c.trials),
      pct(c.countOkButNoFit, c.trials), c.executed, c.before.victim.toFixed(1), c.before.allocated.toFixed(1), c.before.largestFree.toFixed(1),
      c.executed ? c.after.allocated.toFixed(1) : '-', c.executed ? c.after.largestFree.toFixed(1) : '-',
    ];
    lines.push(`  ${row.map((v, i) => pad(v, w[i]!)).join('')}`);
  }
  lines.push(
    '',
    '  count-ok         Linux lapic_can_unplug_cpu: vectors on the CPU ≤ vectors available on the others',
    '  blocks-fit       every block has an aligned free run on some other CPU (placed largest first)',
    '  safe-fit         …and every block without per-vector masking is reachable in single-register hops',
    '  count-ok-no-fit  the count check passes but a block has nowhere to go: Linux would break it',
    '  victim, per-cpu  mean vectors allocated on the CPU going down / on each CPU that stays (before)',
    '  largest          mean largest free aligned block on the CPUs that stay, before and after',
  );
  return lines.join('\n');
}
