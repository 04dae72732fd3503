// Reads /sys/kernel/debug/irq/domains/VECTOR as Linux prints it: irq_domain_debug_show_one
// (kernel/irq/irqdomain.c: name/size/mapped/flags, flag names, parent chains, each level indented
// further) around irq_matrix_debug_show (kernel/irq/matrix.c: five global lines, then one row per
// online CPU "cpu avl man mac act vectors"). Indentation is ignored; every other line is checked.
// The allocation range's end is not printed: it is derived from the rows (deriveEnd).

import { forEachRange } from '../alloc/cpumask.js';
import { VectorDumpError } from './errors.js';

/** FIRST_EXTERNAL_VECTOR: every x86 kernel's matrix starts its allocation range here. */
export const DUMP_RANGE_START = 0x20;
/** NR_VECTORS: the matrix's bits, the width of every %*pbl list in the dump. */
export const DUMP_MATRIX_BITS = 256;
/** Largest CPU number accepted (the matrix's MAX_CPUS less one). */
const MAX_CPU = 8191;
/** Largest Global reserved accepted: far above nr_irqs of any x86 configuration. */
const MAX_RESERVED = 1 << 20;

export interface DumpCpuRow {
  cpu: number;
  /** avl, man, mac, act as printed. */
  available: number;
  managed: number;
  managedAllocated: number;
  allocated: number;
  /** The alloc_map, ascending. */
  vectors: number[];
  /** 1-based line of the row. */
  line: number;
}

export interface VectorDump {
  /** The domain whose debug_show printed the matrix ("VECTOR"), or null for a bare matrix block. */
  domain: string | null;
  onlineMaps: number;
  globalAvailable: number;
  globalReserved: number;
  totalAllocated: number;
  /** The system_map, ascending (bits anywhere in 0..255, inside the range or not). */
  system: number[];
  rows: DumpCpuRow[];
  /** Derived: the allocation range is [DUMP_RANGE_START, end). */
  end: number;
  /** 1-based lines of the global fields, for messages. */
  lines: { onlineMaps: number; globalAvailable: number; globalReserved: number; totalAllocated: number; system: number; header: number };
}

type GlobalKey = 'onlineMaps' | 'globalAvailable' | 'globalReserved' | 'totalAllocated';
const GLOBALS: ReadonlyArray<[RegExp, GlobalKey, string]> = [
  [/^Online bitmaps:\s*(\d+)$/, 'onlineMaps', 'Online bitmaps'],
  [/^Global available:\s*(\d+)$/, 'globalAvailable', 'Global available'],
  [/^Global reserved:\s*(\d+)$/, 'globalReserved', 'Global reserved'],
  [/^Total allocated:\s*(\d+)$/, 'totalAllocated', 'Total allocated'],
];
const DOMAIN_LINE = /^(size|mapped):\s+\d+$|^flags:\s+0x[0-9a-fA-F]+$|^IRQ_DOMAIN_[A-Z0-9_]+$|^parent:\s+\S.*$/;
const TABLE_HEADER = /^\|\s*CPU\s*\|\s*avl\s*\|\s*man\s*\|\s*mac\s*\|\s*act\s*\|\s*vectors$/;
const OLD_TABLE_HEADER = /^\|\s*CPU\s*\|\s*avl\s*\|\s*man\s*\|\s*act\s*\|\s*vectors$/;
const ROW = /^(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)(?:\s+(\S+))?$/;

