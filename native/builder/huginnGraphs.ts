// The three ONNX graphs of a Huginn model, written node by node so that each helper mirrors a
// part of the architecture (docs/architecture.md#forward-pass, #onnx-graphs):
//   prelude: embedding + prelude blocks, then the prelude half of the adapter ("injection")
//   core:    state half of the adapter + injection, then the core blocks (one iteration per run)
//   coda:    ln_f, coda blocks, ln_f, LM head on the positions from `logits_start` on
// The adapter is linear in concat([s, e]), so adapter(concat(s, e)) = W_s s + (W_e e + b): the
// e half is computed once per token in the prelude instead of once per iteration.
//
// Activations have no batch axis: [S, h] for S new tokens. Each attention layer takes its past
// keys/values as [P, H, D] (token-major, so the engine can pass a prefix of a preallocated
// buffer without copying) and an additive mask [S, P+S], and returns the S new keys/values. The
// mask is fed in parts whose size does not grow with the context: `causal_bias` [S, S] among the
// new tokens, padded by `mask_pads` ([0, P, 0, 0]: P columns of zeros for the past), plus
// `past_bias` ([1] of 0, or [P+S] for the `skip` cache strategy). The whole [P+S, H, D]
// keys/values are outputs too (`present_*`, the Concat's own result, so a run that does not fetch
// them pays nothing): on a GPU they stay there as the next run's past (docs/architecture.md#devices).
//
// Weights by dtype: fp32 as is; fp16 for the block and adapter matmuls (embedding and LM head
// fp32); int4 (4-bit blocks of 32) for those matmuls, the LM head and the embedding, whose rows
// are dequantized on lookup. Norm weights, qk bias, adapter bias and RoPE tables stay fp32.
//
// Every node has a kernel in onnxruntime's CPU and WebGPU providers (the WebGPU tests check, in
// onnxruntime's verbose log, that no node is placed on the CPU): hence the coda's `logits_start`
// input (an int64 Neg has no WebGPU kernel) and the embedding's even number of 4-bit blocks.
import { Graph, DataType, MS_DOMAIN } from './onnxGraph';
import { HuginnCheckpoint, blockTensorNames, BlockGroup, TOP_LEVEL } from '../model/checkpoint';
import { HuginnConfig, embedScale } from '../model/config';
import { WeightDtype } from '../model/manifest';
import { quantizeInt4, toFloat16, INT4_BLOCK } from './quantize';

/** Per-run values every layer uses: RoPE tables at the run's positions and the attention mask. */
interface Shared {
  cos: string;
  sin: string;
  swap: string;
  bias: string;
}

/** A Linear weight in PyTorch layout [n = out, k = in], read on demand. */
interface LinearWeight {
  key: string;
  n: number;
  k: number;
  read(): Float32Array;
}

export class HuginnGraphWriter {
  readonly cfg: HuginnConfig;
  constructor(
    readonly ck: HuginnCheckpoint,
    readonly dtype: WeightDtype,
  ) {
    this.cfg = ck.config;
  }

  private full(name: string): LinearWeight {
    const [n, k] = this.ck.weights.entry(name).shape;
    return { key: name, n, k, read: () => this.ck.weights.readFloat32(name) };
  }

  /**
   * A 4-bit table that GatherBlockQuantized reads: onnxruntime's WebGPU kernel takes the packed
   * zero points (two per byte) as whole pairs of blocks, so a row of an odd number of blocks gets
   * zero columns up to the next block (exact zeros once quantized). The embedding's bytes also
   * serve a tied LM head, whose input is zero-padded to match (see coda).
   */
  private evenBlocks(w: LinearWeight): LinearWeight {
    const blocks = Math.ceil(w.k / INT4_BLOCK);
    if (blocks % 2 === 0) return w;
    const k = (blocks + 1) * INT4_BLOCK;
    return {
      key: w.key,
      n: w.n,
      k,
      read: () => {
        const src = w.read();
        const out = new Float32Array(w.n * k);
        for (let r = 0; r < w.n; r++) out.set(src.subarray(r * w.k, (r + 1) * w.k), r * k);
        return out;
      },
    };
  }

