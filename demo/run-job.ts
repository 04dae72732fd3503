// One boot-and-probe run with a trace recorder on the machine: what the worker does per request (and
// the page itself, when it cannot start a worker).

import { runScenario } from '../src/scenario/run-scenario.js';
import { chromeTrace, TraceRecorder } from '../src/trace/chrome-trace.js';
import type { RunReply, RunRequest } from './protocol.js';

export async function runJob(req: RunRequest): Promise<RunReply> {
  try {
    const t0 = performance.now();
    const rec = new TraceRecorder(1, `irqslice run: ${req.policy}${req.scenario.name ? ` (${req.scenario.name})` : ''}`);
    const report = await runScenario(req.scenario, { policy: req.policy, onMachine: (m) => rec.attach(m) });
    return { id: req.id, ok: true, report, trace: chromeTrace([rec]), ms: performance.now() - t0 };
  } catch (err) {
    return { id: req.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}
