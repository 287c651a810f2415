// Key/value cache of a Huginn model, kept in JS memory: one growable buffer per attention layer
// and per block index (prelude layers, each core iteration's layers, coda layers).
//
// Rows are token-major ([position, heads * headDim]) so the first P rows are one contiguous
// prefix: the engine passes `subarray(0, P * rowSize)` to onnxruntime without copying.
//
// Core iterations: a token that ran fewer iterations than the one now running has no entry at
// the deeper iteration. Such rows are filled on demand from that token's last iteration (the
// official "latest" lookup), so attention at any depth always sees every earlier token.
//
// On a GPU a layer may also hold a device copy of its rows (DeviceRows, docs/architecture.md#devices):
// the engine feeds it to the next run instead of uploading the past, and a run's new rows go only
// there. So a layer tracks two valid prefixes: `hostRows` in JS memory and `device.valid` on the
// GPU. Every row below `rows` is valid in at least one of them (rows <= max of the two): the host
// fills in lazily, only when a host path reads rows it lacks (HuginnModel.ensureHost).

/** A device copy of a layer's first `rows` rows. Copies are immutable and reference-counted: a
 *  layer and any saved beam rows may hold the same one; the last `release` frees it. */
export interface DeviceRows {
  readonly rows: number;
  /** Bytes of device memory it holds. */
  readonly bytes: number;
  retain(): void;
  release(): void;
}

export class LayerKv {
  key: Float32Array;
  value: Float32Array;
  /** Rows defined (valid in JS memory, on the device, or both). */
  rows = 0;
  /** The first rows that JS memory holds. */
  hostRows = 0;
  private dev: DeviceRows | undefined;
  private devValid = 0;

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
    key.set(this.key.subarray(0, this.hostRows * this.rowSize));
    value.set(this.value.subarray(0, this.hostRows * this.rowSize));
    this.key = key;
    this.value = value;
  }

  /** The device copy and how many of its first rows are valid. */
  get device(): { rows: DeviceRows; valid: number } | undefined {
    return this.dev && { rows: this.dev, valid: this.devValid };
  }

  /** Takes `copy` (a reference the caller hands over) as the device copy, its first `valid` rows
   *  equal to this layer's, and drops the reference to the old one. */
  attachDevice(copy: DeviceRows, valid = copy.rows): void {
    if (valid > this.rows || valid > copy.rows) throw new Error(`device copy of ${valid} valid rows, only ${this.rows} present`);
    this.dev?.release();
    this.dev = copy;
    this.devValid = valid;
  }

  /** New rows from `pos` on, held only on the device: `copy` (a reference handed over) holds
   *  this layer's first `rows` rows. */
  writeDevice(pos: number, copy: DeviceRows, rows = copy.rows): void {
    if (pos > this.rows) throw new Error(`KV write at ${pos} leaves a gap after ${this.rows} rows`);
    if (rows > copy.rows) throw new Error(`device copy of ${copy.rows} rows written as ${rows}`);
    this.rows = rows;
    this.hostRows = Math.min(this.hostRows, pos);
    this.attachDevice(copy, rows);
  }

  releaseDevice(): void {
    this.dev?.release();
    this.dev = undefined;
    this.devValid = 0;
  }

  /** Writes `count` rows at position `pos` in JS memory (pos <= hostRows). */
  write(pos: number, count: number, key: Float32Array, value: Float32Array): void {
    if (pos > this.hostRows) throw new Error(`KV write at ${pos} leaves a gap after ${this.hostRows} rows in JS memory`);
    this.devValid = Math.min(this.devValid, pos);
    this.put(pos, count, key, value);
    this.rows = pos + count;
  }

  /** Rows read back from the device copy: they extend the host's prefix and change nothing else. */
  fillHost(pos: number, count: number, key: Float32Array, value: Float32Array): void {
    if (pos !== this.hostRows || pos + count > Math.min(this.rows, this.devValid)) {
      throw new Error(`KV read-back of rows ${pos}..${pos + count} does not extend ${this.hostRows} host rows from ${this.devValid} valid device rows`);
    }
    this.put(pos, count, key, value);
  }

  private put(pos: number, count: number, key: Float32Array, value: Float32Array): void {
    this.reserve(pos + count);
    this.key.set(key.subarray(0, count * this.rowSize), pos * this.rowSize);
    this.value.set(value.subarray(0, count * this.rowSize), pos * this.rowSize);
    this.hostRows = pos + count;
  }

  /** Copies rows from..to-1 of `src` to the same positions here, in JS memory. */
  copyRowsFrom(src: LayerKv, from: number, to: number): void {
    if (src.hostRows < to) throw new Error(`KV copy of rows up to ${to}, only ${src.hostRows} in JS memory`);
    const r = this.rowSize;
    this.write(from, to - from, src.key.subarray(from * r, to * r), src.value.subarray(from * r, to * r));
  }

  past(len: number): { key: Float32Array; value: Float32Array } {
    if (len > this.hostRows) throw new Error(`KV read of ${len} rows, only ${this.hostRows} in JS memory (${this.rows} present)`);
    return { key: this.key.subarray(0, len * this.rowSize), value: this.value.subarray(0, len * this.rowSize) };
  }

  truncate(rows: number): void {
    this.rows = Math.min(this.rows, rows);
    this.hostRows = Math.min(this.hostRows, rows);
    this.devValid = Math.min(this.devValid, rows);
  }

  get bytes(): number {
    return this.key.byteLength + this.value.byteLength;
  }
}

