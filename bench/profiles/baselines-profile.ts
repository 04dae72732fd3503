// Profiling harness for the kernel-algorithm baselines (bench/profiles/baselines.md): the old JS port
// (injected by baselines-build.mjs from git), the tuned JS port and the AssemblyScript port, on the
// same state — x86 preset, every CPU online, 50 % of each CPU's vectors taken by singles at the lowest
// vectors (as bench/lib/fixture.ts fills them) — timed side by side in one process.
//
//   node /tmp/baselines-profile.mjs compare [cpus,...]       ns/op table (median of rounds) + GCs
//   node /tmp/baselines-profile.mjs loop IMPL CASE CPUS SECS  one loop alone, for --cpu-prof/--trace-gc
//   node /tmp/baselines-profile.mjs top FILE.cpuprofile       self time by function
// IMPL: old | js | wasm | wasm-batch; CASE: alloc | block32 | block32s (block32 on a scattered fill).
// The scattered fill is bench/lib/fixture.ts's: random vectors on every CPU except every 64th, so the
// best CPU has no aligned run of 32 and the kernel algorithm tries CPU after CPU.

import { readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import * as S from '../../assembly/status';
import { KernelReference } from '../../src/alloc/kernel-reference';
import { mulberry32 } from '../../src/util/random';
import { compileKernelModuleSync, WasmKernelReference } from '../../src/alloc/wasm/wasm-kernel';
// @ts-expect-error resolved by baselines-build.mjs to the port before the rewrite (git show)
import { KernelReference as OldKernelReference } from 'old-kernel-reference';

const SYSTEM = [0x32, 0x80];
const PER_CPU = 0xeb - 0x20 - SYSTEM.length;

interface Port {
  assignSystem(bit: number, replace: boolean | number): number;
  online(cpu: number): number;
  assign(cpu: number, bit: number): number;
}

function lowBits(k: number): number[] {
  const bits: number[] = [];
  for (let b = 0x20; b < 0xeb && bits.length < k; b++) if (!SYSTEM.includes(b)) bits.push(b);
  return bits;
}

/** fixture.ts's scatteredBits: a seeded shuffle of the CPU's vectors, the first k of them. */
function scatteredBits(k: number, cpu: number): number[] {
  const all = lowBits(PER_CPU);
  const rnd = mulberry32(0x5ca7 + cpu * 7919);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k);
}

function fill(p: Port, cpus: number, load: number, scattered: boolean, replace: false | 0): void {
  for (const b of SYSTEM) p.assignSystem(b, replace);
  const k = Math.round(load * PER_CPU);
  const low = lowBits(k);
  for (let c = 0; c < cpus; c++) {
    if (p.online(c) !== S.OK) throw new Error(`online ${c}`);
    for (const b of scattered && c % 64 !== 63 ? scatteredBits(k, c) : low) if (p.assign(c, b) !== S.OK) throw new Error(`assign ${c} ${b}`);
  }
}

type Impl = 'old' | 'js' | 'wasm' | 'wasm-batch';
type Case = 'alloc' | 'block32' | 'block32s';
const IMPLS: Impl[] = ['old', 'js', 'wasm', 'wasm-batch'];
const CASES: Case[] = ['alloc', 'block32', 'block32s'];
const CASE_LABEL: Record<Case, string> = { alloc: 'alloc/free pairs', block32: 'allocBlock(32)/freeBlock pairs', block32s: 'allocBlock(32)/freeBlock pairs, scattered fill' };

interface Machine {
  cpus: number;
  old: InstanceType<typeof OldKernelReference>;
  js: KernelReference;
  wasm: WasmKernelReference;
  allU32: Uint32Array;
  allI32: Int32Array;
  /** Batch lists per case: `PAIRS` pairs, the frees naming the CPU the dry run got. */
  batch: Record<Case, { ops: Int32Array; res: Int32Array }>;
}

const PAIRS = 64;

