// Bundles bench/profiles/baselines-profile.ts to /tmp/baselines-profile.mjs, with the module
// 'old-kernel-reference' taken from git (the JS port before the rewrite), so that old and new ports
// run side by side in one process. Needs `npm run build:wasm` first. Usage:
//   node bench/profiles/baselines-build.mjs [REV]   (default: the parent of the rewrite commit)
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const rev = process.argv[2] ?? '2ed739c^';
const oldSource = execFileSync('git', ['show', `${rev}:src/alloc/kernel-reference.ts`], { cwd: root, encoding: 'utf8' });

await build({
  entryPoints: [path.join(root, 'bench/profiles/baselines-profile.ts')],
  outfile: '/tmp/baselines-profile.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  plugins: [{
    name: 'old-kernel-reference',
    setup(b) {
      b.onResolve({ filter: /^old-kernel-reference$/ }, () => ({ path: 'old-kernel-reference', namespace: 'old' }));
      // Its relative imports (status, errors) resolve from its original directory.
      b.onLoad({ filter: /.*/, namespace: 'old' }, () => ({ contents: oldSource, loader: 'ts', resolveDir: path.join(root, 'src/alloc') }));
    },
  }],
});
console.log(`/tmp/baselines-profile.mjs (old port from ${rev})`);
