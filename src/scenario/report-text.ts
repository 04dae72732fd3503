// The human-readable report of a boot-and-probe run: the verdict, per-device placement and PASS/FAIL
// per check first; with `verbose`, then the boot log, /proc/interrupts (src/formats), the vector
// allocator's state and the 8259 pair.

import type { InterruptCounts, ScenarioReport } from './run-scenario.js';
import { ScenarioError } from './scenario.js';
import { reportProcInterrupts } from '../formats/proc-interrupts.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** Above this many cells (CPU columns × rows) the interrupt table lists non-zero counts per row instead. */
const MAX_TABLE_CELLS = 200_000;

export function formatInterrupts(r: ScenarioReport): string[] {
  const ints = r.interrupts;
  if (!ints) return ['  (the guest did not report interrupt counts)'];
  if (ints.cpus * (ints.irqs.length + 20) <= MAX_TABLE_CELLS) return reportProcInterrupts(r);
  // Only CPUs that took something get a column: a 1024-CPU table of zeros says nothing.
  const used = new Set<number>();
  for (const i of ints.irqs) for (const c of Object.keys(i.counts)) used.add(Number(c));
  for (const c of Object.keys(ints.spurious)) used.add(Number(c));
  for (const c of Object.keys(ints.unexpected)) used.add(Number(c));
  const cols = [...used].sort((a, b) => a - b);
  if (cols.length === 0) cols.push(0);
  const kindOf = (i: InterruptCounts['irqs'][number]) => {
    const kind = i.kind === 'msi' ? 'PCI-MSI' : i.kind === 'msix' ? 'PCI-MSIX' : 'IO-APIC';
    return `${kind.padEnd(9)} ${i.owner}${i.kind === 'intx' ? ` GSI ${i.irq} fasteoi` : ` #${i.index} edge`}`;
  };
  // Hundreds of CPU columns times thousands of rows would be hundreds of megabytes of zeros: list
  // each row's non-zero counts instead.
  const lines = [`      (${cols.length} CPUs took interrupts: non-zero counts only, as CPU=count)`];
  const sparse = (label: string, counts: Record<string, number>, tail: string) => {
    const cells = Object.keys(counts).filter((c) => counts[c]).map((c) => `${c}=${counts[c]}`);
    lines.push(`${label.padStart(5)} ${(cells.length ? cells.join(' ') : '-').padEnd(12)}  ${tail}`);
  };
  for (const i of ints.irqs) sparse(`${i.irq}:`, i.counts, kindOf(i));
  sparse('SPU:', ints.spurious, 'Spurious interrupts');
  sparse('UNX:', ints.unexpected, 'Interrupts on vectors with no handler');
  return lines;
}

/** A device's IRTEs: its MSI block as first..last, else its messages' entries. */
function irteText(d: ScenarioReport['devices'][number]): string {
  if (d.irte) return d.irte.count === 1 ? `${d.irte.index}` : `${d.irte.index}..${d.irte.index + d.irte.count - 1}`;
  const ix = d.messages.map((m) => m.irte).filter((x): x is number => x !== undefined);
  return ix.length === 0 ? '-' : ix.length > 4 ? `${ix.slice(0, 3).join(',')},… (${ix.length})` : ix.join(',');
}

/** Messages listed per device in the remapping section. */
const SHOWN_MESSAGES = 64;

/** GSTS bits as names (VT-d §10.4.5): the enables the driver turned on and how the unit reflects them. */
function gstsNames(v: number): string {
  const bits: Array<[number, string]> = [[31, 'TES'], [26, 'QIES'], [25, 'IRES'], [24, 'IRTPS'], [23, 'CFIS']];
  const on = bits.filter(([b]) => (v >>> b) & 1).map(([, n]) => n);
  return on.length ? on.join('|') : 'none';
}

