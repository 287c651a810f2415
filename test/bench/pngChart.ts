// Charts for the benchmark scripts, written straight to PNG with nothing but Node's zlib: an RGB
// raster, a 5x7 bitmap font drawn at 2x (or 3x for a title that fits), line charts (optionally
// log2 on x) and grouped bar charts, and a hand-rolled PNG encoder (IHDR, one IDAT, IEND).
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

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
  xLog2?: boolean;
  yMin?: number;
  yMax?: number;
  kind?: 'line' | 'bar';
}

type RGB = readonly [number, number, number];

const BLACK: RGB = [0, 0, 0];
const TEXT: RGB = [30, 30, 30];
const GRID: RGB = [228, 228, 228];

/** Distinct default series colors (the usual ten-color categorical palette). */
const PALETTE: RGB[] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

// ---------------------------------------------------------------------------------------------
// Font: ASCII 32..126, 5 columns x 7 rows; each glyph is 7 rows of 2 hex digits, bit 4 (0x10) is
// the leftmost column. A text line is 9 rows high: g p q y are drawn 2 rows lower (and j 1 row
// lower) so that their tails hang below the baseline.

const FONT_W = 5;
const FONT_H = 7;
const GLYPHS =
  '00000000000000' + '04040404040004' + '0A0A0A00000000' + '0A0A1F0A1F0A0A' + // space ! " #
  '040F140E051E04' + '18190204081303' + '0C12140815120D' + '04040800000000' + // $ % & '
  '02040808080402' + '08040202020408' + '0004150E150400' + '0004041F040400' + // ( ) * +
  '000000000C0408' + '0000001F000000' + '00000000000C0C' + '00010204081000' + // , - . /
  '0E11131519110E' + '040C040404040E' + '0E11010204081F' + '1F02040201110E' + // 0 1 2 3
  '02060A121F0202' + '1F101E0101110E' + '0608101E11110E' + '1F010204080808' + // 4 5 6 7
  '0E11110E11110E' + '0E11110F01020C' + '000C0C000C0C00' + '000C0C000C0408' + // 8 9 : ;
  '02040810080402' + '00001F001F0000' + '08040201020408' + '0E110102040004' + // < = > ?
  '0E11010D15150E' + '0E1111111F1111' + '1E11111E11111E' + '0E11101010110E' + // @ A B C
  '1C12111111121C' + '1F10101E10101F' + '1F10101E101010' + '0E11101711110F' + // D E F G
  '1111111F111111' + '0E04040404040E' + '0702020202120C' + '11121418141211' + // H I J K
  '1010101010101F' + '111B1515111111' + '11111915131111' + '0E11111111110E' + // L M N O
  '1E11111E101010' + '0E11111115120D' + '1E11111E141211' + '0F10100E01011E' + // P Q R S
  '1F040404040404' + '1111111111110E' + '11111111110A04' + '1111111515150A' + // T U V W
  '11110A040A1111' + '1111110A040404' + '1F01020408101F' + '0E08080808080E' + // X Y Z [
  '00100804020100' + '0E02020202020E' + '040A1100000000' + '0000000000001F' + // \ ] ^ _
  '08040200000000' + '00000E010F110F' + '1010161911111E' + '00000E1010110E' + // ` a b c
  '01010D1311110F' + '00000E111F100E' + '0609081C080808' + '0F1111110F010E' + // d e f g
  '10101619111111' + '04000C0404040E' + '0200060202120C' + '10101214181412' + // h i j k (j is drawn 1 row lower)
  '0C04040404040E' + '00001A15151111' + '00001619111111' + '00000E1111110E' + // l m n o
  '1E1111111E1010' + '0F1111110F0101' + '00001619101010' + '00000E100E011E' + // p q r s
  '08081C08080906' + '0000111111130D' + '00001111110A04' + '0000111115150A' + // t u v w
  '0000110A040A11' + '111111110F010E' + '00001F0204081F' + '02040408040402' + // x y z {
  '04040404040404' + '08040402040408' + '00000815020000'; // | } ~

const LINE_H = FONT_H + 2;
const DESCENDERS: Record<string, number> = { g: 2, p: 2, q: 2, y: 2, j: 1 };

