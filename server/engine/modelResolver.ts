// `--model DIR` accepts a built model folder (manifest.json) or a checkpoint folder (config.json +
// safetensors). A checkpoint is built on first use into a cache folder, and that build is reused
// while the checkpoint's files are unchanged (names, sizes and modification times).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildModel } from '../../native/builder/build';
import { WeightDtype } from '../../native/builder/huginnGraphs';
import { HuginnCheckpoint, CheckpointError } from '../model/checkpoint';

export function modelCacheRoot(): string {
  if (process.env.RECURRENT_COPILOT_CACHE) return process.env.RECURRENT_COPILOT_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'recurrent-copilot', 'models');
}

function fingerprint(ck: HuginnCheckpoint, dtype: WeightDtype): string {
  const hash = crypto.createHash('sha256');
  hash.update(`dtype=${dtype}\n`);
  for (const f of ck.sourceFiles) {
    const st = fs.statSync(f);
    hash.update(`${path.basename(f)}\t${st.size}\t${st.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

export interface ResolvedModel {
  dir: string;
  /** Set when a checkpoint was (re)built for this call. */
  built: boolean;
}

export async function resolveModelDir(dir: string, dtype: WeightDtype = 'fp32', log: (s: string) => void = () => {}): Promise<ResolvedModel> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CheckpointError(`model folder not found: ${dir}`);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return { dir, built: false };
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    throw new CheckpointError(`${dir} is neither a built model (manifest.json) nor a checkpoint (config.json)`);
  }
  const ck = new HuginnCheckpoint(dir);
  const key = fingerprint(ck, dtype);
  const cacheDir = path.join(modelCacheRoot(), `${path.basename(path.resolve(dir))}-${dtype}-${crypto.createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 12)}`);
  const stamp = path.join(cacheDir, 'source-fingerprint');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === key && fs.existsSync(path.join(cacheDir, 'manifest.json'))) {
    return { dir: cacheDir, built: false };
  }
  log(`building ${dir} (${dtype}) into ${cacheDir}`);
  fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
  await buildModel({ checkpointDir: dir, outDir: cacheDir, dtype, log });
  fs.writeFileSync(stamp, key);
  return { dir: cacheDir, built: true };
}