function machine(cpus: number, load: number, scattered: boolean): Machine {
  const old = new OldKernelReference(cpus);
  const js = new KernelReference(cpus);
  const wasm = new WasmKernelReference(cpus, 256, 0x20, 0xeb, compileKernelModuleSync());
  fill(old, cpus, load, scattered, false);
  fill(js, cpus, load, scattered, false);
  fill(wasm, cpus, load, scattered, 0);
  const words = Math.ceil(cpus / 64) * 2;
  const allI32 = new Int32Array(words);
  for (let c = 0; c < cpus; c++) allI32[c >>> 5]! |= 1 << (c & 31);
  const allU32 = new Uint32Array(allI32.buffer);
  wasm.writeMask(0, allI32);
  const batch = {} as Machine['batch'];
  for (const cs of CASES) {
    const count = cs === 'alloc' ? 1 : 32;
    if (scattered !== (cs === 'block32s')) continue;
    const st = cs === 'alloc' ? js.alloc(allI32, false) : js.allocBlock(allI32, count, false);
    const cpu = js.lastCpu();
    if (st < 0 || (cs === 'alloc' ? js.free(cpu, st, false) : js.freeBlock(cpu, st, count)) !== S.OK) throw new Error(`dry run ${cs}`);
    const ops = new Int32Array(PAIRS * 8);
    for (let i = 0; i < PAIRS; i++) {
      if (cs === 'alloc') ops.set([S.OP_ALLOC, 0, 0, 0, S.OP_FREE, cpu, st, 0], i * 8);
      else ops.set([S.OP_ALLOC_BLOCK, 0, count, 0, S.OP_FREE_BLOCK, cpu, st, count], i * 8);
    }
    batch[cs] = { ops, res: new Int32Array(PAIRS * 4) };
  }
  return { cpus, old, js, wasm, allU32, allI32, batch };
}

// One loop per (impl, case), each with its own call sites: `pairs` allocations each followed by its free.
function oldAlloc(m: Machine, pairs: number): number {
  const k = m.old;
  const mask = m.allU32;
  let acc = 0;
  for (let i = 0; i < pairs; i++) {
    const bit = k.alloc(mask, false);
    acc += k.free(k.lastCpu(), bit, false) + bit;
  }
  return acc;
}
function oldBlock(m: Machine, pairs: number): number {
  const k = m.old;
  const mask = m.allU32;
  let acc = 0;
  for (let i = 0; i < pairs; i++) {
    const base = k.allocBlock(mask, 32, false);
    acc += k.freeBlock(k.lastCpu(), base, 32) + base;
  }
  return acc;
}
function jsAlloc(m: Machine, pairs: number): number {
  const k = m.js;
  const mask = m.allI32;
  let acc = 0;
  for (let i = 0; i < pairs; i++) {
    const bit = k.alloc(mask, false);
    acc += k.free(k.lastCpu(), bit, false) + bit;
  }
  return acc;
}
function jsBlock(m: Machine, pairs: number): number {
  const k = m.js;
  const mask = m.allI32;
  let acc = 0;
  for (let i = 0; i < pairs; i++) {
    const base = k.allocBlock(mask, 32, false);
    acc += k.freeBlock(k.lastCpu(), base, 32) + base;
  }
  return acc;
}
function wasmAlloc(m: Machine, pairs: number): number {
  const k = m.wasm;
  let acc = 0;
  for (let i = 0; i < pairs; i++) {
    const bit = k.alloc(0, 0);
    acc += k.free(k.lastCpu(), bit, 0) + bit;
  }
  return acc;
}
function wasmBlock(m: Machine, pairs: number): number {
  const k = m.wasm;
  let acc = 0;
  for (let i = 0; i < pairs; i++) {
    const base = k.allocBlock(0, 32, 0);
    acc += k.freeBlock(k.lastCpu(), base, 32) + base;
  }
  return acc;
}
function batchRun(m: Machine, cs: Case, pairs: number): number {
  const b = m.batch[cs];
  let acc = 0;
  for (let done = 0; done < pairs; done += PAIRS) {
    m.wasm.runBatch(b.ops, b.res);
    acc += b.res[0]!;
  }
  return acc;
}

