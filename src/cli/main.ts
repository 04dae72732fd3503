// The `irqslice` command: matrix scripts, boot-and-probe runs. Exit 0 success, 1 failed checks,
// 2 bad usage or input.

import { cac } from 'cac';
import { SCRIPT_GRAMMAR } from '../alloc/script';
import { matrixCommand } from './matrix-command';
import { runCommand } from './run-command';
import { migrateCommand } from './migrate-command';
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

cli
  .command('migrate', 'Move a multi-MSI block under fault injection, or unplug CPUs under load (--evacuate)')
  .option('--protocol <list>', 'naive, linux, linux-single, safe, or all (comma-separated)')
  .option('--block <n>', 'block size 1..32 (default 4)')
  .option('--mode <m>', 'affinity | unplug | both')
  .option('--pvm <p>', 'per-vector masking: no | yes | both')
  .option('--target <t>', 'new block base: other-base | same-base | both')
  .option('--stale <s>', 'old vectors afterwards: free | busy | both')
  .option('--schedule <s>', 'when the old CPU runs: eager | lazy | both')
  .option('--fires <k>', 'messages fired per run')
  .option('--address <bits>', 'MSI capability address width: 64 | 32')
  .option('--exhaustive', 'enumerate every interleaving (default for small blocks)')
  .option('--random <n>', 'n random interleavings instead')
  .option('--seed <s>', 'seed for --random and --evacuate')
  .option('--positions', 'show the outcome at each injection point')
  .option('--trace', 'print the guest steps of each protocol')
  .option('--json', 'print JSON instead of tables')
  .option('--evacuate', 'CPU hot-unplug experiment: evacuation success vs load and CPU count')
  .option('--cpus <list>', 'CPU counts for --evacuate')
  .option('--load <list>', 'loads (0..1) for --evacuate')
  .option('--trials <n>', 'trials per --evacuate cell')
  .option('--pvm-share <f>', 'fraction of devices with per-vector masking for --evacuate')
  .option('--engine <e>', 'vector matrix engine: js | wasm')
  .example('irqslice migrate --protocol all --block 4')
  .example('irqslice migrate --evacuate --cpus 8,16,32 --load 0.5,0.8,0.9')
  .action(async (opts: Record<string, unknown>) => {
    process.exitCode = await migrateCommand(opts);
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
