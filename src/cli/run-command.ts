// `irqslice run [SCENARIO.json|-] [--json] [--verbose] [--policy P[,P...]] [--engine wasm|js] [--show F[,F...]]`:
// boot-and-probe with a report, or with --show the machine in real tools' formats instead. Without a
// scenario it runs the default scenario under the aligned, linux and linux-ir policies (with --json or
// --show, only under aligned: one run); "-" reads the scenario from standard input. The text opens
// with the verdict, the comparison of policies and each run's devices and checks; --verbose adds the
// boot log, interrupt counts and allocator state.

import { formatShow, SHOW_FORMATS } from '../formats/show.js';
import type { Machine } from '../machine/machine.js';
import { formatReport, contractJson } from '../scenario/report-text.js';
import { runScenario, type ScenarioReport } from '../scenario/run-scenario.js';
import { checkPolicy, DEFAULT_SCENARIO, parseScenario, POLICIES, ScenarioError, type Scenario } from '../scenario/scenario.js';
import { listOf, oneOf, type CommandSpec, type ParsedArgs } from './args.js';
import { inputName, readText, UsageError, type CliIo } from './io.js';
import { chromeTrace, TraceRecorder } from '../trace/chrome-trace.js';
import { openTraceFile } from './trace-file.js';

/** Far above any real scenario (256 devices); keeps hostile JSON from costing gigabytes to parse. */
export const MAX_SCENARIO_BYTES = 4 * 1024 * 1024;

export const RUN_SPEC: CommandSpec = {
  name: 'run',
  summary: 'boot a machine and probe every MSI message (default: the built-in scenario under aligned, linux and linux-ir)',
  usage: [
    'irqslice run [SCENARIO.json|-] [--json] [--verbose] [--policy aligned,linux,linux-ir,freebsd,freebsd-legacy] [--engine wasm|js] [--trace-file FILE]',
    'irqslice run [SCENARIO.json|-] --show lspci,lapic,pic,interrupts [--policy P] [--engine wasm|js]',
  ],
  options: [
    { name: 'json', help: 'print the JSON report instead of the text report' },
    { name: 'verbose', help: 'also the boot log, /proc/interrupts, the vector matrix dump and the 8259 pair' },
    { name: 'policy', value: 'LIST', help: "placement policy or comma-separated list: aligned, linux, linux-ir, freebsd, freebsd-legacy (default: the scenario's, aligned if it names none; without a SCENARIO aligned,linux,linux-ir, or aligned with --json or --show)" },
    { name: 'engine', value: 'wasm|js', help: "override the scenario's vector matrix engine (default: the scenario's, wasm if it names none)" },
    { name: 'show', value: 'LIST', help: 'instead of the report, print the machine after the run as real tools do: lspci (lspci -vv), lapic (QEMU info lapic), pic (QEMU info pic), interrupts (/proc/interrupts); comma-separated or all' },
    { name: 'trace-file', value: 'FILE', help: 'write a Chrome trace-event JSON of the run(s) to FILE (ui.perfetto.dev, chrome://tracing)' },
  ],
  positionals: { max: 1, name: 'SCENARIO' },
  more:
    'Without SCENARIO: the built-in scenario (4 CPUs, xAPIC; MSI devices with 32, 16, 8 and 1 messages).\n' +
    'Exit status 0 when every check passed, 1 when one failed, 2 for bad usage or an invalid scenario.\n\n' +
    'Examples:\n  irqslice run --verbose\n  irqslice run examples/scenarios/x2apic-8cpu.json --json\n  irqslice run examples/scenarios/linux-6.1-qemu.json --show interrupts,lspci\n',
};

function opt(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return v === true ? undefined : v;
}

