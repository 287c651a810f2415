import * as assert from 'assert';
import { dequantizeInt4, floatToHalf, quantizeInt4, toFloat16 } from '../../native/builder/quantize';
import { halfToFloat } from '../../native/model/safetensors';

describe('weight formats', function () {
  it('float16 conversion rounds to nearest and round-trips halves exactly', function () {
    for (let h = 0; h < 0x10000; h += 7) {
      const f = halfToFloat(h);
      if (Number.isNaN(f)) continue;
      assert.strictEqual(floatToHalf(f), h === 0x8000 ? 0x8000 : h, `half 0x${h.toString(16)}`);
    }
    assert.strictEqual(halfToFloat(floatToHalf(1 + 2 ** -11)), 1); // tie to even
    assert.strictEqual(halfToFloat(floatToHalf(70000)), Infinity);
    const xs = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    const back = Array.from(toFloat16(xs), halfToFloat);
    xs.forEach((x, i) => assert.ok(Math.abs(back[i] - x) <= Math.abs(x) * 2 ** -11 + 1e-7));
  });

  it('4-bit block quantisation stays within half a step of each block', function () {
    const n = 7;
    const k = 80; // not a multiple of the block size: the last block is padded
    const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const q = quantizeInt4(w, n, k);
    const d = dequantizeInt4(q);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < k; j++) {
        const step = q.scales[r * q.nBlocks + Math.floor(j / 32)];
        assert.ok(Math.abs(d[r * k + j] - w[r * k + j]) <= step / 2 + 1e-6, `row ${r} col ${j}`);
      }
    }
  });
});
