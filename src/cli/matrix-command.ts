// `irqslice matrix [--engine wasm|js] [FILE|-]`: runs a matrix script line by line as it is read,
// printing one JSON object per operation, so a long script never sits in memory whole.

import type { EngineName } from '../alloc/core.js';
import { MatrixScriptRunner, SCRIPT_GRAMMAR, ScriptSyntaxError } from '../alloc/script.js';
import { oneOf, type CommandSpec, type ParsedArgs } from './args.js';
import { inputName, readLines, UsageError, type CliIo } from './io.js';

export const MATRIX_SPEC: CommandSpec = {
  name: 'matrix',
  summary: 'run a vector matrix script (FILE, or - for standard input); one JSON object per operation',
  usage: ['irqslice matrix [--engine wasm|js] [FILE|-]'],
  options: [{ name: 'engine', value: 'wasm|js', help: 'vector matrix engine (default wasm)' }],
  positionals: { max: 1, name: 'FILE' },
  more:
    'Without FILE the script is read from standard input unless that is a terminal.\n\n' +
    SCRIPT_GRAMMAR +
    '\nExamples:\n  irqslice matrix examples/matrix/x86-msi-devices.txt\n  printf "preset x86\\ncpus 1\\nonline 0\\nalloc 0\\n" | irqslice matrix -\n',
};

export function parseEngine(value: string | undefined): EngineName {
  return value === undefined ? 'wasm' : oneOf('engine', value, ['wasm', 'js'] as const);
}

/** Flush printed results in chunks of about this many characters. */
const FLUSH_AT = 1 << 16;

export async function matrixCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const e = args.options.get('engine');
  const engine = parseEngine(e === true ? undefined : e);
  let file = args.positionals[0];
  if (file === undefined) {
    if (io.stdinIsTTY) throw new UsageError('no FILE given and standard input is a terminal (usage: irqslice matrix [--engine wasm|js] FILE|-)');
    file = '-';
  }
  const name = inputName(file);
  const runner = new MatrixScriptRunner({ engine });
  let out = '';
  let lineNo = 0;
  let blank = true;
  for await (const source of readLines(file, io)) {
    lineNo++;
    if (blank && source.trim() !== '') blank = false;
    let result: Record<string, unknown> | null;
    try {
      result = await runner.line(source, lineNo);
    } catch (err) {
      if (!(err instanceof ScriptSyntaxError)) throw err;
      io.stdout(out);
      throw new UsageError(`${name}:${err.line}: ${err.reason}`);
    }
    if (result === null) continue;
    out += JSON.stringify(result) + '\n';
    if (out.length >= FLUSH_AT) {
      io.stdout(out);
      out = '';
    }
  }
  io.stdout(out);
  if (blank) throw new UsageError(`${name}: empty input (a script needs a matrix or preset line and a cpus line)`);
  return 0;
}