export async function runMain(args: ParsedArgs, io: CliIo): Promise<number> {
  const p = opt(args, 'policy');
  let policies = p === undefined ? undefined : listOf('policy', p, POLICIES);
  const e = opt(args, 'engine');
  const engine = e === undefined ? undefined : oneOf('engine', e, ['wasm', 'js'] as const);
  const json = args.options.get('json') === true;
  const verbose = args.options.get('verbose') === true;
  if (json && verbose) throw new UsageError('--verbose applies to the text report, not to --json (which holds every field)');
  const sh = opt(args, 'show');
  const show = sh === undefined ? undefined : listOf('show', sh, SHOW_FORMATS);
  if (show && json) throw new UsageError('--show prints text in the real tools\' formats; it cannot be combined with --json');
  if (show && verbose) throw new UsageError('--verbose applies to the report, not to --show');
  const file = args.positionals[0];
  let scenario: Scenario;
  if (file === undefined) {
    scenario = DEFAULT_SCENARIO;
    // The text report compares the policies; --json keeps the contract shape and --show prints one
    // machine (one run) unless asked. linux-ir runs the same devices on the same board plus the
    // remapping unit (its policy implies it).
    policies ??= json || show ? [scenario.policy] : ['aligned', 'linux', 'linux-ir'];
  } else {
    const text = await readText(file, io, MAX_SCENARIO_BYTES);
    try {
      scenario = parseScenario(text);
    } catch (err) {
      if (err instanceof ScenarioError) throw new UsageError(`invalid scenario ${inputName(file)}: ${err.message}`);
      throw err;
    }
  }
  if (engine !== undefined) scenario = { ...scenario, engine };
  // A --policy must fit the scenario too (affinity requests, "iommu": false): checked before any run (exit 2).
  for (const policy of policies ?? []) {
    try {
      checkPolicy(scenario, policy);
    } catch (err) {
      if (err instanceof ScenarioError) throw new UsageError(`invalid scenario ${file === undefined ? '(built-in)' : inputName(file)} under --policy ${policy}: ${err.message}`);
      throw err;
    }
  }
  const tf = opt(args, 'trace-file');
  const traceFile = tf === undefined ? null : openTraceFile(tf);
  const reports: ScenarioReport[] = [];
  const machines: Machine[] = [];
  const recorders: TraceRecorder[] = [];
  for (const policy of policies ?? [scenario.policy]) {
    const rec = traceFile ? new TraceRecorder(recorders.length + 1, `irqslice run: ${policy}${scenario.name ? ` (${scenario.name})` : ''}`) : null;
    if (rec) recorders.push(rec);
    const onMachine = (m: Machine) => {
      machines.push(m);
      rec?.attach(m);
    };
    reports.push(await runScenario(scenario, { policy, onMachine }));
  }
  traceFile?.write(chromeTrace(recorders));
  if (show) {
    // One run and one format print bare, as the real tool would; otherwise each part gets a header.
    const headed = reports.length > 1 || show.length > 1;
    reports.forEach((r, i) => {
      for (const f of show) {
        if (headed) io.stdout(`==> ${f}${reports.length > 1 ? ` (policy ${r.scenario.policy})` : ''} <==\n`);
        io.stdout(formatShow(f, machines[i]!, r));
      }
    });
  } else if (json) {
    const body = reports.length === 1 ? contractJson(reports[0]!) : { ok: reports.every((r) => r.ok), runs: reports.map(contractJson) };
    io.stdout(JSON.stringify(body, null, 2) + '\n');
  } else {
    if (reports.length > 1) io.stdout(verdict(reports) + '\n' + compare(reports));
    for (const r of reports) io.stdout(formatReport(r, { verbose }) + '\n');
    if (!verbose) io.stdout('Boot log, /proc/interrupts, vector matrix dump and 8259 state: irqslice run --verbose\n');
  }
  return reports.every((r) => r.ok) ? 0 : 1;
}

/** One line over several runs: PASS only when each passed. */
function verdict(reports: ScenarioReport[]): string {
  const each = reports.map((r) => `${r.scenario.policy} ${r.ok ? 'PASS' : 'FAIL'}, ${r.checks.filter((c) => c.ok).length}/${r.checks.length} checks passed`);
  return `Result: ${reports.every((r) => r.ok) ? 'PASS' : 'FAIL'} (${each.join('; ')})\n`;
}

/** Side-by-side vectors per device under each policy. */
function compare(reports: ScenarioReport[]): string {
  // Columns widen for the longer policy names (freebsd-legacy) and stay 9 wide otherwise.
  const w = Math.max(9, ...reports.map((r) => r.scenario.policy.length + 1));
  const lines = ['== Comparison: vectors granted per device', '  BDF      capable  ' + reports.map((r) => r.scenario.policy.padStart(w)).join('')];
  for (const d of reports[0]!.devices) {
    const cells = reports.map((r) => {
      const x = r.devices.find((y) => y.bdf === d.bdf);
      return `${x ? `${x.vectors} ${x.mode}` : '-'}`.padStart(w);
    });
    lines.push(`  ${d.bdf}  ${String(d.capable).padStart(7)}  ${cells.join('')}`);
  }
  lines.push('');
  const shown = new Set(reports.map((r) => r.scenario.policy));
  if (shown.has('aligned')) lines.push('  aligned: each multi-MSI device gets one aligned block on one CPU, so base + i reaches every message.');
  if (shown.has('linux')) lines.push('  linux:   without interrupt remapping the kernel grants multi-MSI devices a single vector.');
  if (shown.has('linux-ir')) lines.push('  linux-ir: with VT-d interrupt remapping each message has its own IRTE (one aligned IRTE block per device) and its own vector, spread over the CPUs.');
  if (shown.has('freebsd')) lines.push('  freebsd: freebsd-src main aligns each block on its IDT vector, so base + i reaches every message.');
  if (shown.has('freebsd-legacy')) lines.push('  freebsd-legacy: older local_apic.c aligns the table index (index 0 is IDT 0x30), so a 32-message block is misrouted.');
  lines.push('');
  return lines.join('\n') + '\n';
}
