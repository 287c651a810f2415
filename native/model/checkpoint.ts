// A Huginn checkpoint folder as released for huginn-0125: config.json, safetensors weights
// (single or sharded) and tokenizer.json. Opening it validates every expected tensor's name and
// shape against the config, so a wrong or partial checkpoint fails here with the tensor named.
import * as fs from 'fs';
import * as path from 'path';
import { HuginnConfig, parseHuginnConfig, ConfigError } from './config';
import { CheckpointError, SafetensorsCheckpoint } from './safetensors';

export { CheckpointError };

export type BlockGroup = 'prelude' | 'core_block' | 'coda';

/** Tensor names of one sandwich block, in the official layout. */
export function blockTensorNames(group: BlockGroup, i: number) {
  const p = `transformer.${group}.${i}`;
  return {
    norm1: `${p}.norm_1.weight`,
    norm2: `${p}.norm_2.weight`,
    norm3: `${p}.norm_3.weight`,
    norm4: `${p}.norm_4.weight`,
    wqkv: `${p}.attn.Wqkv.weight`,
    qkBias: `${p}.attn.qk_bias`,
    attnProj: `${p}.attn.proj.weight`,
    mlpFc: `${p}.mlp.fc.weight`,
    mlpProj: `${p}.mlp.proj.weight`,
  };
}

export const TOP_LEVEL = {
  wte: 'transformer.wte.weight',
  lmHead: 'lm_head.weight',
  adapter: 'transformer.adapter.weight',
  adapterBias: 'transformer.adapter.bias',
  lnF: 'transformer.ln_f.weight',
};

/** Every tensor the model needs, with its expected shape. */
export function expectedTensors(cfg: HuginnConfig): Map<string, number[]> {
  const h = cfg.nEmbd;
  const m = new Map<string, number[]>();
  m.set(TOP_LEVEL.wte, [cfg.vocabSize, h]);
  m.set(TOP_LEVEL.adapter, [h, 2 * h]);
  if (cfg.bias) m.set(TOP_LEVEL.adapterBias, [h]);
  m.set(TOP_LEVEL.lnF, [h]);
  if (!cfg.tieEmbeddings) m.set(TOP_LEVEL.lmHead, [cfg.vocabSize, h]);
  const groups: [BlockGroup, number][] = [
    ['prelude', cfg.nLayersInPrelude],
    ['core_block', cfg.nLayersInRecurrentBlock],
    ['coda', cfg.nLayersInCoda],
  ];
  for (const [group, n] of groups) {
    for (let i = 0; i < n; i++) {
      const t = blockTensorNames(group, i);
      for (const norm of [t.norm1, t.norm2, t.norm3, t.norm4]) m.set(norm, [h]);
      m.set(t.wqkv, [(cfg.nHeads + 2 * cfg.nKvHeads) * cfg.headDim, h]);
      if (cfg.qkBias) m.set(t.qkBias, [2, 1, cfg.nHeads, cfg.headDim]);
      m.set(t.attnProj, [h, h]);
      m.set(t.mlpFc, [2 * cfg.intermediateSize, h]);
      m.set(t.mlpProj, [h, cfg.intermediateSize]);
    }
  }
  return m;
}

export class HuginnCheckpoint {
  readonly config: HuginnConfig;
  readonly rawConfig: Record<string, unknown>;
  readonly weights: SafetensorsCheckpoint;
  readonly tokenizerPath: string;

  constructor(readonly dir: string) {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new CheckpointError(`checkpoint folder not found: ${dir}`);
    }
    const configPath = path.join(dir, 'config.json');
    if (!fs.existsSync(configPath)) throw new CheckpointError(`missing config.json in ${dir}`);
    try {
      this.rawConfig = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    } catch (e) {
      throw new CheckpointError(`config.json: not valid JSON (${(e as Error).message})`);
    }
    try {
      this.config = parseHuginnConfig(this.rawConfig);
    } catch (e) {
      if (e instanceof ConfigError) throw new CheckpointError(e.message);
      throw e;
    }
    this.tokenizerPath = path.join(dir, 'tokenizer.json');
    if (!fs.existsSync(this.tokenizerPath)) throw new CheckpointError(`missing tokenizer.json in ${dir}`);
    this.weights = new SafetensorsCheckpoint(dir);
    this.validate();
  }

  private validate(): void {
    const expected = expectedTensors(this.config);
    for (const [name, shape] of expected) {
      if (!this.weights.has(name)) throw new CheckpointError(`missing tensor "${name}" (expected shape [${shape.join(', ')}])`);
      const got = this.weights.entry(name).shape;
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
        throw new CheckpointError(`tensor "${name}" has shape [${got.join(', ')}], expected [${shape.join(', ')}] from config.json`);
      }
    }
    // A tied checkpoint may still carry lm_head; it must then have the embedding's shape.
    if (this.config.tieEmbeddings && this.weights.has(TOP_LEVEL.lmHead)) {
      const got = this.weights.entry(TOP_LEVEL.lmHead).shape;
      if (got[0] !== this.config.vocabSize || got[1] !== this.config.nEmbd) {
        throw new CheckpointError(`tensor "${TOP_LEVEL.lmHead}" has shape [${got.join(', ')}], expected [${this.config.vocabSize}, ${this.config.nEmbd}]`);
      }
    }
  }

  /** Name of the LM head matrix: lm_head when untied, the embedding otherwise. */
  get lmHeadName(): string {
    return this.config.tieEmbeddings ? TOP_LEVEL.wte : TOP_LEVEL.lmHead;
  }

  /** Files whose content defines the model (for checksums and cache keys). */
  get sourceFiles(): string[] {
    const extra = ['config.json', 'tokenizer.json', 'model.safetensors.index.json']
      .map((f) => path.join(this.dir, f))
      .filter((f) => fs.existsSync(f));
    return [...extra, ...this.weights.files].sort();
  }
}
