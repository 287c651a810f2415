// Weight formats for the builder's --dtype: float16 conversion and 4-bit block quantisation in
// the layout of onnxruntime's MatMulNBits (com.microsoft).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half bits, round to nearest even. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: correct
  return sign | half;
}

export function toFloat16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]);
  return out;
}

export const INT4_BLOCK = 32;

export interface Int4Weight {
  /** [N, nBlocks, blockSize / 2] packed nibbles, low nibble first. */
  packed: Uint8Array;
  /** [N * nBlocks] */
  scales: Float32Array;
  /** [N, ceil(nBlocks / 2)] packed zero points, low nibble first. */
  zeroPoints: Uint8Array;
  n: number;
  k: number;
  nBlocks: number;
}

/**
 * Asymmetric 4-bit quantisation of a row-major [N, K] matrix (PyTorch Linear layout, one output
 * feature per row), one scale and zero point per block of 32 inputs.
 */
export function quantizeInt4(w: Float32Array, n: number, k: number, block = INT4_BLOCK): Int4Weight {
  const nBlocks = Math.ceil(k / block);
  const blob = block / 2;
  const packed = new Uint8Array(n * nBlocks * blob);
  const scales = new Float32Array(n * nBlocks);
  const zpStride = Math.ceil(nBlocks / 2);
  const zeroPoints = new Uint8Array(n * zpStride);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < nBlocks; b++) {
      const start = row * k + b * block;
      const len = Math.min(block, k - b * block);
      let mn = 0;
      let mx = 0; // include 0 so padding and small blocks stay exact at zero
      for (let j = 0; j < len; j++) {
        const v = w[start + j];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      const scale = mx > mn ? (mx - mn) / 15 : 1;
      const zp = Math.min(15, Math.max(0, Math.round(-mn / scale)));
      scales[row * nBlocks + b] = scale;
      zeroPoints[row * zpStride + (b >> 1)] |= zp << ((b & 1) * 4);
      const base = (row * nBlocks + b) * blob;
      for (let j = 0; j < block; j++) {
        const v = j < len ? w[start + j] : 0;
        const q = Math.min(15, Math.max(0, Math.round(v / scale) + zp));
        packed[base + (j >> 1)] |= q << ((j & 1) * 4);
      }
    }
  }
  return { packed, scales, zeroPoints, n, k, nBlocks };
}

/** The float weights that MatMulNBits will see (for measuring quantisation error). */
export function dequantizeInt4(q: Int4Weight, block = INT4_BLOCK): Float32Array {
  const out = new Float32Array(q.n * q.k);
  const blob = block / 2;
  const zpStride = Math.ceil(q.nBlocks / 2);
  for (let row = 0; row < q.n; row++) {
    for (let j = 0; j < q.k; j++) {
      const b = Math.floor(j / block);
      const within = j % block;
      const byte = q.packed[(row * q.nBlocks + b) * blob + (within >> 1)];
      const v = (byte >> ((within & 1) * 4)) & 0xf;
      const zp = (q.zeroPoints[row * zpStride + (b >> 1)] >> ((b & 1) * 4)) & 0xf;
      out[row * q.k + j] = (v - zp) * q.scales[row * q.nBlocks + b];
    }
  }
  return out;
}
