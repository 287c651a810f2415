// Test fixtures that come from the PyTorch reference (native/reference): random checkpoints in
// the official format, and reference logits / generations on them.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildModel } from '../../native/builder/build';

export const PYTHON = process.env.RC_PYTHON ?? '/usr/bin/python3';
export const REPO = path.resolve(__dirname, '..', '..', '..');
const REF = path.join(REPO, 'native', 'reference');

function py(script: string, args: string[]): string {
  return execFileSync(PYTHON, [path.join(REF, script), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2' },
  });
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rc-${prefix}-`));
}

export interface CheckpointShape {
  nEmbd: number;
  nHeads: number;
  prelude: number;
  core: number;
  coda: number;
  intermediate: number;
  vocab: number;
  blockSize?: number;
  meanRecurrence?: number;
  seed?: number;
  dtype?: 'f32' | 'bf16' | 'f16';
  shards?: number;
  tie?: boolean;
  qkBias?: boolean;
  bias?: boolean;
}

/** Writes a random-initialised checkpoint in the huginn-0125 format and returns its folder. */
export function makeCheckpoint(shape: CheckpointShape, dir = tmpDir('ck')): string {
  const args = [
    '--out', dir,
    '--n-embd', String(shape.nEmbd),
    '--n-heads', String(shape.nHeads),
    '--prelude', String(shape.prelude),
    '--core', String(shape.core),
    '--coda', String(shape.coda),
    '--intermediate', String(shape.intermediate),
    '--vocab', String(shape.vocab),
    '--block-size', String(shape.blockSize ?? 256),
    '--mean-recurrence', String(shape.meanRecurrence ?? 8),
    '--seed', String(shape.seed ?? 0),
    '--dtype', shape.dtype ?? 'f32',
    '--shards', String(shape.shards ?? 1),
  ];
  if (shape.tie === false) args.push('--no-tie');
  if (shape.qkBias === false) args.push('--no-qk-bias');
  if (shape.bias) args.push('--bias');
  py('make_checkpoint.py', args);
  return dir;
}

/** A copy of a model or checkpoint folder in a fresh temporary folder, to break or edit; returns the copy. */
export function copyModel(dir: string, prefix = 'model-copy'): string {
  const copy = path.join(tmpDir(prefix), 'model');
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}

/** A copy of a model or checkpoint folder with `edit` applied to its config.json; returns the copy. */
export function copyWithConfig(dir: string, edit: (config: Record<string, unknown>) => void, prefix = 'model-copy'): string {
  const copy = copyModel(dir, prefix);
  const file = path.join(copy, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return copy;
}

/** A random checkpoint of this shape built into an fp32 model folder; returns the folder. */
export async function builtModel(shape: CheckpointShape, prefix: string): Promise<string> {
  const out = path.join(tmpDir(prefix), 'model');
  await buildModel({ checkpointDir: makeCheckpoint(shape), outDir: out, dtype: 'fp32' });
  return out;
}

/** Reference runs already made in this process, by their arguments and the checkpoint's files
 *  (names, sizes, modification times): the CPU and WebGPU exactness tests ask for the same ones. */
const referenceRuns = new Map<string, Float32Array[]>();

function filesKey(dir: string): string {
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join(',');
}

/** Reference float32 logits for every position, computed in float64 with a zero initial state. */
export function referenceLogits(checkpoint: string, ids: number[], steps: number, mode: 'full' | { prefill: number } = 'full'): Float32Array[] {
  const args = ['score', '--checkpoint', checkpoint, '--ids', ids.join(','), '--steps', String(steps), '--state-init', 'zero', '--dtype', 'float64'];
  if (mode !== 'full') args.push('--mode', 'decode', '--prefill', String(mode.prefill));
  const key = `${args.join(' ')}\n${filesKey(checkpoint)}`;
  let rows = referenceRuns.get(key);
  if (!rows) {
    const out = JSON.parse(py('cli.py', args)) as { logits: number[][] };
    rows = out.logits.map((row) => Float32Array.from(row));
    referenceRuns.set(key, rows);
  }
  return rows.map((row) => row.slice());
}

/** Checkpoints made by sharedCheckpoint, by shape. */
const sharedCheckpoints = new Map<string, string>();

/** A random checkpoint of this shape made once per process (tests that share it must not change it). */
export function sharedCheckpoint(shape: CheckpointShape): string {
  const key = JSON.stringify(shape);
  let dir = sharedCheckpoints.get(key);
  if (!dir) {
    dir = makeCheckpoint(shape);
    sharedCheckpoints.set(key, dir);
  }
  return dir;
}

export function referenceGreedy(checkpoint: string, ids: number[], steps: number, maxTokens: number): number[] {
  const out = JSON.parse(py('cli.py', ['generate', '--checkpoint', checkpoint, '--ids', ids.join(','), '--steps', String(steps), '--max-tokens', String(maxTokens)]));
  return out.ids;
}

/** ‖a − b‖ / ‖b‖ over all rows. */
export function relativeError(a: Float32Array[], b: Float32Array[]): number {
  if (a.length !== b.length) throw new Error(`row count ${a.length} != ${b.length}`);
  let diff = 0;
  let norm = 0;
  for (let r = 0; r < a.length; r++) {
    if (a[r].length !== b[r].length) throw new Error(`row ${r}: length ${a[r].length} != ${b[r].length}`);
    for (let i = 0; i < a[r].length; i++) {
      diff += (a[r][i] - b[r][i]) ** 2;
      norm += b[r][i] ** 2;
    }
  }
  return Math.sqrt(diff / norm);
}