/** Rows `from..to-1` of a core layer that tokens which exited before its iteration take from
 *  `src`, the same layer of their last iteration (KvCache.coreFills). */
export interface RowFill {
  layer: LayerKv;
  from: number;
  to: number;
  src: LayerKv;
}

/** Rows saved from a cache (KvCache.saveRows), to be put back with restoreRows. A layer's rows
 *  are saved as host copies, or as a reference to its device copy when that holds them all;
 *  `release` drops those references (a beam that is discarded must call it). */
export interface SavedRows {
  from: number;
  iterations: number[];
  layers: { layer: LayerKv; rows: number; key?: Float32Array; value?: Float32Array; device?: DeviceRows }[];
  release(): void;
}

export interface CacheShape {
  preludeLayers: number;
  coreLayers: number;
  codaLayers: number;
  rowSize: number;
}

/**
 * How core iterations share cache storage (the official "lookup strategies"):
 * - `full`: one entry per iteration and layer; a token that exited before the iteration now
 *   running is read from its latest iteration at the same layer (`latest-m4`/`available-m4`).
 * - `skip`: the same storage, but such tokens are left out of attention at that depth.
 * - `compress-s{n}`: n slots reused cyclically over (iteration, layer) steps: memory per token is
 *   fixed whatever the iteration count.
 * - `compress-r{n}`: one slot per n consecutive (iteration, layer) steps.
 */
export type KvStrategy = 'full' | 'latest' | 'skip' | `compress-s${number}` | `compress-r${number}`;

/** A `compress-s{n}` / `compress-r{n}` strategy's kind and n; undefined for the others. */
function compression(s: string): { kind: 's' | 'r'; n: number } | undefined {
  const m = /^compress-([sr])(\d+)$/.exec(s);
  return m ? { kind: m[1] as 's' | 'r', n: Number(m[2]) } : undefined;
}

export function parseKvStrategy(s: string): KvStrategy {
  if (s === 'full' || s === 'latest' || s === 'skip') return s;
  if (s === 'latest-m4' || s === 'available-m4') return 'latest';
  const c = compression(s);
  if (c && c.n >= 1 && c.n <= 4096) return s as KvStrategy;
  throw new RangeError(`unknown KV cache strategy "${s}" (full, latest, skip, compress-s<n>, compress-r<n>)`);
}

export class KvCache {
  readonly prelude: LayerKv[];
  readonly coda: LayerKv[];
  /** Core storage by slot id (see slotOf). */
  private readonly slots = new Map<number, LayerKv>();
  /** Core iterations that each cached token ran. */
  private readonly iterations: number[] = [];
  private readonly slotOf: (k: number, j: number) => number;

  constructor(
    readonly shape: CacheShape,
    readonly strategy: KvStrategy = 'full',
    private readonly initialCapacity = 64,
  ) {
    const make = (n: number) => Array.from({ length: n }, () => new LayerKv(shape.rowSize, initialCapacity));
    this.prelude = make(shape.preludeLayers);
    this.coda = make(shape.codaLayers);
    const L = shape.coreLayers;
    const c = compression(strategy);
    if (c?.kind === 's') this.slotOf = (k, j) => (k * L + j) % c.n;
    else if (c) this.slotOf = (k, j) => Math.floor((k * L + j) / c.n);
    else this.slotOf = (k, j) => k * L + j;
  }

  /** Tokens whose processing is complete (prelude, core and coda all cached). */
  get length(): number {
    return this.iterations.length;
  }

  /** Iterations each cached token ran. */
  get iterationsPerToken(): readonly number[] {
    return this.iterations;
  }

  private slot(id: number): LayerKv {
    let layer = this.slots.get(id);
    if (!layer) this.slots.set(id, (layer = new LayerKv(this.shape.rowSize, this.initialCapacity)));
    return layer;
  }

