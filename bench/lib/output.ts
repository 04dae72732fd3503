// Where results go: bench/results/<part>.json and .svg, and the generated half of bench/README.md
// (everything above the marker is hand-written and kept).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ChartRenderer, LineChart } from './charts.js';

/** bench/ resolved from this module: bench/lib/ in source, dist/ once bundled (both sit next to bench/). */
export function benchDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fromDist = path.resolve(here, '..', 'bench');
  return existsSync(path.join(fromDist, 'main.ts')) ? fromDist : path.resolve(here, '..');
}

export const README_MARKER = '<!-- GENERATED BELOW: `npm run bench` rewrites everything after this line -->';

export class Output {
  readonly resultsDir: string;
  readonly written: string[] = [];
  readonly warnings: string[] = [];

  constructor(readonly root: string, private readonly charts: ChartRenderer | null) {
    this.resultsDir = path.join(root, 'results');
    mkdirSync(this.resultsDir, { recursive: true });
  }

  json(name: string, value: unknown): string {
    const file = path.join(this.resultsDir, `${name}.json`);
    writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
    this.written.push(file);
    return file;
  }

  /** Renders a chart to results/<name>.svg; returns the file name, or null without a renderer. */
  async chart(name: string, chart: LineChart): Promise<string | null> {
    if (!this.charts || chart.points.length === 0) return null;
    const file = path.join(this.resultsDir, `${name}.svg`);
    let svg: string;
    try {
      svg = await this.charts.render(chart);
    } catch (e) {
      // A chart is a convenience: report and go on with the numbers.
      this.warnings.push(`chart ${name} not written: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
    writeFileSync(file, svg);
    this.written.push(file);
    return `results/${name}.svg`;
  }

  /** Keeps the hand-written part of bench/README.md and replaces what follows the marker. */
  readme(generated: string): string {
    const file = path.join(this.root, 'README.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
    const at = old.indexOf(README_MARKER);
    const head = at >= 0 ? old.slice(0, at) : old.endsWith('\n') ? old + '\n' : old + '\n\n';
    writeFileSync(file, `${head}${README_MARKER}\n\n${generated.trimEnd()}\n`);
    this.written.push(file);
    return file;
  }
}