/** A line as a message quotes it: at most 60 characters, control characters escaped. */
function show(text: string): string {
  const t = text.length > 60 ? `${text.slice(0, 50)}…` : text;
  return JSON.stringify(t).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function int(s: string, line: number, what: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new VectorDumpError(line, `${what} ${s.slice(0, 20)} is not a 32-bit unsigned number`);
  return n;
}

/** A %*pbl list of matrix bits: ascending ranges of numbers below 256, as the kernel prints them. */
function bitList(text: string, line: number, what: string): number[] {
  const out: number[] = [];
  let prev = -1;
  try {
    forEachRange(text, (lo, hi) => {
      if (hi >= DUMP_MATRIX_BITS) throw new VectorDumpError(line, `${what} lists ${hi}, beyond the matrix's ${DUMP_MATRIX_BITS} bits`);
      if (lo <= prev) throw new VectorDumpError(line, `${what} is not ascending at ${lo}`);
      for (let b = lo; b <= hi; b++) out.push(b);
      prev = hi;
    });
  } catch (e) {
    if (e instanceof VectorDumpError) throw e;
    throw new VectorDumpError(line, `${what} ${show(text)} is not a bit list like 33-36,48`);
  }
  return out;
}

/** Parses and checks a whole VECTOR file (or the bare matrix block); VectorDumpError names the line. */
export function parseVectorDump(text: string): VectorDump {
  if (typeof text !== 'string') throw new VectorDumpError(1, 'the dump must be text');
  const lines = text.split('\n');
  const found: Partial<Record<GlobalKey, number>> = {};
  const at: Partial<VectorDump['lines']> = {};
  let system: number[] | null = null;
  let domain: string | null = null;
  let lastName: string | null = null;
  const rows: DumpCpuRow[] = [];
  let lastLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    const t = raw.trim();
    if (t === '') continue;
    lastLine = n;
    const inTable = at.header !== undefined;
    const name = /^name:\s+(\S.*)$/.exec(t);
    if (name) {
      if (inTable) throw new VectorDumpError(n, 'a domain header after the CPU table: one matrix per file');
      lastName = name[1]!;
      continue;
    }
    if (DOMAIN_LINE.test(t)) {
      if (inTable) throw new VectorDumpError(n, `${show(t)} after the CPU table`);
      continue;
    }
    const g = GLOBALS.find(([re]) => re.test(t));
    if (g) {
      const [re, key, label] = g;
      if (inTable) throw new VectorDumpError(n, `"${label}" after the CPU table`);
      if (found[key] !== undefined) throw new VectorDumpError(n, `"${label}" appears twice (first on line ${at[key]})`);
      found[key] = int(re.exec(t)![1]!, n, label);
      at[key] = n;
      domain = lastName;
      continue;
    }
    const sys = /^System:\s*(\d+):\s*(.*)$/.exec(t);
    if (sys) {
      if (inTable) throw new VectorDumpError(n, '"System" after the CPU table');
      if (system) throw new VectorDumpError(n, `"System" appears twice (first on line ${at.system})`);
      system = bitList(sys[2]!, n, 'the System list');
      const count = int(sys[1]!, n, 'the System count');
      if (count !== system.length) throw new VectorDumpError(n, `System says ${count} vectors but lists ${system.length}`);
      at.system = n;
      continue;
    }
    if (TABLE_HEADER.test(t)) {
      if (inTable) throw new VectorDumpError(n, `a second CPU table (the first starts on line ${at.header})`);
      for (const [, key, label] of GLOBALS) if (found[key] === undefined) throw new VectorDumpError(n, `the CPU table starts before "${label}"`);
      if (!system) throw new VectorDumpError(n, 'the CPU table starts before the "System" line');
      at.header = n;
      continue;
    }
    if (OLD_TABLE_HEADER.test(t)) {
      throw new VectorDumpError(n, 'this table has no mac column (a kernel before managed_allocated was added to irq_matrix): avl alone cannot be split into managed and regular vectors');
    }
    const row = ROW.exec(t);
    if (row && inTable) {
      rows.push(parseRow(row, n, rows[rows.length - 1]));
      continue;
    }
    throw new VectorDumpError(n, row ? 'a CPU row before the "| CPU | avl | man | mac | act | vectors" header' : `unrecognised line ${show(t)}`);
  }
  if (at.header === undefined) {
    const missing = GLOBALS.find(([, key]) => found[key] === undefined);
    throw new VectorDumpError(Math.max(lastLine, 1), missing ? `no "${missing[2]}" line: not a VECTOR matrix dump` : 'no "| CPU | avl | man | mac | act | vectors" table');
  }
  if (rows.length === 0) throw new VectorDumpError(at.header, 'the CPU table has no rows: no online CPU to derive the range from');
  const dump: VectorDump = {
    domain,
    onlineMaps: found.onlineMaps!,
    globalAvailable: found.globalAvailable!,
    globalReserved: found.globalReserved!,
    totalAllocated: found.totalAllocated!,
    system: system!,
    rows,
    end: 0,
    lines: at as VectorDump['lines'],
  };
  dump.end = deriveEnd(dump);
  checkTotals(dump);
  return dump;
}

function parseRow(m: RegExpExecArray, n: number, prev: DumpCpuRow | undefined): DumpCpuRow {
  const cpu = int(m[1]!, n, 'the CPU number');
  if (cpu > MAX_CPU) throw new VectorDumpError(n, `CPU ${cpu} is beyond the ${MAX_CPU + 1} CPUs irqslice models`);
  if (prev && cpu <= prev.cpu) throw new VectorDumpError(n, `CPU ${cpu} after CPU ${prev.cpu}: for_each_online_cpu prints ascending CPUs, each once`);
  const r: DumpCpuRow = {
    cpu,
    available: int(m[2]!, n, 'avl'),
    managed: int(m[3]!, n, 'man'),
    managedAllocated: int(m[4]!, n, 'mac'),
    allocated: int(m[5]!, n, 'act'),
    vectors: m[6] === undefined ? [] : bitList(m[6], n, `CPU ${cpu}'s vector list`),
    line: n,
  };
  if (r.vectors.length !== r.allocated) throw new VectorDumpError(n, `CPU ${cpu}: act is ${r.allocated} but the row lists ${r.vectors.length} vectors`);
  if (r.managedAllocated > r.managed) throw new VectorDumpError(n, `CPU ${cpu}: mac ${r.managedAllocated} exceeds man ${r.managed}`);
  if (r.managedAllocated > r.allocated) throw new VectorDumpError(n, `CPU ${cpu}: mac ${r.managedAllocated} exceeds act ${r.allocated}`);
  return r;
}

