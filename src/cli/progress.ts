// Progress of long CLI work on stderr: nothing for the first second (short runs stay quiet and their
// output deterministic), then cli-progress's bar on a terminal or a plain line per tenth of the work
// (and at least every 15 s) otherwise. The work loops are synchronous, so the bar is redrawn from
// tick() rather than from a timer.

import type { CliIo } from './io.js';

export interface Progress {
  /** `n` more units done. */
  tick(n?: number): void;
  /** Raises the total when an estimate proves low. */
  grow(total: number): void;
  done(): void;
}

interface Bar {
  start(total: number, value: number): void;
  update(value: number): void;
  setTotal(total: number): void;
  stop(): void;
}
interface CliProgressModule {
  SingleBar: new (options: object, preset?: object) => Bar;
  Presets: { shades_classic: object };
}

const QUIET_MS = 1000;
const PLAIN_EVERY_MS = 15_000;

/** `name` is not a literal at the import: esbuild leaves it to Node, and the package may be absent. */
async function loadBar(name: string): Promise<CliProgressModule | null> {
  const specifier = name;
  try {
    const mod = (await import(specifier)) as CliProgressModule | { default: CliProgressModule };
    return 'SingleBar' in mod ? mod : mod.default;
  } catch {
    return null;
  }
}

export async function createProgress(io: CliIo, title: string, total: number, unit: string, now: () => number = Date.now): Promise<Progress> {
  const cp = io.stderrIsTTY ? await loadBar('cli-progress') : null;
  const t0 = now();
  let value = 0;
  let bar: Bar | null = null;
  let visible = false;
  let lastLine = 0;
  let nextTenth = 1;
  const pct = () => Math.min(100, Math.floor((100 * value) / Math.max(1, total)));
  const line = () => {
    io.stderr(`${title}: ${value}/${total} ${unit} (${pct()}%), ${Math.round((now() - t0) / 1000)} s\n`);
    lastLine = now();
  };
  return {
    tick(n = 1) {
      value += n;
      if (bar) return bar.update(value); // the bar throttles its own redraws
      const t = now();
      if (!visible) {
        if (t - t0 < QUIET_MS) return;
        visible = true;
        if (cp?.SingleBar) {
          bar = new cp.SingleBar(
            { format: `${title} [{bar}] {value}/{total} ${unit} {percentage}% {duration_formatted}`, stream: process.stderr, synchronousUpdate: true, hideCursor: true, clearOnComplete: false },
            cp.Presets.shades_classic,
          );
          bar.start(total, value);
        } else {
          line();
          nextTenth = Math.floor(pct() / 10) + 1;
        }
        return;
      }
      if (pct() >= nextTenth * 10 || t - lastLine >= PLAIN_EVERY_MS) {
        line();
        nextTenth = Math.floor(pct() / 10) + 1;
      }
    },
    grow(t) {
      if (t <= total) return;
      total = t;
      bar?.setTotal(t);
    },
    done() {
      if (bar) {
        bar.update(value);
        bar.stop();
      } else if (visible) line();
    },
  };
}
