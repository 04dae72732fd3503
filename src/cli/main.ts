// The `irqslice` command: boot-and-probe runs, matrix scripts, block moves. Exit 0 success, 1 a
// failed probe or check, 2 bad usage or input (one line on stderr naming the input and the problem).
// Anything else is a bug in irqslice: one line and exit 70 (the stack with IRQSLICE_DEBUG=1).

import { readFileSync } from 'node:fs';
import { commandHelp, parseCommandArgs, type CommandSpec, type ParsedArgs } from './args.js';
import { quote, UsageError, type CliIo } from './io.js';

export { processIo } from './io.js';
import { MATRIX_SPEC, matrixCommand } from './matrix-command.js';
import { MIGRATE_SPEC, migrateMain } from './migrate-command.js';
import { RUN_SPEC, runMain } from './run-command.js';
import { WHATIF_SPEC, whatifMain } from './whatif-command.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

interface Command {
  spec: CommandSpec;
  main(args: ParsedArgs, io: CliIo): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  run: { spec: RUN_SPEC, main: runMain },
  matrix: { spec: MATRIX_SPEC, main: matrixCommand },
  migrate: { spec: MIGRATE_SPEC, main: migrateMain },
  whatif: { spec: WHATIF_SPEC, main: whatifMain },
};

/** The version in package.json, found from this file upward (dist/cli.js, src/cli/main.ts, an install). */
export function version(): string {
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'irqslice' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: one level up
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}

export function generalHelp(): string {
  const lines = ['irqslice: an emulator of the x86 interrupt slice (local APICs, I/O APIC, PCI MSI/MSI-X, vector matrix)', '', 'Usage:'];
  for (const c of Object.values(COMMANDS)) for (const u of c.spec.usage) lines.push(`  ${u}`);
  lines.push('  irqslice help [COMMAND] | irqslice COMMAND --help', '  irqslice --version', '');
  for (const c of Object.values(COMMANDS)) lines.push(`  ${c.spec.name.padEnd(8)} ${c.spec.summary}`);
  lines.push('', 'Exit status: 0 success, 1 a probe or check failed, 2 bad usage or input.');
  return lines.join('\n') + '\n';
}

/** One line, whatever the message holds: control characters escaped, length capped. */
export function oneLine(message: string): string {
  let m = message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? ' ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  if (m.length > 500) m = `${m.slice(0, 480)}… (${m.length} chars)`;
  return m;
}

/** Runs the command line `argv` (without node and the script); returns the exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let prefix = 'irqslice';
  try {
    const [first, ...rest] = argv;
    if (first === undefined) throw new UsageError('missing command: run, matrix or migrate (see irqslice help)');
    if (first === '--version' || first === '-v' || first === '-V' || first === 'version') {
      if (rest.length) throw new UsageError(`${first} takes no arguments, got ${quote(rest[0]!)}`);
      io.stdout(`irqslice ${version()}\n`);
      return EXIT_OK;
    }
    if (first === 'help' || first === '--help' || first === '-h') {
      if (rest.length > 1) throw new UsageError(`help takes at most one command, got ${rest.map((r) => quote(r)).join(' ')}`);
      if (rest.length === 0) {
        io.stdout(generalHelp());
        return EXIT_OK;
      }
      const c = Object.hasOwn(COMMANDS, rest[0]!) ? COMMANDS[rest[0]!] : undefined;
      if (!c) throw new UsageError(`no help for ${quote(rest[0]!)}: the commands are run, matrix and migrate`);
      io.stdout(commandHelp(c.spec));
      return EXIT_OK;
    }
    const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!command) {
      throw new UsageError(first.startsWith('-') && first !== '-' ? `unknown option ${quote(first)} (the command comes first: run, matrix or migrate)` : `unknown command ${quote(first)} (run, matrix or migrate)`);
    }
    prefix = `irqslice ${first}`;
    const args = parseCommandArgs(command.spec, rest);
    if (args.help) {
      io.stdout(commandHelp(command.spec));
      return EXIT_OK;
    }
    return await command.main(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${prefix}: ${oneLine(e.message)}\n`);
      return EXIT_USAGE;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr(`${prefix}: internal error: ${oneLine(`${err.name}: ${err.message}`)}${process.env.IRQSLICE_DEBUG ? `\n${err.stack ?? ''}` : ' (IRQSLICE_DEBUG=1 shows the stack)'}\n`);
    return EXIT_INTERNAL;
  }
}
