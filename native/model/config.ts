// The Huginn model configuration, read from a checkpoint's `config.json` with the official
// huginn-0125 field names (see docs/architecture.md#checkpoint-format). Validation is strict: every problem
// names the field, so a user with a broken download sees what to fix.

export interface HuginnConfig {
  nEmbd: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  nLayersInPrelude: number;
  nLayersInRecurrentBlock: number;
  nLayersInCoda: number;
  meanRecurrence: number;
  meanBackpropDepth: number;
  intermediateSize: number;
  vocabSize: number;
  blockSize: number;
  ropeBase: number;
  normEps: number;
  tieEmbeddings: boolean;
  bias: boolean;
  qkBias: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
  /** Whether completions may use fill-in-the-middle prompts when the tokenizer has FIM tokens
   *  (`fill_in_the_middle`, our field; false for a model whose FIM training did not take). */
  fillInTheMiddle: boolean;
}

export class ConfigError extends Error {}

// Hard limits that catch absurd configs before we try to allocate anything.
const LIMITS = {
  nEmbd: 65536,
  nHeads: 1024,
  layers: 256,
  intermediateSize: 1 << 20,
  vocabSize: 1 << 22,
  blockSize: 1 << 20,
  meanRecurrence: 4096,
};

function field(raw: Record<string, unknown>, name: string): unknown {
  return raw[name];
}

function int(raw: Record<string, unknown>, name: string, min: number, max: number, fallback?: number): number {
  const v = field(raw, name);
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config.json: missing field "${name}"`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ConfigError(`config.json: field "${name}" must be an integer, got ${JSON.stringify(v)}`);
  }
  if (v < min || v > max) {
    throw new ConfigError(`config.json: field "${name}" = ${v} is out of range [${min}, ${max}]`);
  }
  return v;
}

function num(raw: Record<string, unknown>, name: string, min: number, max: number, fallback?: number): number {
  const v = field(raw, name);
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config.json: missing field "${name}"`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= min || v > max) {
    throw new ConfigError(`config.json: field "${name}" must be a number in (${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(raw: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = field(raw, name);
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(`config.json: field "${name}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function optionalTokenId(raw: Record<string, unknown>, name: string, vocab: number): number | null {
  const v = field(raw, name);
  if (v === undefined || v === null) return null;
  // Some configs list several EOS ids; the first is the canonical one.
  const id = Array.isArray(v) ? v[0] : v;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab) {
    throw new ConfigError(`config.json: field "${name}" must be a token id below vocab_size ${vocab}, got ${JSON.stringify(v)}`);
  }
  return id;
}

/** Parses and validates a config.json object. Throws ConfigError naming the bad field. */
export function parseHuginnConfig(raw: unknown): HuginnConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('config.json: expected a JSON object');
  }
  const r = raw as Record<string, unknown>;
  const nEmbd = int(r, 'n_embd', 1, LIMITS.nEmbd);
  const nHeads = int(r, 'n_heads', 1, LIMITS.nHeads);
  if (nEmbd % nHeads !== 0) throw new ConfigError(`config.json: n_embd ${nEmbd} is not divisible by n_heads ${nHeads}`);
  const headDim = nEmbd / nHeads;
  if (r.head_dim !== undefined && r.head_dim !== headDim) {
    throw new ConfigError(`config.json: head_dim ${JSON.stringify(r.head_dim)} disagrees with n_embd / n_heads = ${headDim}`);
  }
  if (headDim % 2 !== 0) throw new ConfigError(`config.json: head dim ${headDim} must be even for rotary embeddings`);
  const nKvHeads = int(r, 'num_key_value_heads', 1, LIMITS.nHeads, nHeads);
  if (nKvHeads !== nHeads) {
    throw new ConfigError(`config.json: num_key_value_heads ${nKvHeads} != n_heads ${nHeads}; Huginn has no grouped-query attention`);
  }
  const prelude = int(r, 'n_layers_in_prelude', 0, LIMITS.layers);
  const core = int(r, 'n_layers_in_recurrent_block', 1, LIMITS.layers);
  const coda = int(r, 'n_layers_in_coda', 0, LIMITS.layers);
  const total = int(r, 'n_layers', 1, 3 * LIMITS.layers, prelude + core + coda);
  if (total !== prelude + core + coda) {
    throw new ConfigError(`config.json: n_layers ${total} != n_layers_in_prelude + n_layers_in_recurrent_block + n_layers_in_coda = ${prelude + core + coda}`);
  }
  const vocabSize = int(r, 'padded_vocab_size', 1, LIMITS.vocabSize, int(r, 'vocab_size', 1, LIMITS.vocabSize));
  const meanRecurrence = int(r, 'mean_recurrence', 1, LIMITS.meanRecurrence);
  const cfg: HuginnConfig = {
    nEmbd,
    nHeads,
    nKvHeads,
    headDim,
    nLayersInPrelude: prelude,
    nLayersInRecurrentBlock: core,
    nLayersInCoda: coda,
    meanRecurrence,
    meanBackpropDepth: int(r, 'mean_backprop_depth', 0, LIMITS.meanRecurrence, Math.min(8, meanRecurrence)),
    intermediateSize: int(r, 'intermediate_size', 1, LIMITS.intermediateSize),
    vocabSize,
    blockSize: int(r, 'block_size', 1, LIMITS.blockSize),
    ropeBase: num(r, 'rope_base', 0, 1e12),
    normEps: num(r, 'norm_eps', 0, 1, 1e-6),
    tieEmbeddings: bool(r, 'tie_embeddings', true),
    bias: bool(r, 'bias', false),
    qkBias: bool(r, 'qk_bias', true),
    bosTokenId: optionalTokenId(r, 'bos_token_id', vocabSize),
    eosTokenId: optionalTokenId(r, 'eos_token_id', vocabSize),
    padTokenId: optionalTokenId(r, 'pad_token_id', vocabSize),
    fillInTheMiddle: bool(r, 'fill_in_the_middle', true),
  };
  const noise = r.test_time_noise;
  if (noise !== undefined && noise !== 0) {
    throw new ConfigError(`config.json: test_time_noise ${JSON.stringify(noise)} is not supported (only 0)`);
  }
  return cfg;
}

/** Standard deviation of the paper's initialisation, also the scale of the random latent state. */
export function initStd(cfg: HuginnConfig): number {
  return Math.sqrt(2 / (5 * cfg.nEmbd));
}

export function embedScale(cfg: HuginnConfig): number {
  return Math.sqrt(cfg.nEmbd);
}
