// Cpulists as the matrix command reads them: the range scanner against the regular-expression
// grammar it replaced (property-based), word-wise masks against bit-by-bit ones, and a 10 MB
// one-line cpulist through the command.

import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuMask, parseList } from '../../src/alloc/cpumask.js';
import { MatrixError } from '../../src/alloc/errors.js';
import { fixtureDir, runInProcess } from './harness.js';

/** The grammar as it was written before (split on commas, one regular expression per part). */
function reference(text: string): Array<[number, number]> | 'malformed' | 'descending' {
  const t = text.trim();
  if (t === '') return [];
  const out: Array<[number, number]> = [];
  for (const part of t.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return 'malformed';
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return 'descending';
    out.push([lo, hi]);
  }
  return out;
}

function outcome(text: string): Array<[number, number]> | 'malformed' | 'descending' {
  try {
    return parseList(text);
  } catch (e) {
    expect(e).toBeInstanceOf(MatrixError);
    return (e as MatrixError).message.includes('descending') ? 'descending' : 'malformed';
  }
}

describe('cpulist scanning', () => {
  it('agrees with the regular-expression grammar on hostile strings', () => {
    const alphabet = fc.constantFrom('0', '1', '7', '9', '31', '32', '63', ',', '-', ' ', '\t', '\n', '\u00a0', 'x', '+', '');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 24 }), (parts) => {
        const text = parts.join('');
        expect(outcome(text)).toEqual(reference(text));
      }),
      { numRuns: 3000, seed: 11 },
    );
  });

  it('sets exactly the bits of the ranges, word by word', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(199), fc.nat(60)), { minLength: 1, maxLength: 8 }), (ranges) => {
        const text = ranges.map(([lo, len]) => (len % 3 === 0 ? `${lo}` : `${lo}-${lo + len}`)).join(',');
        const m = CpuMask.parse(text, 260);
        const bits = new Set<number>();
        for (const [lo, len] of ranges) for (let c = lo; c <= (len % 3 === 0 ? lo : lo + len); c++) bits.add(c);
        expect([...m]).toEqual([...bits].sort((a, b) => a - b));
      }),
      { numRuns: 500, seed: 12 },
    );
  });

  it('a 10 MB one-line cpulist runs through irqslice matrix', async () => {
    const dir = fixtureDir({});
    const f = path.join(dir, 'long.txt');
    const parts: string[] = [];
    for (let n = 0, i = 0; n < 10 * 1024 * 1024; i++) {
      const p = i % 3 === 0 ? `${i % 8192}` : `${i % 4096}-${(i % 4096) + 4095}`;
      parts.push(p);
      n += p.length + 1;
    }
    writeFileSync(f, `preset x86\ncpus 8192\nonline 8191\nalloc ${parts.join(',')}\n`);
    const r = await runInProcess({ argv: ['matrix', '--engine', 'js', f] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('{"cpu":8191,"vector":32}');
  });
});
