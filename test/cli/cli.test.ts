// The irqslice command as users run it (the bundle built by `npm run build`, which pretest runs).

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

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'irqslice-'));
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('irqslice matrix', () => {
  it('reads a script from stdin with "-" and prints one JSON object per operation', () => {
    const r = run(['matrix', '--engine', 'js', '-'], 'preset x86\ncpus 1\nonline 0\nalloc 0\n');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([{ ok: true }, { ok: true }, { ok: true }, { cpu: 0, vector: 32 }]);
  });

  it('exits 2 on a malformed line, naming the file and line, after printing the lines before it', () => {
    const f = tmpFile('bad.txt', 'preset x86\ncpus 1\nonline 0\nalloc zero\nalloc 0\n');
    const r = run(['matrix', f]);
    expect(r.status).toBe(2);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(r.stderr).toContain(`${f}:4:`);
  });

  it('runs every example script without a malformed line, identically on both engines', () => {
    for (const name of ['x86-msi-devices.txt', 'single-cpu-exhaustion.txt', 'spreading.txt', 'managed.txt', 'fragmentation.txt', 'best-fit.txt']) {
      const f = path.join(root, 'examples', 'matrix', name);
      const w = run(['matrix', '--engine', 'wasm', f]);
      const j = run(['matrix', '--engine', 'js', f]);
      expect(w.status, name).toBe(0);
      expect(w.stdout, name).toBe(j.stdout);
    }
  });

  it('documents the grammar in --help', () => {
    const r = run(['matrix', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('alloc_block MASK COUNT [reserved]');
  });

  it('rejects an unknown engine with exit 2', () => {
    expect(run(['matrix', '--engine', 'gpu', '-'], '').status).toBe(2);
  });
});

describe('irqslice run', () => {
  it('with no scenario runs the default under aligned, linux and linux-ir and exits 0', () => {
    const r = run(['run']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('policy aligned');
    expect(r.stdout).toContain('policy linux ');
    expect(r.stdout).toContain('policy linux-ir');
    expect(r.stdout).toContain('== Comparison: vectors granted per device');
    // The comparison gains the linux-ir column: every device gets all its messages back under remapping.
    expect(r.stdout).toMatch(/BDF\s+capable\s+aligned\s+linux\s+linux-ir\n\s+00:03\.0\s+32\s+32 msi\s+1 msi\s+32 msi\n/);
    expect(r.stdout).toMatch(/Result: PASS/);
  });

  it('--policy linux-ir: remapped run with the unit present; "iommu": false with it is exit 2 naming the field', () => {
    const r = run(['run', '--policy', 'linux-ir', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.devices[0]).toMatchObject({ bdf: '00:03.0', vectors: 32, address: 0xfee00418, data: 0, irte: { index: 32, count: 32 } });
    expect(j.remapping).toMatchObject({ faults: 0, blocked: 0 });
    const bad = run(['run', '-', '--policy', 'linux-ir'], JSON.stringify({ cpus: 2, iommu: false, devices: [] }));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/under --policy linux-ir: iommu: false contradicts policy "linux-ir"/);
    const bad2 = run(['run', '-'], JSON.stringify({ cpus: 2, policy: 'linux-ir', iommu: false, devices: [] }));
    expect(bad2.status).toBe(2);
    expect(bad2.stderr).toMatch(/invalid scenario \(stdin\)|iommu: false contradicts/);
  });

  it('opens with the verdict and the comparison; the matrix dump and boot log only with --verbose', () => {
    const r = run(['run']);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^Result: PASS \(aligned PASS, (\d+)\/\1 checks passed; linux PASS, (\d+)\/\2 checks passed; linux-ir PASS, (\d+)\/\3 checks passed\)$/);
    expect(lines.indexOf('== Comparison: vectors granted per device')).toBe(2);
    // Linux without remapping: one vector per device; aligned and linux-ir: every message (32, 16, 8, 1).
    expect(lines.slice(3, 8)).toEqual([
      '  BDF      capable    aligned    linux linux-ir',
      '  00:03.0       32     32 msi    1 msi   32 msi',
      '  00:04.0       16     16 msi    1 msi   16 msi',
      '  00:05.0        8      8 msi    1 msi    8 msi',
      '  00:06.0        1      1 msi    1 msi    1 msi',
    ]);
    expect(r.stdout).not.toContain('Vector matrix (debugfs irq_matrix)');
    expect(r.stdout).not.toContain('Boot log (guest console)');
    expect(lines.at(-2)).toBe('Boot log, /proc/interrupts, vector matrix dump and 8259 state: irqslice run --verbose');
    const v = run(['run', '--verbose']);
    expect(v.status).toBe(0);
    expect(v.stdout.split('\n').filter((l) => l === 'Vector matrix (debugfs irq_matrix)')).toHaveLength(3);
    expect(v.stdout).toContain('Boot log (guest console)');
    expect(v.stdout.indexOf('== Comparison')).toBeLessThan(v.stdout.indexOf('Boot log (guest console)'));
  });

  it('--help names every default', () => {
    const r = run(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("(default: the scenario's, aligned if it names none; without a SCENARIO aligned,linux,linux-ir, or aligned with --json or --show)");
    expect(r.stdout).toContain("(default: the scenario's, wasm if it names none)");
    expect(r.stdout).toContain('Without SCENARIO: the built-in scenario');
  });

  it('--verbose with --json is bad usage (exit 2)', () => {
    const r = run(['run', '--json', '--verbose']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('irqslice run: --verbose applies to the text report, not to --json (which holds every field)\n');
  });

  it('--json without a scenario prints the contract report of the default scenario (aligned)', () => {
    const r = run(['run', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.devices.map((d: { vectors: number }) => d.vectors)).toEqual([32, 16, 8, 1]);
  });

  it('--json with several policies wraps one report per policy', () => {
    const r = run(['run', '--json', '--policy', 'aligned,linux']);
    const j = JSON.parse(r.stdout);
    expect(j.runs.map((x: { policy: string }) => x.policy)).toEqual(['aligned', 'linux']);
  });

  it('--json prints the contract report', () => {
    const r = run(['run', path.join(root, 'examples/scenarios/one-cpu.json'), '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.devices[0]).toMatchObject({ bdf: '00:03.0', mode: 'msi', vectors: 32, cpu: 0, base: 0x40 });
    expect(j.devices[0].messages[5]).toEqual({ index: 5, vector: 0x45, cpu: 0, ok: true });
  });

  it('exits 1 when a check fails (older FreeBSD misrouting: freebsd-misroute.json is policy freebsd-legacy)', () => {
    const r = run(['run', path.join(root, 'examples/scenarios/freebsd-misroute.json')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAIL  00:03.0 message 0: misrouted');
  });

  it('--policy freebsd runs the same machine as freebsd-src main does it: every message lands, exit 0', () => {
    const r = run(['run', path.join(root, 'examples/scenarios/freebsd-misroute.json'), '--policy', 'freebsd', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.devices.map((d: { cpu: number; base: number; vectors: number }) => [d.cpu, d.base, d.vectors])).toEqual([[0, 0x40, 32], [1, 0x30, 16]]);
    expect(j.devices[0].messages[31]).toEqual({ index: 31, vector: 0x5f, cpu: 0, ok: true });
  });

  it('--policy freebsd,freebsd-legacy compares both generations side by side', () => {
    const r = run(['run', '--policy', 'freebsd,freebsd-legacy']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('policy freebsd-legacy');
    expect(r.stdout).toContain('  BDF      capable          freebsd freebsd-legacy');
    expect(r.stdout).toContain('  00:03.0       32           32 msi         32 msi');
    expect(r.stdout).toContain('freebsd-legacy: older local_apic.c aligns the table index');
  });

  it('exits 2 naming the field of an invalid scenario', () => {
    const f = tmpFile('bad.json', JSON.stringify({ cpus: 2, devices: [{ bdf: '00:03.0', msi: { vectors: 12 } }] }));
    const r = run(['run', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('devices[0].msi.vectors');
  });

  it('exits 2 for a missing file', () => {
    expect(run(['run', '/nonexistent/scenario.json']).status).toBe(2);
  });
});
