// Declarations for the published package: tsc emits them for everything src/index.ts reaches, then
// each .d.ts becomes a .d.cts (relative specifiers ./x.js -> ./x.cjs). The Node build is CommonJS
// with an ESM face (scripts/build.mjs), so CommonJS declarations describe it truthfully for both
// `import` and `require` under every moduleResolution, in one tree instead of two.
// Also refuses declarations that TypeScript 5.0 cannot read (generic typed arrays, TS 5.7+).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'dist', 'types');
rmSync(out, { recursive: true, force: true });
const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

const problems = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) walk(file);
    else if (e.name.endsWith('.d.ts')) {
      const text = readFileSync(file, 'utf8');
      // `from './x.js'`, `import('./x.js')` and `import './x.js'` name sibling declarations.
      const cts = text.replace(/((?:from|import)\s*\(?\s*['"])(\.\.?\/[^'"]*?)\.js(['"])/g, '$1$2.cjs$3');
      const generic = /\b(?:Uint8|Uint16|Uint32|Int8|Int16|Int32|Float32|Float64|BigInt64|BigUint64|Uint8Clamped)Array<|\bArrayBufferLike\b/.exec(cts);
      if (generic) problems.push(`${path.relative(root, file)}: ${generic[0]} (TypeScript < 5.7 has no generic typed arrays: annotate the plain type in the source)`);
      writeFileSync(file.slice(0, -'.d.ts'.length) + '.d.cts', cts);
      unlinkSync(file);
    }
  }
};
walk(out);
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
