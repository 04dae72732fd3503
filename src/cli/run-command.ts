// `irqslice run [SCENARIO.json] [--json] [--policy P[,P...]]`: boot-and-probe with a report.
// Without a scenario file it runs the default scenario under the aligned and linux policies (with
// --json, only under aligned, so the output keeps the contract shape).

import { formatReport, contractJson } from '../scenario/report-text';
import { runScenario, type ScenarioReport } from '../scenario/run-scenario';
import { DEFAULT_SCENARIO, parseScenario, ScenarioError, type Policy, type Scenario } from '../scenario/scenario';
import { readInput, UsageError } from './io';

const POLICIES: readonly Policy[] = ['aligned', 'linux', 'freebsd'];

function parsePolicies(v: unknown): Policy[] | undefined {
  if (v === undefined) return undefined;
  const list = String(v).split(',').map((s) => s.trim());
  for (const p of list) if (!POLICIES.includes(p as Policy)) throw new UsageError(`--policy must be aligned, linux or freebsd (comma-separated), got "${p}"`);
  return list as Policy[];
}

export async function runCommand(file: string | undefined, opts: { json?: boolean; policy?: unknown; engine?: unknown }): Promise<number> {
  let scenario: Scenario;
  let policies = parsePolicies(opts.policy);
  if (file === undefined) {
    scenario = DEFAULT_SCENARIO;
    // The text report compares both policies; --json keeps the contract shape (one run) unless asked.
    policies ??= opts.json ? [scenario.policy] : ['aligned', 'linux'];
  } else {
    const text = await readInput(file);
    try {
      scenario = parseScenario(text);
    } catch (e) {
      if (e instanceof ScenarioError) {
        process.stderr.write(`irqslice run: invalid scenario ${file}: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }
  if (opts.engine !== undefined) {
    if (opts.engine !== 'wasm' && opts.engine !== 'js') throw new UsageError(`--engine must be wasm or js`);
    scenario = { ...scenario, engine: opts.engine };
  }
  const reports: ScenarioReport[] = [];
  for (const policy of policies ?? [scenario.policy]) reports.push(await runScenario(scenario, { policy }));
  if (opts.json) {
    const body = reports.length === 1 ? contractJson(reports[0]!) : { ok: reports.every((r) => r.ok), runs: reports.map(contractJson) };
    process.stdout.write(JSON.stringify(body, null, 2) + '\n');
  } else {
    for (const r of reports) process.stdout.write(formatReport(r) + '\n');
    if (reports.length > 1) process.stdout.write(compare(reports));
  }
  return reports.every((r) => r.ok) ? 0 : 1;
}

/** Side-by-side vectors per device under each policy. */
function compare(reports: ScenarioReport[]): string {
  const lines = ['== Comparison: vectors granted per device', '  BDF      capable  ' + reports.map((r) => r.scenario.policy.padStart(9)).join('')];
  for (const d of reports[0]!.devices) {
    const cells = reports.map((r) => {
      const x = r.devices.find((y) => y.bdf === d.bdf);
      return `${x ? `${x.vectors} ${x.mode}` : '-'}`.padStart(9);
    });
    lines.push(`  ${d.bdf}  ${String(d.capable).padStart(7)}  ${cells.join('')}`);
  }
  lines.push(
    '',
    '  aligned: each multi-MSI device gets one aligned block on one CPU, so base + i reaches every message.',
    '  linux:   without interrupt remapping the kernel grants multi-MSI devices a single vector.',
    '',
  );
  return lines.join('\n') + '\n';
}
