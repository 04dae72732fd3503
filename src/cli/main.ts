// The `irqslice` command: matrix scripts, boot-and-probe runs. Exit 0 success, 1 failed checks,
// 2 bad usage or input.

import { cac } from 'cac';
import { SCRIPT_GRAMMAR } from '../alloc/script';
import { matrixCommand } from './matrix-command';
import { runCommand } from './run-command';
import { UsageError } from './io';

const cli = cac('irqslice');

cli
  .command('matrix [file]', 'Run a vector matrix script (FILE or - for stdin); prints one JSON object per operation')
  .option('--engine <engine>', 'wasm or js', { default: 'wasm' })
  .example('irqslice matrix examples/matrix/x86-msi-devices.txt')
  .example('echo "preset x86\\ncpus 1\\nonline 0\\nalloc 0" | irqslice matrix -')
  .action(async (file: string | undefined, opts: { engine?: unknown }) => {
    process.exitCode = await matrixCommand(file, opts);
  });

cli
  .command('run [scenario]', 'Boot a machine and probe every MSI message (default: the built-in scenario under aligned and linux)')
  .option('--json', 'print the JSON report instead of the text report')
  .option('--policy <list>', 'placement policy or comma-separated list: aligned, linux, freebsd')
  .option('--engine <engine>', 'override the scenario engine: wasm or js')
  .example('irqslice run examples/scenarios/x2apic-8cpu.json --json')
  .action(async (file: string | undefined, opts: { json?: boolean; policy?: unknown; engine?: unknown }) => {
    process.exitCode = await runCommand(file, opts);
  });

cli.help((sections) => {
  if (process.argv.includes('matrix')) sections.push({ title: 'Script grammar', body: SCRIPT_GRAMMAR });
  return sections;
});
cli.version('0.1.0');

async function main(): Promise<void> {
  try {
    cli.parse(process.argv, { run: false });
    if (!cli.matchedCommand && !cli.options.help && !cli.options.version) {
      if (cli.args.length > 0) throw new UsageError(`unknown command "${cli.args[0]}"`);
      cli.outputHelp();
      return;
    }
    await cli.runMatchedCommand();
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === 'CACError')) {
      process.stderr.write(`irqslice: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (e instanceof Error && 'code' in e && (e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`irqslice: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

await main();
