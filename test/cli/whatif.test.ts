// `irqslice whatif` as users run it: exit codes, the file and line of a malformed dump or lspci
// file, and the JSON contract's shape (docs/DESIGN.md §4, "whatif").

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectUsageError, fixtureDir, root, runInProcess } from './harness.js';
import { DUMP_61 } from '../import/dumps.js';

const dump61 = path.join(root, 'test/data/vector-6.1-qemu-4cpu.txt');
const dump8 = path.join(root, 'test/data/vector-dump-8cpu-vm.txt');
const dell = path.join(root, 'test/data/lspci/dell-xps13-9360-vtd.txt');

const SIZES = ['1', '2', '4', '8', '16', '32'];

describe('irqslice whatif --json: the contract', () => {
  it('has exactly the keys the contract names, for every CPU, size and device', async () => {
    const r = await runInProcess({ argv: ['whatif', dump8, '--lspci', dell, '--json'] });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(['cpus', 'choice', 'offline', 'devices']);
    const cpus = j.cpus as Array<Record<string, unknown>>;
    expect(cpus.map((c) => c.cpu)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const c of cpus) {
      expect(Object.keys(c)).toEqual(['cpu', 'available', 'allocated', 'managed', 'managedAllocated', 'blocks']);
      expect(Object.keys(c.blocks as object)).toEqual(SIZES);
    }
    // avl/act of the dump's rows: CPU 0 "197 0 0 4", CPU 7 "198 0 0 3".
    expect(cpus[0]).toMatchObject({ available: 197, allocated: 4, managed: 0, managedAllocated: 0 });
    expect(cpus[7]).toMatchObject({ available: 198, allocated: 3 });
    const choice = j.choice as Record<string, Record<string, unknown>>;
    expect(Object.keys(choice)).toEqual(SIZES);
    for (const n of SIZES) {
      expect(Object.keys(choice[n]!)).toEqual(['firstFit', 'bestFit']);
      // CPUs 4-7 have the most available (198): the lowest of them, CPU 4.
      expect(choice[n]!.firstFit).toMatchObject({ cpu: 4 });
    }
    for (const o of j.offline as Array<Record<string, unknown>>) expect(Object.keys(o)).toEqual(['cpu', 'possible', 'reason']);
    expect(j.devices).toEqual([
      { bdf: '00:02.0', count: 1, max: 1, remapped: true, block: { cpu: 4, base: 0x24 } },
      { bdf: '00:04.0', count: 1, max: 1, remapped: false, block: { cpu: 4, base: 0x24 } },
      { bdf: '00:14.0', count: 8, max: 8, remapped: true, block: { cpu: 4, base: 0x28 } },
      { bdf: '00:16.0', count: 1, max: 1, remapped: true, block: { cpu: 4, base: 0x24 } },
    ]);
  });
  it('without --lspci, devices is empty; the dump can come from standard input', async () => {
    const r = await runInProcess({ argv: ['whatif', '-', '--json'], stdin: DUMP_61 });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { devices: unknown[]; offline: unknown[] };
    expect(j.devices).toEqual([]);
    expect(j.offline).toHaveLength(4);
  });
  it('the text report names the layout and what was assumed', async () => {
    const r = await runInProcess({ argv: ['whatif', dump61] });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('range [0x20, 0xec) less system vectors 0x20, 0x32, 0x80 = 201 per CPU');
    expect(r.stdout).toContain('CPU 0: managed allocated 33');
    expect(r.stdout).toMatch(/CPU 3: yes: 4 to move, 588 available elsewhere/);
  });
});

describe('irqslice whatif: bad input is exit 2 with the file and line', () => {
  const lines = DUMP_61.split('\n');
  const dir = fixtureDir({
    'bad-row.txt': lines.map((l, i) => (i === 12 ? '     2   197     1     1    5  33-37' : l)).join('\n'),
    'bad-line.txt': lines.map((l, i) => (i === 6 ? ' Global reservd:      14' : l)).join('\n'),
    'bad-lspci.txt': '00:03.0 USB controller: Red Hat, Inc. QEMU XHCI Host Controller (rev 01)\n\tCapabilities: [90] MSI: Enable+ Count=3/16 Maskable- 64bit+\n',
  });
  it.each([
    ['CPUs that disagree on the range', ['whatif', path.join(dir, 'bad-row.txt')], /bad-row\.txt:13: CPU 2 implies the range \[0x20, 0xee\)/],
    ['an unrecognised line', ['whatif', path.join(dir, 'bad-line.txt')], /bad-line\.txt:7: unrecognised line/],
    ['a malformed lspci MSI line', ['whatif', dump61, '--lspci', path.join(dir, 'bad-lspci.txt')], /bad-lspci\.txt:2: MSI enabled count 3/],
    ['no dump', ['whatif'], /needs a VECTOR_DUMP/],
    ['a missing file', ['whatif', path.join(dir, 'none.txt')], /no such file/],
    ['a directory', ['whatif', path.join(dir, 'a-directory')], /is a directory/],
    ['two positionals', ['whatif', dump61, dump8], /takes one VECTOR_DUMP/],
    ['an unknown option', ['whatif', dump61, '--lspi', dell], /unknown option "--lspi"/],
    ['--lspci without a file', ['whatif', dump61, '--lspci'], /--lspci needs a value/],
    ['both from stdin', ['whatif', '-', '--lspci', '-'], /cannot both be standard input/],
  ])('%s', async (_what, argv, message) => {
    expectUsageError(await runInProcess({ argv }), message);
  });
  it('an empty dump', async () => {
    expectUsageError(await runInProcess({ argv: ['whatif', '-'], stdin: '\n' }), /empty input/);
  });
});

describe('irqslice whatif --help', () => {
  it('names the two commands to run on the machine', async () => {
    const r = await runInProcess({ argv: ['whatif', '--help'] });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('sudo cat /sys/kernel/debug/irq/domains/VECTOR');
    expect(r.stdout).toContain('sudo lspci -vv');
  });
});

describe('docs/DESIGN.md §4 documents the contract the command prints', () => {
  it('the whatif block names every key, in the printed order', async () => {
    const { readFileSync } = await import('node:fs');
    const design = readFileSync(path.join(root, 'docs/DESIGN.md'), 'utf8');
    const sub = design.slice(design.indexOf('### whatif'), design.indexOf('### Library'));
    const block = sub.slice(sub.indexOf('```'), sub.indexOf('```', sub.indexOf('```') + 3));
    const r = await runInProcess({ argv: ['whatif', dump61, '--lspci', dell, '--json'] });
    const j = JSON.parse(r.stdout) as Record<string, Array<Record<string, unknown>> | Record<string, unknown>>;
    const keys = (o: object) => Object.keys(o).map((k) => `"${k}"`);
    const documented = (names: string[]) => {
      let at = -1;
      for (const n of names) {
        const i = block.indexOf(n, at + 1);
        expect(i, `${n} in docs/DESIGN.md after position ${at}`).toBeGreaterThan(at);
        at = i;
      }
    };
    documented(keys(j));
    documented(keys((j.cpus as Array<Record<string, unknown>>)[0]!));
    documented(keys((j.offline as Array<Record<string, unknown>>)[0]!));
    documented(keys((j.devices as Array<Record<string, unknown>>)[0]!));
    for (const n of SIZES) expect(block).toContain(`"${n}"`);
  });
});
