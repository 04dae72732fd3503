// The package as a consumer gets it: `npm pack`, the tarball installed into a fresh project with no
// dev dependencies (offline: irqslice has no runtime dependencies), then used the ways the README
// promises — import and require on Node, strict type checks under every moduleResolution on the
// oldest and newest TypeScript the README names, a browser bundle, the script-tag build, and every
// code example of README.md and src/**/README.md, taken from the Markdown itself.
// Needs the built dist/ (`npm test` builds first).

import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { build, transform } from 'esbuild';
import type * as TS from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
/** The oldest TypeScript the README promises (its own workspace, tools/typescript-5.0) and the project's. */
const TYPESCRIPTS = { '5.0': 'tools/typescript-5.0/node_modules/typescript', current: 'node_modules/typescript' } as const;
const MAX_PACKED_BYTES = 500 * 1024;

/** The environment npm gives `npm test`, without its npm_* settings (they would steer the inner npm). */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

/** A fenced code block of a Markdown file. */
interface Example {
  file: string;
  line: number;
  lang: 'ts' | 'js';
  code: string;
}

/**
 * Every ```ts and ```js block. A block that cannot run on its own says so in its info string with a
 * reason, `norun: why` (e.g. ```ts norun: needs a host emulator's bus); it is then neither run nor
 * type-checked. Any other flag is refused, so a typo cannot silently skip an example.
 */
function examples(file: string): Example[] {
  const out: Example[] = [];
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|js|javascript)\b(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const flags = open[2]!.trim();
    if (/^norun\b/.test(flags)) {
      if (!/^norun:\s*\S/.test(flags)) throw new Error(`${file}:${start + 1}: "norun" needs a reason ("norun: why")`);
      continue;
    }
    if (flags !== '') throw new Error(`${file}:${start + 1}: unknown info-string flags "${flags}"`);
    out.push({ file, line: start + 1, lang: open[1]!.startsWith('t') ? 'ts' : 'js', code: body.join('\n') + '\n' });
  }
  return out;
}

function markdownFiles(): string[] {
  const found = ['README.md'];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name === 'README.md') found.push(rel);
    }
  };
  walk('src');
  return found;
}

const EXAMPLES = markdownFiles().flatMap(examples);
/** A JavaScript example that uses require() and no import statement is CommonJS. */
const exampleName = (e: Example, i: number) => `readme-${i}.${e.lang === 'ts' ? 'ts' : /\brequire\(/.test(e.code) && !/^\s*import\s/m.test(e.code) ? 'cjs' : 'mjs'}`;

// Type-level checks a consumer relies on: nothing public is `any`, errors keep their types, the
// precise parameter types refuse what the runtime refuses. `@ts-expect-error` fails the check if an
// error it expects goes away (as happened when declarations did not resolve under skipLibCheck).
const API_TS = `import * as lib from 'irqslice';
import * as browser from 'irqslice/browser';
import { createMatrix, DEFAULT_SCENARIO, IoApic, MatrixError, PciHost, runScenario, type MatrixErrorCode, type ScenarioInput, type ScenarioReport } from 'irqslice';

type IsAny<T> = 0 extends 1 & T ? true : false;
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assert<T extends true>(): void {}

type AnyExports = { [K in keyof typeof lib]: IsAny<(typeof lib)[K]> extends true ? K : never }[keyof typeof lib];
assert<Equal<AnyExports, never>>();
assert<Equal<typeof browser.createMatrix, typeof lib.createMatrix>>();
assert<Equal<Parameters<typeof runScenario>[0], ScenarioInput | string>>();
assert<Equal<IsAny<InstanceType<typeof PciHost>>, false>>();

export async function main(): Promise<void> {
  const m = await createMatrix({ cpus: 2, engine: 'wasm', preset: 'x86' });
  // @ts-expect-error cpus is a number
  void createMatrix({ cpus: 'two' });
  // @ts-expect-error no such engine
  void createMatrix({ cpus: 2, engine: 'gpu' });
  try {
    m.alloc('0');
  } catch (e) {
    if (e instanceof MatrixError) assert<Equal<typeof e.code, MatrixErrorCode>>();
  }
  const io = new IoApic({ id: 2, pins: 24, version: 0x20 });
  io.loadState(io.saveState());
  // @ts-expect-error a scenario names its CPUs
  void runScenario({ devices: [] });
  const r: ScenarioReport = await runScenario(DEFAULT_SCENARIO);
  const ok: boolean = r.ok;
  void ok;
}
`;

