import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { chartSvg, renderChart, writeChart, type ChartOptions, type Series } from '../bench/charts';

interface Image {
  width: number;
  height: number;
  rgba: Buffer;
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what resvg writes), independently of the
 *  renderer: chunk CRCs, IHDR, inflate, and the five row filters. */
function decodePng(png: Buffer): Image {
  assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const chunks: { type: string; data: Buffer }[] = [];
  for (let o = 8; o < png.length; ) {
    const len = png.readUInt32BE(o);
    assert.ok(o + 12 + len <= png.length, 'chunk runs past the end of the file');
    const type = png.toString('latin1', o + 4, o + 8);
    assert.strictEqual(png.readUInt32BE(o + 8 + len), zlib.crc32(png.subarray(o + 4, o + 8 + len)), `bad CRC on ${type}`);
    chunks.push({ type, data: png.subarray(o + 8, o + 8 + len) });
    o += 12 + len;
  }
  assert.strictEqual(chunks[0].type, 'IHDR');
  assert.strictEqual(chunks[chunks.length - 1].type, 'IEND');
  const ihdr = chunks[0].data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [depth, colorType, , , interlace] = ihdr.subarray(8);
  assert.ok(depth === 8 && (colorType === 2 || colorType === 6) && interlace === 0, `unexpected PNG format ${[...ihdr.subarray(8)]}`);
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  assert.strictEqual(raw.length, height * (1 + stride));
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (1 + stride)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (1 + stride) + 1 + i];
      const a = i >= bpp ? px[y * stride + i - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? px[(y - 1) * stride + i - bpp] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.ok(pred !== undefined, `row ${y}: filter ${filter}`);
      px[y * stride + i] = (x + pred) & 0xff;
    }
  }
  const rgba = Buffer.alloc(width * height * 4, 255);
  for (let k = 0; k < width * height; k++) px.copy(rgba, k * 4, k * bpp, k * bpp + bpp);
  return { width, height, rgba };
}

type RGB = [number, number, number];

function pixel(img: Image, x: number, y: number): RGB {
  const o = (y * img.width + x) * 4;
  return [img.rgba[o], img.rgba[o + 1], img.rgba[o + 2]];
}

const near = (p: RGB, c: RGB, tol = 24) => Math.abs(p[0] - c[0]) + Math.abs(p[1] - c[1]) + Math.abs(p[2] - c[2]) <= tol;

function count(img: Image, box: { x0: number; y0: number; x1: number; y1: number }, match: (p: RGB) => boolean): number {
  let n = 0;
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) if (match(pixel(img, x, y))) n++;
  return n;
}

/** Text elements of the SVG, unescaped. */
function svgTexts(svg: string): string[] {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1]));
}

const lineSeries: Series[] = [1, 2, 3].map((k) => ({
  label: `family ${k}`,
  points: [1, 2, 4, 8, 16, 32, 64].map((r) => ({ x: r, y: Math.min(100, 10 * k + 12 * Math.log2(r)) })),
}));
const lineOpts: ChartOptions = { title: 'Accuracy vs iterations', xLabel: 'iterations r', yLabel: 'exact match %', xLog2: true, yMin: 0, yMax: 100 };