/** The interrupt-remapping section: state, units, faults, the I/O APIC pins and where each remapped message landed. */
export function formatRemapping(r: ScenarioReport): string[] {
  const m = r.remapping!;
  const out = ['Interrupt remapping (VT-d)'];
  out.push(m.enabled ? `  on, ${m.eim ? 'x2APIC format (EIME: 32-bit destinations)' : 'xAPIC format (8-bit destinations in DST 15:8)'}` : `  off: ${m.reason ?? 'not reported'}`);
  const hw = r.machine.iommu;
  if (hw) out.push(`  unit counters: ${hw.requests} request(s), ${hw.translated} translated, ${hw.passedThrough} passed through, ${hw.blocked} blocked; IEC ${hw.iecGlobal} global + ${hw.iecIndexed} by index, ${hw.waits} wait(s)`);
  if (!m.enabled) return out;
  for (const u of m.units) {
    out.push(`  unit 0x${u.base.toString(16)}: GSTS 0x${u.gsts.toString(16)} (${gstsNames(u.gsts)}), table 0x${u.table.toString(16)} with ${u.entries} entries, ${u.used} in use, ${u.invalidations} invalidation(s)`);
    out.push(`    faults: ${u.faults.length === 0 && u.fsts === 0 ? 'none (FSTS 0)' : `FSTS 0x${u.fsts.toString(16)}; ${u.faults.map((f) => `record ${f.slot}: reason 0x${f.reason.toString(16)} index ${f.index} source ${f.sid.toString(16)}`).join('; ') || 'no record'}`}`);
  }
  if (m.ioapicPins.length) {
    out.push('  I/O APIC pins (RTE vector field = pin; vector@cpu from the IRTE):');
    out.push('    ' + m.ioapicPins.map((p) => `pin ${p.pin}→IRTE ${p.irte}→${p.requested ? `${p.vector}@${p.cpu}` : 'masked'}`).join(', '));
  }
  for (const d of r.devices) {
    const msgs = d.messages.filter((x) => x.irte !== undefined);
    if (msgs.length === 0) continue;
    const block = d.irte ? ` (IRTE block ${d.irte.index}..${d.irte.index + d.irte.count - 1})` : '';
    // Decimal vector@cpu, as the kernel's debugfs and docs/DESIGN.md F10 write placements; a long MSI-X
    // table is cut after SHOWN_MESSAGES (the JSON report has every message).
    const shown = msgs.slice(0, SHOWN_MESSAGES).map((x) => `#${x.index} IRTE ${x.irte}→${x.vector === null ? 'lost' : `${x.vector}@${x.cpu}`}`);
    out.push(`  ${d.bdf}${block}: ${shown.join(', ')}${msgs.length > SHOWN_MESSAGES ? `, … (${msgs.length - SHOWN_MESSAGES} more)` : ''}`);
  }
  return out;
}

/** A report is what runScenario returned: anything else is refused before it is read. */
function checkReport(r: unknown, fn: string): asserts r is ScenarioReport {
  const o = r as Partial<ScenarioReport> | null;
  if (o === null || typeof o !== 'object' || typeof o.scenario !== 'object' || !Array.isArray(o.devices) || !Array.isArray(o.checks)) {
    throw new ScenarioError('report', `${fn} takes the report runScenario returned, got ${o === null ? 'null' : typeof o}`);
  }
}

/** What formatReport prints beyond the verdict, the devices and the checks. */
export interface ReportOptions {
  /** Also the boot log, the interrupt table, the vector allocator's state and the 8259 pair (default false). */
  verbose?: boolean;
}

/** Failing messages listed per device unless verbose (the device's check already counts them all). */
const BRIEF_MESSAGE_FAILURES = 3;

