// Progress on stderr: cli-progress's bar when the package is installed and stderr is a terminal,
// otherwise one plain line per tenth of the work.

import { importOptional } from './optional.js';

export interface Progress {
  tick(label: string): void;
  stop(): void;
}

interface CliProgressBar {
  start(total: number, value: number, payload?: object): void;
  increment(step: number, payload?: object): void;
  stop(): void;
}
interface CliProgressModule {
  SingleBar: new (options: object, preset?: object) => CliProgressBar;
  Presets: { shades_classic: object };
}

export async function createProgress(title: string, total: number): Promise<Progress> {
  const mod = process.stderr.isTTY ? await importOptional<CliProgressModule | { default: CliProgressModule }>('cli-progress') : null;
  const cp = mod && ('SingleBar' in mod ? mod : mod.default);
  if (cp?.SingleBar) {
    const bar = new cp.SingleBar(
      { format: `${title.padEnd(14)} [{bar}] {value}/{total} {label}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
      cp.Presets.shades_classic,
    );
    bar.start(total, 0, { label: '' });
    return { tick: (label) => bar.increment(1, { label }), stop: () => bar.stop() };
  }
  let done = 0;
  let nextReport = 0;
  return {
    tick(label) {
      done++;
      if (done * 10 >= nextReport * total || done === total) {
        process.stderr.write(`${title}: ${done}/${total} ${label}\n`);
        nextReport = Math.floor((done * 10) / total) + 1;
      }
    },
    stop() {},
  };
}
