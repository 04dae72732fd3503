// Runs the irqslice command line in-process (src/cli/main.ts) or as the built bundle (dist/cli.js),
// and the rule every invalid invocation must follow.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const cliBundle = path.join(root, 'dist', 'cli.js');

export interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Invocation {
  argv: string[];
  stdin?: string | Uint8Array;
  /** Standard input is a terminal (in-process only). */
  tty?: boolean;
}

function bytes(x: string | Uint8Array | undefined): Uint8Array {
  return x === undefined ? new Uint8Array(0) : typeof x === 'string' ? new TextEncoder().encode(x) : x;
}

/** main() with captured streams; stdin arrives in chunks of 7 bytes to exercise split sequences. */
export async function runInProcess(inv: Invocation): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const input = bytes(inv.stdin);
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: async function* () {
      for (let i = 0; i < input.length; i += 7) yield input.subarray(i, i + 7);
    },
    stdinIsTTY: inv.tty === true,
    stderrIsTTY: false,
  };
  const status = await main(inv.argv, io);
  return { status, stdout, stderr };
}

/** node dist/cli.js with a pipe for stdin (closed after `stdin`). */
export function runBundle(inv: Invocation, timeoutMs = 60_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBundle, ...inv.argv], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}); // the command may not read it
    child.stdin.end(bytes(inv.stdin));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The rule for invalid input: exit 2, exactly one line on stderr, no stack trace, no raw control bytes. */
export function expectUsageError(r: Outcome, message?: RegExp): void {
  expect(r.status, `stderr: ${r.stderr}`).toBe(2);
  expect(r.stderr.endsWith('\n'), JSON.stringify(r.stderr)).toBe(true);
  const body = r.stderr.slice(0, -1);
  expect(body.includes('\n'), `more than one line: ${JSON.stringify(r.stderr)}`).toBe(false);
  expect(body).toMatch(/^irqslice( run| matrix| migrate| whatif)?: /);
  expect(body).not.toMatch(/\n\s+at |internal error|TypeError|ReferenceError|RangeError/);
  expect(body, 'raw control characters').not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(body.length).toBeLessThan(600);
  if (message) expect(body).toMatch(message);
}

/** A fresh directory of files for one test file; returns its path. */
export function fixtureDir(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'irqslice-hostile-'));
  for (const [name, content] of Object.entries(files)) {
    const f = path.join(dir, name);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, content);
  }
  mkdirSync(path.join(dir, 'a-directory'), { recursive: true });
  return dir;
}