export function formatReport(r: ScenarioReport, options: ReportOptions = {}): string {
  checkReport(r, 'formatReport');
  if (options === null || typeof options !== 'object' || Object.keys(options).some((k) => k !== 'verbose') || (options.verbose !== undefined && typeof options.verbose !== 'boolean')) {
    throw new ScenarioError('options', 'formatReport options are { verbose?: boolean }');
  }
  const verbose = options.verbose === true;
  const s = r.scenario;
  const out: string[] = [];
  out.push(`== irqslice boot-and-probe: ${s.name ?? 'scenario'}`);
  out.push(`   policy ${s.policy} · engine ${s.engine} · ${s.cpus} CPU(s), ${s.apic}${s.destMode ? `, ${s.destMode === 'logical' ? 'flat logical' : 'physical'} destinations` : ''} · ${r.devices.length} of ${s.devices} declared device(s) found`);
  const passed = r.checks.filter((c) => c.ok).length;
  out.push('', `Result: ${r.ok ? 'PASS' : 'FAIL'} (${passed}/${r.checks.length} checks passed; ${r.machine.msiWrites} MSI writes, ${r.machine.msiDropped} dropped; ${(r.machine.timeNs / 1e6).toFixed(3)} ms virtual)`);
  out.push('', 'Devices');
  const remapped = r.devices.some((d) => d.irte || d.messages.some((m) => m.irte !== undefined));
  out.push(`  BDF       mode   vectors  capable  CPU   base   address     data    delivered${remapped ? '  IRTE' : ''}`);
  for (const d of r.devices) {
    const ok = d.messages.filter((m) => m.ok).length;
    out.push(
      `  ${d.bdf}  ${d.mode.padEnd(5)}  ${String(d.vectors).padStart(7)}  ${String(d.capable).padStart(7)}  ${String(d.cpu ?? '-').padStart(3)}  ${(d.base === null ? '-' : hex(d.base)).padStart(5)}  ${(d.address == null ? '-' : hex(d.address)).padEnd(10)}  ${(d.data == null ? '-' : hex(d.data)).padEnd(6)}  ${ok}/${d.messages.length}${d.error ? `  -${d.error}` : ''}${remapped ? `  ${irteText(d)}` : ''}`,
    );
  }
  if (r.remapping && (r.remapping.enabled || s.iommu)) out.push('', ...formatRemapping(r));
  out.push('', 'Checks');
  for (const c of r.checks) out.push(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  for (const d of r.devices) {
    const failed = d.messages.filter((m) => !m.ok);
    const shown = verbose ? failed : failed.slice(0, BRIEF_MESSAGE_FAILURES);
    for (const m of shown) out.push(`  FAIL  ${d.bdf} message ${m.index}: ${m.problem}`);
    if (shown.length < failed.length) out.push(`  FAIL  ${d.bdf}: ${failed.length - shown.length} more failed message(s), listed with --verbose`);
  }
  if (r.machine.eventsDropped > 0) out.push('', `Event log: the oldest ${r.machine.eventsDropped} machine event(s) were dropped (event limit); counts above are complete.`);
  if (verbose) {
    out.push('', 'Boot log (guest console)');
    for (const l of r.bootLog) out.push('  ' + l);
    out.push('', 'Interrupts (/proc/interrupts as the guest counted them)');
    out.push(...formatInterrupts(r));
    out.push('', s.policy.startsWith('freebsd') ? `Vector tables (FreeBSD la_ioint_irqs, ${s.policy === 'freebsd' ? 'IDT-vector' : 'legacy index'} alignment)` : 'Vector matrix (debugfs irq_matrix)');
    for (const l of r.vectors.trimEnd().split('\n')) out.push('  ' + l);
    const pic = r.machine.pic;
    out.push(
      '',
      `8259 pair: IMR 0x${pic.masterMask.toString(16).padStart(2, '0')}/0x${pic.slaveMask.toString(16).padStart(2, '0')}` +
        `, spurious IRQ 7: ${pic.spuriousIrq7}, IRQ 15: ${pic.spuriousIrq15}`,
    );
  }
  return out.join('\n') + '\n';
}

/** The contract part of the JSON report (docs/DESIGN.md §4), with the checks beside it. */
export function contractJson(r: ScenarioReport) {
  checkReport(r, 'contractJson');
  return {
    ok: r.ok,
    policy: r.scenario.policy,
    devices: r.devices.map((d) => ({
      bdf: d.bdf,
      mode: d.mode,
      vectors: d.vectors,
      cpu: d.cpu,
      base: d.base,
      address: d.address,
      data: d.data,
      reservedTail: d.reservedTail,
      ...(d.irte ? { irte: d.irte } : {}),
      messages: d.messages.map((m) => ({ index: m.index, vector: m.vector, cpu: m.cpu, ...(m.irte === undefined ? {} : { irte: m.irte }), ok: m.ok, ...(m.ok ? {} : { expected: m.expected, problem: m.problem }) })),
      ...(d.error ? { error: d.error } : {}),
    })),
    ...(r.remapping?.enabled ? { remapping: contractRemapping(r) } : {}),
    checks: r.checks,
    eventsDropped: r.machine.eventsDropped,
  };
}

/** The JSON report's remapping part: the I/O APIC pins' IRTEs and the fault counters. */
function contractRemapping(r: ScenarioReport): unknown {
  const m = r.remapping!;
  const hw = r.machine.iommu;
  return {
    eim: m.eim,
    ...(hw ? { requests: hw.requests, translated: hw.translated, blocked: hw.blocked, faultsByReason: hw.faults } : {}),
    ioapic: m.ioapicPins.map((p) => ({ pin: p.pin, irte: p.irte, vector: p.requested ? p.vector : null, cpu: p.requested ? p.cpu : null })),
    faults: m.units.reduce((n, u) => n + u.faults.length, 0),
    faultRecords: m.units.flatMap((u) => u.faults),
  };
}