function runner(impl: Impl, cs: Case): (m: Machine, pairs: number) => number {
  if (impl === 'wasm-batch') return (m, p) => batchRun(m, cs, p);
  if (cs === 'block32s') cs = 'block32';
  const table = { old: [oldAlloc, oldBlock], js: [jsAlloc, jsBlock], wasm: [wasmAlloc, wasmBlock] } as const;
  return table[impl][cs === 'alloc' ? 0 : 1];
}

let sink = 0;
let gcs: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push(e.startTime);
});

/** ns per op (a pair is two ops) over about `ms` milliseconds. */
function time(fn: (m: Machine, pairs: number) => number, m: Machine, ms: number): number {
  let pairs = PAIRS;
  for (;;) {
    const t0 = performance.now();
    sink += fn(m, pairs);
    const dt = performance.now() - t0;
    if (dt >= ms) return (dt * 1e6) / (pairs * 2);
    pairs = Math.max(pairs * 2, Math.ceil(((pairs * ms) / Math.max(dt, 0.01)) / PAIRS) * PAIRS);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function fmt(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(ns >= 10_000 ? 1 : 2)} µs` : `${ns.toFixed(ns >= 100 ? 0 : 1)} ns`;
}

async function compare(cpuList: number[]): Promise<void> {
  gcObserver.observe({ entryTypes: ['gc'] });
  const rounds = 7;
  console.log(`| CPUs | case | old port | tuned JS port | AS port (call/op) | AS port (runBatch) | old / JS | JS / AS call | GCs old / JS / AS |`);
  console.log(`|---|---|---|---|---|---|---|---|---|`);
  for (const cpus of cpuList) {
    const low = machine(cpus, 0.5, false);
    const scattered = machine(cpus, 0.5, true);
    for (const cs of CASES) {
      const m = cs === 'block32s' ? scattered : low;
      const samples: Record<Impl, number[]> = { old: [], js: [], wasm: [], 'wasm-batch': [] };
      const gcCount: Record<Impl, number> = { old: 0, js: 0, wasm: 0, 'wasm-batch': 0 };
      for (const impl of IMPLS) time(runner(impl, cs), m, 150); // warm-up
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < IMPLS.length; k++) {
          const impl = IMPLS[(k + r) % IMPLS.length]!; // rotate the order
          await new Promise((res) => setImmediate(res));
          gcs = [];
          const t0 = performance.now();
          samples[impl].push(time(runner(impl, cs), m, 100));
          const t1 = performance.now();
          await new Promise((res) => setTimeout(res, 1)); // let the observer deliver
          gcCount[impl] += gcs.filter((t) => t >= t0 && t <= t1).length;
        }
      }
      const med = (i: Impl) => median(samples[i]);
      console.log(
        `| ${cpus} | ${CASE_LABEL[cs]} | ${fmt(med('old'))} | ${fmt(med('js'))} | ${fmt(med('wasm'))} | ${fmt(med('wasm-batch'))} | ` +
          `${(med('old') / med('js')).toFixed(1)}× | ${(med('js') / med('wasm')).toFixed(1)}× | ${gcCount.old} / ${gcCount.js} / ${gcCount.wasm + gcCount['wasm-batch']} |`,
      );
    }
  }
  gcObserver.disconnect();
}

function loop(impl: Impl, cs: Case, cpus: number, secs: number): void {
  const m = machine(cpus, 0.5, cs === 'block32s');
  const fn = runner(impl, cs);
  console.log('-- timed loop starts'); // --trace-gc lines after this one are the loop's
  const end = performance.now() + secs * 1000;
  let ops = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    sink += fn(m, 1024);
    ops += 2048;
  }
  console.log(`${impl} ${cs} ${cpus} CPUs: ${fmt(((performance.now() - t0) * 1e6) / ops)} per op over ${ops} ops`);
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }

function top(file: string): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const n of prof.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'compare') await compare((args[0] ?? '64,8192').split(',').map(Number));
else if (mode === 'loop') loop(args[0] as Impl, args[1] as Case, Number(args[2] ?? 8192), Number(args[3] ?? 3));
else if (mode === 'top') top(args[0]!);
else {
  console.error('usage: compare [cpus,...] | loop IMPL CASE CPUS SECS | top FILE');
  process.exit(2);
}
if (sink === 0.5) console.log(sink); // keep results alive
