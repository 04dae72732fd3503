// The trace-event format as chrome://tracing and Perfetto read it (the "Trace Event Format" document:
// JSON object form, phases X / i / M), checked event by event. Shared by the run and migrate tests.

import { expect } from 'vitest';

export interface Ev {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  s?: string;
  cat?: string;
  args?: Record<string, unknown>;
}

const METADATA = new Set(['process_name', 'process_sort_index', 'thread_name', 'thread_sort_index', 'process_labels']);

/** Checks the whole file and returns its events. */
export function checkTraceFormat(json: unknown): Ev[] {
  expect(json).toBeTypeOf('object');
  const t = json as { traceEvents: unknown; displayTimeUnit?: unknown };
  expect(Array.isArray(t.traceEvents)).toBe(true);
  expect(t.displayTimeUnit).toBe('ns');
  const events = t.traceEvents as Ev[];
  const named = new Set<string>();
  const processes = new Set<number>();
  const last = new Map<string, number>();
  for (const e of events) {
    // Required fields of every event.
    expect(typeof e.name, JSON.stringify(e)).toBe('string');
    expect(['X', 'i', 'M'], JSON.stringify(e)).toContain(e.ph);
    expect(Number.isFinite(e.ts) && e.ts >= 0, JSON.stringify(e)).toBe(true);
    expect(Number.isInteger(e.pid) && Number.isInteger(e.tid), JSON.stringify(e)).toBe(true);
    if (e.ph === 'M') {
      expect(METADATA.has(e.name), e.name).toBe(true);
      expect(e.args).toBeTypeOf('object');
      if (e.name === 'process_name') processes.add(e.pid);
      if (e.name === 'thread_name') named.add(`${e.pid}/${e.tid}`);
      if (e.name.endsWith('_name')) expect(typeof e.args!.name).toBe('string');
      continue;
    }
    if (e.ph === 'X') expect(Number.isFinite(e.dur) && e.dur! >= 0, JSON.stringify(e)).toBe(true);
    if (e.ph === 'i') expect(['t', 'p', 'g']).toContain(e.s);
    // Every track and process is named, and time never runs backwards on a track.
    const track = `${e.pid}/${e.tid}`;
    expect(named.has(track), `track ${track} has no thread_name before its events`).toBe(true);
    expect(processes.has(e.pid), `pid ${e.pid} has no process_name`).toBe(true);
    expect(e.ts, `time runs backwards on ${track} at ${JSON.stringify(e)}`).toBeGreaterThanOrEqual(last.get(track) ?? 0);
    last.set(track, e.ts);
  }
  return events;
}

/** The name a metadata event gives to (pid, tid); tid undefined: the process name. */
export function trackName(events: Ev[], pid: number, tid?: number): string | undefined {
  const m = events.find((e) => e.ph === 'M' && e.pid === pid && (tid === undefined ? e.name === 'process_name' : e.name === 'thread_name' && e.tid === tid));
  return m?.args?.name as string | undefined;
}
