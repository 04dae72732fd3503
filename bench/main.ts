// `npm run bench [-- --quick] [-- --parts 1,3]`: the benchmark suite of issue 6. One module per part
// (bench/parts/*); each writes results/<part>.json and charts; this file regenerates bench/README.md.

import { cac } from 'cac';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compileMatrixModule } from '../src/alloc/matrix.js';
import { loadChartRenderer } from './lib/charts.js';
import type { Mode, PartContext, PartResult, TargetLine } from './lib/context.js';
import { machineInfo } from './lib/machine-info.js';
import { benchDir, Output } from './lib/output.js';
import { runBoundary } from './parts/boundary.js';
import { runBoot } from './parts/boot.js';
import { runEngines } from './parts/engines.js';
import { runFragmentation } from './parts/fragmentation.js';
import { runMsi } from './parts/msi.js';

interface PartDef {
  id: number;
  name: string;
  title: string;
  run: (ctx: PartContext) => Promise<PartResult>;
}

const PARTS: readonly PartDef[] = [
  { id: 1, name: 'engines', title: 'allocator engines side by side', run: runEngines },
  { id: 2, name: 'boundary', title: 'JS↔WASM boundary cost', run: runBoundary },
  { id: 3, name: 'fragmentation', title: 'fragmentation and success rate', run: runFragmentation },
  { id: 4, name: 'msi', title: 'end-to-end MSI delivery', run: runMsi },
  { id: 5, name: 'boot', title: 'boot-and-probe wall time', run: runBoot },
];

/** What a part run leaves for the README, so a partial run (--parts) keeps the other sections. */
interface SavedSection {
  part: number;
  mode: Mode;
  date: string;
  seconds: number;
  markdown: string;
  targets: TargetLine[];
}

function parseParts(text: string): PartDef[] {
  const ids = text.split(',').map((s) => Number(s.trim()));
  const bad = ids.filter((i) => !PARTS.some((p) => p.id === i));
  if (bad.length) throw new Error(`--parts: unknown part(s) ${bad.join(', ')} (1..${PARTS.length})`);
  return PARTS.filter((p) => ids.includes(p.id));
}

function readme(sections: SavedSection[], ctx: PartContext, chartsNote: string): string {
  const m = ctx.machine;
  const md: string[] = [];
  md.push('## Latest results', '');
  md.push(`Machine: ${m.cpuModel} × ${m.cpuCount}, ${m.memoryGiB} GiB, ${m.os} (${m.arch}); Node ${m.node} (V8 ${m.v8}). Charts: ${chartsNote}.`, '');
  md.push('| part | mode | run at | wall time |', '|---|---|---|---|');
  for (const s of sections) md.push(`| ${s.part}. ${PARTS.find((p) => p.id === s.part)!.title} | ${s.mode} | ${s.date} | ${s.seconds.toFixed(1)} s |`);
  md.push('', '### Targets (issue 6)', '', '| target | measured | met |', '|---|---|---|');
  for (const s of sections) for (const t of s.targets) md.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  md.push('');
  for (const s of sections) md.push(s.markdown, '');
  return md.join('\n');
}

async function main(): Promise<number> {
  const cli = cac('bench');
  cli.option('--quick', 'CI-sized run (under two minutes on a 2-core machine)');
  cli.option('--parts <list>', 'parts to run, e.g. 1,3 (1 engines, 2 boundary, 3 fragmentation, 4 MSI, 5 boot)', { default: '1,2,3,4,5' });
  cli.option('--rounds <n>', 'side-by-side rounds per case, task order rotated each round (default 2)');
  cli.help();
  const { options } = cli.parse();
  if (options.help) return 0;
  const mode: Mode = options.quick ? 'quick' : 'full';
  const parts = parseParts(String(options.parts));
  const rounds = options.rounds === undefined ? 2 : Number(options.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${String(options.rounds)}`);

  // A quick run never touches the committed full-run results: it writes to bench/quick/ (ignored).
  const root = mode === 'quick' ? path.join(benchDir(), 'quick') : benchDir();
  const { renderer, reason } = await loadChartRenderer();
  const out = new Output(root, renderer);
  const ctx: PartContext = { mode, machine: machineInfo(), out, wasmModule: await compileMatrixModule(), rounds };
  process.stderr.write(`bench: ${mode} mode, parts ${parts.map((p) => p.id).join(',')}, ${rounds} round(s); charts: ${reason}\n`);

  const savedFile = path.join(out.resultsDir, 'sections.json');
  const saved = new Map<number, SavedSection>();
  if (existsSync(savedFile)) for (const s of JSON.parse(readFileSync(savedFile, 'utf8')) as SavedSection[]) saved.set(s.part, s);
  const t0 = performance.now();
  for (const p of parts) {
    const t = performance.now();
    const r = await p.run(ctx);
    const seconds = (performance.now() - t) / 1000;
    saved.set(p.id, { part: p.id, mode, date: new Date().toISOString().slice(0, 19) + 'Z', seconds, markdown: r.markdown, targets: r.targets });
    process.stderr.write(`bench: part ${p.id} (${p.name}) done in ${seconds.toFixed(1)} s\n`);
    for (const tl of r.targets) process.stderr.write(`  ${tl.met === null ? '·' : tl.met ? '✓' : '✗'} ${tl.target}: ${tl.measured}\n`);
  }
  const sections = [...saved.values()].sort((a, b) => a.part - b.part);
  writeFileSync(savedFile, JSON.stringify(sections, null, 2) + '\n');
  out.readme(readme(sections, ctx, renderer ? 'SVG via vega-lite/vega' : reason));
  for (const w of out.warnings) process.stderr.write(`bench: warning: ${w}\n`);
  process.stderr.write(`bench: ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote ${out.written.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
