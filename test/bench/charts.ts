// Charts for the benchmark scripts: each chart is described as a Vega-Lite spec, compiled and laid
// out by Vega into SVG (headless, no canvas), and rasterized to PNG by resvg with the DejaVu Sans
// font files named below, so the output does not depend on which system fonts are installed.
// Vega sizes text for layout (label spacing, truncation) from the same font files, through
// opentype.js, instead of its rough canvas-less estimate.
// Benchmarks only: vega, vega-lite, opentype.js and @resvg/resvg-js are devDependencies.
import * as fs from 'fs';
import * as path from 'path';

export interface Series {
  label: string;
  points: { x: number; y: number }[];
  color?: [number, number, number];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Line charts only: a log2 x axis, ticked at the data's x values. */
  xLog2?: boolean;
  yMin?: number;
  yMax?: number;
  /** 'line' (default): one line with points per series; 'bar': one bar per series at each x. */
  kind?: 'line' | 'bar';
}

/** Debian package fonts-dejavu-core (installed by scripts/setup.sh). */
export const FONT_DIR = '/usr/share/fonts/truetype/dejavu';
export const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => path.join(FONT_DIR, f));

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

/** A text width function for Vega's `textMetrics.width`: the sum of DejaVu Sans glyph advances. */
function fontMeasure(): (item: TextItem, text: unknown) => number {
  // opentype.js has no type declarations; this is the part of its API used here.
  type Glyph = { advanceWidth?: number };
  type Font = { unitsPerEm: number; charToGlyph(c: string): Glyph };
  const opentype = require('opentype.js') as { parse(buf: ArrayBuffer): Font };
  const [regular, bold] = FONT_FILES.map((f) => {
    const b = fs.readFileSync(f);
    return opentype.parse(b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer);
  });
  return (item, text) => {
    const font = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600 ? bold : regular;
    const size = item.fontSize ?? 11;
    let units = 0;
    for (const c of String(text ?? '').trim()) units += font.charToGlyph(c).advanceWidth ?? 0;
    const w = (units * size) / font.unitsPerEm;
    // Text longer than its limit is drawn truncated to the limit.
    return item.limit && item.limit > 0 ? Math.min(w, item.limit) : w;
  };
}

