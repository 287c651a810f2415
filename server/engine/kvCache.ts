// Key/value cache of a Huginn model, kept in JS memory: one growable buffer per attention layer
// and per block index (prelude layers, each core iteration's layers, coda layers).
//
// Rows are token-major ([position, heads * headDim]) so the first P rows are one contiguous
// prefix: the engine passes `subarray(0, P * rowSize)` to onnxruntime without copying.
//
// Core iterations: a token that ran fewer iterations than the one now running has no entry at
// the deeper iteration. Such rows are filled on demand from that token's last iteration (the
// official "latest" lookup), so attention at any depth always sees every earlier token.

export class LayerKv {
  key: Float32Array;
  value: Float32Array;
  rows = 0;

  constructor(
    readonly rowSize: number,
    capacity: number,
  ) {
    this.key = new Float32Array(rowSize * capacity);
    this.value = new Float32Array(rowSize * capacity);
  }

  get capacity(): number {
    return this.key.length / this.rowSize;
  }

  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const cap = Math.max(rows, this.capacity * 2, 16);
    const key = new Float32Array(cap * this.rowSize);
    const value = new Float32Array(cap * this.rowSize);
    key.set(this.key.subarray(0, this.rows * this.rowSize));
    value.set(this.value.subarray(0, this.rows * this.rowSize));
    this.key = key;
    this.value = value;
  }

  /** Writes `count` rows at position `pos` (pos <= rows). */
  write(pos: number, count: number, key: Float32Array, value: Float32Array): void {
    if (pos > this.rows) throw new Error(`KV write at ${pos} leaves a gap after ${this.rows} rows`);
    this.reserve(pos + count);
    this.key.set(key.subarray(0, count * this.rowSize), pos * this.rowSize);
    this.value.set(value.subarray(0, count * this.rowSize), pos * this.rowSize);
    this.rows = pos + count;
  }

  copyRowFrom(src: LayerKv, pos: number): void {
    this.reserve(pos + 1);
    const r = this.rowSize;
    this.key.set(src.key.subarray(pos * r, (pos + 1) * r), pos * r);
    this.value.set(src.value.subarray(pos * r, (pos + 1) * r), pos * r);
    this.rows = Math.max(this.rows, pos + 1);
  }

  past(len: number): { key: Float32Array; value: Float32Array } {
    if (len > this.rows) throw new Error(`KV read of ${len} rows, only ${this.rows} present`);
    return { key: this.key.subarray(0, len * this.rowSize), value: this.value.subarray(0, len * this.rowSize) };
  }

  truncate(rows: number): void {
    this.rows = Math.min(this.rows, rows);
  }

  get bytes(): number {
    return this.key.byteLength + this.value.byteLength;
  }
}

export interface CacheShape {
  preludeLayers: number;
  coreLayers: number;
  codaLayers: number;
  rowSize: number;
}

export class KvCache {
  readonly prelude: LayerKv[];
  readonly coda: LayerKv[];
  private readonly core: LayerKv[][] = [];
  /** Core iterations that each cached token ran. */
  private readonly iterations: number[] = [];

  constructor(
    readonly shape: CacheShape,
    private readonly initialCapacity = 64,
  ) {
    const make = (n: number) => Array.from({ length: n }, () => new LayerKv(shape.rowSize, initialCapacity));
    this.prelude = make(shape.preludeLayers);
    this.coda = make(shape.codaLayers);
  }

  /** Tokens whose processing is complete (prelude, core and coda all cached). */
  get length(): number {
    return this.iterations.length;
  }

  /** Iterations each cached token ran. */
  get iterationsPerToken(): readonly number[] {
    return this.iterations;
  }

  /** The layers of core iteration k, with rows for every position below `len` present. */
  coreLayers(k: number, len: number): LayerKv[] {
    while (this.core.length <= k) {
      this.core.push(Array.from({ length: this.shape.coreLayers }, () => new LayerKv(this.shape.rowSize, this.initialCapacity)));
    }
    const layers = this.core[k];
    for (let j = 0; j < layers.length; j++) {
      const layer = layers[j];
      for (let pos = layer.rows; pos < len; pos++) {
        const ran = this.iterations[pos];
        if (ran === undefined) throw new Error(`KV cache has no token at position ${pos}`);
        layer.copyRowFrom(this.core[Math.min(k, ran - 1)][j], pos);
      }
    }
    return layers;
  }

  /** Marks `count` tokens as complete, each having run `iterations` core iterations. */
  commit(count: number, iterations: number | number[]): void {
    for (let i = 0; i < count; i++) this.iterations.push(Array.isArray(iterations) ? iterations[i] : iterations);
  }

  /** Forgets every token from position `len` on (speculative rollback, prompt edits), and any rows
   *  written for tokens that were never committed (a cancelled or failed step). */
  truncate(len: number): void {
    this.iterations.length = Math.min(len, this.iterations.length);
    for (const layer of [...this.prelude, ...this.coda, ...this.core.flat()]) layer.truncate(len);
  }

  get bytes(): number {
    return [...this.prelude, ...this.coda, ...this.core.flat()].reduce((a, l) => a + l.bytes, 0);
  }

  /** Bytes actually holding cached rows (not reserved capacity). */
  get usedBytes(): number {
    return [...this.prelude, ...this.coda, ...this.core.flat()].reduce((a, l) => a + l.rows * l.rowSize * 8, 0);
  }
}
