import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { renderChart, writeChart, type ChartOptions, type Series } from '../bench/pngChart';

interface Chunk {
  type: string;
  data: Buffer;
  crc: number;
  crcInput: Buffer;
}

/** Bitwise CRC-32 (no table), independent of the writer's table-driven one. */
function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunks(png: Buffer): Chunk[] {
  const out: Chunk[] = [];
  let o = 8;
  while (o < png.length) {
    const len = png.readUInt32BE(o);
    assert.ok(o + 12 + len <= png.length, 'chunk runs past the end of the file');
    out.push({
      type: png.toString('latin1', o + 4, o + 8),
      data: png.subarray(o + 8, o + 8 + len),
      crc: png.readUInt32BE(o + 8 + len),
      crcInput: png.subarray(o + 4, o + 8 + len),
    });
    o += 12 + len;
  }
  return out;
}

/** Checks the file's structure and returns its width, height and RGB pixels. */
function decode(png: Buffer): { width: number; height: number; rgb: Buffer } {
  assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const cs = chunks(png);
  for (const c of cs) assert.strictEqual(c.crc, crc32(c.crcInput), `bad CRC on ${c.type}`);
  assert.strictEqual(cs[0].type, 'IHDR');
  assert.strictEqual(cs[0].data.length, 13);
  assert.strictEqual(cs[cs.length - 1].type, 'IEND');
  assert.strictEqual(cs[cs.length - 1].data.length, 0);
  const width = cs[0].data.readUInt32BE(0);
  const height = cs[0].data.readUInt32BE(4);
  assert.deepStrictEqual([...cs[0].data.subarray(8)], [8, 2, 0, 0, 0], 'expected 8-bit RGB, no interlace');
  const raw = zlib.inflateSync(Buffer.concat(cs.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  assert.strictEqual(raw.length, height * (1 + 3 * width));
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    assert.strictEqual(raw[y * (1 + 3 * width)], 0, `row ${y} filter byte`);
    raw.copy(rgb, y * 3 * width, y * (1 + 3 * width) + 1, (y + 1) * (1 + 3 * width));
  }
  return { width, height, rgb };
}

function countPixels(
  img: { width: number; rgb: Buffer },
  box: { x0: number; y0: number; x1: number; y1: number },
  match: (r: number, g: number, b: number) => boolean,
): number {
  let n = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const o = (y * img.width + x) * 3;
      if (match(img.rgb[o], img.rgb[o + 1], img.rgb[o + 2])) n++;
    }
  }
  return n;
}

const lineSeries: Series[] = [1, 2, 3].map((k) => ({
  label: `family ${k}`,
  points: [1, 2, 4, 8, 16, 32, 64].map((r) => ({ x: r, y: Math.min(100, 10 * k + 12 * Math.log2(r)) })),
}));
const lineOpts: ChartOptions = { title: 'Accuracy vs iterations', xLabel: 'iterations r', yLabel: 'exact match %', xLog2: true, yMin: 0, yMax: 100 };

describe('PNG chart writer', function () {
  it('writes a valid PNG of the default size with a line chart in the plot area', function () {
    const img = decode(renderChart(lineSeries, lineOpts));
    assert.strictEqual(img.width, 800);
    assert.strictEqual(img.height, 500);
    const center = { x0: 200, y0: 150, x1: 700, y1: 400 };
    const nonWhite = countPixels(img, center, (r, g, b) => r !== 255 || g !== 255 || b !== 255);
    assert.ok(nonWhite > 500, `only ${nonWhite} non-white pixels in the plot area`);
    // the corners stay white background
    assert.strictEqual(countPixels(img, { x0: 0, y0: 0, x1: 4, y1: 4 }, (r, g, b) => r + g + b !== 765), 0);
  });

  it('draws each series in its own color, honoring an explicit color', function () {
    const series: Series[] = [
      { label: 'a', points: [{ x: 0, y: 0 }, { x: 10, y: 5 }], color: [250, 0, 250] },
      { label: 'b', points: [{ x: 0, y: 5 }, { x: 10, y: 0 }] },
      { label: 'c', points: [{ x: 0, y: 2 }, { x: 10, y: 3 }] },
    ];
    const img = decode(renderChart(series, { title: 't', xLabel: 'x', yLabel: 'y', width: 640, height: 400 }));
    assert.strictEqual(img.width, 640);
    assert.strictEqual(img.height, 400);
    const all = { x0: 0, y0: 0, x1: img.width, y1: img.height };
    assert.ok(countPixels(img, all, (r, g, b) => r === 250 && g === 0 && b === 250) > 100);
    // the two default-colored series use two different saturated colors
    const colors = new Set<string>();
    for (let i = 0; i < img.rgb.length; i += 3) {
      const [r, g, b] = [img.rgb[i], img.rgb[i + 1], img.rgb[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60 && !(r === 250 && g === 0 && b === 250)) colors.add(`${r},${g},${b}`);
    }
    assert.ok(colors.size >= 2, `expected two default series colors, saw ${[...colors].join(' ')}`);
  });

  it('renders a 120-bar chart with bars in the plot area', function () {
    const bars: Series[] = [{ label: 'iterations', points: Array.from({ length: 120 }, (_, i) => ({ x: i, y: 4 + ((i * 7) % 29) })), color: [0, 0, 200] }];
    const img = decode(renderChart(bars, { title: 'Iterations per token', xLabel: 'token', yLabel: 'iterations', kind: 'bar', yMin: 0, yMax: 32 }));
    // count distinct bars along a row just above the x axis: runs of the bar color
    const y = 400;
    let runs = 0;
    let inside = false;
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * 3;
      const hit = img.rgb[o] === 0 && img.rgb[o + 1] === 0 && img.rgb[o + 2] === 200;
      if (hit && !inside) runs++;
      inside = hit;
    }
    assert.strictEqual(runs, 120);
  });

  it('copes with empty and degenerate data, and rejects bad sizes', function () {
    decode(renderChart([], { title: '', xLabel: '', yLabel: '' }));
    decode(renderChart([{ label: 'one', points: [{ x: 3, y: 7 }] }], { title: 'single', xLabel: 'x', yLabel: 'y', xLog2: true }));
    decode(renderChart([{ label: 'nan', points: [{ x: 1, y: NaN }, { x: 2, y: 1 }] }], { title: 'Odd: ~`{}|\\é', xLabel: 'x', yLabel: 'y', kind: 'bar' }));
    assert.throws(() => renderChart(lineSeries, { ...lineOpts, width: 10 }), RangeError);
    assert.throws(() => renderChart(lineSeries, { ...lineOpts, yMin: 5, yMax: 5 }), RangeError);
  });

  it('writeChart writes the same bytes to a file, creating its folder', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pngchart-'));
    try {
      const file = path.join(dir, 'sub', 'chart.png');
      writeChart(file, lineSeries, lineOpts);
      assert.deepStrictEqual(fs.readFileSync(file), renderChart(lineSeries, lineOpts));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
