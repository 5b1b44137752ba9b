// Line charts as SVG, without a browser: a Vega-Lite spec compiled to Vega and rendered headless
// by the `vega` package's View (renderer "none", then toSVG).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Axis {
  field: string;
  /** With the unit, e.g. "batch job wait (s)". */
  title: string;
  log?: boolean;
}

export interface LineChart {
  title: string;
  x: Axis;
  y: Axis;
  /** The field whose values are the legend's lines. */
  series: string;
  seriesTitle: string;
  data: readonly Record<string, string | number>[];
}

/** Smallest positive value, for a log axis' domain (a log scale cannot show 0). */
function floorOf(values: readonly number[]): number | undefined {
  const positive = values.filter((v) => v > 0);
  return positive.length === 0 ? undefined : Math.min(...positive);
}

export function chartSpec(c: LineChart): TopLevelSpec {
  // A log axis shows 0 nowhere: zeros (no conflicts at all) sit on the axis' floor, a decade under the smallest value.
  const yValues = c.data.map((d) => Number(d[c.y.field]));
  const yFloor = c.y.log ? (floorOf(yValues) ?? 1) / 10 : undefined;
  const data = yFloor === undefined ? c.data : c.data.map((d) => ({ ...d, [c.y.field]: Math.max(Number(d[c.y.field]), yFloor) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: 420,
    height: 260,
    background: 'white',
    data: { values: data.map((d) => ({ ...d })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: c.x.field, type: 'quantitative', title: c.x.title, scale: c.x.log ? { type: 'log' } : { zero: false } },
      y: { field: c.y.field, type: 'quantitative', title: c.y.title, scale: c.y.log ? { type: 'log' } : { zero: true } },
      color: { field: c.series, type: 'nominal', title: c.seriesTitle },
    },
  };
}

export async function renderSvg(c: LineChart): Promise<string> {
  const { spec } = compile(chartSpec(c));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
