// The human-readable report of a boot-and-probe run: the verdict, per-device placement and PASS/FAIL
// per check first; with `verbose`, then the boot log, a /proc/interrupts-style table, the vector
// allocator's state and the 8259 pair.

import type { InterruptCounts, ScenarioReport } from './run-scenario.js';
import { ScenarioError } from './scenario.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** Above this many CPU columns the interrupt table lists non-zero counts per row instead. */
const WIDE_TABLE = 32;

export function formatInterrupts(r: ScenarioReport): string[] {
  const ints = r.interrupts;
  if (!ints) return ['  (the guest did not report interrupt counts)'];
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
  if (cols.length > WIDE_TABLE) {
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
  const w = 8;
  const lines = ['      ' + cols.map((c) => `CPU${c}`.padStart(w)).join('')];
  const row = (label: string, counts: Record<string, number>, tail: string) =>
    lines.push(label.padStart(5) + ' ' + cols.map((c) => String(counts[c] ?? 0).padStart(w)).join('') + '  ' + tail);
  for (const i of ints.irqs) row(`${i.irq}:`, i.counts, kindOf(i));
  row('SPU:', ints.spurious, 'Spurious interrupts');
  row('UNX:', ints.unexpected, 'Interrupts on vectors with no handler');
  if (cols.length < ints.cpus) lines.push(`      (${ints.cpus - cols.length} CPU(s) with no interrupts not shown)`);
  return lines;
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
  out.push('  BDF       mode   vectors  capable  CPU   base   address     data    delivered');
  for (const d of r.devices) {
    const ok = d.messages.filter((m) => m.ok).length;
    out.push(
      `  ${d.bdf}  ${d.mode.padEnd(5)}  ${String(d.vectors).padStart(7)}  ${String(d.capable).padStart(7)}  ${String(d.cpu ?? '-').padStart(3)}  ${(d.base === null ? '-' : hex(d.base)).padStart(5)}  ${(d.address == null ? '-' : hex(d.address)).padEnd(10)}  ${(d.data == null ? '-' : hex(d.data)).padEnd(6)}  ${ok}/${d.messages.length}${d.error ? `  -${d.error}` : ''}`,
    );
  }
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
      messages: d.messages.map((m) => ({ index: m.index, vector: m.vector, cpu: m.cpu, ok: m.ok, ...(m.ok ? {} : { expected: m.expected, problem: m.problem }) })),
      ...(d.error ? { error: d.error } : {}),
    })),
    checks: r.checks,
    eventsDropped: r.machine.eventsDropped,
  };
}