function glyphRows(ch: number): number[] {
  const i = ch >= 32 && ch <= 126 ? ch - 32 : 63 - 32; // unknown characters draw as '?'
  const rows: number[] = [];
  for (let r = 0; r < FONT_H; r++) rows.push(parseInt(GLYPHS.substr(i * 14 + r * 2, 2), 16));
  return rows;
}

/** Width in pixels of `s` drawn at `scale` (one blank column between characters). */
function textWidth(s: string, scale: number): number {
  return s.length === 0 ? 0 : (s.length * (FONT_W + 1) - 1) * scale;
}

// ---------------------------------------------------------------------------------------------
// Raster

interface Rect {
  x0: number;
  y0: number;
  x1: number; // inclusive
  y1: number; // inclusive
}

class Raster {
  readonly data: Uint8Array;
  clip: Rect | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3).fill(255);
  }

  set(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const k = this.clip;
    if (k && (x < k.x0 || x > k.x1 || y < k.y0 || y > k.y1)) return;
    const o = (y * this.width + x) * 3;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  /** Filled rectangle, corners inclusive. */
  fill(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    const ax = Math.round(Math.min(x0, x1)), bx = Math.round(Math.max(x0, x1));
    const ay = Math.round(Math.min(y0, y1)), by = Math.round(Math.max(y0, y1));
    for (let y = ay; y <= by; y++) for (let x = ax; x <= bx; x++) this.set(x, y, c);
  }

  /** Line of the given thickness (a thickness x thickness square stamped along Bresenham's path). */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thickness = 1): void {
    x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const lo = -Math.floor((thickness - 1) / 2), hi = lo + thickness - 1;
    let err = dx + dy;
    for (;;) {
      for (let j = lo; j <= hi; j++) for (let i = lo; i <= hi; i++) this.set(x0 + i, y0 + j, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }

  /** Text with its top-left corner at (x, y); `vertical` draws it reading bottom to top, with (x, y)
   *  the bottom-left corner of the rotated text. */
  text(s: string, x: number, y: number, scale: number, c: RGB, vertical = false): void {
    x = Math.round(x);
    y = Math.round(y);
    for (let n = 0; n < s.length; n++) {
      const rows = glyphRows(s.charCodeAt(n));
      const u0 = n * (FONT_W + 1) * scale;
      const v0 = (DESCENDERS[s[n]] ?? 0) * scale;
      for (let r = 0; r < FONT_H; r++) {
        for (let col = 0; col < FONT_W; col++) {
          if (!(rows[r] & (0x10 >> col))) continue;
          for (let a = 0; a < scale; a++) {
            for (let b = 0; b < scale; b++) {
              const u = u0 + col * scale + a, v = v0 + r * scale + b;
              if (vertical) this.set(x + v, y - u, c);
              else this.set(x + u, y + v, c);
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers

/** A round step (1, 2, 2.5 or 5 times a power of ten) giving at most about `maxTicks` intervals. */
function niceStep(span: number, maxTicks: number): number {
  const rough = span / Math.max(1, maxTicks);
  const p = 10 ** Math.floor(Math.log10(rough));
  const f = rough / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

/** Decimals needed to print multiples of `step` exactly. */
function decimalsFor(step: number): number {
  for (let d = 0; d <= 10; d++) {
    const v = step * 10 ** d;
    if (Math.abs(v - Math.round(v)) < 1e-6 * Math.max(1, Math.abs(v))) return d;
  }
  return 10;
}

function formatNumber(v: number, decimals: number): string {
  const a = Math.abs(v);
  if (a === 0) return (0).toFixed(Math.min(decimals, 8));
  if (a >= 1e7 || a < 1e-5) return v.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
  const s = v.toFixed(Math.min(decimals, 8));
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** A data x value as a short label (up to 4 significant digits, no trailing zeros). */
function formatValue(v: number): string {
  const a = Math.abs(v);
  if (v === 0) return '0';
  if (a >= 1e7 || a < 1e-5) return formatNumber(v, 0);
  return String(Number(v.toPrecision(a >= 1e4 ? 7 : 4)));
}

function ticksBetween(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Chart

const SCALE = 2; // tick labels, axis labels and legend
const CHAR_H = LINE_H * SCALE; // height of a line of text, descenders included

interface Tick {
  pos: number; // pixel
  label: string;
}

/** Keeps ticks (in pixel order) whose labels do not overlap the previous kept one. */
function thinTicks(ticks: Tick[], gap: number): Tick[] {
  const out: Tick[] = [];
  let lastRight = -Infinity;
  for (const t of ticks) {
    const w = textWidth(t.label, SCALE);
    if (t.pos - w / 2 >= lastRight + gap) {
      out.push(t);
      lastRight = t.pos + w / 2;
    }
  }
  return out;
}

/** Shortens `s` with '..' so it fits `maxW` pixels at `scale`. */
function fit(s: string, maxW: number, scale: number): string {
  if (textWidth(s, scale) <= maxW) return s;
  let n = s.length;
  while (n > 0 && textWidth(s.slice(0, n) + '..', scale) > maxW) n--;
  return n > 0 ? s.slice(0, n) + '..' : '';
}

function finitePoints(s: Series, xLog2: boolean): { x: number; y: number }[] {
  return s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog2 || p.x > 0));
}

export function renderChart(series: Series[], opts: ChartOptions): Buffer {
  const W = opts.width ?? 800;
  const H = opts.height ?? 500;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 160 || H < 120 || W > 10000 || H > 10000) {
    throw new RangeError(`chart size must be integers in 160..10000 x 120..10000, got ${W}x${H}`);
  }
  if (opts.yMin !== undefined && opts.yMax !== undefined && !(opts.yMin < opts.yMax)) {
    throw new RangeError(`yMin (${opts.yMin}) must be below yMax (${opts.yMax})`);
  }
  const kind = opts.kind ?? 'line';
  const xLog2 = kind === 'line' && !!opts.xLog2;
  const img = new Raster(W, H);
  const colors: RGB[] = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const data = series.map((s) => finitePoints(s, xLog2));
  const all = data.flat();

  // ---- layout: title, legend rows, plot, tick labels, axis labels ----
  const titleScale = textWidth(opts.title, 3) <= W - 60 ? 3 : 2;
  const title = fit(opts.title, W - 20, titleScale);
  const titleH = title ? LINE_H * titleScale : 0;

  // y range and ticks (computed before the left margin, whose width depends on the labels)
  let lo = opts.yMin ?? Math.min(...all.map((p) => p.y));
  let hi = opts.yMax ?? Math.max(...all.map((p) => p.y));
  if (all.length === 0) {
    lo = opts.yMin ?? Math.min(0, opts.yMax !== undefined ? opts.yMax - 1 : 0);
    hi = opts.yMax ?? lo + 1;
  }
  if (kind === 'bar') {
    if (opts.yMin === undefined) lo = Math.min(lo, 0);
    if (opts.yMax === undefined) hi = Math.max(hi, 0);
  }
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    if (opts.yMin === undefined) lo -= pad;
    if (opts.yMax === undefined) hi += pad;
  }
  // The plot height is not known yet; estimate it for the tick count, then snap the range.
  const estPlotH = H - 150;
  const yStep = niceStep(hi - lo, Math.max(2, Math.floor(estPlotH / 55)));
  if (opts.yMin === undefined) lo = Math.floor(lo / yStep + 1e-9) * yStep;
  if (opts.yMax === undefined) hi = Math.ceil(hi / yStep - 1e-9) * yStep;
  const yDec = decimalsFor(yStep);
  const yTickVals = ticksBetween(lo, hi, yStep);
  const yLabels = yTickVals.map((v) => formatNumber(v, yDec));
  const yLabelW = Math.max(0, ...yLabels.map((s) => textWidth(s, SCALE)));

  const left = 10 + (opts.yLabel ? CHAR_H + 10 : 0) + yLabelW + 6 + 6;
  const right = W - 1 - 24;
  const plotW = right - left;

  // legend: items laid out in rows across the plot's width
  const legendItems = series
    .map((s, i) => ({ label: s.label, color: colors[i] }))
    .filter((it) => it.label !== '');
  const SW = 24; // swatch width
  const legendRows: { label: string; color: RGB; w: number }[][] = [];
  {
    let row: { label: string; color: RGB; w: number }[] = [];
    let rowW = 0;
    for (const it of legendItems) {
      const label = fit(it.label, plotW - SW - 8, SCALE);
      const w = SW + 8 + textWidth(label, SCALE);
      if (row.length && rowW + 24 + w > plotW) {
        legendRows.push(row);
        row = [];
        rowW = 0;
      }
      rowW += (row.length ? 24 : 0) + w;
      row.push({ label, color: it.color, w });
    }
    if (row.length) legendRows.push(row);
  }
  const LEGEND_ROW_H = CHAR_H + 8;

  const top = 12 + (titleH ? titleH + 8 : 0) + legendRows.length * LEGEND_ROW_H + (legendRows.length ? 8 : 4);
  const bottom = H - 1 - (12 + CHAR_H + (opts.xLabel ? 6 + CHAR_H : 0) + 8);
  const plotH = bottom - top;
  if (plotW < 40 || plotH < 30) throw new RangeError(`chart ${W}x${H} is too small for its labels`);

  // ---- title and legend ----
  if (title) img.text(title, (W - textWidth(title, titleScale)) / 2, 12, titleScale, BLACK);
  legendRows.forEach((row, r) => {
    const rowW = row.reduce((a, it) => a + it.w, 0) + 24 * (row.length - 1);
    let x = left + Math.max(0, Math.floor((plotW - rowW) / 2));
    const y = 12 + (titleH ? titleH + 8 : 0) + r * LEGEND_ROW_H;
    for (const it of row) {
      const cy = y + (FONT_H * SCALE) / 2;
      if (kind === 'line') {
        img.line(x, cy, x + SW - 1, cy, it.color, 2);
        img.fill(x + SW / 2 - 3, cy - 3, x + SW / 2 + 3, cy + 3, it.color);
      } else {
        img.fill(x + 4, y, x + SW - 5, y + FONT_H * SCALE - 1, it.color);
      }
      img.text(it.label, x + SW + 8, y, SCALE, TEXT);
      x += it.w + 24;
    }
  });

  // ---- y mapping, grid and tick labels ----
  const padY = kind === 'line' ? 8 : 0;
  const yPix = (v: number) => bottom - padY - ((v - lo) / (hi - lo)) * (plotH - 2 * padY);
  yTickVals.forEach((v, i) => {
    const py = Math.round(yPix(v));
    if (py > top && py < bottom) img.line(left + 1, py, right - 1, py, GRID);
    img.line(left - 6, py, left - 1, py, BLACK);
    img.text(yLabels[i], left - 9 - textWidth(yLabels[i], SCALE), py - (FONT_H * SCALE) / 2 + 1, SCALE, TEXT);
  });

  // ---- x mapping, ticks and data ----
  const xTicks: Tick[] = [];
  const plotRect: Rect = { x0: left + 1, y0: top + 1, x1: right - 1, y1: bottom - 1 };
  if (kind === 'bar') {
    const cats = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
    const n = Math.max(1, cats.length);
    const groupW = (plotW - 1) / n;
    const inner = groupW >= 5 ? groupW * 0.8 : groupW >= 2.5 ? groupW - 1 : groupW; // keep a 1-px gap while bars are wider than 1.5 px
    const barW = inner / Math.max(1, series.length);
    const index = new Map(cats.map((c, i) => [c, i]));
    img.clip = plotRect;
    data.forEach((pts, s) => {
      for (const p of pts) {
        const i = index.get(p.x)!;
        const x0 = left + 1 + i * groupW + (groupW - inner) / 2 + s * barW;
        const bx0 = Math.round(x0);
        const bx1 = Math.max(bx0, Math.round(x0 + barW) - 1 - (barW >= 4 && series.length > 1 ? 1 : 0));
        const base = Math.min(Math.max(0, lo), hi);
        img.fill(bx0, yPix(base), bx1, yPix(p.y), colors[s]);
      }
    });
    img.clip = null;
    // label every Nth category, N a round number so labels don't collide
    const labels = cats.map(formatValue);
    const labelW = Math.max(0, ...labels.map((s) => textWidth(s, SCALE)));
    let every = 1;
    for (const m of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000]) {
      every = m;
      if (m * groupW >= labelW + 10) break;
    }
    cats.forEach((_, i) => {
      if (i % every === 0) xTicks.push({ pos: left + 1 + (i + 0.5) * groupW, label: labels[i] });
    });
  } else {
    const ux = (x: number) => (xLog2 ? Math.log2(x) : x);
    let ulo = Math.min(...all.map((p) => ux(p.x)));
    let uhi = Math.max(...all.map((p) => ux(p.x)));
    if (all.length === 0) { ulo = 0; uhi = 1; }
    if (!(uhi > ulo)) { ulo -= 1; uhi += 1; }
    const padX = 12;
    const xPix = (x: number) => left + padX + ((ux(x) - ulo) / (uhi - ulo)) * (plotW - 2 * padX);
    if (xLog2) {
      const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
      const vals = xs.length ? xs : [1, 2];
      xTicks.push(...vals.map((v) => ({ pos: xPix(v), label: formatValue(v) })));
    } else {
      const labelGuess = Math.max(textWidth(formatValue(ulo), SCALE), textWidth(formatValue(uhi), SCALE), 3 * 12);
      const step = niceStep(uhi - ulo, Math.max(2, Math.floor(plotW / (labelGuess + 30))));
      const dec = decimalsFor(step);
      for (const v of ticksBetween(ulo, uhi, step)) xTicks.push({ pos: xPix(v), label: formatNumber(v, dec) });
    }
    const shown = thinTicks(xTicks, 10);
    xTicks.length = 0;
    xTicks.push(...shown);
    for (const t of xTicks) {
      const px = Math.round(t.pos);
      if (px > left && px < right) img.line(px, top + 1, px, bottom - 1, GRID);
    }
    img.clip = plotRect;
    data.forEach((pts, s) => {
      const sorted = [...pts].sort((a, b) => a.x - b.x);
      for (let k = 1; k < sorted.length; k++) {
        img.line(xPix(sorted[k - 1].x), yPix(sorted[k - 1].y), xPix(sorted[k].x), yPix(sorted[k].y), colors[s], 2);
      }
      for (const p of sorted) {
        const px = Math.round(xPix(p.x)), py = Math.round(yPix(p.y));
        img.fill(px - 3, py - 3, px + 3, py + 3, colors[s]);
      }
    });
    img.clip = null;
  }

  // ---- frame, x tick marks and labels, axis labels ----
  img.line(left, top, right, top, BLACK);
  img.line(left, bottom, right, bottom, BLACK);
  img.line(left, top, left, bottom, BLACK);
  img.line(right, top, right, bottom, BLACK);
  for (const t of xTicks) {
    const px = Math.round(t.pos);
    img.line(px, bottom + 1, px, bottom + 6, BLACK);
    img.text(t.label, px - Math.floor(textWidth(t.label, SCALE) / 2), bottom + 12, SCALE, TEXT);
  }
  if (opts.xLabel) {
    const xl = fit(opts.xLabel, W - 20, SCALE);
    img.text(xl, left + (plotW - textWidth(xl, SCALE)) / 2, bottom + 12 + CHAR_H + 6, SCALE, BLACK);
  }
  if (opts.yLabel) {
    const yl = fit(opts.yLabel, plotH, SCALE);
    img.text(yl, 10, top + (plotH + textWidth(yl, SCALE)) / 2, SCALE, BLACK, true);
  }
  return encodePng(W, H, img.data);
}

export function writeChart(file: string, series: Series[], opts: ChartOptions): void {
  const png = renderChart(series, opts);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, png);
}

// ---------------------------------------------------------------------------------------------
// PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** An 8-bit RGB PNG of `rgb` (width * height * 3 bytes, rows top to bottom). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new RangeError('pixel data does not match width x height x 3');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // color type: RGB
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering (every row uses filter 0, none)
  ihdr[12] = 0; // no interlace
  const stride = width * 3;
  const raw = Buffer.alloc(height * (1 + stride));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + stride)] = 0;
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (1 + stride) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
