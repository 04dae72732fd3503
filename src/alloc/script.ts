// The matrix script language of docs/DESIGN.md §4: one operation a line, '#' comments, decimal or 0x
// numbers, Linux cpulists for masks. Each operation line yields one JSON object.

import type { EngineName, Placement } from './core.js';
import { forEachRange } from './cpumask.js';
import { MatrixError } from './errors.js';
import { createMatrix, MATRIX_PRESETS, X86_PRESETS, type MatrixPreset, type VectorMatrix } from './matrix.js';

export const SCRIPT_GRAMMAR = `Matrix script: one operation per line; '#' starts a comment; numbers are decimal or 0x hex;
MASK is a Linux cpulist (e.g. 0-3,8). Set-up lines (before any other operation but system):
  matrix BITS START END      irq_alloc_matrix(BITS, START, END)   (or:)
  preset x86                 = matrix 256 0x20 0xeb + system 0x32 + system 0x80 (Linux >= 6.10; alias x86-6.10)
  preset x86-6.6             = matrix 256 0x20 0xec + system 0x32 + system 0x80 (Linux 6.6..6.9)
  preset x86-6.1             = matrix 256 0x20 0xec + system 0x20 + system 0x32 + system 0x80 (Linux < 6.6)
  cpus N                     N possible CPUs (1..8192), all offline
  placement firstFit|bestFit run placement of alloc_block (default firstFit)
Operations:
  online CPU | offline CPU   irq_matrix_online / irq_matrix_offline on CPU
  system BIT [replace]       irq_matrix_assign_system (the local CPU of replace is CPU 0)
  assign CPU BIT             irq_matrix_assign on CPU
  reserve | unreserve        irq_matrix_reserve / irq_matrix_remove_reserved
  reserve_managed MASK       irq_matrix_reserve_managed
  remove_managed MASK        irq_matrix_remove_managed
  alloc MASK [reserved]      irq_matrix_alloc                      -> {"cpu":C,"vector":V}
  alloc_managed MASK         irq_matrix_alloc_managed              -> {"cpu":C,"vector":V}
  free CPU BIT [managed]     irq_matrix_free
  alloc_block MASK COUNT [reserved]  aligned block, COUNT = 1,2,4,..,32 -> {"cpu":C,"base":B,"count":N}
  free_block CPU BASE COUNT  free an aligned block
  stats                      -> {"online_maps","global_available","global_reserved","total_allocated","systembits_inalloc"}
  cpu CPU                    -> {"cpu","online","available","allocated","managed","managed_allocated"}
  dump                       -> {"text": irq_matrix_debug_show output}
Other operations print {"ok":true}; failures print {"error":"ENOSPC"|"EINVAL"|"WARN"|"BUG","detail":"..."}.
A malformed line is reported with its line number (exit status 2); nothing after it runs.
`;

const OPERATIONS = new Set([
  'online', 'offline', 'system', 'assign', 'reserve', 'unreserve', 'reserve_managed', 'remove_managed',
  'alloc', 'alloc_managed', 'free', 'alloc_block', 'free_block', 'stats', 'cpu', 'dump',
]);

export interface ScriptOptions {
  engine?: EngineName;
}

export interface ScriptLineResult {
  line: number;
  source: string;
  result: Record<string, unknown>;
}

export interface ScriptResult {
  results: ScriptLineResult[];
  /** One JSON object per operation line, newline-terminated: what the CLI prints. */
  output: string;
  /** Present when a malformed line stopped the script. */
  error?: { line: number; message: string };
  /** 0, or 2 when a line was malformed. */
  exitCode: 0 | 2;
  /** The matrix the script built (undefined if it stopped before creating one). */
  matrix?: VectorMatrix;
}

/** A line the grammar rejects. */
export class ScriptSyntaxError extends Error {
  override readonly name = 'ScriptSyntaxError';
  constructor(readonly line: number, readonly reason: string) {
    super(`line ${line}: ${reason}`);
  }
}

