// `irqslice run [SCENARIO.json|-] [--json] [--policy P[,P...]] [--engine wasm|js]`: boot-and-probe
// with a report. Without a scenario it runs the default scenario under the aligned and linux
// policies (with --json, only under aligned, so the output keeps the contract shape); "-" reads the
// scenario from standard input.

import { formatReport, contractJson } from '../scenario/report-text.js';
import { runScenario, type ScenarioReport } from '../scenario/run-scenario.js';
import { checkAffinity, DEFAULT_SCENARIO, parseScenario, ScenarioError, type Policy, type Scenario } from '../scenario/scenario.js';
import { listOf, oneOf, type CommandSpec, type ParsedArgs } from './args.js';
import { inputName, readText, UsageError, type CliIo } from './io.js';
import { chromeTrace, TraceRecorder } from '../trace/chrome-trace.js';
import { openTraceFile } from './trace-file.js';

const POLICIES: readonly Policy[] = ['aligned', 'linux', 'freebsd', 'freebsd-legacy'];

/** Far above any real scenario (256 devices); keeps hostile JSON from costing gigabytes to parse. */
export const MAX_SCENARIO_BYTES = 4 * 1024 * 1024;

export const RUN_SPEC: CommandSpec = {
  name: 'run',
  summary: 'boot a machine and probe every MSI message (default: the built-in scenario under aligned and linux)',
  usage: ['irqslice run [SCENARIO.json|-] [--json] [--policy aligned,linux,freebsd,freebsd-legacy] [--engine wasm|js] [--trace-file FILE]'],
  options: [
    { name: 'json', help: 'print the JSON report instead of the text report' },
    { name: 'policy', value: 'LIST', help: 'placement policy or comma-separated list: aligned, linux, freebsd, freebsd-legacy' },
    { name: 'engine', value: 'wasm|js', help: "override the scenario's vector matrix engine" },
    { name: 'trace-file', value: 'FILE', help: 'write a Chrome trace-event JSON of the run(s) to FILE (ui.perfetto.dev, chrome://tracing)' },
  ],
  positionals: { max: 1, name: 'SCENARIO' },
  more: 'Exit status 0 when every check passed, 1 when one failed, 2 for bad usage or an invalid scenario.\n\nExample:\n  irqslice run examples/scenarios/x2apic-8cpu.json --json\n',
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
  const file = args.positionals[0];
  let scenario: Scenario;
  if (file === undefined) {
    scenario = DEFAULT_SCENARIO;
    // The text report compares both policies; --json keeps the contract shape (one run) unless asked.
    policies ??= json ? [scenario.policy] : ['aligned', 'linux'];
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
  // A --policy must accept the scenario's affinity requests too: checked before any run (exit 2).
  for (const policy of policies ?? []) {
    try {
      scenario.devices.forEach((d, i) => checkAffinity(d, policy, i));
    } catch (err) {
      if (err instanceof ScenarioError) throw new UsageError(`invalid scenario ${file === undefined ? '(built-in)' : inputName(file)} under --policy ${policy}: ${err.message}`);
      throw err;
    }
  }
  const tf = opt(args, 'trace-file');
  const traceFile = tf === undefined ? null : openTraceFile(tf);
  const reports: ScenarioReport[] = [];
  const recorders: TraceRecorder[] = [];
  for (const policy of policies ?? [scenario.policy]) {
    const rec = traceFile ? new TraceRecorder(recorders.length + 1, `irqslice run: ${policy}${scenario.name ? ` (${scenario.name})` : ''}`) : null;
    if (rec) recorders.push(rec);
    reports.push(await runScenario(scenario, { policy, ...(rec ? { onMachine: (m) => rec.attach(m) } : {}) }));
  }
  traceFile?.write(chromeTrace(recorders));
  if (json) {
    const body = reports.length === 1 ? contractJson(reports[0]!) : { ok: reports.every((r) => r.ok), runs: reports.map(contractJson) };
    io.stdout(JSON.stringify(body, null, 2) + '\n');
  } else {
    for (const r of reports) io.stdout(formatReport(r) + '\n');
    if (reports.length > 1) io.stdout(compare(reports));
  }
  return reports.every((r) => r.ok) ? 0 : 1;
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
  if (shown.has('freebsd')) lines.push('  freebsd: freebsd-src main aligns each block on its IDT vector, so base + i reaches every message.');
  if (shown.has('freebsd-legacy')) lines.push('  freebsd-legacy: older local_apic.c aligns the table index (index 0 is IDT 0x30), so a 32-message block is misrouted.');
  lines.push('');
  return lines.join('\n') + '\n';
}
