// `irqslice whatif VECTOR_DUMP [--lspci FILE] [--json]`: a real machine's vector matrix (debugfs
// VECTOR file) rebuilt and asked what fits, what moves and what a CPU offline would do.
// A malformed dump or lspci file is exit 2 naming the file and line.

import { LspciError, VectorDumpError } from '../import/errors.js';
import { parseLspci, type LspciFunction } from '../import/lspci.js';
import { parseVectorDump, type VectorDump } from '../import/vector-dump.js';
import { whatIf } from '../import/whatif.js';
import { formatWhatIf } from '../import/whatif-text.js';
import type { CommandSpec, ParsedArgs } from './args.js';
import { inputName, readText, UsageError, type CliIo } from './io.js';

/** Far above any real dump or lspci -vv of a large server (a few hundred KiB). */
export const MAX_WHATIF_INPUT_BYTES = 16 * 1024 * 1024;

export const WHATIF_SPEC: CommandSpec = {
  name: 'whatif',
  summary: "read a real machine's /sys/kernel/debug/irq/domains/VECTOR (and lspci -vv): what blocks fit, which CPUs could go offline",
  usage: ['irqslice whatif VECTOR_DUMP|- [--lspci FILE] [--json]'],
  options: [
    { name: 'lspci', value: 'FILE', help: 'the same machine\'s "lspci -vv" output: MSI functions, remapping, blocks' },
    { name: 'json', help: 'print the JSON answer (docs/DESIGN.md §4) instead of the text report' },
  ],
  positionals: { max: 1, name: 'VECTOR_DUMP' },
  more:
    'On the Linux machine (debugfs needs root and CONFIG_GENERIC_IRQ_DEBUGFS):\n' +
    '  sudo cat /sys/kernel/debug/irq/domains/VECTOR > vector.txt\n' +
    '  sudo lspci -vv > lspci.txt\n\n' +
    'Exit status 0 with an answer, 2 for bad usage or a malformed file (with its line number).\n\n' +
    'Example:\n  irqslice whatif examples/machines/qemu-6.1-4cpu/vector.txt --json\n',
};

export async function whatifMain(args: ParsedArgs, io: CliIo): Promise<number> {
  const file = args.positionals[0];
  if (file === undefined) throw new UsageError('needs a VECTOR_DUMP file (or - for standard input): sudo cat /sys/kernel/debug/irq/domains/VECTOR > vector.txt');
  const lspciOpt = args.options.get('lspci');
  if (lspciOpt === true) throw new UsageError('--lspci needs a FILE');
  if (file === '-' && lspciOpt === '-') throw new UsageError('the dump and --lspci cannot both be standard input');
  const json = args.options.get('json') === true;

  const name = inputName(file);
  let dump: VectorDump;
  try {
    dump = parseVectorDump(await readText(file, io, MAX_WHATIF_INPUT_BYTES));
  } catch (e) {
    if (e instanceof VectorDumpError) throw new UsageError(`${name}:${e.line}: ${e.reason}`);
    throw e;
  }
  let functions: LspciFunction[] | null = null;
  if (lspciOpt !== undefined) {
    const lname = inputName(lspciOpt);
    try {
      functions = parseLspci(await readText(lspciOpt, io, MAX_WHATIF_INPUT_BYTES));
    } catch (e) {
      if (e instanceof LspciError) throw new UsageError(`${lname}:${e.line}: ${e.reason}`);
      throw e;
    }
  }
  const r = whatIf(dump, functions);
  io.stdout(json ? JSON.stringify(r.json, null, 2) + '\n' : formatWhatIf(dump, r));
  return 0;
}