/** A value in an error message: short, printable, never throws. */
function describe(v: unknown): string {
  // JSON escapes control characters; C1 controls and DEL too, so no raw byte reaches a terminal.
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'bigint') return `${v.toString()}n`;
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function parseNumber(tok: string | undefined, what: string, line: number): number {
  if (tok === undefined) throw new ScriptSyntaxError(line, `missing ${what}`);
  if (/^0x[0-9a-f]+$/i.test(tok)) return parseInt(tok.slice(2), 16);
  if (/^\d+$/.test(tok)) return parseInt(tok, 10);
  throw new ScriptSyntaxError(line, `${what} ${describe(tok)} is not a decimal or 0x number`);
}

function parseMaskText(tok: string | undefined, line: number): string {
  if (tok === undefined) throw new ScriptSyntaxError(line, 'missing MASK');
  try {
    forEachRange(tok, () => {});
  } catch {
    throw new ScriptSyntaxError(line, `MASK ${describe(tok)} is not a cpulist`);
  }
  return tok;
}

function flag(tok: string | undefined, name: string, line: number): boolean {
  if (tok === undefined) return false;
  if (tok === name) return true;
  throw new ScriptSyntaxError(line, `expected "${name}" or nothing, got ${describe(tok)}`);
}

function arity(args: string[], min: number, max: number, op: string, line: number): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw new ScriptSyntaxError(line, `${op} takes ${want} argument(s), got ${args.length}`);
  }
}

/** Runs a matrix script; never throws for script content (malformed lines end it with exitCode 2). */
export async function runMatrixScript(text: string, options: ScriptOptions = {}): Promise<ScriptResult> {
  // API misuse is thrown (MatrixError EINVAL, before anything runs); script content never is.
  if (typeof text !== 'string') throw new MatrixError('EINVAL', `runMatrixScript: the script must be a string, got ${describe(text)}`);
  const runner = new MatrixScriptRunner(options);
  const results: ScriptLineResult[] = [];
  let error: { line: number; message: string } | undefined;
  // Line by line without splitting the text into an array first.
  for (let start = 0, lineNo = 1; start <= text.length; lineNo++) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const source = text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
    start = nl + 1;
    try {
      const result = await runner.line(source, lineNo);
      if (result !== null) results.push({ line: lineNo, source, result });
    } catch (e) {
      if (!(e instanceof ScriptSyntaxError)) throw e;
      error = { line: e.line, message: e.reason };
      break;
    }
  }
  const output = results.map((r) => JSON.stringify(r.result) + '\n').join('');
  const m = runner.matrix;
  return error ? { results, output, error, exitCode: 2, matrix: m } : { results, output, exitCode: 0, matrix: m };
}

/**
 * The script interpreter one line at a time, for callers that stream a long script: `line()` returns
 * the line's JSON object (null for a blank or comment line) and throws ScriptSyntaxError for a
 * malformed one, after which the runner must not be used.
 */
export class MatrixScriptRunner {
  private readonly engine: EngineName;
  private geometry: { bits: number; start: number; end: number; system: number[] } | undefined;
  private cpus: number | undefined;
  private placement: Placement = 'firstFit';
  private m: VectorMatrix | undefined;

