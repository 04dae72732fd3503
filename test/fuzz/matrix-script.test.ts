// Matrix scripts as a hostile user writes them: random lines of the grammar (SCRIPT_GRAMMAR), valid,
// out of range, malformed and out of order, with odd whitespace, comments and CRLF. Property: the
// first malformed line — known from the grammar, not from the runner — is reported with its line
// number, every operation line before it printed one JSON object and nothing after it ran; both
// engines print the same; nothing throws.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../src/alloc/errors.js';
import { runMatrixScript, type ScriptResult } from '../../src/alloc/script.js';
import { fcParams } from './params.js';

/** A generated line: its text and whether the grammar rejects it in any context. */
interface Line {
  text: string;
  kind: 'op' | 'broken' | 'matrix' | 'cpus' | 'placement' | 'system' | 'blank';
  /** matrix: [bits, start, end]; cpus: [n]; placement: [valid ? 1 : 0]. */
  args?: number[];
}

const num = fc.oneof(
  { weight: 6, arbitrary: fc.nat(20).map(String) },
  { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0xff }).map((n) => `0x${n.toString(16)}`) },
  { weight: 1, arbitrary: fc.constantFrom('0', '007', '0XEB', '255', '256', '4294967295', '4294967296', '99999999999999999999', '0x7fffffff', '8192') },
);
const badNum = fc.constantFrom('-1', '1.5', '0x', 'ten', '1e3', '+3', '0b11', '٣', '0x1g', '½', 'NaN', 'Infinity');
const mask = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.nat(15), fc.nat(15)).map(([a, b]) => (a === b ? `${a}` : `${Math.min(a, b)}-${Math.max(a, b)}`)) },
  { weight: 2, arbitrary: fc.array(fc.nat(20), { minLength: 1, maxLength: 4 }).map((xs) => xs.join(',')) },
  { weight: 1, arbitrary: fc.constantFrom('0-8191', '0-99999999999', '4294967295', '0-3,8-11') },
);
const badMask = fc.constantFrom('0-', '3-1', 'a', '0,,1', '-1', '0x1', '1;2', '0-3-5');

/** op name → argument shapes: N number, M mask, or a literal flag (optional when suffixed with ?). */
const GRAMMAR: Record<string, string[]> = {
  online: ['N'], offline: ['N'], system: ['N', 'replace?'], assign: ['N', 'N'], reserve: [], unreserve: [],
  reserve_managed: ['M'], remove_managed: ['M'], alloc: ['M', 'reserved?'], alloc_managed: ['M'],
  free: ['N', 'N', 'managed?'], alloc_block: ['M', 'N', 'reserved?'], free_block: ['N', 'N', 'N'], stats: [], cpu: ['N'], dump: [],
};
const OPS = Object.keys(GRAMMAR);

const space = fc.constantFrom(' ', ' ', ' ', '  ', '\t', ' \t ');
const comment = fc.constantFrom('', '', '', ' # note', '\t#', '#x # y');

function joinTokens(tokens: string[], seps: string[], lead: string, tail: string): string {
  return lead + tokens.map((t, i) => (i === 0 ? t : seps[i % seps.length] + t)).join('') + tail;
}

/** A well-formed operation line (its arguments may still be out of range: the API answers those). */
const opLine: fc.Arbitrary<Line> = fc
  .tuple(fc.constantFrom(...OPS), fc.array(num, { minLength: 3, maxLength: 3 }), mask, fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.array(space, { minLength: 1, maxLength: 3 }), fc.constantFrom('', ' ', '\t'), comment)
  .map(([op, nums, m, flags, seps, lead, tail]) => {
    const tokens = [op];
    let n = 0;
    GRAMMAR[op]!.forEach((shape, i) => {
      if (shape === 'N') tokens.push(nums[n++]!);
      else if (shape === 'M') tokens.push(m);
      else if (flags[i]) tokens.push(shape.slice(0, -1));
    });
    return { text: joinTokens(tokens, seps, lead, tail), kind: op === 'system' ? 'system' : 'op' } as Line;
  });

