// Progress of long CLI work (src/cli/progress.ts) on a non-terminal stderr, with a fake clock.

import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { createProgress } from '../../src/cli/progress.js';

function io(): { io: CliIo; err: string[] } {
  const err: string[] = [];
  return {
    err,
    io: { stdout: () => {}, stderr: (t) => void err.push(t), stdin: async function* () {}, stdinIsTTY: false, stderrIsTTY: false },
  };
}

describe('progress on stderr', () => {
  it('says nothing for work that ends within the first second', async () => {
    const { io: cli, err } = io();
    let t = 0;
    const p = await createProgress(cli, 'job', 100, 'runs', () => t);
    for (let i = 0; i < 100; i++) (p.tick(), (t += 9));
    p.done();
    expect(err).toEqual([]);
  });

  it('after the first second: a line, then one per tenth of the work, and a last line', async () => {
    const { io: cli, err } = io();
    let t = 0;
    const p = await createProgress(cli, 'job', 100, 'runs', () => t);
    for (let i = 0; i < 100; i++) (p.tick(), (t += 100));
    p.done();
    // Tick n comes at t = (n − 1)·100 ms: visible from tick 11; then at 20 %, 30 %, … 100 %, and
    // done() repeats the total.
    expect(err).toEqual([
      'job: 11/100 runs (11%), 1 s\n',
      ...[20, 30, 40, 50, 60, 70, 80, 90, 100].map((n) => `job: ${n}/100 runs (${n}%), ${n / 10} s\n`),
      'job: 100/100 runs (100%), 10 s\n',
    ]);
  });

  it('a slow stretch still prints a line every 15 s', async () => {
    const { io: cli, err } = io();
    let t = 0;
    const p = await createProgress(cli, 'job', 1000, 'trials', () => t);
    t = 1000;
    p.tick(); // visible: 1/1000
    t = 17_000;
    p.tick(); // 2/1000, 16 s since the last line
    t = 18_000;
    p.tick(); // nothing: neither a tenth nor 15 s
    expect(err).toEqual(['job: 1/1000 trials (0%), 1 s\n', 'job: 2/1000 trials (0%), 17 s\n']);
  });

  it('grow() raises the total of an estimate that proved low', async () => {
    const { io: cli, err } = io();
    let t = 2000;
    const p = await createProgress(cli, 'job', 2, 'runs', () => t);
    t = 5000;
    p.tick();
    p.grow(4);
    p.tick();
    p.done();
    expect(err.at(-1)).toBe('job: 2/4 runs (50%), 3 s\n');
  });
});
