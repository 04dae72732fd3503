// Messages between the page and its worker (the worker runs boot-and-probe off the page's thread).

import type { ScenarioReport } from '../src/scenario/run-scenario.js';
import type { Scenario, Policy } from '../src/scenario/scenario.js';
import type { ChromeTrace } from '../src/trace/chrome-trace.js';

export interface RunRequest {
  id: number;
  scenario: Scenario;
  policy: Policy;
}

export type RunReply =
  | { id: number; ok: true; report: ScenarioReport; trace: ChromeTrace; ms: number }
  | { id: number; ok: false; error: string };
