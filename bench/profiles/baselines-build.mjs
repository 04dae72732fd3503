// Bundles bench/profiles/baselines-profile.ts to /tmp/baselines-profile.mjs with earlier versions of
// the JS kernel port taken from git (module 'kernel-revisions'), and compiles the AssemblyScript port
// of the same revisions to /tmp/kernel-<label>.wasm, so that every version runs side by side in one
// process. Needs `npm run build:wasm` first (the current AS port is the embedded one). Usage:
//   node bench/profiles/baselines-build.mjs [label=rev,...]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
// old: the port the review found handicapped; soa: first rewrite (typed arrays, set-bit iteration,
// word-wise bitmaps); skip8: + the CPU scan skipping 8 tied CPUs at once. The working tree is 'js'.
const spec = process.argv[2] ?? 'old=2ed739c^,soa=2ed739c,skip8=461b75e';
const revs = spec.split(',').map((s) => {
  const [label, rev] = s.split('=');
  return { label, rev };
});
const show = (rev, file) => {
  try {
    return execFileSync('git', ['show', `${rev}:${file}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
};

// The AS port of each revision that has one, compiled against that revision's status.ts.
const asc = path.join(path.dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const wasmBuilt = [];
for (const { label, rev } of revs) {
  const src = show(rev, 'assembly/kernel/index.ts');
  if (!src) continue;
  const dir = `/tmp/kernel-${label}`;
  mkdirSync(`${dir}/assembly/kernel`, { recursive: true });
  writeFileSync(`${dir}/assembly/kernel/index.ts`, src);
  writeFileSync(`${dir}/assembly/status.ts`, show(rev, 'assembly/status.ts'));
  const r = spawnSync(process.execPath, [asc, 'assembly/kernel/index.ts', '--config', path.join(root, 'asconfig.json'), '--target', 'release',
    '--outFile', `/tmp/kernel-${label}.wasm`, '--textFile', `${dir}/kernel.wat`, '--enable', 'simd', '--bindings', 'raw'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`asc failed for ${label}:\n${r.stdout}${r.stderr}`);
  wasmBuilt.push(`${label}=/tmp/kernel-${label}.wasm`);
}

const modules = revs.map(({ label, rev }, i) => ({ label, rev, name: `rev${i}`, source: show(rev, 'src/alloc/kernel-reference.ts') }));
const index =
  modules.map((m) => `import { KernelReference as ${m.name} } from 'rev:${m.name}';`).join('\n') +
  `\nexport const REVISIONS = [${modules.map((m) => `{ label: ${JSON.stringify(m.label)}, rev: ${JSON.stringify(m.rev)}, KernelReference: ${m.name} }`).join(', ')}];\n`;

await build({
  entryPoints: [path.join(root, 'bench/profiles/baselines-profile.ts')],
  outfile: '/tmp/baselines-profile.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  plugins: [{
    name: 'kernel-revisions',
    setup(b) {
      b.onResolve({ filter: /^kernel-revisions$/ }, () => ({ path: 'index', namespace: 'revs' }));
      b.onResolve({ filter: /^rev:/ }, (a) => ({ path: a.path.slice(4), namespace: 'revs' }));
      b.onLoad({ filter: /.*/, namespace: 'revs' }, (a) => {
        if (a.path === 'index') return { contents: index, loader: 'ts', resolveDir: root };
        // A revision's relative imports (status, errors) resolve from its original directory.
        return { contents: modules.find((m) => m.name === a.path).source, loader: 'ts', resolveDir: path.join(root, 'src/alloc') };
      });
    },
  }],
});
console.log(`/tmp/baselines-profile.mjs: JS ports ${revs.map((r) => `${r.label}=${r.rev}`).join(', ')} + working tree`);
if (wasmBuilt.length) console.log(`AS ports: KERNEL_WASM=${wasmBuilt.join(',')}`);