// The CommonJS form (\`require\`), for module node16/nodenext where a .cts file is CommonJS.
const CJS_CTS = `import lib = require('irqslice');

type IsAny<T> = 0 extends 1 & T ? true : false;
type AnyExports = { [K in keyof typeof lib]: IsAny<(typeof lib)[K]> extends true ? K : never }[keyof typeof lib];
const none: [AnyExports] extends [never] ? true : false = true;
void none;

export async function main(): Promise<void> {
  const m = lib.createMatrixSync({ cpus: 2, preset: 'x86' }, await lib.compileMatrixModule());
  m.online(0);
  const a: lib.Allocation = m.alloc('0');
  void a;
  // @ts-expect-error cpus is a number
  lib.createMatrixSync({ cpus: 'two' });
}
`;

interface TypecheckCase {
  ts: keyof typeof TYPESCRIPTS;
  resolution: 'nodenext' | 'node16' | 'bundler' | 'node10' | 'node10 (module commonjs)';
  skipLibCheck: boolean;
}

const MODULE_FOR: Record<TypecheckCase['resolution'], [module: string, resolution: string, withExamples: boolean, withCjs: boolean]> = {
  nodenext: ['nodenext', 'nodenext', true, true],
  node16: ['node16', 'node16', true, true],
  bundler: ['esnext', 'bundler', true, false],
  node10: ['esnext', 'node10', true, false],
  'node10 (module commonjs)': ['commonjs', 'node10', false, false],
};

const CASES: TypecheckCase[] = (Object.keys(TYPESCRIPTS) as (keyof typeof TYPESCRIPTS)[]).flatMap((ts) =>
  (Object.keys(MODULE_FOR) as TypecheckCase['resolution'][]).flatMap((resolution) => [false, true].map((skipLibCheck) => ({ ts, resolution, skipLibCheck }))),
);