/** A line the grammar rejects wherever it appears. */
const brokenLine: fc.Arbitrary<Line> = fc
  .tuple(fc.constantFrom(...OPS), fc.nat(5), badNum, badMask, num, mask)
  .chain(([op, how, bn, bm, n, m]) => {
    const shapes = GRAMMAR[op]!;
    const required = shapes.filter((s) => !s.endsWith('?'));
    const good = shapes.map((s) => (s === 'N' ? n : s === 'M' ? m : s.slice(0, -1)));
    const variants: string[] = [
      ['allocate', 'ALLOC', 'alloc_blocks', 'free-block', 'onl ine', 'matrix_', '0', '"alloc"'][how % 8]! + ' 0',
      [op, ...good, 'extra'].join(' '), // one argument too many
    ];
    if (required.length > 0) variants.push([op, ...good.slice(0, required.length - 1)].join(' ')); // one too few
    const ni = shapes.indexOf('N');
    if (ni >= 0) variants.push([op, ...good.map((g, i) => (i === ni ? bn : g))].join(' '));
    const mi = shapes.indexOf('M');
    if (mi >= 0) variants.push([op, ...good.map((g, i) => (i === mi ? bm : g))].join(' '));
    const fi = shapes.findIndex((s) => s.endsWith('?'));
    if (fi >= 0) variants.push([op, ...good.slice(0, fi), fi === shapes.length - 1 && shapes[fi] === 'managed?' ? 'reserved' : 'managed'].join(' '));
    return fc.constantFrom(...variants).map((text) => ({ text, kind: 'broken' }) as Line);
  });

const geometry = fc.oneof(
  { weight: 5, arbitrary: fc.constant([256, 0x20, 0xeb]) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 256 }), fc.nat(255), fc.nat(256)).map(([b, s, e]) => [b, Math.min(s, b - 1), Math.max(Math.min(e, b), Math.min(s, b - 1) + 1)]) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300)) },
);
const matrixLine: fc.Arbitrary<Line> = fc.oneof(
  fc.constant({ text: 'preset x86', kind: 'matrix', args: [256, 0x20, 0xeb] } as Line),
  geometry.map(([b, s, e]) => ({ text: `matrix ${b} 0x${s.toString(16)} ${e}`, kind: 'matrix', args: [b, s, e] }) as Line),
);
const cpusLine: fc.Arbitrary<Line> = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constantFrom(0, 8192, 8193)).map((n) => ({ text: `cpus ${n}`, kind: 'cpus', args: [n] }) as Line);
const placementLine: fc.Arbitrary<Line> = fc.constantFrom('firstFit', 'bestFit', 'worstFit').map((p) => ({ text: `placement ${p}`, kind: 'placement', args: [p === 'worstFit' ? 0 : 1] }) as Line);
const blankLine: fc.Arbitrary<Line> = fc.constantFrom('', '   ', '# comment', '\t# alloc 0', ' #').map((text) => ({ text, kind: 'blank' }) as Line);

const script = fc
  .tuple(
    fc.option(placementLine, { nil: undefined, freq: 4 }),
    fc.option(matrixLine, { nil: undefined, freq: 10 }),
    fc.option(cpusLine, { nil: undefined, freq: 10 }),
    fc.array(
      fc.oneof({ weight: 30, arbitrary: opLine }, { weight: 2, arbitrary: brokenLine }, { weight: 3, arbitrary: blankLine }, { weight: 1, arbitrary: matrixLine }, { weight: 1, arbitrary: cpusLine }, { weight: 1, arbitrary: placementLine }),
      { maxLength: 40 },
    ),
    fc.constantFrom('\n', '\n', '\r\n'),
    fc.boolean(),
  )
  .map(([p, m, c, body, eol, finalEol]) => {
    const lines = [p, m, c, ...body].filter((l): l is Line => l !== undefined);
    // Most scripts start with the online CPUs, so that operations reach the engines.
    return { lines, text: lines.map((l) => l.text).join(eol) + (finalEol ? eol : '') };
  });

/** Where the grammar and the set-up rules (SCRIPT_GRAMMAR) stop a script: its first bad line, 1-based. */
function expectedStop(lines: Line[]): number | undefined {
  let geometry: number[] | undefined;
  let cpus: number | undefined;
  let created = false;
  const create = (): boolean => {
    if (created || geometry === undefined || cpus === undefined) return true;
    const [bits, start, end] = geometry as [number, number, number];
    created = true;
    return cpus >= 1 && cpus <= 8192 && bits >= 1 && bits <= 256 && start >= 0 && start <= bits - 1 && end >= start + 1 && end <= bits;
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const bad = (() => {
      switch (l.kind) {
        case 'blank': return false;
        case 'broken': return true;
        case 'matrix':
          if (geometry) return true;
          geometry = l.args;
          return !create();
        case 'cpus':
          if (cpus !== undefined) return true;
          cpus = l.args![0];
          return !create();
        case 'placement': return created || l.args![0] === 0;
        case 'system': return !geometry; // allowed between the matrix line and the cpus line
        default: return !created;
      }
    })();
    if (bad) return i + 1;
  }
  return undefined;
}

const ERROR_CODES = ['ENOSPC', 'EINVAL', 'WARN', 'BUG'];

