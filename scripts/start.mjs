// `npm start [-- ARGS]`: `irqslice run ARGS` on the built CLI, after rebuilding, silently, only the
// steps whose outputs are missing or older than one of their inputs. A failing build prints its
// output and stops (exit 1). Declarations are not needed to run, so they are left to `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const at = (p) => path.join(root, p);

/** Latest modification time of a file, or of any file below a directory. */
function newest(p) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(p)) if (e !== 'node_modules') t = Math.max(t, newest(path.join(p, e)));
  return t;
}

const STEPS = [
  {
    script: 'scripts/build-wasm.mjs',
    inputs: ['assembly', 'asconfig.json', 'scripts/build-wasm.mjs'],
    outputs: ['src/alloc/wasm/matrix-wasm.generated.ts', 'src/alloc/wasm/kernel-wasm.generated.ts'],
  },
  {
    // After the step above: its outputs sit in src/, so a new WASM makes this one stale too.
    script: 'scripts/build.mjs',
    inputs: ['src', 'firmware', 'scripts/build.mjs', 'package.json'],
    outputs: ['dist/index.cjs', 'dist/index.js', 'dist/cli.js'],
  },
];

for (const step of STEPS) {
  const missing = step.outputs.some((o) => !existsSync(at(o)));
  const built = Math.min(...step.outputs.map((o) => newest(at(o))));
  if (!missing && Math.max(...step.inputs.map((i) => newest(at(i)))) <= built) continue;
  const run = spawnSync(process.execPath, [at(step.script)], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    console.error(`npm start: ${step.script} failed`);
    process.exit(1);
  }
}

const cli = spawnSync(process.execPath, [at('dist/cli.js'), 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(cli.status ?? 1);
