// The irqslice demo page: edit a scenario, boot-and-probe it (in a worker), and look at the result —
// the vector matrix as a heatmap, the devices and each message's fate, /proc/interrupts and the
// debugfs dump, a trace to download; plus the migration step-through and the matrix playground.

import { runMatrixScript } from '../src/alloc/script.js';
import { formatInterrupts } from '../src/scenario/report-text.js';
import type { ScenarioReport, MessageReport } from '../src/scenario/run-scenario.js';
import { DEFAULT_SCENARIO, parseScenario, ScenarioError, type Policy, type Scenario } from '../src/scenario/scenario.js';
import type { ChromeTrace } from '../src/trace/chrome-trace.js';
import { drawHeatmap, KINDS } from './heatmap.js';
import { setupMigration } from './migration.js';
import { $, download, el } from './dom.js';
import type { RunReply, RunRequest } from './protocol.js';
import { runJob } from './run-job.js';

/** Filled in by scripts/build-demo.mjs: examples/scenarios/*.json, examples/matrix/*.txt, the worker bundle. */
declare const __SCENARIOS__: Record<string, string>;
declare const __MATRIX_SCRIPTS__: Record<string, string>;
declare const __WORKER_SOURCE__: string;

const POLICIES: readonly Policy[] = ['aligned', 'linux', 'freebsd', 'freebsd-legacy'];
const DEFAULT_NAME = '(built-in default)';

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, (r: RunReply) => void>();
let lastTrace: ChromeTrace | null = null;

/** The worker from its inlined source; null when the browser refuses (the page then runs jobs itself). */
function startWorker(): Worker | null {
  try {
    const url = URL.createObjectURL(new Blob([__WORKER_SOURCE__], { type: 'text/javascript' }));
    const w = new Worker(url);
    w.onmessage = (e: MessageEvent<RunReply>) => {
      waiting.get(e.data.id)?.(e.data);
      waiting.delete(e.data.id);
    };
    w.onerror = (e) => {
      e.preventDefault();
      worker = null;
      for (const [id, done] of waiting) done({ id, ok: false, error: `worker failed: ${e.message}` });
      waiting.clear();
    };
    return w;
  } catch {
    return null;
  }
}

function run(req: Omit<RunRequest, 'id'>): Promise<RunReply> {
  const id = nextId++;
  if (!worker) return runJob({ ...req, id });
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker!.postMessage({ ...req, id });
  });
}

function setupScenario(): void {
  const pick = $<HTMLSelectElement>('#example');
  pick.append(el('option', { value: DEFAULT_NAME }, DEFAULT_NAME));
  for (const name of Object.keys(__SCENARIOS__).sort()) pick.append(el('option', { value: name }, name));
  const policy = $<HTMLSelectElement>('#policy');
  policy.append(el('option', { value: '' }, "scenario's own"));
  for (const p of POLICIES) policy.append(el('option', { value: p }, p));
  const load = () => {
    $<HTMLTextAreaElement>('#scenario').value = pick.value === DEFAULT_NAME ? JSON.stringify(DEFAULT_SCENARIO, null, 2) : __SCENARIOS__[pick.value]!;
    validate();
  };
  pick.addEventListener('change', load);
  $('#scenario').addEventListener('input', validate);
  $('#run').addEventListener('click', () => void runScenarioNow());
  $('#trace-download').addEventListener('click', () => {
    if (lastTrace) download('irqslice-trace.json', JSON.stringify(lastTrace));
  });
  load();
}

/** The editor's scenario, or null with the library's message (it names the field) shown. */
function validate(): Scenario | null {
  const box = $('#scenario-error');
  try {
    const s = parseScenario($<HTMLTextAreaElement>('#scenario').value);
    box.textContent = '';
    box.hidden = true;
    return s;
  } catch (e) {
    box.textContent = e instanceof ScenarioError ? e.message : `not a scenario: ${e instanceof Error ? e.message : String(e)}`;
    box.hidden = false;
    return null;
  }
}

async function runScenarioNow(): Promise<void> {
  let scenario = validate();
  if (!scenario) return;
  const engine = $<HTMLSelectElement>('#engine').value;
  if (engine === 'wasm' || engine === 'js') scenario = { ...scenario, engine };
  const policy = ($<HTMLSelectElement>('#policy').value || scenario.policy) as Policy;
  const status = $('#status');
  status.textContent = `running under ${policy}…`;
  status.className = 'running';
  $<HTMLButtonElement>('#run').disabled = true;
  const reply = await run({ scenario, policy });
  $<HTMLButtonElement>('#run').disabled = false;
  if (!reply.ok) {
    status.textContent = reply.error;
    status.className = 'fail';
    return;
  }
  lastTrace = reply.trace;
  $<HTMLButtonElement>('#trace-download').disabled = false;
  status.textContent = `${reply.report.ok ? 'PASS' : 'FAIL'} — ${policy}, ${scenario.engine} engine, ${reply.report.scenario.cpus} CPU(s), ${Math.round(reply.ms)} ms${worker ? ' (worker)' : ''}`;
  status.className = reply.report.ok ? 'pass' : 'fail';
  document.body.dataset.ran = String(nextId);
  show(reply.report);
}

function hex(n: number | null): string {
  return n === null ? '–' : `0x${n.toString(16)}`;
}

function messageState(m: MessageReport): 'delivered' | 'misrouted' | 'lost' {
  if (m.ok) return 'delivered';
  return m.vector === null && m.cpu === null ? 'lost' : 'misrouted';
}