/** Allocatable bits of [DUMP_RANGE_START, end): the range less the system bits inside it. */
export function rangeCapacity(end: number, system: readonly number[]): number {
  let inside = 0;
  for (const b of system) if (b >= DUMP_RANGE_START && b < end) inside++;
  return end - DUMP_RANGE_START - inside;
}

/**
 * The range's end. irq_matrix_online sets available = alloc_size − managed − systembits_inalloc;
 * regular allocations take one each, managed allocations none (they use their reservation), so on
 * every CPU avl + (act − mac) + man = capacity(end). The smallest end giving each CPU's sum is
 * its answer; CPUs must agree, and every listed vector must lie inside and off the system bits.
 */
export function deriveEnd(d: Pick<VectorDump, 'rows' | 'system'>): number {
  let end = 0;
  let first: DumpCpuRow | null = null;
  const sys = new Set(d.system);
  for (const r of d.rows) {
    const want = r.available + r.allocated - r.managedAllocated + r.managed;
    let e = -1;
    for (let cand = DUMP_RANGE_START + 1; cand <= DUMP_MATRIX_BITS; cand++) {
      if (rangeCapacity(cand, d.system) === want) {
        e = cand;
        break;
      }
    }
    if (e < 0) {
      throw new VectorDumpError(r.line, `CPU ${r.cpu}: avl + act − mac + man = ${want}, which no allocation range [0x20, end) of 256 bits holds with these system vectors`);
    }
    if (first && e !== end) {
      throw new VectorDumpError(r.line, `CPU ${r.cpu} implies the range [0x20, 0x${e.toString(16)}) but CPU ${first.cpu} (line ${first.line}) implies [0x20, 0x${end.toString(16)}): the rows disagree`);
    }
    if (!first) {
      first = r;
      end = e;
    }
    for (const v of r.vectors) {
      if (v < DUMP_RANGE_START || v >= e) throw new VectorDumpError(r.line, `CPU ${r.cpu}: vector ${v} is outside the allocation range [32, ${e})`);
      if (sys.has(v)) throw new VectorDumpError(r.line, `CPU ${r.cpu}: vector ${v} is also a system vector`);
    }
  }
  return end;
}

/** The global lines against the rows: the kernel moves each pair of counters together. */
function checkTotals(d: VectorDump): void {
  if (d.onlineMaps !== d.rows.length) {
    throw new VectorDumpError(d.lines.onlineMaps, `Online bitmaps says ${d.onlineMaps} but the table has ${d.rows.length} CPU rows`);
  }
  const avl = d.rows.reduce((s, r) => s + r.available, 0);
  if (d.globalAvailable !== avl) {
    throw new VectorDumpError(d.lines.globalAvailable, `Global available is ${d.globalAvailable} but the CPUs' avl add up to ${avl}`);
  }
  const act = d.rows.reduce((s, r) => s + r.allocated, 0);
  if (d.totalAllocated < act) {
    throw new VectorDumpError(d.lines.totalAllocated, `Total allocated is ${d.totalAllocated} but the online CPUs alone hold ${act}`);
  }
  // The surplus is rebuilt on offline CPUs past the last row; they must exist in the matrix.
  const capacity = rangeCapacity(d.end, d.system);
  const hidden = d.totalAllocated === act ? 0 : capacity > 0 ? Math.ceil((d.totalAllocated - act) / capacity) : Infinity;
  if (d.rows[d.rows.length - 1]!.cpu + 1 + hidden > MAX_CPU + 1) {
    throw new VectorDumpError(d.lines.totalAllocated, `Total allocated is ${d.totalAllocated}: ${d.totalAllocated - act} more than the rows hold, more than the offline CPUs up to ${MAX_CPU} could`);
  }
  // Reservations are rebuilt one irq_matrix_reserve at a time; no machine has this many interrupts.
  if (d.globalReserved > MAX_RESERVED) {
    throw new VectorDumpError(d.lines.globalReserved, `Global reserved ${d.globalReserved} is above ${MAX_RESERVED}, more interrupts than any kernel allocates`);
  }
}

/** Library callers pass what parseVectorDump returned; anything else is a TypeError naming that. */
export function checkDump(d: unknown): asserts d is VectorDump {
  const x = d as Partial<VectorDump> | null;
  if (typeof x !== 'object' || x === null || !Array.isArray(x.rows) || x.rows.length === 0 || !Array.isArray(x.system) || typeof x.end !== 'number') {
    throw new TypeError('expected the VectorDump that parseVectorDump returns');
  }
}
