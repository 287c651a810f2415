// One loaded Huginn model: its manifest, tokenizer and the three onnxruntime sessions, with one
// method per graph. The recurrence itself is driven from TypeScript (see recurrence.ts), one core
// run per iteration, so the iteration count can change per request and per token.
import * as fs from 'fs';
import * as os from 'os';
import * as ort from 'onnxruntime-node';
import { HuginnConfig, embedScale, initStd } from '../../native/model/config';
import { LoadedManifest, readManifest } from '../../native/model/manifest';
import { CacheShape, DeviceRows, KvCache, KvStrategy, LayerKv, RowFill } from './kvCache';
import { checkMemory } from './memory';
import { Rng } from './random';
import { decideDevice } from './device';
import { createSessions, ModelSessions, runGraph, SessionOptions } from './sessions';
import { TextTokenizer } from './tokenizer';

export type StateInit = 'random' | 'zero';

/**
 * A latent [S, h] (the recurrent state, or the prelude's injection): a Float32Array in JS memory,
 * or, when the sessions keep the state on the GPU (ModelSessions.deviceState), an onnxruntime
 * tensor in a GPU buffer. The model's methods take either; `read` gives a host copy, `dispose`
 * frees a GPU one (whoever gets a latent from a graph method owns it).
 */
export type Latent = Float32Array | ort.Tensor;

/** The coda's logits, and its keys and values, which belong in the cache only for the state a
 *  token ends with: `commit` writes them, `release` drops them (a no-op once committed). */
export interface Decoded {
  logits: Float32Array;
  commit(): void;
  release(): void;
}

/** A layer's keys and values [rows, H, D] in GPU buffers (a `present_*` or `kvFit` output),
 *  freed when its last reference is released. */
class DeviceKv implements DeviceRows {
  /** float32 keys and values of `rows` rows. */
  readonly bytes: number;
  private refs = 1;

  constructor(
    readonly key: ort.Tensor,
    readonly value: ort.Tensor,
    readonly rows: number,
    private readonly owner: HuginnModel,
  ) {
    this.bytes = rows * owner.cacheShape.rowSize * 8;
    owner.liveDeviceKv++;
    owner.deviceKvBytes += this.bytes;
    owner.peakDeviceKvBytes = Math.max(owner.peakDeviceKvBytes, owner.deviceKvBytes);
  }

  retain(): void {
    if (this.refs === 0) throw new Error('a released device KV copy was retained');
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    if (this.refs < 0) throw new Error('a device KV copy was released twice');
    this.key.dispose();
    this.value.dispose();
    this.owner.liveDeviceKv--;
    this.owner.deviceKvBytes -= this.bytes;
  }
}

export class HuginnModel {
  readonly cfg: HuginnConfig;
  readonly cacheShape: CacheShape;
  private readonly codaTakesStart: boolean;
  private readonly maskInParts: boolean;
  /** GPU latents handed out and not yet disposed (tests hold it to 0 between forwards). */
  liveDeviceLatents = 0;
  /** Device copies of KV layers not yet released (tests hold it to 0 once caches are dropped). */
  liveDeviceKv = 0;
  /** GPU memory those copies hold now, and at most so far (bench:gpu). */
  deviceKvBytes = 0;
  peakDeviceKvBytes = 0;

  private constructor(
    readonly manifest: LoadedManifest,
    readonly sessions: ModelSessions,
    readonly tokenizer: TextTokenizer,
  ) {
    this.cfg = manifest.parsedConfig;
    this.cacheShape = {
      preludeLayers: this.cfg.nLayersInPrelude,
      coreLayers: this.cfg.nLayersInRecurrentBlock,
      codaLayers: this.cfg.nLayersInCoda,
      rowSize: this.cfg.nHeads * this.cfg.headDim,
    };
    this.codaTakesStart = sessions.coda.inputNames.includes('logits_start');
    this.maskInParts = sessions.core.inputNames.includes('causal_bias');
  }

  static async load(dir: string, options: SessionOptions & { availableMemory?: number } = {}): Promise<HuginnModel> {
    const manifest = readManifest(dir);
    const decision = options.decision ?? (await decideDevice(options.device ?? 'auto'));
    const weightsBytes = fs.statSync(manifest.paths.weights).size;
    // On a GPU the weights live in its memory; on the CPU, or a software adapter, they must fit in RAM.
    const inRam = decision.provider === 'cpu' || (decision.provider === 'webgpu' && decision.adapter?.software !== false);
    if (inRam) checkMemory(`the model in ${dir}`, weightsBytes, manifest.dtype, options.availableMemory);
    const tokenizer = new TextTokenizer(manifest.paths.tokenizer);
    const sessions = await createSessions(manifest, { ...options, decision, threads: options.threads ?? intraOpThreads(weightsBytes) });
    return new HuginnModel(manifest, sessions, tokenizer);
  }