function checkResult(r: ScriptResult, lines: Line[]): void {
  const stop = expectedStop(lines);
  expect(r.error?.line).toBe(stop);
  expect(r.exitCode).toBe(stop === undefined ? 0 : 2);
  if (r.error) expect(r.error.message.length).toBeGreaterThan(0);
  // Every operation line before the stop printed one object, in order, and nothing after it ran.
  const ran = lines.map((l, i) => ({ l, n: i + 1 })).filter(({ l, n }) => l.kind !== 'blank' && (stop === undefined || n < stop));
  expect(r.results.map((x) => x.line)).toEqual(ran.map((x) => x.n));
  expect(r.output).toBe(r.results.map((x) => JSON.stringify(x.result) + '\n').join(''));
  for (const { result } of r.results) {
    expect(typeof result).toBe('object');
    if ('error' in result) {
      expect(ERROR_CODES).toContain(result.error);
      expect(typeof result.detail).toBe('string');
    }
  }
}

describe('matrix script fuzz', () => {
  it('random scripts: the first malformed line stops the script with its number, nothing after it runs, both engines agree', async () => {
    let stopped = 0;
    let completed = 0;
    let apiErrors = 0;
    await fc.assert(
      fc.asyncProperty(script, async ({ lines, text }) => {
        const w = await runMatrixScript(text, { engine: 'wasm' });
        const j = await runMatrixScript(text, { engine: 'js' });
        checkResult(w, lines);
        expect(j.output).toBe(w.output);
        expect(j.error).toEqual(w.error);
        if (w.error) stopped++;
        else completed++;
        apiErrors += w.results.filter((x) => 'error' in x.result).length;
      }),
      fcParams(0x5c21b7, 400),
    );
    expect(stopped).toBeGreaterThan(50);
    expect(completed).toBeGreaterThan(50);
    expect(apiErrors).toBeGreaterThan(50);
  });

  it('a long valid script runs to the end; a malformed line placed anywhere in it stops it exactly there', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opLine, { minLength: 50, maxLength: 200 }), brokenLine, fc.nat(), async (ops, broken, where) => {
        const head: Line[] = [{ text: 'preset x86', kind: 'matrix', args: [256, 0x20, 0xeb] }, { text: 'cpus 8', kind: 'cpus', args: [8] }];
        const online: Line[] = Array.from({ length: 8 }, (_, c) => ({ text: `online ${c}`, kind: 'op' }) as Line);
        const ok = [...head, ...online, ...ops];
        checkResult(await runMatrixScript(ok.map((l) => l.text).join('\n'), { engine: 'wasm' }), ok);
        const at = head.length + (where % (ok.length - head.length + 1));
        const bad = [...ok.slice(0, at), broken, ...ok.slice(at)];
        const r = await runMatrixScript(bad.map((l) => l.text).join('\n'), { engine: 'js' });
        checkResult(r, bad);
        expect(r.error?.line).toBe(at + 1);
      }),
      fcParams(0x5c21b8, 40),
    );
  });

  it('arbitrary text (any code points, NULs, lone surrogates) never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (text) => {
        const r = await runMatrixScript(text, { engine: 'js' });
        expect([0, 2]).toContain(r.exitCode);
        if (r.error) expect(r.results.every((x) => x.line < r.error!.line)).toBe(true);
      }),
      fcParams(0x5c21b9, 300),
    );
  });

  it('a non-string script or bad options: a typed error, never a TypeError from inside', async () => {
    const builtins = [TypeError, RangeError, ReferenceError, SyntaxError];
    for (const [input, options] of [
      [null, {}], [undefined, {}], [42, {}], [{ split: 1 }, {}], [['alloc 0'], {}], [Buffer.from('preset x86'), {}],
      ['preset x86\ncpus 1', { engine: 'gpu' }], ['preset x86\ncpus 1', null], ['preset x86\ncpus 1', 'wasm'],
    ] as const) {
      let thrown: unknown;
      let result: ScriptResult | undefined;
      try {
        result = await runMatrixScript(input as unknown as string, options as never);
      } catch (e) {
        thrown = e;
      }
      const what = `runMatrixScript(${String(input)}, ${JSON.stringify(options)})`;
      if (thrown === undefined) {
        expect(result!.exitCode, what).toBe(2); // answered as a malformed script is fine too
        continue;
      }
      expect(thrown, what).toBeInstanceOf(Error);
      expect(builtins.some((B) => (thrown as Error).constructor === B), `${what}: ${String(thrown)}`).toBe(false);
      if (thrown instanceof MatrixError) expect(thrown.code).toBe('EINVAL');
    }
  });
});