  /** Columns [from, to) of a [n, k] weight (the adapter's state or embedding half). */
  private columns(name: string, from: number, to: number): LinearWeight {
    const [n, k] = this.ck.weights.entry(name).shape;
    return {
      key: `${name}[:, ${from}:${to}]`,
      n,
      k: to - from,
      read: () => {
        const w = this.ck.weights.readFloat32(name);
        const out = new Float32Array(n * (to - from));
        for (let r = 0; r < n; r++) out.set(w.subarray(r * k + from, r * k + to), r * (to - from));
        return out;
      },
    };
  }

  // --- helpers that mirror the architecture ---

  /**
   * A [n, k] weight as 4-bit blocks in the layout MatMulNBits and GatherBlockQuantized share:
   * packed nibbles (n rows of ceil(k / 32) blocks of 16 bytes), one float scale per block and
   * packed zero points (ceil(blocks / 2) bytes per row). The bytes are stored once per weight;
   * `layout` only picks the shapes a graph declares: MatMulNBits wants [n, blocks, 16] with flat
   * scales and zero points, GatherBlockQuantized wants every input 2-D with rows first.
   */
  private int4(g: Graph, w: LinearWeight, layout: 'matmul' | 'gather'): [packed: string, scales: string, zeroPoints: string] {
    let q: ReturnType<typeof quantizeInt4> | undefined;
    const quant = () => (q ??= quantizeInt4(w.read(), w.n, w.k));
    const blocks = Math.ceil(w.k / INT4_BLOCK);
    const zpBytes = Math.ceil(blocks / 2);
    const gather = layout === 'gather';
    return [
      g.weight(`${w.key}.q4`, DataType.UINT8, gather ? [w.n, (blocks * INT4_BLOCK) / 2] : [w.n, blocks, INT4_BLOCK / 2], () => quant().packed),
      g.weight(`${w.key}.q4_scales`, DataType.FLOAT, gather ? [w.n, blocks] : [w.n * blocks], () => quant().scales),
      g.weight(`${w.key}.q4_zero_points`, DataType.UINT8, gather ? [w.n, zpBytes] : [w.n * zpBytes], () => quant().zeroPoints),
    ];
  }

  private linear(g: Graph, x: string, w: LinearWeight, leaf: string): string {
    return g.scope(leaf, () => {
      if (this.dtype === 'int4') {
        return g.node('MatMulNBits', [x, ...this.int4(g, w, 'matmul')], {
          domain: MS_DOMAIN,
          attrs: { K: w.k, N: w.n, bits: 4, block_size: INT4_BLOCK },
        })[0];
      }
      // MatMul wants [k, n]: transpose the PyTorch layout once, at build time.
      const transposed = () => {
        const src = w.read();
        const t = new Float32Array(w.k * w.n);
        for (let r = 0; r < w.n; r++) for (let c = 0; c < w.k; c++) t[c * w.n + r] = src[r * w.k + c];
        return t;
      };
      if (this.dtype === 'fp16') {
        const wt = g.weight(`${w.key}.T.fp16`, DataType.FLOAT16, [w.k, w.n], () => toFloat16(transposed()));
        const x16 = g.op('Cast', [x], { to: DataType.FLOAT16 });
        return g.op('Cast', [g.op('MatMul', [x16, wt])], { to: DataType.FLOAT });
      }
      const wt = g.weight(`${w.key}.T`, DataType.FLOAT, [w.k, w.n], transposed);
      return g.op('MatMul', [x, wt]);
    });
  }

  private vector(g: Graph, name: string): string {
    const e = this.ck.weights.entry(name);
    return g.weight(name, DataType.FLOAT, e.shape, () => this.ck.weights.readFloat32(name));
  }

  private rmsNorm(g: Graph, x: string, weightName: string, leaf: string): string {
    return g.node('SimplifiedLayerNormalization', [x, this.vector(g, weightName)], {
      attrs: { axis: -1, epsilon: { float: this.cfg.normEps }, stash_type: 1 },
      leaf,
    })[0];
  }

