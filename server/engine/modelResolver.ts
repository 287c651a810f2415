// `--model DIR` accepts a built model folder (manifest.json) or a checkpoint folder (config.json +
// safetensors). A checkpoint is built on first use into a cache folder, and that build is reused
// while the checkpoint's files are unchanged (names, sizes and modification times); each dtype has
// its own build. Without a folder, the editor and the CLI use the shipped default model.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BUILDER_VERSION, buildModel } from '../../native/builder/build';
import { WeightDtype } from '../../native/model/manifest';
import { HuginnCheckpoint, CheckpointError } from '../../native/model/checkpoint';

/** The model shipped with the extension (overridable for tests and packaging). */
export function defaultModelDir(): string {
  return process.env.RECURRENT_COPILOT_DEFAULT_MODEL ?? path.resolve(__dirname, '..', '..', '..', 'native', 'models', 'default');
}

/**
 * The format the shipped default model (a small checkpoint) is built as, unless one is named: the
 * one its model card measures. It is small enough for fp32 anywhere, and 4-bit blocks cost a model
 * this small much of its greedy agreement with fp32.
 */
export const DEFAULT_MODEL_DTYPE: WeightDtype = 'fp32';

export function modelCacheRoot(): string {
  if (process.env.RECURRENT_COPILOT_CACHE) return process.env.RECURRENT_COPILOT_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'recurrent-copilot', 'models');
}

function fingerprint(ck: HuginnCheckpoint, dtype: WeightDtype): string {
  const hash = crypto.createHash('sha256');
  // A new builder version writes different graphs (e.g. the 4-bit LM head): stale builds rebuild.
  hash.update(`builder=${BUILDER_VERSION}\ndtype=${dtype}\n`);
  for (const f of ck.sourceFiles) {
    const st = fs.statSync(f);
    hash.update(`${path.basename(f)}\t${st.size}\t${st.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/** How far a checkpoint's build is: from 0 (started) to 1 (done); `tensor` was just written. */
export interface BuildProgress {
  fraction: number;
  tensor: string;
  dtype: WeightDtype;
}

export interface ResolveOptions {
  /** Called as a build goes: at its start, after each tensor, at its end. */
  onProgress?: (p: BuildProgress) => void;
  /** Stops a build: it then leaves no model folder behind and the call rejects. */
  signal?: AbortSignal;
}

/** A checkpoint's build failed (not enough disk space, a bad tensor, ...); the message says which build. */
export class ModelBuildError extends Error {}

export interface ResolvedModel {
  dir: string;
  /** Set when a checkpoint was (re)built for this call. */
  built: boolean;
}

export async function resolveModelDir(
  dir: string,
  dtype: WeightDtype = 'fp32',
  log: (s: string) => void = () => {},
  { onProgress = () => {}, signal }: ResolveOptions = {},
): Promise<ResolvedModel> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CheckpointError(`model folder not found: ${dir}`);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return { dir, built: false };
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    throw new CheckpointError(`${dir} is neither a built model (manifest.json) nor a checkpoint (config.json)`);
  }
  const ck = new HuginnCheckpoint(dir);
  // One folder per source fingerprint: a changed checkpoint gets a new folder, and two processes
  // building the same one at once (two editor windows) produce the same folder, so the second
  // simply keeps the first's build.
  const stem = `${path.basename(path.resolve(dir))}-${dtype}-${crypto.createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 12)}`;
  const cacheDir = path.join(modelCacheRoot(), `${stem}-${fingerprint(ck, dtype).slice(0, 16)}`);
  if (fs.existsSync(path.join(cacheDir, 'manifest.json'))) return { dir: cacheDir, built: false };
  signal?.throwIfAborted();
  log(`building ${dir} (${dtype}) into ${cacheDir}`);
  onProgress({ fraction: 0, tensor: '', dtype });
  try {
    fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
    // The builder reports each tensor it writes and stops between tensors once aborted.
    await buildModel({ checkpointDir: dir, outDir: cacheDir, dtype, log, keepExisting: true, signal, onProgress: (p) => onProgress({ fraction: p.fraction, tensor: p.tensor, dtype }) });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ModelBuildError(`build of ${dir} (${dtype}) failed: ${(e as Error).message}`, { cause: e });
  }
  onProgress({ fraction: 1, tensor: '', dtype }); // (a last chance for the caller to see a cancel)
  if (signal?.aborted) {
    // Cancelled after the last tensor: the user asked for no model, so none is left behind.
    fs.rmSync(cacheDir, { recursive: true, force: true });
    signal.throwIfAborted();
  }
  // Builds of earlier versions of this checkpoint are stale now (best effort: they may be in use).
  for (const name of fs.readdirSync(modelCacheRoot())) {
    const stale = (name === stem || name.startsWith(`${stem}-`)) && !name.includes('.building-') && name !== path.basename(cacheDir);
    if (stale) fs.rmSync(path.join(modelCacheRoot(), name), { recursive: true, force: true });
  }
  return { dir: cacheDir, built: true };
}