describe('the packed tarball, installed in a fresh project', () => {
  let dir = '';
  let packed: { size: number; files: { path: string }[] };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'irqslice-consumer-'));
    // --ignore-scripts: dist/ is built already (prepack would build it again).
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, env });
    packed = (JSON.parse(pack.stdout) as (typeof packed & { filename: string })[])[0]!;
    const tgz = path.join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tgz], { cwd: dir, env });
    writeFileSync(path.join(dir, 'api.ts'), API_TS);
    writeFileSync(path.join(dir, 'cjs.cts'), CJS_CTS);
    for (const [i, e] of EXAMPLES.entries()) writeFileSync(path.join(dir, exampleName(e, i)), e.code);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is at most 500 KB packed and holds the built package only (no sources, source maps or bench)', () => {
    expect(packed.size).toBeLessThanOrEqual(MAX_PACKED_BYTES);
    const files = packed.files.map((f) => f.path);
    for (const f of files) expect(f).toMatch(/^(LICENSE|README\.md|package\.json|dist\/(index\.js|index\.cjs|cli\.js|irqslice\.browser\.js|irqslice\.min\.js|adapters\/[\w-]+\.c?js|types\/.+\.d\.cts)|examples\/.+\.(json|txt|md))$/);
    for (const need of ['LICENSE', 'README.md', 'dist/index.js', 'dist/index.cjs', 'dist/cli.js', 'dist/irqslice.browser.js', 'dist/irqslice.min.js', 'dist/types/src/index.d.cts']) expect(files).toContain(need);
  });

  it('the main entry imports nothing at all: no dependency, optional or not, and no Node built-in', () => {
    for (const f of ['index.cjs', 'irqslice.browser.js', 'irqslice.min.js']) {
      let text = readFileSync(path.join(dir, 'node_modules/irqslice/dist', f), 'utf8');
      // The browser ESM loads its sibling script-tag build (the one browser copy of the code), nothing else.
      if (f === 'irqslice.browser.js') text = text.replace(/^import '\.\/irqslice\.min\.js';$/m, '');
      expect(text, f).not.toMatch(/\brequire\(\s*["'`]|\bimport\s*\(\s*["'`]|^\s*import\s[^;]*["'`];?$/m);
    }
  });

  it('every embedding adapter (src/adapters/<host>) is its own subpath, for every resolver', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    const dirAdapters = path.join(root, 'src', 'adapters');
    const hosts = existsSync(dirAdapters) ? readdirSync(dirAdapters).filter((h) => existsSync(path.join(dirAdapters, h, 'index.ts'))) : [];
    for (const host of hosts) {
      const types = `./dist/types/src/adapters/${host}/index.d.cts`;
      expect(pkg.exports[`./${host}`]).toEqual({ types, import: `./dist/adapters/${host}.js`, require: `./dist/adapters/${host}.cjs` });
      expect(pkg.typesVersions['*']![host]).toEqual([types]);
    }
    // The main entry and the browser subpath are not adapters and need no host.
    expect(pkg.exports['.']!.types).toBe('./dist/types/src/index.d.cts');
  });

  it('import and require share one instance that allocates, boots and probes', async () => {
    writeFileSync(
      path.join(dir, 'both.mjs'),
      `import * as lib from 'irqslice';
import def from 'irqslice';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('irqslice');
const m = await lib.createMatrix({ cpus: 2, engine: 'wasm', preset: 'x86' });
m.online(0); m.online(1);
const block = m.allocBlock('0-1', 32);
const r = await lib.runScenario(lib.DEFAULT_SCENARIO);
const b = await import('irqslice/browser');
const bm = await b.createMatrix({ cpus: 1, preset: 'x86' });
bm.online(0);
console.log(JSON.stringify({ same: cjs.MatrixError === lib.MatrixError && def === cjs, block, ok: r.ok, browser: bm.alloc('0') }));
`,
    );
    writeFileSync(
      path.join(dir, 'req.cjs'),
      `const lib = require('irqslice');
lib.compileMatrixModule().then(async (mod) => {
  const m = lib.createMatrixSync({ cpus: 2, preset: 'x86' }, mod);
  m.online(0); m.online(1);
  const js = lib.createMatrixSync({ cpus: 2, engine: 'js', preset: 'x86' });
  js.online(0);
  let code = null;
  try { js.alloc('1'); } catch (e) { code = e instanceof lib.MatrixError ? e.code : String(e); }
  const r = await lib.runScenario(JSON.stringify(lib.DEFAULT_SCENARIO));
  console.log(JSON.stringify({ block: m.allocBlock([0, 1], 32), single: js.alloc('0'), code, ok: r.ok }));
});
`,
    );
    const esm = JSON.parse((await run(process.execPath, ['both.mjs'], { cwd: dir })).stdout);
    // x86 preset (Linux >= 6.10): bits 0x20..0xEA allocatable, 0x32 and 0x80 system bits on every
    // CPU, so the first aligned 32-run free on either CPU is 0x40; equal availability: lowest CPU.
    // A single vector on one CPU: the lowest free bit, 0x20.
    expect(esm).toEqual({ same: true, block: { cpu: 0, base: 0x40, count: 32 }, ok: true, browser: { cpu: 0, vector: 0x20 } });
    const cjs = JSON.parse((await run(process.execPath, ['req.cjs'], { cwd: dir })).stdout);
    // A mask of offline CPUs only: irq_matrix_alloc finds no CPU and returns -ENOSPC.
    expect(cjs).toEqual({ block: { cpu: 0, base: 0x40, count: 32 }, single: { cpu: 0, vector: 0x20 }, code: 'ENOSPC', ok: true });
  });

  it('the irqslice command runs from node_modules/.bin', async () => {
    const r = await run(path.join(dir, 'node_modules/.bin/irqslice'), ['run', '--policy', 'aligned'], { cwd: dir });
    expect(r.stdout).toMatch(/\bPASS\b/);
  });

  it.each(CASES)('strict type check: TypeScript $ts, moduleResolution $resolution, skipLibCheck $skipLibCheck', ({ ts, resolution, skipLibCheck }) => {
    const [module, moduleResolution, withExamples, withCjs] = MODULE_FOR[resolution];
    const files = ['api.ts', ...(withCjs ? ['cjs.cts'] : []), ...(withExamples ? EXAMPLES.flatMap((e, i) => (e.lang === 'ts' ? [exampleName(e, i)] : [])) : [])];
    // skipDefaultLibCheck: TypeScript's own lib files are not the subject; irqslice's declarations
    // are checked whenever skipLibCheck is false.
    const compilerOptions = { strict: true, noEmit: true, target: 'es2022', module, moduleResolution, skipLibCheck, skipDefaultLibCheck: true, types: [] };
    expect(typecheck(ts, dir, compilerOptions, files)).toEqual([]);
  });

  it.each(EXAMPLES.map((e, i) => [`${e.file}:${e.line}`, e, i] as const))('the example at %s runs', async (_where, e, i) => {
    let file = exampleName(e, i);
    if (e.lang === 'ts') {
      const js = await transform(e.code, { loader: 'ts', format: 'esm', target: 'node20' });
      file = file.replace(/\.ts$/, '.mjs');
      writeFileSync(path.join(dir, file), js.code);
    }
    await run(process.execPath, [file], { cwd: dir, timeout: 30_000 });
  });

  it('esbuild bundles it for the browser (the browser build, no Node built-ins) and the bundle runs without Node globals', async () => {
    writeFileSync(
      path.join(dir, 'web.mjs'),
      `import irqslice, { createMatrix, runScenario, DEFAULT_SCENARIO } from 'irqslice';
const m = await createMatrix({ cpus: 2, preset: 'x86' });
m.online(0); m.online(1);
globalThis.result = { block: m.allocBlock('0-1', 32), ok: (await runScenario(DEFAULT_SCENARIO)).ok, sameDefault: irqslice.createMatrix === createMatrix };
`,
    );
    const out = await build({ entryPoints: [path.join(dir, 'web.mjs')], absWorkingDir: dir, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    expect(Object.keys(out.metafile.inputs)).toContain('node_modules/irqslice/dist/irqslice.browser.js');
    const ctx = await inBrowserLikeContext(out.outputFiles[0]!.text.replace(/^export\s*\{\s*\};?\s*$/m, ''), true);
    expect(ctx.result).toEqual({ block: { cpu: 0, base: 0x40, count: 32 }, ok: true, sameDefault: true });
  });

  it('the script-tag build defines the global irqslice, WASM engine included', async () => {
    const iife = readFileSync(path.join(dir, 'node_modules/irqslice/dist/irqslice.min.js'), 'utf8');
    const ctx = await inBrowserLikeContext(
      `${iife}
(async () => {
  const m = await irqslice.createMatrix({ cpus: 2, engine: 'wasm', preset: 'x86' });
  m.online(0); m.online(1);
  globalThis.result = { block: m.allocBlock('0-1', 32), ok: (await irqslice.runScenario(irqslice.DEFAULT_SCENARIO)).ok };
})();`,
      false,
    );
    expect(ctx.result).toEqual({ block: { cpu: 0, base: 0x40, count: 32 }, ok: true });
  });
});

/**
 * Runs a script in a fresh V8 context holding what a browser page has and Node alone adds
 * (atob) — no process, Buffer, require — and waits until it sets globalThis.result.
 */
async function inBrowserLikeContext(code: string, asModule: boolean): Promise<{ result?: unknown; error?: string }> {
  const ctx = vm.createContext({ atob, console: { log() {}, error() {}, warn() {} } });
  const wrapped = asModule ? `(async () => {\n${code}\n})().catch((e) => { globalThis.error = String(e && e.stack || e); });` : code;
  vm.runInContext(wrapped, ctx, { timeout: 10_000 });
  for (let i = 0; i < 200 && ctx.result === undefined && ctx.error === undefined; i++) await new Promise((r) => setTimeout(r, 25));
  if (ctx.error !== undefined) throw new Error(String(ctx.error));
  return ctx as { result?: unknown };
}

/** Lib files parsed once per TypeScript version, shared by every program (as a language service does). */
const libCache = new Map<string, Map<string, TS.SourceFile | undefined>>();

/** Type-checks `files` in `dir` in-process (a tsc per case costs seconds of start-up each). */
function typecheck(version: keyof typeof TYPESCRIPTS, dir: string, compilerOptions: Record<string, unknown>, files: string[]): string[] {
  const where = path.join(root, TYPESCRIPTS[version]);
  if (!existsSync(where)) return [`${where} is missing (npm ci installs it)`];
  const ts = createRequire(import.meta.url)(where) as typeof TS;
  const { options, errors } = ts.convertCompilerOptionsFromJson(compilerOptions, dir);
  if (errors.length) return errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  const host = ts.createCompilerHost(options);
  const cache = libCache.get(version) ?? new Map<string, TS.SourceFile | undefined>();
  libCache.set(version, cache);
  const parse = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!fileName.startsWith(where)) return parse(fileName, languageVersion, onError, shouldCreate);
    const key = `${fileName} ${JSON.stringify(languageVersion)}`;
    if (!cache.has(key)) cache.set(key, parse(fileName, languageVersion, onError, shouldCreate));
    return cache.get(key);
  };
  const program = ts.createProgram({ rootNames: files.map((f) => path.join(dir, f)), options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' }).trim());
}