  /** norm(a + b) in one fused node (onnxruntime contrib op; also has CUDA kernels). */
  private addNorm(g: Graph, a: string, b: string, weightName: string, leaf: string): string {
    return g.node('SkipSimplifiedLayerNormalization', [a, b, this.vector(g, weightName)], {
      domain: MS_DOMAIN,
      attrs: { epsilon: { float: this.cfg.normEps } },
      leaf,
    })[0];
  }

  /** RoPE tables [block_size, D], each angle repeated for its pair (x0, x1); frequencies in
   *  float32 as in the official code. */
  private ropeTables(g: Graph): { cos: string; sin: string } {
    const D = this.cfg.headDim;
    const T = this.cfg.blockSize;
    const make = (fn: (a: number) => number) => () => {
      const out = new Float32Array(T * D);
      for (let i = 0; i < D / 2; i++) {
        const invFreq = Math.fround(1 / Math.fround(Math.pow(this.cfg.ropeBase, Math.fround((2 * i) / D))));
        for (let p = 0; p < T; p++) out[p * D + 2 * i] = out[p * D + 2 * i + 1] = fn(Math.fround(p * invFreq));
      }
      return out;
    };
    return {
      cos: g.weight('rope.cos', DataType.FLOAT, [T, D], make(Math.cos)),
      sin: g.weight('rope.sin', DataType.FLOAT, [T, D], make(Math.sin)),
    };
  }

  /** D x D matrix taking each pair (x0, x1) to (-x1, x0): exact in float32 (one ±1 per column). */
  private pairSwap(g: Graph): string {
    const D = this.cfg.headDim;
    return g.weight('rope.pair_swap', DataType.FLOAT, [D, D], () => {
      const m = new Float32Array(D * D);
      for (let i = 0; i < D; i += 2) {
        m[(i + 1) * D + i] = -1; // out[i] = -x[i+1]
        m[i * D + i + 1] = 1; // out[i+1] = x[i]
      }
      return m;
    });
  }

  /** Interleaved ("complex") rotary embedding of x [S, heads, D]:
   *  (x0, x1) -> (x0 cos - x1 sin, x1 cos + x0 sin) = x * cos + swap(x) * sin. */
  private rope(g: Graph, x: string, shared: Shared): string {
    return g.scope('rope', () => g.op('Add', [g.op('Mul', [x, shared.cos]), g.op('Mul', [g.op('MatMul', [x, shared.swap]), shared.sin])]));
  }