  get provider(): string {
    return this.sessions.provider;
  }

  /** KV-cache bytes one token takes at `steps` iterations with every row kept (float32 keys and
   *  values of each prelude, core-iteration and coda layer). */
  kvBytesPerToken(steps: number): number {
    const { preludeLayers, coreLayers, codaLayers, rowSize } = this.cacheShape;
    return (preludeLayers + codaLayers + coreLayers * steps) * rowSize * 4 * 2;
  }

  newCache(strategy: KvStrategy = 'full'): KvCache {
    return new KvCache(this.cacheShape, strategy);
  }

  async release(): Promise<void> {
    const { prelude, core, coda, readback, kvFit, kvRead } = this.sessions;
    await Promise.all([prelude.release(), core.release(), coda.release(), readback?.release(), kvFit?.release(), kvRead?.release()]);
  }

  // --- latents ----------------------------------------------------------------------------------

  /** A host copy of a latent: itself in JS memory, read back through an identity graph from the GPU. */
  async read(x: Latent): Promise<Float32Array> {
    if (x instanceof Float32Array) return x;
    const out = await runGraph(this.sessions, 'readback', { x });
    return out.y.data as Float32Array;
  }

  /** Frees a latent's GPU buffer (nothing to do for one in JS memory). */
  dispose(x: Latent | undefined): void {
    if (x === undefined || x instanceof Float32Array) return;
    x.dispose();
    this.liveDeviceLatents--;
  }

  /** The feed for a latent [count, h]. */
  private latentFeed(x: Latent, count: number): ort.Tensor {
    return x instanceof Float32Array ? new ort.Tensor('float32', x, [count, this.cfg.nEmbd]) : x;
  }

  /** A graph's latent output: the GPU tensor itself when it stayed there, else its data. */
  private latentOut(t: ort.Tensor): Latent {
    if (t.location !== 'gpu-buffer') return t.data as Float32Array;
    this.liveDeviceLatents++;
    return t;
  }

  /** Latent state for S tokens at positions start..start+S-1. Random noise is seeded per position,
   *  so a position's initial state is the same whether it is computed in a prefill or a decode. */
  initialState(start: number, count: number, init: StateInit, seed: number): Float32Array {
    const h = this.cfg.nEmbd;
    const s = new Float32Array(count * h);
    if (init === 'zero') return s;
    const std = initStd(this.cfg);
    const scale = embedScale(this.cfg);
    for (let t = 0; t < count; t++) {
      const rng = new Rng(seed, start + t);
      for (let i = 0; i < h; i++) s[t * h + i] = rng.truncatedNormal(std) * scale;
    }
    return s;
  }

  // --- one method per graph -------------------------------------------------------------------

