// Entry point of dist/cli.js: runs main() on the process's arguments and streams.

import { main, processIo } from './main.js';

// A reader that went away (`irqslice run | head`) is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2), processIo());
