// manifest.json of a built model folder: everything the engine needs to run it, so the engine has
// no magic constants. Written by native/builder, read by the engine.
import * as fs from 'fs';
import * as path from 'path';
import { HuginnConfig, parseHuginnConfig } from './config';
import { CheckpointError, resolveInside } from './safetensors';

export const MANIFEST_FORMAT = 'recurrent-copilot/huginn-onnx';
export const MANIFEST_VERSION = 1;

/** Marks the temporary folder of a build in progress (`<out>.building-<pid>-<nonce>`): renamed to
 *  `<out>` when complete, never a model folder itself, even with a manifest already written. */
export const BUILDING_MARK = '.building-';

export interface SpecialTokens {
  bos: number | null;
  eos: number | null;
  pad: number | null;
  /** Generation stops at any of these. */
  stop: number[];
  fimPrefix: number | null;
  fimMiddle: number | null;
  fimSuffix: number | null;
}

/** How a built model stores its matrix weights (the builder's --dtype). */
export const WEIGHT_DTYPES = ['fp32', 'fp16', 'int4'] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  dtype: WeightDtype;
  opset: number;
  /** The checkpoint's config.json, verbatim (official field names). */
  config: Record<string, unknown>;
  graphs: { prelude: string; core: string; coda: string };
  weights: string;
  tokenizer: string;
  specialTokens: SpecialTokens;
  source: { sha256: string; files: { name: string; bytes: number }[] };
  builder: string;
}

export interface LoadedManifest extends Manifest {
  dir: string;
  parsedConfig: HuginnConfig;
  /** Absolute paths, checked to lie inside `dir`. */
  paths: { prelude: string; core: string; coda: string; weights: string; tokenizer: string };
}

export function readManifest(dir: string): LoadedManifest {
  if (path.basename(path.resolve(dir)).includes(BUILDING_MARK)) {
    throw new CheckpointError(`${dir} is the temporary folder of an unfinished build, not a model folder; build the model again`);
  }
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) throw new CheckpointError(`no manifest.json in ${dir} (not a built model folder)`);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`manifest.json: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== MANIFEST_FORMAT) throw new CheckpointError(`manifest.json: unknown format ${JSON.stringify(m.format)}`);
  if (m.version !== MANIFEST_VERSION) throw new CheckpointError(`manifest.json: version ${m.version} is not supported (expected ${MANIFEST_VERSION}); rebuild the model`);
  if (!(WEIGHT_DTYPES as readonly string[]).includes(m.dtype)) throw new CheckpointError(`manifest.json: unknown dtype ${JSON.stringify(m.dtype)}`);
  if (!m.graphs || typeof m.graphs !== 'object') throw new CheckpointError('manifest.json: missing "graphs"');
  const paths = {
    prelude: resolveInside(dir, m.graphs.prelude, 'manifest.json graphs.prelude'),
    core: resolveInside(dir, m.graphs.core, 'manifest.json graphs.core'),
    coda: resolveInside(dir, m.graphs.coda, 'manifest.json graphs.coda'),
    weights: resolveInside(dir, m.weights, 'manifest.json weights'),
    tokenizer: resolveInside(dir, m.tokenizer, 'manifest.json tokenizer'),
  };
  for (const [what, p] of Object.entries(paths)) {
    if (!fs.existsSync(p)) throw new CheckpointError(`model folder is incomplete: ${what} file ${path.basename(p)} is missing`);
  }
  let parsedConfig: HuginnConfig;
  try {
    parsedConfig = parseHuginnConfig(m.config);
  } catch (e) {
    throw new CheckpointError(`manifest.json: ${(e as Error).message}`);
  }
  return { ...m, dir, parsedConfig, paths };
}

const STOP_TOKEN_NAMES = new Set(['<|begin_text|>', '<|end_text|>', '<|end_turn|>', '<|endoftext|>', '<|eot_id|>']);

/** Special token ids from config.json and the tokenizer's added tokens. */
export function specialTokensFrom(cfg: HuginnConfig, tokenizerJson: { added_tokens?: { id: number; content: string }[] }): SpecialTokens {
  const byName = new Map<string, number>();
  for (const t of tokenizerJson.added_tokens ?? []) byName.set(t.content, t.id);
  const stop = new Set<number>();
  if (cfg.eosTokenId !== null) stop.add(cfg.eosTokenId);
  if (cfg.bosTokenId !== null) stop.add(cfg.bosTokenId);
  for (const [name, id] of byName) if (STOP_TOKEN_NAMES.has(name) && id < cfg.vocabSize) stop.add(id);
  const find = (...names: string[]) => {
    for (const n of names) if (byName.has(n)) return byName.get(n)!;
    return null;
  };
  return {
    bos: cfg.bosTokenId,
    eos: cfg.eosTokenId,
    pad: cfg.padTokenId,
    stop: [...stop].sort((a, b) => a - b),
    fimPrefix: find('<|fim_prefix|>', '<fim_prefix>'),
    fimMiddle: find('<|fim_middle|>', '<fim_middle>'),
    fimSuffix: find('<|fim_suffix|>', '<fim_suffix>'),
  };
}