  /** Embeds and runs the prelude for `ids` at positions start..; returns the adapter injection. */
  async prelude(ids: number[], start: number, cache: KvCache): Promise<Latent> {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [ids.length]),
      ...this.positionFeeds(start, ids.length),
      ...(await this.pastFeeds(cache.prelude, start)),
    };
    const out = await runGraph(this.sessions, 'prelude', feeds);
    this.writeNew(cache.prelude, out, start, ids.length);
    return this.latentOut(out.injection);
  }

  /** One recurrent iteration k for S tokens at positions start..; writes iteration k's KV. */
  async core(state: Latent, injection: Latent, start: number, count: number, k: number, cache: KvCache): Promise<Latent> {
    if (this.sessions.deviceKv) for (const fill of cache.coreFills(k, start)) await this.fillOnDevice(fill);
    const layers = cache.coreLayers(k, start);
    const feeds: Record<string, ort.Tensor> = {
      state: this.latentFeed(state, count),
      injection: this.latentFeed(injection, count),
      ...this.positionFeeds(start, count, cache.skipMask(k, start)),
      ...(await this.pastFeeds(layers, start)),
    };
    const out = await runGraph(this.sessions, 'core', feeds);
    this.writeNew(layers, out, start, count);
    return this.latentOut(out.state_out);
  }

  /** Decodes the state into logits [numLogits, V] for the last `numLogits` positions. The coda's
   *  KV rows are written only by `commit()`: an exit check decodes intermediate states, and only
   *  the state a token ends with belongs in the cache. */
  async coda(state: Latent, start: number, count: number, numLogits: number, cache: KvCache): Promise<Decoded> {
    const feeds: Record<string, ort.Tensor> = {
      state: this.latentFeed(state, count),
      // Builds before builder version 3 take the count; later ones the first position.
      ...(this.codaTakesStart
        ? { logits_start: int64(count - numLogits) }
        : { num_logits: int64(numLogits) }),
      ...this.positionFeeds(start, count),
      ...(await this.pastFeeds(cache.coda, start)),
    };
    const out = await runGraph(this.sessions, 'coda', feeds);
    const present = this.sessions.deviceKv ? this.takePresent(out, cache.coda.length, start + count) : undefined;
    let settled = false;
    return {
      logits: out.logits.data as Float32Array,
      commit: () => {
        if (settled) return;
        settled = true;
        this.writeNew(cache.coda, out, start, count, present);
      },
      release: () => {
        if (settled) return;
        settled = true;
        for (const p of present ?? []) p.release();
      },
    };
  }

  // --- feeds ----------------------------------------------------------------------------------

  private positionFeeds(start: number, count: number, masked?: boolean[]): Record<string, ort.Tensor> {
    if (start + count > this.cfg.blockSize) {
      throw new RangeError(`context of ${start + count} tokens exceeds the model's block_size ${this.cfg.blockSize}`);
    }
    const positions = new BigInt64Array(count);
    for (let i = 0; i < count; i++) positions[i] = BigInt(start + i);
    const position_ids = new ort.Tensor('int64', positions, [count]);
    // Builds before builder version 5 take the whole mask [S, P+S], which grows with the context.
    if (!this.maskInParts) return { position_ids, attn_bias: new ort.Tensor('float32', causalBias(start, count, masked), [count, start + count]) };
    return {
      position_ids,
      causal_bias: new ort.Tensor('float32', causalBias(0, count), [count, count]),
      mask_pads: new ort.Tensor('int64', BigInt64Array.from([0n, BigInt(start), 0n, 0n]), [4]),
      past_bias: masked ? new ort.Tensor('float32', keyBias(masked, count), [start + count]) : NO_KEY_MASKED,
    };
  }

  /** Each layer's first `len` rows: its device copy where one fits (docs/architecture.md#devices),
   *  else from JS memory. */
  private async pastFeeds(layers: LayerKv[], len: number): Promise<Record<string, ort.Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [i, layer] of layers.entries()) {
      const device = this.sessions.deviceKv ? await this.devicePast(layer, len) : undefined;
      const { key, value } = device ?? this.hostTensors(layer, 0, len);
      feeds[`past_key.${i}`] = key;
      feeds[`past_value.${i}`] = value;
    }
    return feeds;
  }

  /** Rows from..to-1 of a layer from JS memory, as tensors [to - from, H, D]. */
  private hostTensors(layer: LayerKv, from: number, to: number): { key: ort.Tensor; value: ort.Tensor } {
    const { key, value } = from === to ? { key: new Float32Array(0), value: new Float32Array(0) } : layer.past(to);
    const r = layer.rowSize;
    const dims = [to - from, this.cfg.nHeads, this.cfg.headDim];
    return { key: new ort.Tensor('float32', key.subarray(from * r), dims), value: new ort.Tensor('float32', value.subarray(from * r), dims) };
  }

  /**
   * A layer's device copy with exactly `len` rows: as it is when it has them, else trimmed to its
   * valid rows and extended with the host's rows after them by one kvFit run on the GPU (what
   * crosses is only those rows). Undefined when no device row is reusable (the past then comes
   * from the host, which holds every row the device copy lacks).
   */
  private async devicePast(layer: LayerKv, len: number): Promise<DeviceKv | undefined> {
    const device = layer.device;
    const keep = Math.min(device?.valid ?? 0, len);
    if (!device || keep === 0) return undefined;
    const current = device.rows as DeviceKv;
    if (keep === len && current.rows === len) return current;
    const tail = this.hostTensors(layer, keep, len);
    const fitted = await this.kvFit(current, keep, tail, 0, len - keep);
    layer.attachDevice(fitted);
    return fitted;
  }

  /** One kvFit run: the first `keep` rows of `base`, then rows from..to-1 of `src` (either may be
   *  on the GPU or in JS memory), as a new device copy. */
  private async kvFit(base: { key: ort.Tensor; value: ort.Tensor }, keep: number, src: { key: ort.Tensor; value: ort.Tensor }, from: number, to: number): Promise<DeviceKv> {
    const out = await runGraph(this.sessions, 'kvFit', {
      keep: int64(keep),
      key: base.key,
      value: base.value,
      src_key: src.key,
      src_value: src.value,
      src_from: int64(from),
      src_to: int64(to),
    });
    return new DeviceKv(out.key_out, out.value_out, keep + to - from, this);
  }

  /**
   * A fill of rows that exited tokens take from their last iteration (KvCache.coreFills), made on
   * the GPU when the source's device copy holds them: the target's copy (fitted to `from` rows,
   * or its host rows when it has none) and the source's rows, joined by one kvFit run. Otherwise
   * it is made in JS memory (the source then holds the rows there), after reading back the
   * target's rows before it.
   */
  private async fillOnDevice({ layer, from, to, src }: RowFill): Promise<void> {
    const source = src.device;
    if (!source || source.valid < to) {
      await this.ensureHost(layer, from);
      layer.copyRowsFrom(src, from, to);
      return;
    }
    const sourceCopy = source.rows as DeviceKv;
    const base = from === 0 ? sourceCopy : ((await this.devicePast(layer, from)) ?? this.hostTensors(layer, 0, from));
    layer.writeDevice(from, await this.kvFit(base, from, sourceCopy, from, to));
  }

  /** Reads a layer's rows below `len` that JS memory lacks back from its device copy (the kvRead
   *  helper graph: only those rows cross). */
  async ensureHost(layer: LayerKv, len: number): Promise<void> {
    const from = layer.hostRows;
    if (from >= len) return;
    const device = layer.device;
    if (!device || device.valid < len) throw new Error(`KV rows ${from}..${len} are held neither in JS memory nor on the device`);
    const copy = device.rows as DeviceKv;
    const out = await runGraph(this.sessions, 'kvRead', { key: copy.key, value: copy.value, from: int64(from), to: int64(len) });
    layer.fillHost(from, len - from, out.key_out.data as Float32Array, out.value_out.data as Float32Array);
  }

  /** A GPU run's `present_*` outputs as device copies of `layers` layers with `rows` rows; its
   *  `new_*` outputs, which hold the same rows, are freed. */
  private takePresent(out: ort.InferenceSession.OnnxValueMapType, layers: number, rows: number): DeviceKv[] {
    for (let i = 0; i < layers; i++) for (const part of ['key', 'value']) out[`new_${part}.${i}`]?.dispose();
    return Array.from({ length: layers }, (_, i) => new DeviceKv(out[`present_key.${i}`], out[`present_value.${i}`], rows, this));
  }

  /** A run's new rows: on a GPU its `present_*` outputs become the layers' device copies (the
   *  copies the run was fed are released as they are replaced) and nothing comes back; elsewhere
   *  its `new_*` outputs are written to JS memory. */
  private writeNew(layers: LayerKv[], out: ort.InferenceSession.OnnxValueMapType, start: number, count: number, present?: DeviceKv[]): void {
    const device = present ?? (this.sessions.deviceKv ? this.takePresent(out, layers.length, start + count) : undefined);
    layers.forEach((layer, i) => {
      if (device) layer.writeDevice(start, device[i]);
      else layer.write(start, count, out[`new_key.${i}`].data as Float32Array, out[`new_value.${i}`].data as Float32Array);
    });
  }
}

