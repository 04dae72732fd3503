// Bundles the library, the CLI and the benchmark runner with esbuild (the WASM is already inlined
// by build-wasm.mjs as a generated module).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning' };
const entries = [
  { entryPoints: ['src/index.ts'], outfile: 'dist/index.js' },
  { entryPoints: ['src/cli/bin.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];
// The same library for browsers: no Node built-ins (the WASM is inlined, nothing reads files).
entries.push({ entryPoints: ['src/index.ts'], outfile: 'dist/irqslice.browser.js', platform: 'browser', target: 'es2022' });
if (existsSync('bench/main.ts')) entries.push({ entryPoints: ['bench/main.ts'], outfile: 'dist/bench.js' });
await Promise.all(entries.map((e) => build({ ...common, ...e })));
console.log(`js: ${entries.map((e) => e.outfile).join(', ')}`);
