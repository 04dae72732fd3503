// SVG line charts through vega-lite → vega (rendered headless with renderer 'none' → toSVG()).
// Both packages are optional: without them the run writes no charts and says so.

import { importOptional } from './optional.js';

export interface Point {
  x: number;
  y: number;
  series: string;
}

export interface LineChart {
  title: string;
  xTitle: string;
  yTitle: string;
  xScale?: 'linear' | 'log2' | 'log10';
  yScale?: 'linear' | 'log10';
  /** Legend title. */
  seriesTitle: string;
  points: readonly Point[];
  /** Fixed y domain (e.g. [0, 100] for percentages). */
  yDomain?: [number, number];
}

interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}

export interface ChartRenderer {
  render(chart: LineChart): Promise<string>;
}

function scaleOf(kind: LineChart['xScale'] | LineChart['yScale']): object {
  if (kind === 'log2') return { type: 'log', base: 2 };
  if (kind === 'log10') return { type: 'log', base: 10 };
  return { type: 'linear', zero: false };
}

/** The vega-lite specification of a chart (exported for inspection and tests). */
export function vegaLiteSpec(chart: LineChart): object {
  const xs = [...new Set(chart.points.map((p) => p.x))].sort((a, b) => a - b);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.title,
    width: 560,
    height: 320,
    background: 'white',
    data: { values: chart.points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: chart.xTitle,
        scale: scaleOf(chart.xScale),
        ...(xs.length <= 12 ? { axis: { values: xs } } : {}),
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: chart.yTitle,
        scale: { ...scaleOf(chart.yScale), ...(chart.yDomain ? { domain: chart.yDomain } : {}) },
      },
      color: { field: 'series', type: 'nominal', title: chart.seriesTitle },
      tooltip: [{ field: 'series', type: 'nominal' }, { field: 'x', type: 'quantitative' }, { field: 'y', type: 'quantitative' }],
    },
  };
}

/** Loads vega and vega-lite; null (with the reason) when either is missing. */
export async function loadChartRenderer(): Promise<{ renderer: ChartRenderer | null; reason: string }> {
  const vegaMod = await importOptional<VegaModule & { default?: VegaModule }>('vega');
  const vlMod = await importOptional<VegaLiteModule & { default?: VegaLiteModule }>('vega-lite');
  if (!vegaMod || !vlMod) {
    const missing = [vegaMod ? null : 'vega', vlMod ? null : 'vega-lite'].filter(Boolean).join(' and ');
    return { renderer: null, reason: `${missing} not installed: no SVG charts written` };
  }
  const vega: VegaModule = typeof vegaMod.parse === 'function' ? vegaMod : vegaMod.default!;
  const vl: VegaLiteModule = typeof vlMod.compile === 'function' ? vlMod : vlMod.default!;
  return {
    renderer: {
      async render(chart) {
        const view = new vega.View(vega.parse(vl.compile(vegaLiteSpec(chart)).spec), { renderer: 'none' });
        try {
          return await view.toSVG();
        } finally {
          view.finalize();
        }
      },
    },
    reason: 'vega + vega-lite',
  };
}
