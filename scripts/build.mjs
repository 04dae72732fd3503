// Bundles the published JavaScript with esbuild. The WASM is already inlined by build-wasm.mjs as a
// generated module, and the library has no top-level await and no Node built-ins, so one source
// serves every format:
//   dist/index.cjs            the library for Node, CommonJS (require('irqslice'))
//   dist/index.js             its ESM face (import 'irqslice'): re-exports index.cjs, so import and
//                             require share one instance (one MatrixError class, one WASM module cache)
//   dist/cli.js               the irqslice command: its own code only, the library through index.cjs
//   dist/irqslice.min.js      script-tag build (IIFE, global `irqslice`), minified: the one browser copy
//   dist/irqslice.browser.js  ESM for browsers and bundlers (irqslice/browser): a few lines that load
//                             irqslice.min.js and re-export its global, so the tarball carries the
//                             browser code once, not twice
//   dist/adapters/<host>.cjs/.js  each embedding adapter src/adapters/<host>/index.ts (the subpath
//                             irqslice/<host>): its own code only; the library comes from the main
//                             entry and the host's packages stay external (README "Package layout")
// `--bench` builds only dist/bench.js, the benchmark runner (`npm run bench`; never published).
// Prints nothing unless something fails.
import { build } from 'esbuild';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const common = { bundle: true, logLevel: 'warning', legalComments: 'none' };

if (process.argv.includes('--bench')) {
  await build({ ...common, entryPoints: ['bench/main.ts'], outfile: 'dist/bench.js', platform: 'node', format: 'esm', target: 'node20', sourcemap: true });
  process.exit(0);
}

// Outputs of earlier layouts (source maps, chunks, a bench bundle) must not linger in dist/.
for (const f of ['lib', 'adapters', 'index.js', 'index.cjs', 'cli.js', 'irqslice.browser.js', 'irqslice.min.js', 'index.js.map', 'cli.js.map', 'irqslice.browser.js.map', 'bench.js', 'bench.js.map']) {
  rmSync(path.join('dist', f), { recursive: true, force: true });
}

/** The CLI's imports of library modules (anything outside src/cli/) become imports of index.cjs. */
const libraryAsIndex = {
  name: 'library-as-index',
  setup(b) {
    const cli = path.join(root, 'src', 'cli') + path.sep;
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(cli)) return undefined;
      if (path.resolve(path.dirname(args.importer), args.path).startsWith(cli)) return undefined;
      return { path: './index.cjs', external: true };
    });
  },
};


/**
 * An adapter's import of the public index becomes the main entry of the format built; anything else
 * outside its own folder is refused, so an adapter never carries a second copy of the library.
 */
const adapterImports = (index) => ({
  name: 'adapter-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = path.resolve(path.dirname(args.importer), args.path);
      if (target === path.join(root, 'src', 'index.js') || target === path.join(root, 'src', 'index.ts')) return { path: index, external: true };
      const own = path.join(adaptersDir, path.relative(adaptersDir, args.importer).split(path.sep)[0]);
      if (!target.startsWith(own + path.sep)) return { errors: [{ text: `adapters use the library through src/index.ts only, not ${path.relative(root, target)}` }] };
      return undefined;
    });
  },
});
const adaptersDir = path.join(root, 'src', 'adapters');
const adapters = existsSync(adaptersDir) ? readdirSync(adaptersDir).filter((h) => existsSync(path.join(adaptersDir, h, 'index.ts'))) : [];
const adapterBuilds = adapters.flatMap((host) =>
  [['cjs', '../index.cjs'], ['esm', '../index.js']].map(([format, index]) =>
    build({
      ...common,
      entryPoints: [path.join('src', 'adapters', host, 'index.ts')],
      outfile: path.join('dist', 'adapters', `${host}.${format === 'cjs' ? 'cjs' : 'js'}`),
      platform: 'neutral',
      format,
      target: 'es2022',
      packages: 'external',
      plugins: [adapterImports(index)],
    }),
  ),
);

// esbuild has printed what failed; its stack would add nothing.
await Promise.all([
  ...adapterBuilds,
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.cjs', platform: 'node', format: 'cjs', target: 'node20' }),
  build({ ...common, entryPoints: ['src/cli/bin.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'esm', target: 'node20', plugins: [libraryAsIndex], banner: { js: '#!/usr/bin/env node' } }),
  // The footer makes the global explicit: loaded as a module (by irqslice.browser.js) a top-level var stays local.
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/irqslice.min.js', platform: 'browser', format: 'iife', globalName: 'irqslice', target: 'es2022', minify: true, footer: { js: 'globalThis.irqslice=irqslice;' } }),
]).catch(() => process.exit(1));
chmodSync('dist/cli.js', 0o755);

// The ESM face names every export, so that Node and bundlers see them without guessing.
const names = Object.keys(createRequire(import.meta.url)(path.join(root, 'dist', 'index.cjs'))).sort();
/** An ESM file that gets `lib` as `head` says and re-exports every public name of it, plus the default. */
const reexport = (head) => `${head}\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = lib;\nexport default lib;\n`;
writeFileSync(
  'dist/index.js',
  reexport(`// ESM entry of irqslice: the CommonJS build's exports, so that import and require share one instance.\nimport lib from './index.cjs';\n`),
);
// The browser ESM: the script-tag build's global under the same names, plus the default export Node's
// has (module.exports), so `import lib from 'irqslice'` works in both.
writeFileSync(
  'dist/irqslice.browser.js',
  reexport(`// ESM entry of irqslice for browsers and bundlers: irqslice.min.js defines globalThis.irqslice.\nimport './irqslice.min.js';\n\nconst lib = globalThis.irqslice;`),
);

// Every name the CLI takes from the library must be a public export (else it fails at link time).
const cliImports = [...readFileSync('dist/cli.js', 'utf8').matchAll(/import\s*\{([^}]*)\}\s*from\s*"\.\/index\.cjs"/g)]
  .flatMap((m) => m[1].split(','))
  .map((s) => s.trim().split(/\s+as\s+/)[0])
  .filter(Boolean);
const missing = cliImports.filter((n) => !names.includes(n));
if (missing.length) {
  console.error(`build: the CLI imports names src/index.ts does not export: ${missing.join(', ')}`);
  process.exit(1);
}