describe('benchmark charts (vega-lite -> SVG -> resvg PNG)', function () {
  it('lays out a log2 line chart with title, axis titles, tick labels and legend in the SVG', async function () {
    const svg = await chartSvg(lineSeries, lineOpts);
    assert.match(svg, /^<svg[^>]* width="800" height="500"/);
    const texts = svgTexts(svg);
    for (const t of ['Accuracy vs iterations', 'iterations r', 'exact match %', 'family 1', 'family 2', 'family 3']) {
      assert.ok(texts.includes(t), `no text "${t}" in ${JSON.stringify(texts)}`);
    }
    // log2 x axis: ticked at the data's x values; y axis from yMin to yMax
    for (const t of ['1', '2', '4', '8', '16', '32', '64', '0', '50', '100']) assert.ok(texts.includes(t), `no tick label ${t} in ${JSON.stringify(texts)}`);
    assert.ok(!texts.includes('3') && !texts.includes('128'), 'x ticks only at the data values');
    assert.match(svg, /font-family="DejaVu Sans"/);
    // the font is found: the title (top centre) and x axis title (bottom centre) are drawn as dark pixels
    const img = decodePng(await renderChart(lineSeries, lineOpts));
    assert.deepStrictEqual([img.width, img.height], [800, 500]);
    const dark = (p: RGB) => p[0] + p[1] + p[2] < 200;
    assert.ok(count(img, { x0: 250, y0: 0, x1: 550, y1: 35 }, dark) > 100, 'title drawn');
    assert.ok(count(img, { x0: 300, y0: 465, x1: 500, y1: 500 }, dark) > 50, 'x axis title drawn');
  });

  it('renders a PNG of the requested size, each series drawn in its color where its data is', async function () {
    const series: Series[] = [
      { label: 'rising', points: [{ x: 0, y: 0 }, { x: 10, y: 10 }], color: [250, 0, 250] },
      { label: 'falling', points: [{ x: 0, y: 10 }, { x: 10, y: 0 }] },
    ];
    const img = decodePng(await renderChart(series, { title: 't', xLabel: 'x', yLabel: 'y', width: 640, height: 400 }));
    assert.strictEqual(img.width, 640);
    assert.strictEqual(img.height, 400);
    assert.deepStrictEqual(pixel(img, 1, 1), [255, 255, 255], 'white background');
    const magenta: RGB = [250, 0, 250];
    const red: RGB = [214, 39, 40]; // the default color of the second series
    // the plot spans roughly the middle of the image: rising is low on the left and high on the
    // right, falling the other way round
    const leftLow = { x0: 60, y0: 250, x1: 250, y1: 390 };
    const leftHigh = { x0: 60, y0: 70, x1: 250, y1: 200 };
    const rightLow = { x0: 450, y0: 250, x1: 635, y1: 390 };
    const rightHigh = { x0: 450, y0: 70, x1: 635, y1: 200 };
    const is = (c: RGB) => (p: RGB) => near(p, c);
    assert.ok(count(img, leftLow, is(magenta)) > 50 && count(img, rightHigh, is(magenta)) > 50, 'rising series in magenta');
    assert.strictEqual(count(img, leftHigh, is(magenta)) + count(img, rightLow, is(magenta)), 0, 'magenta only where the rising series is');
    assert.ok(count(img, leftHigh, is(red)) > 50 && count(img, rightLow, is(red)) > 50, 'falling series in its default color');
    assert.strictEqual(count(img, leftLow, is(red)) + count(img, rightHigh, is(red)), 0, 'red only where the falling series is');
  });

  it('draws 120 separate bars, and grouped bars in their series colors', async function () {
    const bars: Series[] = [{ label: 'iterations', points: Array.from({ length: 120 }, (_, i) => ({ x: i, y: 4 + ((i * 7) % 29) })), color: [0, 0, 200] }];
    const opts: ChartOptions = { title: 'Iterations per token', xLabel: 'token', yLabel: 'iterations', kind: 'bar', yMin: 0, yMax: 32 };
    const img = decodePng(await renderChart(bars, opts));
    // along a row just above the x axis (every bar is at least 4/32 of the plot high), count runs of bar color
    const y = img.height - 60;
    let runs = 0;
    let inside = false;
    for (let x = 0; x < img.width; x++) {
      const hit = near(pixel(img, x, y), [0, 0, 200], 60);
      if (hit && !inside) runs++;
      inside = hit;
    }
    assert.strictEqual(runs, 120);
    const texts = svgTexts(await chartSvg(bars, opts));
    for (const t of ['0', '5', '10', '115', 'token', 'iterations', 'Iterations per token']) assert.ok(texts.includes(t), `no text "${t}"`);
    assert.ok(!texts.includes('1') && !texts.includes('117'), 'category labels thinned to round steps');

    const grouped: Series[] = ['a', 'b', 'c'].map((label, k) => ({ label, points: [1, 2, 3].map((x) => ({ x, y: 5 + k + x })) }));
    const g = decodePng(await renderChart(grouped, { title: 'grouped', xLabel: 'x', yLabel: 'y', kind: 'bar' }));
    const all = { x0: 0, y0: 0, x1: g.width, y1: g.height };
    for (const c of [[31, 119, 180], [214, 39, 40], [44, 160, 44]] as RGB[]) assert.ok(count(g, all, (p) => near(p, c, 6)) > 1000, `bars in ${c}`);
  });

  it('rejects bad input with a clear error', async function () {
    const opts = { title: 't', xLabel: 'x', yLabel: 'y' };
    const one = [{ label: 'a', points: [{ x: 1, y: 1 }] }];
    await assert.rejects(renderChart([], opts), /no series to draw/);
    await assert.rejects(renderChart([{ label: 'a', points: [{ x: 1, y: NaN }] }], opts), /no finite points/);
    await assert.rejects(renderChart([{ label: 'a', points: [{ x: 0, y: 1 }] }], { ...opts, xLog2: true }), /no finite, positive-x points/);
    await assert.rejects(renderChart([one[0], { ...one[0] }], opts), /two series are labelled "a"/);
    await assert.rejects(renderChart([{ label: '', points: [{ x: 1, y: 1 }] }], opts), /series 0 has no label/);
    await assert.rejects(renderChart(one, { ...opts, width: 10 }), /chart size/);
    await assert.rejects(renderChart(one, { ...opts, yMin: 5, yMax: 5 }), /yMin \(5\) must be below yMax \(5\)/);
    await assert.rejects(renderChart([{ ...one[0], color: [300, 0, 0] }], opts), /color must be three integers/);
  });

  it('copes with degenerate data: one point, non-finite points, odd characters', async function () {
    const a = decodePng(await renderChart([{ label: 'one', points: [{ x: 3, y: 7 }] }], { title: 'single', xLabel: 'x', yLabel: 'y', xLog2: true }));
    assert.strictEqual(a.width, 800);
    const svg = await chartSvg([{ label: 'nan <&>', points: [{ x: 1, y: NaN }, { x: 2, y: 1 }] }], { title: 'Odd: ~`{}|\\é', xLabel: '', yLabel: '', kind: 'bar' });
    const texts = svgTexts(svg);
    assert.ok(texts.includes('Odd: ~`{}|\\é') && texts.includes('nan <&>'), JSON.stringify(texts));
  });

  it('writeChart writes the same bytes to a file, creating its folder', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charts-'));
    try {
      const file = path.join(dir, 'sub', 'chart.png');
      await writeChart(file, lineSeries, lineOpts);
      assert.deepStrictEqual(fs.readFileSync(file), await renderChart(lineSeries, lineOpts));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
