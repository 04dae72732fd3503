// npm run fuzz [-- --long] [--seed N] [--matrix-ops N] [--msi-deliveries N] [--scale F]
//
// Default: the differential matrix test at 2·10⁶ operations (WASM engine vs TypeScript twin).
// --long:  test/fuzz/long/main.ts, bundled here with esbuild: ≥ 10⁷ differential matrix operations and
//          ≥ 10⁶ MSI deliveries on booted machines under random masking, unmasking and affinity moves,
//          with progress on stderr, a summary line, exit status 1 on any failure (tens of minutes).
// --scale F: afterwards, the property fuzz suites (test/fuzz, the PCI config fuzz) with F× their runs.
// --seed N: the seed of the long run and of the property suites (FUZZ_SEED).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const USAGE = 'usage: npm run fuzz [-- --long] [--seed N] [--matrix-ops N] [--msi-deliveries N] [--scale F]';

let opts;
try {
  opts = parseArgs({
    options: {
      long: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'matrix-ops': { type: 'string' },
      'msi-deliveries': { type: 'string' },
      scale: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (e) {
  console.error(`fuzz: ${e.message}\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
for (const k of ['seed', 'matrix-ops', 'msi-deliveries']) {
  if (opts[k] !== undefined && !/^\d+$/.test(opts[k])) {
    console.error(`fuzz: --${k} must be a non-negative integer, got "${opts[k]}"\n${USAGE}`);
    process.exit(2);
  }
}
if (opts.scale !== undefined && !(Number(opts.scale) > 0)) {
  console.error(`fuzz: --scale must be a positive number, got "${opts.scale}"\n${USAGE}`);
  process.exit(2);
}
if (opts.seed !== undefined && !opts.long && opts.scale === undefined) {
  console.error(`fuzz: --seed applies to --long and --scale only (the default run is the fixed-seed differential test)\n${USAGE}`);
  process.exit(2);
}
if (!opts.long && (opts['matrix-ops'] !== undefined || opts['msi-deliveries'] !== undefined)) {
  console.error(`fuzz: --matrix-ops and --msi-deliveries apply to --long only\n${USAGE}`);
  process.exit(2);
}

const run = (args, env = {}) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;
const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const seedEnv = opts.seed !== undefined ? { FUZZ_SEED: opts.seed } : {};

// The WASM engine is generated, never committed.
if (run([path.join(root, 'scripts', 'build-wasm.mjs')]) !== 0) process.exit(1);

let status;
if (!opts.long) {
  // No per-test timeout: 2·10⁶ operations take minutes, more on a busy machine.
  status = run([vitest, 'run', '--testTimeout=0', 'test/alloc/differential.test.ts'], { FUZZ_OPS: '2000000' });
} else {
  const { build } = await import('esbuild');
  const outDir = path.join(root, 'node_modules', '.cache', 'irqslice');
  mkdirSync(outDir, { recursive: true });
  const outfile = path.join(outDir, 'fuzz-long.mjs');
  await build({ entryPoints: [path.join(root, 'test/fuzz/long/main.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: 'inline', logLevel: 'warning' });
  const args = [];
  for (const k of ['seed', 'matrix-ops', 'msi-deliveries']) if (opts[k] !== undefined) args.push(`--${k}`, opts[k]);
  status = run(['--enable-source-maps', outfile, ...args]);
}
if (status === 0 && opts.scale !== undefined) {
  status = run([vitest, 'run', '--testTimeout=0', 'test/fuzz', 'test/hw/pci/fuzz.test.ts'], { FUZZ_SCALE: opts.scale, ...seedEnv });
}
process.exit(status);