function show(r: ScenarioReport): void {
  // Heatmap.
  const canvas = $<HTMLCanvasElement>('#heatmap');
  const tip = $('#tooltip');
  const freebsd = r.scenario.policy.startsWith('freebsd');
  $('#heatmap-title').textContent = r.vectorMap
    ? `${freebsd ? "FreeBSD's per-CPU la_ioint_irqs tables" : "Linux's vector matrix"} under ${r.scenario.policy}: ${r.vectorMap.cells.length} CPU(s) × vectors 0x20–0xff`
    : 'the guest reported no vector map';
  if (r.vectorMap) {
    const misrouted = r.devices.flatMap((d) => d.messages.filter((m) => !m.ok && m.cpu !== null && m.vector !== null).map((m) => ({ cpu: m.cpu!, vector: m.vector!, what: `${d.bdf} message ${m.index}` })));
    const map = drawHeatmap(canvas, r.vectorMap, misrouted);
    canvas.onmousemove = (e) => {
      const rect = canvas.getBoundingClientRect();
      const hit = map.at(e.clientX - rect.left, e.clientY - rect.top);
      if (!hit) return void (tip.hidden = true);
      tip.textContent = `CPU ${hit.cpu} vector ${hex(hit.vector)}: ${hit.kind}${hit.owner ? ` — ${hit.owner}` : ''}`;
      tip.hidden = false;
      tip.style.left = `${e.pageX + 12}px`;
      tip.style.top = `${e.pageY + 12}px`;
    };
    canvas.onmouseleave = () => void (tip.hidden = true);
  }
  // Devices and messages.
  const checks = new Map(r.checks.map((c) => [c.name.split(' ')[0]!, c]));
  const rows = r.devices.map((d) => {
    const check = checks.get(d.bdf);
    const pass = check ? check.ok : d.messages.every((m) => m.ok);
    const cells = d.messages.map((m) => {
      const state = messageState(m);
      const title = `message ${m.index}: ${state}${m.ok ? ` (CPU ${m.cpu} ${hex(m.vector)})` : ` — expected CPU ${m.expected.cpu} ${hex(m.expected.vector)}, ${m.vector === null ? 'nothing arrived' : `arrived on CPU ${m.cpu} ${hex(m.vector)}`}${m.problem ? `: ${m.problem}` : ''}`}`;
      return el('span', { class: `msg ${state}`, 'data-state': state, 'data-index': String(m.index), title }, String(m.index));
    });
    return el(
      'tr',
      { 'data-bdf': d.bdf, 'data-result': pass ? 'PASS' : 'FAIL' },
      el('td', {}, d.bdf),
      el('td', {}, d.mode),
      el('td', {}, `${d.vectors} / ${d.capable}`),
      el('td', {}, d.cpu === null ? '–' : String(d.cpu)),
      el('td', {}, hex(d.base)),
      el('td', {}, hex(d.address)),
      el('td', {}, hex(d.data)),
      el('td', { class: 'msgs' }, ...cells),
      el('td', { class: `result ${pass ? 'pass' : 'fail'}` }, pass ? 'PASS' : 'FAIL'),
    );
  });
  $('#devices').replaceChildren(...rows);
  $('#checks').replaceChildren(...r.checks.map((c) => el('li', { class: c.ok ? 'pass' : 'fail' }, `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`)));
  $('#proc-interrupts').textContent = formatInterrupts(r).join('\n');
  $('#debugfs').textContent = r.vectors;
  $('#bootlog').textContent = r.bootLog.join('\n');
}

function setupPlayground(): void {
  const pick = $<HTMLSelectElement>('#pg-example');
  for (const name of Object.keys(__MATRIX_SCRIPTS__).sort()) pick.append(el('option', { value: name }, name));
  const load = () => void ($<HTMLTextAreaElement>('#pg-script').value = __MATRIX_SCRIPTS__[pick.value] ?? '');
  pick.addEventListener('change', load);
  if (Object.hasOwn(__MATRIX_SCRIPTS__, 'x86-msi-devices.txt')) pick.value = 'x86-msi-devices.txt';
  load();
  $('#pg-run').addEventListener('click', async () => {
    const out = $('#pg-output');
    try {
      const r = await runMatrixScript($<HTMLTextAreaElement>('#pg-script').value, { engine: $<HTMLSelectElement>('#pg-engine').value as 'wasm' | 'js' });
      out.textContent = r.output + (r.error ? `line ${r.error.line}: ${r.error.message}\n` : '');
      out.className = r.error ? 'fail' : '';
    } catch (e) {
      out.textContent = e instanceof Error ? e.message : String(e);
      out.className = 'fail';
    }
  });
}

function legend(): void {
  $('#legend').replaceChildren(
    ...KINDS.map((k) => el('span', { class: 'key' }, el('i', { style: `background:${k.colour}` }), k.name)),
    el('span', { class: 'key' }, el('i', { class: 'outline ok' }), 'aligned block'),
    el('span', { class: 'key' }, el('i', { class: 'outline bad' }), 'misaligned block'),
  );
}

worker = startWorker();
legend();
setupScenario();
setupMigration();
setupPlayground();
// The page opens on a result: the default scenario, run once (ready afterwards, so a test's first
// click is its own run).
void runScenarioNow().finally(() => (document.body.dataset.ready = 'true'));
