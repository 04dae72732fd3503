// Bundles the published JavaScript with esbuild. The WASM is already inlined by build-wasm.mjs as a
// generated module, and the library has no top-level await and no Node built-ins, so one source
// serves every format:
//   dist/index.cjs            the library for Node, CommonJS (require('irqslice'))
//   dist/index.js             its ESM face (import 'irqslice'): re-exports index.cjs, so import and
//                             require share one instance (one MatrixError class, one WASM module cache)
//   dist/cli.js               the irqslice command: its own code only, the library through index.cjs
//   dist/irqslice.browser.js  ESM for browsers and bundlers (irqslice/browser), minified
//   dist/irqslice.min.js      script-tag build (IIFE, global `irqslice`), minified
// `--bench` builds only dist/bench.js, the benchmark runner (`npm run bench`; never published).
// Prints nothing unless something fails.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
for (const f of ['lib', 'index.js', 'index.cjs', 'cli.js', 'irqslice.browser.js', 'irqslice.min.js', 'index.js.map', 'cli.js.map', 'irqslice.browser.js.map', 'bench.js', 'bench.js.map']) {
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

await Promise.all([
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.cjs', platform: 'node', format: 'cjs', target: 'node20' }),
  build({ ...common, entryPoints: ['src/cli/bin.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'esm', target: 'node20', plugins: [libraryAsIndex], banner: { js: '#!/usr/bin/env node' } }),
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/irqslice.browser.js', platform: 'browser', format: 'esm', target: 'es2022', minify: true }),
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/irqslice.min.js', platform: 'browser', format: 'iife', globalName: 'irqslice', target: 'es2022', minify: true }),
]);
chmodSync('dist/cli.js', 0o755);

// The ESM face names every export, so that Node and bundlers see them without guessing.
const names = Object.keys(createRequire(import.meta.url)(path.join(root, 'dist', 'index.cjs'))).sort();
writeFileSync(
  'dist/index.js',
  `// ESM entry of irqslice: the CommonJS build's exports, so that import and require share one instance.\n` +
    `import lib from './index.cjs';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = lib;\nexport default lib;\n`,
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
