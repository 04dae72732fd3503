// `irqslice run --show LIST`: the machine after the run in real tools' formats, validated like the
// other list options.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectUsageError, root, runInProcess } from './harness.js';
import { sample } from '../formats/real-samples.js';

const scenario = path.join(root, 'examples/scenarios/linux-6.1-qemu.json');

describe('irqslice run --show', () => {
  it('--show interrupts prints /proc/interrupts alone, with the real header and arch rows of a 4-CPU 6.1 kernel', async () => {
    const r = await runInProcess({ argv: ['run', scenario, '--show', 'interrupts', '--engine', 'js'] });
    expect(r.status, r.stderr).toBe(0);
    const real = sample('qemu-7.2-linux-6.1-q35-4cpu', 'proc-interrupts.txt').split('\n');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(real[0]);
    expect(lines.filter((l) => /^[A-Z]{3}:/.test(l)).map((l) => l.slice(0, 4))).toEqual(real.filter((l) => /^[A-Z]{3}:/.test(l)).map((l) => l.slice(0, 4)));
    expect(r.stdout).toMatch(/^ 24: .* PCI-MSI 49152-edge {6}irqslice$/m);
  });

  it('several formats print in the order given, each under a header; one run by default', async () => {
    const r = await runInProcess({ argv: ['run', scenario, '--show', 'pic,lspci,lapic', '--engine', 'js'] });
    expect(r.status, r.stderr).toBe(0);
    const heads = r.stdout.split('\n').filter((l) => l.startsWith('==> '));
    expect(heads).toEqual(['==> pic <==', '==> lspci <==', '==> lapic <==']);
    expect(r.stdout).toContain('\nioapic0: ver=0x11 id=0x00 ');
    expect(r.stdout).toContain('\npic1: irr=');
    expect(r.stdout).toContain('\n00:03.0 Unassigned class [ff00]: Device fff0:0001 (rev 01)\n');
    expect(r.stdout).toContain('\ndumping local APIC state for CPU 3 \n\n');
  });

  it('all names every format; the built-in scenario with two --policy values gets a header per run', async () => {
    const r = await runInProcess({ argv: ['run', '--show', 'all', '--policy', 'aligned,linux', '--engine', 'js'] });
    expect(r.status, r.stderr).toBe(0);
    const heads = r.stdout.split('\n').filter((l) => l.startsWith('==> '));
    expect(heads).toEqual(['lspci', 'lapic', 'pic', 'interrupts'].flatMap((f) => [`==> ${f} (policy aligned) <==`]).concat(['lspci', 'lapic', 'pic', 'interrupts'].map((f) => `==> ${f} (policy linux) <==`)));
  });

  it('refuses unknown, repeated, empty and missing values, and --json, with exit 2 and one line', async () => {
    expectUsageError(await runInProcess({ argv: ['run', '--show', 'lspci,dmesg'] }), /--show must be lspci, lapic, pic, interrupts or all \(comma-separated\), got "?dmesg"?/);
    expectUsageError(await runInProcess({ argv: ['run', '--show', 'pic,pic'] }), /--show lists pic twice/);
    expectUsageError(await runInProcess({ argv: ['run', '--show', ''] }), /--show must be/);
    expectUsageError(await runInProcess({ argv: ['run', '--show'] }), /--show needs a value/);
    expectUsageError(await runInProcess({ argv: ['run', '--show', 'lapic', '--json'] }), /cannot be combined with --json/);
  });

  it('is in the help', async () => {
    const r = await runInProcess({ argv: ['run', '--help'] });
    expect(r.stdout).toMatch(/--show LIST +instead of the report, print the machine after the run as real tools do/);
  });
});