  constructor(options: ScriptOptions = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new MatrixError('EINVAL', `script options must be an object, got ${describe(options)}`);
    }
    for (const k of Object.keys(options)) if (k !== 'engine') throw new MatrixError('EINVAL', `script option ${k} is not known (known: engine)`);
    const engine: unknown = options.engine === undefined ? 'wasm' : options.engine;
    if (engine !== 'wasm' && engine !== 'js') throw new MatrixError('EINVAL', `script option engine must be "wasm" or "js", got ${describe(engine)}`);
    this.engine = engine;
  }

  /** The matrix the script built (undefined until its set-up lines are complete). */
  get matrix(): VectorMatrix | undefined {
    return this.m;
  }

  async line(source: string, lineNo: number): Promise<Record<string, unknown> | null> {
    if (typeof source !== 'string' || typeof lineNo !== 'number' || !Number.isSafeInteger(lineNo) || lineNo < 1) {
      throw new MatrixError('EINVAL', `line(source string, line number ≥ 1), got ${describe(source)}, ${describe(lineNo)}`);
    }
    const hash = source.indexOf('#');
    const code = (hash >= 0 ? source.slice(0, hash) : source).trim();
    if (code === '') return null;
    const [op, ...args] = code.split(/\s+/) as [string, ...string[]];
    return this.step(op, args, lineNo);
  }

  private async ensureCreated(line: number): Promise<void> {
    const { geometry, cpus } = this;
    if (this.m || !geometry || cpus === undefined) return;
    let m: VectorMatrix;
    try {
      m = await createMatrix({ cpus, engine: this.engine, bits: geometry.bits, start: geometry.start, end: geometry.end, placement: this.placement });
    } catch (e) {
      if (e instanceof MatrixError) throw new ScriptSyntaxError(line, e.detail);
      throw e;
    }
    this.m = m;
    for (const b of geometry.system) m.assignSystem(b, false);
  }

  private async step(op: string, args: string[], line: number): Promise<Record<string, unknown>> {
    switch (op) {
      case 'matrix':
      case 'preset': {
        if (this.geometry) throw new ScriptSyntaxError(line, 'the matrix is already defined');
        if (op === 'preset') {
          arity(args, 1, 1, op, line);
          const name = args[0]!;
          if (!(MATRIX_PRESETS as readonly string[]).includes(name)) throw new ScriptSyntaxError(line, `unknown preset ${describe(name)} (known: ${MATRIX_PRESETS.join(', ')})`);
          const p = X86_PRESETS[name as MatrixPreset];
          this.geometry = { bits: p.bits, start: p.start, end: p.end, system: [...p.system] };
        } else {
          arity(args, 3, 3, op, line);
          this.geometry = {
            bits: parseNumber(args[0], 'BITS', line),
            start: parseNumber(args[1], 'START', line),
            end: parseNumber(args[2], 'END', line),
            system: [],
          };
        }
        await this.ensureCreated(line);
        return { ok: true };
      }
      case 'cpus': {
        arity(args, 1, 1, op, line);
        if (this.cpus !== undefined) throw new ScriptSyntaxError(line, 'cpus is already defined');
        this.cpus = parseNumber(args[0], 'N', line);
        await this.ensureCreated(line);
        return { ok: true };
      }
      case 'placement': {
        arity(args, 1, 1, op, line);
        if (this.m) throw new ScriptSyntaxError(line, 'placement must come before the matrix is complete (matrix/preset + cpus)');
        if (args[0] !== 'firstFit' && args[0] !== 'bestFit') throw new ScriptSyntaxError(line, `placement must be firstFit or bestFit`);
        this.placement = args[0];
        return { ok: true };
      }
    }
    if (!OPERATIONS.has(op)) throw new ScriptSyntaxError(line, `unknown operation ${describe(op)}`);
    if (!this.m && op === 'system' && this.geometry) {
      // System bits are boot-time, before any CPU exists (what `preset x86` expands to): keep them
      // for the matrix that the cpus line creates, refusing now what the kernel would BUG on.
      arity(args, 1, 2, op, line);
      const bit = parseNumber(args[0], 'BIT', line);
      if (flag(args[1], 'replace', line)) return { error: 'BUG', detail: `system ${bit} replace: irq_matrix_assign_system: replace of a bit not allocated (non-managed) on CPU 0` };
      if (bit >= this.geometry.bits) return { error: 'BUG', detail: `system ${bit}: irq_matrix_assign_system: bit beyond matrix_bits` };
      this.geometry.system.push(bit);
      return { ok: true };
    }
    if (!this.m) {
      throw new ScriptSyntaxError(line, `${describe(op)} before the matrix is set up (needs a matrix or preset line and a cpus line)`);
    }
    const mx = this.m;
    const run = (fn: () => Record<string, unknown> | void): Record<string, unknown> => {
      try {
        return fn() ?? { ok: true };
      } catch (e) {
        if (e instanceof MatrixError) return { error: e.code, detail: e.detail };
        throw e;
      }
    };
    switch (op) {
      case 'online':
      case 'offline': {
        arity(args, 1, 1, op, line);
        const cpu = parseNumber(args[0], 'CPU', line);
        return run(() => (op === 'online' ? mx.online(cpu) : mx.offline(cpu)));
      }
      case 'system': {
        arity(args, 1, 2, op, line);
        const bit = parseNumber(args[0], 'BIT', line);
        const replace = flag(args[1], 'replace', line);
        return run(() => mx.assignSystem(bit, replace));
      }
      case 'assign': {
        arity(args, 2, 2, op, line);
        const cpu = parseNumber(args[0], 'CPU', line);
        const bit = parseNumber(args[1], 'BIT', line);
        return run(() => mx.assign(cpu, bit));
      }
      case 'reserve':
        arity(args, 0, 0, op, line);
        return run(() => mx.reserve());
      case 'unreserve':
        arity(args, 0, 0, op, line);
        return run(() => mx.removeReserved());
      case 'reserve_managed':
      case 'remove_managed': {
        arity(args, 1, 1, op, line);
        const mask = parseMaskText(args[0], line);
        return run(() => (op === 'reserve_managed' ? mx.reserveManaged(mask) : mx.removeManaged(mask)));
      }
      case 'alloc': {
        arity(args, 1, 2, op, line);
        const mask = parseMaskText(args[0], line);
        const reserved = flag(args[1], 'reserved', line);
        return run(() => {
          const a = mx.alloc(mask, reserved);
          return { cpu: a.cpu, vector: a.vector };
        });
      }
      case 'alloc_managed': {
        arity(args, 1, 1, op, line);
        const mask = parseMaskText(args[0], line);
        return run(() => {
          const a = mx.allocManaged(mask);
          return { cpu: a.cpu, vector: a.vector };
        });
      }
      case 'free': {
        arity(args, 2, 3, op, line);
        const cpu = parseNumber(args[0], 'CPU', line);
        const bit = parseNumber(args[1], 'BIT', line);
        const managed = flag(args[2], 'managed', line);
        return run(() => mx.free(cpu, bit, managed));
      }
      case 'alloc_block': {
        arity(args, 2, 3, op, line);
        const mask = parseMaskText(args[0], line);
        const count = parseNumber(args[1], 'COUNT', line);
        const reserved = flag(args[2], 'reserved', line);
        return run(() => {
          const b = mx.allocBlock(mask, count, reserved);
          return { cpu: b.cpu, base: b.base, count: b.count };
        });
      }
      case 'free_block': {
        arity(args, 3, 3, op, line);
        const cpu = parseNumber(args[0], 'CPU', line);
        const base = parseNumber(args[1], 'BASE', line);
        const count = parseNumber(args[2], 'COUNT', line);
        return run(() => mx.freeBlock(cpu, base, count));
      }
      case 'stats': {
        arity(args, 0, 0, op, line);
        const s = mx.stats();
        return {
          online_maps: s.onlineMaps,
          global_available: s.globalAvailable,
          global_reserved: s.globalReserved,
          total_allocated: s.totalAllocated,
          systembits_inalloc: s.systembitsInalloc,
        };
      }
      case 'cpu': {
        arity(args, 1, 1, op, line);
        const cpu = parseNumber(args[0], 'CPU', line);
        return run(() => {
          const c = mx.cpu(cpu);
          return {
            cpu: c.cpu,
            online: c.online,
            available: c.available,
            allocated: c.allocated,
            managed: c.managed,
            managed_allocated: c.managedAllocated,
          };
        });
      }
      case 'dump':
        arity(args, 0, 0, op, line);
        return { text: mx.dump() };
      default:
        throw new ScriptSyntaxError(line, `unknown operation ${describe(op)}`);
    }
  }
}
