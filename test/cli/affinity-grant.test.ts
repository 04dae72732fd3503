// The CLI side of item 4 of issue 12: affinity on plain MSI under a block policy is an invalid scenario
// (exit 2), also when --policy chooses the policy; reservedTail is in the contract JSON.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const cli = path.join(root, 'dist', 'cli.js');

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, input, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmpFile(text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'irqslice-')), 'sc.json');
  writeFileSync(f, text);
  return f;
}

const MSI_AFFINITY = JSON.stringify({ cpus: 4, policy: 'linux', devices: [{ bdf: '00:03.0', msi: { vectors: 4, is64: true, pvm: false }, affinity: true }] });

describe('irqslice run: affinity and exact grants', () => {
  it('affinity on plain MSI under aligned is exit 2 naming the field', () => {
    const r = run(['run', '-'], MSI_AFFINITY.replace('"linux"', '"aligned"'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('devices[0].affinity: "00:03.0" has MSI without MSI-X: under policy "aligned"');
    expect(r.stdout).toBe('');
  });

  it('--policy freebsd on the same device is exit 2 before anything runs; under linux it passes with one vector', () => {
    const f = tmpFile(MSI_AFFINITY);
    const bad = run(['run', f, '--policy', 'linux,freebsd']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('under --policy freebsd: devices[0].affinity');
    expect(bad.stdout).toBe('');
    const ok = run(['run', f, '--json']);
    expect(ok.status).toBe(0);
    const j = JSON.parse(ok.stdout) as { devices: Array<{ mode: string; vectors: number; cpu: number; base: number; reservedTail: number }> };
    expect(j.devices.map((d) => [d.mode, d.vectors, d.cpu, d.base, d.reservedTail])).toEqual([['msi', 1, 3, 0x20, 0]]);
  });

  it('want 3, min 3 on a 4-message device under aligned: 3 granted, one reserved', () => {
    const r = run(['run', '-', '--json'], JSON.stringify({ cpus: 2, devices: [{ bdf: '00:03.0', msi: { vectors: 4, is64: true, pvm: false }, want: 3, min: 3 }] }));
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { devices: Array<{ vectors: number; reservedTail: number; messages: unknown[] }> };
    expect(j.devices.map((d) => [d.vectors, d.reservedTail, d.messages.length])).toEqual([[3, 1, 3]]);
  });
});