/** Default series colors: the usual ten-color categorical palette (d3 category10). */
const PALETTE: [number, number, number][] = [
  [31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

function check(series: Series[], opts: ChartOptions): { width: number; height: number } {
  const width = opts.width ?? 800;
  const height = opts.height ?? 500;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 200 || height < 150 || width > 10000 || height > 10000) {
    throw new RangeError(`chart size must be integers in 200..10000 x 150..10000, got ${width}x${height}`);
  }
  if (series.length === 0) throw new RangeError(`chart "${opts.title}": no series to draw`);
  const labels = series.map((s) => s.label);
  labels.forEach((l, i) => {
    if (!l) throw new RangeError(`chart "${opts.title}": series ${i} has no label`);
    if (labels.indexOf(l) !== i) throw new RangeError(`chart "${opts.title}": two series are labelled "${l}"`);
  });
  for (const s of series) {
    if (s.color && !s.color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) {
      throw new RangeError(`series "${s.label}": color must be three integers in 0..255, got ${JSON.stringify(s.color)}`);
    }
  }
  if (opts.yMin !== undefined && opts.yMax !== undefined && !(opts.yMin < opts.yMax)) {
    throw new RangeError(`yMin (${opts.yMin}) must be below yMax (${opts.yMax})`);
  }
  return { width, height };
}

/** A line chart's y domain: yMin and yMax where given, else the data's; 8 px of padding inside the
 *  plot keeps points at either end clear of the frame. */
function yDomain(ys: number[], opts: ChartOptions): [number, number] {
  let lo = opts.yMin ?? Math.min(...ys);
  let hi = opts.yMax ?? Math.max(...ys);
  if (!(hi > lo)) {
    // one distinct value, or all data beyond the one bound given: a span around the bound or value
    const pad = Math.abs(opts.yMin ?? opts.yMax ?? lo) * 0.1 || 1;
    if (opts.yMax !== undefined) lo = hi - pad;
    else if (opts.yMin !== undefined) hi = lo + pad;
    else [lo, hi] = [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/** The chart as a Vega-Lite spec (exported for inspection; `chartSvg` renders it). */
export function chartSpec(series: Series[], opts: ChartOptions): Record<string, unknown> {
  const { width, height } = check(series, opts);
  const bar = opts.kind === 'bar';
  const xLog2 = !bar && !!opts.xLog2;
  // Points that can be drawn: finite, and positive x on a log axis.
  const rows = series.flatMap((s) =>
    s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog2 || p.x > 0)).map((p) => ({ series: s.label, x: p.x, y: p.y })),
  );
  if (rows.length === 0) throw new RangeError(`chart "${opts.title}": no finite${xLog2 ? ', positive-x' : ''} points to draw`);
  const xs = [...new Set(rows.map((r) => r.x))].sort((a, b) => a - b);
  const labels = series.map((s) => s.label);
  const colors = series.map((s, i) => `rgb(${(s.color ?? PALETTE[i % PALETTE.length]).join(',')})`);

  // Category labels on a bar chart: every Nth (N a round number) so that they don't collide.
  const labelW = 7 * Math.max(...xs.map((x) => String(x).length)) + 8;
  const every = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000].find((n) => (n * (width - 100)) / xs.length >= labelW) ?? 10000;
  // Legend on top, in as many columns as fit.
  const legendLabelLimit = Math.max(100, width - 80);
  const entryW = 30 + Math.min(legendLabelLimit, 7.5 * Math.max(...labels.map((l) => l.length)));
  const columns = Math.max(1, Math.min(labels.length, Math.floor((width - 40) / entryW)));

  const x = bar
    ? { field: 'x', type: 'ordinal', title: opts.xLabel || null, axis: { labelAngle: 0, values: xs.filter((_, i) => i % every === 0) } }
    : {
        field: 'x',
        type: 'quantitative',
        title: opts.xLabel || null,
        scale: xLog2 ? { type: 'log', base: 2, nice: false, padding: 12 } : { zero: false, nice: false, padding: 12 },
        axis: xLog2 ? { values: xs, format: '~r' } : { tickCount: Math.max(2, Math.floor(width / 90)) },
      };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 12,
    background: 'white',
    title: opts.title ? { text: opts.title, frame: 'bounds', limit: width - 40, fontSize: 17 } : undefined,
    data: { values: rows },
    mark: bar ? { type: 'bar', clip: true } : { type: 'line', point: { size: 45 }, strokeWidth: 2, clip: true },
    encoding: {
      x,
      ...(bar && labels.length > 1 ? { xOffset: { field: 'series', scale: { domain: labels } } } : {}),
      y: {
        field: 'y',
        type: 'quantitative',
        title: opts.yLabel || null,
        scale: bar
          ? { zero: true, domainMin: opts.yMin, domainMax: opts.yMax, nice: opts.yMin === undefined && opts.yMax === undefined }
          : { zero: false, domain: yDomain(rows.map((r) => r.y), opts), padding: 8, nice: opts.yMin === undefined && opts.yMax === undefined },
      },
      color: {
        field: 'series',
        type: 'nominal',
        scale: { domain: labels, range: colors },
        legend: { orient: 'top', title: null, columns, labelLimit: legendLabelLimit, symbolType: bar ? 'square' : 'stroke', symbolStrokeWidth: 3 },
      },
      ...(bar ? {} : { order: { field: 'x', type: 'quantitative' } }),
    },
    config: {
      font: FONT_FAMILY,
      view: { stroke: '#333' },
      axis: { labelFontSize: 12, titleFontSize: 13, labelColor: '#222', titleColor: '#000', tickColor: '#333', domainColor: '#333', gridColor: '#e4e4e4' },
      axisX: { grid: !bar },
      legend: { labelFontSize: 12, labelColor: '#222' },
    },
  };
}

let measure: ((item: TextItem, text: unknown) => number) | undefined;

/** The chart as an SVG document of `width` x `height` pixels (default 800 x 500). */
export async function chartSvg(series: Series[], opts: ChartOptions): Promise<string> {
  const spec = chartSpec(series, opts);
  const missing = FONT_FILES.filter((f) => !fs.existsSync(f));
  if (missing.length) throw new Error(`chart fonts not found: ${missing.join(', ')} (Debian package fonts-dejavu-core; scripts/setup.sh installs it)`);
  // vega and vega-lite are ES modules; this file compiles to CommonJS, hence import().
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const metrics = (vega as unknown as { textMetrics: { width: unknown } }).textMetrics;
  metrics.width = measure ??= fontMeasure();
  const compiled = vl.compile(spec as any, { logger: vega.logger(vega.Warn, 'error') }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The chart as a PNG (see `chartSvg`), text set in DejaVu Sans from `FONT_DIR`. */
export async function renderChart(series: Series[], opts: ChartOptions): Promise<Buffer> {
  const svg = await chartSvg(series, opts);
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: FONT_FILES, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  return resvg.render().asPng();
}

export async function writeChart(file: string, series: Series[], opts: ChartOptions): Promise<void> {
  const png = await renderChart(series, opts);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, png);
}