/** A one-element int64 tensor (graph inputs such as a slice's bounds). */
function int64(n: number): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from([BigInt(n)]), [1]);
}

/** Weights above which a model's runs are long enough for more threads to pay. */
const MULTITHREAD_WEIGHTS_BYTES = 256 * 2 ** 20;

/**
 * Intra-op threads when the caller names none: every core for a large model (huginn-0125 int4 on
 * 2 cores, bench:fullsize: decode 1.5x and prompt passes 1.6-1.8x faster with 2 threads than 1,
 * while the other core was free), one for a small one (runs of a millisecond or two gain nothing
 * from a second thread and would take the core the editor needs).
 */
export function intraOpThreads(weightsBytes: number): number {
  return weightsBytes > MULTITHREAD_WEIGHTS_BYTES ? os.availableParallelism() : 1;
}

/** No cached key masked: one 0, broadcast over the keys. */
const NO_KEY_MASKED = new ort.Tensor('float32', new Float32Array(1), [1]);

/** Additive mask [P+S] of the keys for every new token: -Infinity at the cached positions listed
 *  in `masked` (the `skip` strategy), 0 elsewhere. */
export function keyBias(masked: boolean[], count: number): Float32Array {
  const bias = new Float32Array(masked.length + count);
  for (let p = 0; p < masked.length; p++) if (masked[p]) bias[p] = -Infinity;
  return bias;
}

/** Additive mask [S, P+S]: token P+j sees keys 0..P+j (causal, aligned bottom right), except
 *  cached positions listed in `masked`. */
export function causalBias(past: number, count: number, masked?: boolean[]): Float32Array {
  const total = past + count;
  const bias = new Float32Array(count * total);
  for (let j = 0; j < count; j++) {
    bias.fill(-Infinity, j * total + past + j + 1, (j + 1) * total);
    if (masked) for (let p = 0; p < past; p++) if (masked[p]) bias[j * total + p] = -Infinity;
  }
  return bias;
}