  private attention(
    g: Graph,
    x: string,
    t: ReturnType<typeof blockTensorNames>,
    io: { pastKey: string; pastValue: string; newKey: string; newValue: string; presentKey: string; presentValue: string },
    shared: Shared,
  ): string {
    return g.scope('attn', () => {
      const { nEmbd: h, nHeads: H, headDim: D } = this.cfg;
      const qkv = this.linear(g, x, this.full(t.wqkv), 'qkv');
      // q and k get the same treatment (bias, RoPE), so they are handled as one [S, 2H, D] tensor.
      const [qk0, v0] = g.node('Split', [qkv, g.constInt64([2 * h, h])], { attrs: { axis: -1 }, outputs: 2 });
      let qk = g.op('Reshape', [qk0, g.constInt64([0, 2 * H, D])]);
      if (this.cfg.qkBias) {
        // qk_bias [2, 1, H, D] is [q bias; k bias], the same order as the heads of qk.
        qk = g.op('Add', [qk, g.op('Reshape', [this.vector(g, t.qkBias), g.constInt64([2 * H, D])])]);
      }
      const [q, k] = g.node('Split', [this.rope(g, qk, shared), g.constInt64([H, H])], { attrs: { axis: 1 }, outputs: 2 });
      const v = g.op('Reshape', [v0, g.constInt64([0, H, D])]);
      g.output(io.newKey, DataType.FLOAT, ['S', H, D], k);
      g.output(io.newValue, DataType.FLOAT, ['S', H, D], v);
      g.input(io.pastKey, DataType.FLOAT, ['P', H, D]);
      g.input(io.pastValue, DataType.FLOAT, ['P', H, D]);
      const [kAll] = g.node('Concat', [io.pastKey, k], { attrs: { axis: 0 }, outputs: [io.presentKey] });
      const [vAll] = g.node('Concat', [io.pastValue, v], { attrs: { axis: 0 }, outputs: [io.presentValue] });
      g.exposeOutput(io.presentKey, DataType.FLOAT, ['T', H, D]);
      g.exposeOutput(io.presentValue, DataType.FLOAT, ['T', H, D]);
      const qScaled = g.op('Mul', [g.op('Transpose', [q], { perm: [1, 0, 2] }), g.constFloat(1 / Math.sqrt(D))]);
      const scores = g.op('Add', [g.op('MatMul', [qScaled, g.op('Transpose', [kAll], { perm: [1, 2, 0] })]), shared.bias]);
      const probs = g.op('Softmax', [scores], { axis: -1 });
      const ctx = g.op('MatMul', [probs, g.op('Transpose', [vAll], { perm: [1, 0, 2] })]);
      const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [1, 0, 2] }), g.constInt64([0, h])]);
      return this.linear(g, merged, this.full(t.attnProj), 'proj');
    });
  }

  private mlp(g: Graph, x: string, t: ReturnType<typeof blockTensorNames>): string {
    return g.scope('mlp', () => {
      const I = this.cfg.intermediateSize;
      const fc = this.linear(g, x, this.full(t.mlpFc), 'fc');
      const [gate, up] = g.node('Split', [fc, g.constInt64([I, I])], { attrs: { axis: -1 }, outputs: 2 });
      const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
      return this.linear(g, g.op('Mul', [silu, up]), this.full(t.mlpProj), 'proj');
    });
  }

  /** Sandwich block: x = norm_2(attn(norm_1(x)) + x); x = norm_4(mlp(norm_3(x)) + x). */
  private block(g: Graph, x: string, group: BlockGroup, i: number, layer: number, shared: Shared): string {
    return g.scope(`layers.${layer}`, () => {
      const t = blockTensorNames(group, i);
      const io = {
        pastKey: `past_key.${layer}`,
        pastValue: `past_value.${layer}`,
        newKey: `new_key.${layer}`,
        newValue: `new_value.${layer}`,
        presentKey: `present_key.${layer}`,
        presentValue: `present_value.${layer}`,
      };
      const a = this.attention(g, this.rmsNorm(g, x, t.norm1, 'norm_1'), t, io, shared);
      const x2 = this.addNorm(g, a, x, t.norm2, 'norm_2');
      const m = this.mlp(g, this.rmsNorm(g, x2, t.norm3, 'norm_3'), t);
      return this.addNorm(g, m, x2, t.norm4, 'norm_4');
    });
  }

  /** Rows of the embedding for `ids` [S] -> [S, h]. int4 builds store it in 4-bit blocks and
   *  dequantize only the rows looked up (GatherBlockQuantized, CPU EP: uint8 data with bits 4,
   *  gather axis 0, quantize axis last), which gives rows padded to whole blocks: sliced to h. */
  private embed(g: Graph, ids: string): string {
    if (this.dtype !== 'int4') return g.op('Gather', [this.vector(g, TOP_LEVEL.wte), ids], { axis: 0 });
    const table = this.evenBlocks(this.full(TOP_LEVEL.wte));
    const [packed, scales, zeroPoints] = this.int4(g, table, 'gather');
    const rows = g.node('GatherBlockQuantized', [packed, ids, scales, zeroPoints], {
      domain: MS_DOMAIN,
      attrs: { gather_axis: 0, quantize_axis: 1, block_size: INT4_BLOCK, bits: 4 },
    })[0];
    const h = this.cfg.nEmbd;
    const width = Math.ceil(table.k / INT4_BLOCK) * INT4_BLOCK;
    return width === h ? rows : g.op('Slice', [rows, g.constInt64([0]), g.constInt64([h]), g.constInt64([1])]);
  }

  /** Inputs shared by every graph: positions (for RoPE) and the additive attention mask [S, T]. */
  private positional(g: Graph): Shared {
    const positions = g.input('position_ids', DataType.INT64, ['S']);
    const causal = g.input('causal_bias', DataType.FLOAT, ['S', 'S']);
    const pads = g.input('mask_pads', DataType.INT64, [4]);
    const pastBias = g.input('past_bias', DataType.FLOAT, ['B']);
    const bias = g.scope('mask', () => g.op('Add', [g.op('Pad', [causal, pads], { mode: 'constant' }), pastBias]));
    const { cos, sin } = this.ropeTables(g);
    // [S, D] -> [S, 1, D] to broadcast over heads.
    const axes = g.constInt64([1]);
    return {
      cos: g.op('Unsqueeze', [g.op('Gather', [cos, positions], { axis: 0 }), axes]),
      sin: g.op('Unsqueeze', [g.op('Gather', [sin, positions], { axis: 0 }), axes]),
      swap: this.pairSwap(g),
      bias,
    };
  }

  prelude(g: Graph): void {
    const h = this.cfg.nEmbd;
    const ids = g.input('input_ids', DataType.INT64, ['S']);
    const shared = this.positional(g);
    let x = g.scope('embed', () => g.op('Mul', [this.embed(g, ids), g.constFloat(embedScale(this.cfg))]));
    for (let i = 0; i < this.cfg.nLayersInPrelude; i++) x = this.block(g, x, 'prelude', i, i, shared);
    let injection = this.linear(g, x, this.columns(TOP_LEVEL.adapter, h, 2 * h), 'adapter_embeds');
    if (this.cfg.bias) injection = g.op('Add', [injection, this.vector(g, TOP_LEVEL.adapterBias)]);
    g.output('injection', DataType.FLOAT, ['S', h], injection);
  }

  core(g: Graph): void {
    const h = this.cfg.nEmbd;
    const state = g.input('state', DataType.FLOAT, ['S', h]);
    const injection = g.input('injection', DataType.FLOAT, ['S', h]);
    const shared = this.positional(g);
    let x = g.op('Add', [this.linear(g, state, this.columns(TOP_LEVEL.adapter, 0, h), 'adapter_state'), injection]);
    for (let i = 0; i < this.cfg.nLayersInRecurrentBlock; i++) x = this.block(g, x, 'core_block', i, i, shared);
    g.output('state_out', DataType.FLOAT, ['S', h], x);
  }

  coda(g: Graph): void {
    const h = this.cfg.nEmbd;
    const state = g.input('state', DataType.FLOAT, ['S', h]);
    // The first of the S positions that get logits (S - N): fed as is, so that no int64 arithmetic
    // node (which the WebGPU provider leaves to the CPU) computes the slice's start.
    const logitsStart = g.input('logits_start', DataType.INT64, [1]);
    const shared = this.positional(g);
    let x = this.rmsNorm(g, state, TOP_LEVEL.lnF, 'ln_f_in');
    for (let i = 0; i < this.cfg.nLayersInCoda; i++) x = this.block(g, x, 'coda', i, i, shared);
    // Only the last positions need the (large) LM head.
    const last = g.op('Slice', [x, logitsStart, g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([0])]);
    const normed = this.rmsNorm(g, last, TOP_LEVEL.lnF, 'ln_f_out');
    // int4: the head is the largest matrix and is read in full for every token (with a tied
    // embedding its 4-bit bytes are the prelude's, rows padded to an even number of blocks, so
    // the input gets as many zero columns). Otherwise it stays fp32, as Gemm reads it.
    let logits: string;
    if (this.dtype === 'int4') {
      const tied = this.ck.lmHeadName === TOP_LEVEL.wte;
      const head = tied ? this.evenBlocks(this.full(TOP_LEVEL.wte)) : this.full(this.ck.lmHeadName);
      const input = head.k === h ? normed : g.op('Pad', [normed, g.constInt64([0, 0, 0, head.k - h])]);
      logits = this.linear(g, input, head, 'lm_head');
    } else {
      logits = g.scope('lm_head', () => g.op('Gemm', [normed, this.vector(g, this.ck.lmHeadName)], { transB: 1 }));
    }
    g.output('logits', DataType.FLOAT, ['N', this.cfg.vocabSize], logits);
  }
}
