// The matrix script language of docs/DESIGN.md §4: one JSON object per operation line, errors as JSON,
// malformed lines stop the script with their line number and exit status 2.

import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../src/alloc/errors.js';
import { runMatrixScript } from '../../src/alloc/script.js';
import { ENGINES } from './helpers.js';

const lines = (out: string) => out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each(ENGINES)('%s: runMatrixScript', (engine) => {
  it('runs the x86 preset: four CPUs spread, then CPU 0 again', async () => {
    const r = await runMatrixScript('preset x86\ncpus 4\nonline 0\nonline 1\nonline 2\nonline 3\nalloc 0-3\nalloc 0-3\nalloc 0-3\nalloc 0-3\nalloc 0-3\n', { engine });
    expect(r.exitCode).toBe(0);
    expect(lines(r.output).slice(6)).toEqual([
      { cpu: 0, vector: 0x20 },
      { cpu: 1, vector: 0x20 },
      { cpu: 2, vector: 0x20 },
      { cpu: 3, vector: 0x20 },
      { cpu: 0, vector: 0x21 },
    ]);
  });

  it('accepts comments, blank lines, hex and decimal, and reports stats/cpu with the contract keys', async () => {
    const r = await runMatrixScript(
      '# header\n\nmatrix 256 0x20 235   # same as the x86 geometry\ncpus 2\nsystem 50\nsystem 0x80\nonline 1\nstats\ncpu 1\n',
      { engine },
    );
    expect(r.exitCode).toBe(0);
    const out = lines(r.output);
    expect(out[5]).toEqual({ online_maps: 1, global_available: 201, global_reserved: 0, total_allocated: 0, systembits_inalloc: 2 });
    expect(out[6]).toEqual({ cpu: 1, online: true, available: 201, allocated: 0, managed: 0, managed_allocated: 0 });
  });

  it('accepts system lines between the matrix line and the cpus line, as preset x86 expands', async () => {
    const r = await runMatrixScript('matrix 256 0x20 0xeb\nsystem 0x32\nsystem 0x80\nsystem 300\ncpus 1\nonline 0\nstats\n', { engine });
    expect(r.exitCode).toBe(0);
    const out = lines(r.output);
    expect(out.slice(0, 3)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(out[3]).toMatchObject({ error: 'BUG' }); // bit 300 > matrix_bits
    expect(out[6]).toEqual({ online_maps: 1, global_available: 201, global_reserved: 0, total_allocated: 0, systembits_inalloc: 2 });
  });

  it('prints kernel failures as {"error","detail"} and keeps going', async () => {
    const r = await runMatrixScript('preset x86\ncpus 1\nalloc 0\nonline 0\nonline 0\nfree 0 0x20\nalloc_block 0 3\nalloc 0\n', { engine });
    expect(r.exitCode).toBe(0);
    const out = lines(r.output);
    expect(out[2]).toMatchObject({ error: 'ENOSPC' }); // CPU 0 not online yet
    expect(out[4]).toMatchObject({ error: 'BUG' }); // online twice
    expect(out[5]).toMatchObject({ error: 'WARN' }); // free of a bit never allocated
    expect(out[6]).toMatchObject({ error: 'EINVAL' }); // count 3 is not a power of two
    expect(out[7]).toEqual({ cpu: 0, vector: 0x20 });
  });

  it('alloc_block, free_block, reserve/unreserve, managed ops and dump', async () => {
    const r = await runMatrixScript(
      'preset x86\ncpus 2\nonline 0\nonline 1\nalloc_block 0-1 32\nfree_block 0 0x40 32\nreserve\nalloc 1 reserved\nunreserve\nreserve_managed 0-1\nalloc_managed 0-1\nfree 1 0x21 managed\nremove_managed 0-1\ndump\n',
      { engine },
    );
    const out = lines(r.output);
    expect(out[4]).toEqual({ cpu: 0, base: 0x40, count: 32 });
    expect(out[5]).toEqual({ ok: true });
    expect(out[7]).toEqual({ cpu: 1, vector: 0x20 }); // mask "1": CPU 1 only
    expect(out[8]).toMatchObject({ error: 'WARN' }); // the reservation was consumed by alloc reserved
    // reserve_managed put CPU 0's managed bit at 0x20 and CPU 1's at 0x21 (0x20 is allocated there);
    // alloc_managed ties (0 managed_allocated each) go to the LAST CPU.
    expect(out[10]).toEqual({ cpu: 1, vector: 0x21 });
    expect(String(out[13]!.text)).toContain(' | CPU | avl | man | mac | act | vectors');
  });

  it.each([
    ['frobnicate 1', 1, /unknown operation "frobnicate"/],
    ['cpus 2\nonline 0', 2, /before the matrix is set up/],
    ['preset x86\ncpus 2\nonline zero', 3, /CPU "zero" is not a decimal or 0x number/],
    ['preset x86\ncpus 2\nalloc 0-', 3, /MASK "0-" is not a cpulist/],
    ['preset x86\ncpus 2\nfree 0', 3, /free takes 2..3 argument/],
    ['preset x86\ncpus 2\nfree 0 0x20 maybe', 3, /expected "managed"/],
    ['preset arm\ncpus 2', 1, /unknown preset/],
    ['preset x86\npreset x86', 2, /already defined/],
    ['preset x86\ncpus 9000', 2, /cpus 9000 is outside 1..8192/],
  ])('malformed %j stops at line %i with exit 2', async (text, line, msg) => {
    const r = await runMatrixScript(`${text}\nonline 0\n`, { engine });
    expect(r.exitCode).toBe(2);
    expect(r.error?.line).toBe(line);
    expect(r.error?.message).toMatch(msg);
    // Nothing after the malformed line ran: one output per earlier operation line only.
    expect(r.results.every((x) => x.line < line)).toBe(true);
  });
});

describe('runMatrixScript: API misuse is a MatrixError (EINVAL), script content never throws', () => {
  it.each([
    ['null', null], ['undefined', undefined], ['a number', 42], ['an array of lines', ['preset x86']], ['a Buffer-like object', { length: 3 }], ['a symbol', Symbol('s')],
  ])('the script as %s', async (_what, text) => {
    await expect(runMatrixScript(text as never)).rejects.toMatchObject({ name: 'MatrixError', code: 'EINVAL' });
  });

  it.each([
    ['null', null], ['an array', []], ['engine "gpu"', { engine: 'gpu' }], ['engine null', { engine: null }], ['an unknown option', { engine: 'js', placement: 'bestFit' }],
  ])('options as %s', async (_what, options) => {
    await expect(runMatrixScript('preset x86\ncpus 1\n', options as never)).rejects.toBeInstanceOf(MatrixError);
  });

  it('binary and control bytes in a malformed line are escaped in the message, never echoed raw', async () => {
    const r = await runMatrixScript('preset x86\ncpus 1\n\u0000\u001b[31m\u0085\u007f 1\n');
    expect(r.exitCode).toBe(2);
    expect(r.error).toEqual({ line: 3, message: 'unknown operation "\\u0000\\u001b[31m\\u0085\\u007f"' });
  });

  it('a very long token is cut in the message', async () => {
    const r = await runMatrixScript(`preset x86\ncpus 1\nonline ${'9'.repeat(10_000)}x\n`);
    expect(r.error?.message).toBe(`CPU "${'9'.repeat(40)}…" is not a decimal or 0x number`);
  });
});
