// Old vs new matrix engines side by side in one process (bench/README.md, "Profiles of the
// irqslice engines"): alloc/free and allocBlock(32)/freeBlock pairs over the all-CPU mask, x86 preset,
// 100 singles per CPU. The old engines come from a worktree of the commit before the selection tree:
//   git worktree add /tmp/old e6deeb7 && ln -s "$PWD/node_modules" /tmp/old/node_modules
//   (cd /tmp/old && node scripts/build-wasm.mjs) && npm run build:wasm
//   npx esbuild bench/profiles/engines-compare.ts --bundle --platform=node --format=esm \
//     --alias:old-matrix=/tmp/old/src/alloc/matrix.ts --outfile=/tmp/engines-compare.mjs
//   node /tmp/engines-compare.mjs wasm 64 1024 8192; node /tmp/engines-compare.mjs js 64 1024 8192
// Add --cpu-prof to profile (the old and new loops alternate, so filter by function).
// @ts-expect-error resolved by esbuild's --alias to the old worktree
import { createMatrixSync as oldCreate, compileMatrixModule as oldCompile } from 'old-matrix';
import { createMatrixSync as newCreate, compileMatrixModule as newCompile } from '../../src/alloc/matrix.js';
const variants = [['new', newCreate, await newCompile()], ['old', oldCreate, await oldCompile()]] as const;
const engine = process.argv[2] as 'wasm' | 'js';
for (const cpus of process.argv.slice(3).map(Number)) {
  const cores = variants.map(([name, create, mod]) => {
    const m = (create as typeof newCreate)({ cpus, engine, preset: 'x86' }, mod);
    for (let c = 0; c < cpus; c++) { m.online(c); for (let k = 0; k < 100; k++) m.alloc([c]); }
    const all = new Uint32Array(m.core.maskWords32); for (let c = 0; c < cpus; c++) all[c >>> 5] |= 1 << (c & 31);
    m.core.writeMask(2, all);
    return [name, m.core] as const;
  });
  for (const n of [0, 32]) {
    const N = 100000;
    const best: Record<string, number> = {};
    for (let r = 0; r < 7; r++) for (const [name, core] of cores) {
      const t = performance.now();
      for (let i = 0; i < N; i++) {
        if (n === 0) { const b = core.alloc(2, 0); core.free(core.lastCpu(), b, 0); }
        else { const b = core.allocBlock(2, 32, 0); core.freeBlock(core.lastCpu(), b, 32); }
      }
      best[name] = Math.min(best[name] ?? Infinity, (performance.now() - t) * 1e6 / N / 2);
    }
    console.log(engine, cpus, n ? 'block32' : 'alloc', Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(1)}`).join('  '), 'ns/op');
  }
}
