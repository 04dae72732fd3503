// The published bundles: the Node build and the browser build (no Node built-ins, WASM inlined)
// expose the same working API.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

describe.each(['index.js', 'irqslice.browser.js'])('dist/%s', (file) => {
  const url = pathToFileURL(path.join(root, 'dist', file)).href;

  it('allocates an aligned block and boots the default scenario', async () => {
    const lib = await import(url);
    const m = await lib.createMatrix({ cpus: 2, engine: 'wasm', preset: 'x86' });
    m.online(0);
    m.online(1);
    expect(m.allocBlock('0-1', 32)).toEqual({ cpu: 0, base: 0x40, count: 32 });
    const r = await lib.runScenario(lib.DEFAULT_SCENARIO);
    expect(r.ok).toBe(true);
    expect(typeof lib.LocalApic).toBe('function');
    expect(typeof lib.MsiEndpoint).toBe('function');
  });
});

it('the browser bundle imports no Node built-ins', () => {
  const text = readFileSync(path.join(root, 'dist', 'irqslice.browser.js'), 'utf8');
  expect(text).not.toMatch(/from\s*["']node:|require\(["']node:|from\s*["'](fs|path|child_process)["']/);
});
