// Charts for the benchmark scripts: an SVG written by hand, rendered to PNG by headless Chromium
// (Debian's, through playwright-core, as the end-to-end tests use it). Without Chromium the SVG
// is still written and the PNG is skipped with a note.
import * as fs from 'fs';

export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog2?: boolean;
  yMin?: number;
  yMax?: number;
  kind?: 'line' | 'bar';
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const W = 900;
const H = 520;
const M = { left: 70, right: 230, top: 50, bottom: 60 };

function niceTicks(min: number, max: number, count = 6): number[] {
  const span = max - min || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderSvg(series: Series[], opts: ChartOptions): string {
  const all = series.flatMap((s) => s.points);
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const ys = all.map((p) => p.y);
  const yMin = opts.yMin ?? Math.min(0, ...ys);
  const yMax = opts.yMax ?? Math.max(...ys) * 1.05;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const bar = opts.kind === 'bar';
  const fx = (x: number) => {
    if (bar) return M.left + ((xs.indexOf(x) + 0.5) / xs.length) * pw;
    const t = opts.xLog2 ? (Math.log2(x) - Math.log2(xs[0])) / (Math.log2(xs[xs.length - 1]) - Math.log2(xs[0]) || 1) : (x - xs[0]) / (xs[xs.length - 1] - xs[0] || 1);
    return M.left + t * pw;
  };
  const fy = (y: number) => M.top + ph - ((y - yMin) / (yMax - yMin || 1)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="13">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - M.right / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${esc(opts.title)}</text>`);
  for (const t of niceTicks(yMin, yMax)) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${fy(t)}" y2="${fy(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 8}" y="${fy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  const every = Math.max(1, Math.ceil(xs.length / 20));
  xs.forEach((x, i) => {
    if (i % every === 0) out.push(`<text x="${fx(x)}" y="${M.top + ph + 20}" text-anchor="middle">${x}</text>`);
  });
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="black"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="black"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 15}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    if (bar) {
      const w = Math.max(1, (pw / xs.length) * 0.8);
      for (const p of s.points) out.push(`<rect x="${fx(p.x) - w / 2}" y="${fy(p.y)}" width="${w}" height="${fy(yMin) - fy(p.y)}" fill="${color}"/>`);
    } else {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${s.points.map((p) => `${fx(p.x)},${fy(p.y)}`).join(' ')}"/>`);
      for (const p of s.points) out.push(`<rect x="${fx(p.x) - 3}" y="${fy(p.y) - 3}" width="6" height="6" fill="${color}"/>`);
    }
    const ly = M.top + 10 + i * 20;
    out.push(`<rect x="${W - M.right + 15}" y="${ly - 9}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${W - M.right + 33}" y="${ly + 2}">${esc(s.label.slice(0, 28))}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Writes FILE.svg and, when Chromium is available, FILE (a PNG). Returns the PNG path or undefined. */
export async function writeChart(file: string, series: Series[], opts: ChartOptions): Promise<string | undefined> {
  const svg = renderSvg(series, opts);
  const svgFile = file.replace(/\.png$/, '') + '.svg';
  fs.writeFileSync(svgFile, svg);
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(chromium)) {
    process.stderr.write(`(no Chromium at ${chromium}: wrote ${svgFile} only; npm run e2e:setup installs it)\n`);
    return undefined;
  }
  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({
    executablePath: chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: W, height: H } });
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    await page.screenshot({ path: file, clip: { x: 0, y: 0, width: W, height: H } });
  } finally {
    await browser.close();
  }
  return file;
}