  /**
   * The rows that core iteration k's layers lack below `len`, in the order they must be filled:
   * a token that never wrote the slot (it exited earlier) takes its entry from its last iteration
   * at the same layer. Consecutive positions with the same source are one fill.
   */
  coreFills(k: number, len: number): RowFill[] {
    const fills: RowFill[] = [];
    for (let j = 0; j < this.shape.coreLayers; j++) {
      const layer = this.slot(this.slotOf(k, j));
      for (let pos = layer.rows; pos < len; pos++) {
        const ran = this.iterations[pos];
        if (ran === undefined) throw new Error(`KV cache has no token at position ${pos}`);
        const src = this.slot(this.slotOf(Math.min(k, ran - 1), j));
        const last = fills[fills.length - 1];
        if (last?.layer === layer && last.src === src && last.to === pos) last.to++;
        else fills.push({ layer, from: pos, to: pos + 1, src });
      }
    }
    return fills;
  }

  /** The layers of core iteration k, with a row for every position below `len`: rows still
   *  missing (coreFills) are filled in JS memory. */
  coreLayers(k: number, len: number): LayerKv[] {
    for (const f of this.coreFills(k, len)) f.layer.copyRowsFrom(f.src, f.from, f.to);
    return Array.from({ length: this.shape.coreLayers }, (_, j) => this.slot(this.slotOf(k, j)));
  }

  /** For `skip`: the positions below `len` that did not run iteration k are masked out. */
  skipMask(k: number, len: number): boolean[] | undefined {
    if (this.strategy !== 'skip') return undefined;
    let any = false;
    const masked = Array.from({ length: len }, (_, pos) => {
      const m = this.iterations[pos] <= k;
      any ||= m;
      return m;
    });
    return any ? masked : undefined;
  }

  /** Marks `count` tokens as complete, each having run `iterations` core iterations. */
  commit(count: number, iterations: number | number[]): void {
    for (let i = 0; i < count; i++) this.iterations.push(Array.isArray(iterations) ? iterations[i] : iterations);
  }

  /** Forgets every token from position `len` on (speculative rollback, prompt edits), and any rows
   *  written for tokens that were never committed (a cancelled or failed step). */
  truncate(len: number): void {
    this.iterations.length = Math.min(len, this.iterations.length);
    for (const layer of this.allLayers()) layer.truncate(len);
  }

  /** Every row from position `from` on (a beam's own tokens after a shared prompt): the device
   *  copy where it holds all of a layer's rows, else a copy from JS memory. */
  saveRows(from: number): SavedRows {
    const layers: SavedRows['layers'] = [];
    for (const layer of this.allLayers()) {
      if (layer.rows <= from) continue;
      const device = layer.device;
      if (device && device.valid >= layer.rows) {
        device.rows.retain();
        layers.push({ layer, rows: layer.rows - from, device: device.rows });
        continue;
      }
      const { key, value } = layer.past(layer.rows);
      const r = layer.rowSize;
      layers.push({ layer, rows: layer.rows - from, key: key.slice(from * r), value: value.slice(from * r) });
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const l of layers) l.device?.release();
    };
    return { from, iterations: this.iterations.slice(from), layers, release };
  }

  /** Replaces everything from `saved.from` on with the saved rows (the rows before it must be the
   *  ones they were saved after). `saved` stays usable until released. */
  restoreRows(saved: SavedRows): void {
    this.truncate(saved.from);
    for (const { layer, rows, key, value, device } of saved.layers) {
      if (device) {
        device.retain(); // the layer's reference; the saved one stays with `saved`
        layer.writeDevice(saved.from, device, saved.from + rows);
      } else {
        layer.write(saved.from, rows, key!, value!);
      }
    }
    this.iterations.push(...saved.iterations);
  }

  private allLayers(): LayerKv[] {
    return [...this.prelude, ...this.coda, ...this.slots.values()];
  }

  /** Frees the device copies (a cache that is dropped must call it: GPU buffers are not
   *  garbage-collected). Rows held only there are lost: the cache keeps the tokens before them. */
  releaseDevice(): void {
    let keep = this.length;
    for (const layer of this.allLayers()) {
      if (layer.rows > layer.hostRows) keep = Math.min(keep, layer.hostRows);
      layer.releaseDevice();
    }
    this.truncate(keep);
  }

  /** Device memory the device copies hold. */
  get deviceBytes(): number {
    return this.allLayers().reduce((a, l) => a + (l.device?.rows.bytes ?? 0), 0);
  }

  /** Reserved bytes. */
  get bytes(): number {
    return this.allLayers().reduce((a, l) => a + l.bytes, 0);
  }

  /** Bytes holding cached rows (keys and values, float32). */
  get usedBytes(): number {
    return this.allLayers().reduce((a, l) => a + l.rows * l.rowSize * 8, 0);
  }
}
