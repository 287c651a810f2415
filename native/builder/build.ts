// Turns a Huginn checkpoint folder into a built model folder: prelude.onnx, core.onnx,
// coda.onnx, one external-data file (weights.bin), tokenizer.json and manifest.json.
//
// A build is planned before anything is written: the graphs are laid out from the checkpoint's
// tensor shapes alone, which gives the exact size of the output (estimateBuildSize), checked
// against the free disk space. The weights are then written tensor by tensor, with progress and
// cancellation between tensors. Everything goes to `<out>.building-<pid>-<nonce>`, renamed to
// `<out>` at the end, so a crash or a cancellation never leaves a half-built model at `<out>`;
// such leftovers are removed by the next build of the same output (their process is gone) and
// refused by readManifest.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { HuginnCheckpoint } from '../model/checkpoint';
import { Manifest, MANIFEST_FORMAT, MANIFEST_VERSION, specialTokensFrom, WeightDtype, BUILDING_MARK } from '../model/manifest';
import { Graph, OPSET, WeightsFile } from './onnxGraph';
import { HuginnGraphWriter } from './huginnGraphs';

/** Recorded in each manifest. 2: int4 builds quantize the LM head and the embedding. 3: every node
 *  runs on onnxruntime's WebGPU provider: the coda takes `logits_start` instead of `num_logits`,
 *  and the int4 embedding has an even number of blocks per row. 4: each attention layer also
 *  outputs its whole keys and values (`present_*`), which a GPU keeps as the next run's past. 5: the
 *  attention mask is fed in parts that do not grow with the context (`causal_bias`, `mask_pads`,
 *  `past_bias`) instead of `attn_bias` [S, P+S]. */
export const BUILDER_VERSION = 'huginn-onnx-builder/5';

export interface BuildProgress {
  /** bytesWritten / bytesTotal: increasing, 1 after the last tensor. */
  fraction: number;
  /** The tensor just written (its key in weights.bin). */
  tensor: string;
  /** Bytes of weights.bin written so far, alignment included. */
  bytesWritten: number;
  /** The size weights.bin will have (estimateBuildSize's weightsBytes): all but a few kB of the output. */
  bytesTotal: number;
}

export interface BuildOptions {
  checkpointDir: string;
  outDir: string;
  dtype: WeightDtype;
  log?: (line: string) => void;
  /**
   * When outDir already holds a complete build at the end, keep it and drop ours (for caches
   * whose folder name identifies the content: another process built the same model first).
   */
  keepExisting?: boolean;
  /** Called after each tensor is written. */
  onProgress?: (p: BuildProgress) => void;
  /** Stops the build between tensors: it then removes its temporary folder and rejects with BuildCancelled. */
  signal?: AbortSignal;
  /** Free bytes on the filesystem holding `dir` (an existing folder). Default: fs.statfsSync;
   *  tests pass their own to exercise the refusal without filling a disk. */
  freeSpace?: (dir: string) => number;
}

/** The build was stopped through BuildOptions.signal; nothing was left behind. */
export class BuildCancelled extends Error {
  constructor(readonly outDir: string) {
    super(`model build cancelled: ${outDir} was not written`);
    this.name = 'BuildCancelled';
  }
}

/** The output's filesystem has too little free space for the build; nothing was written. */
export class NotEnoughDiskSpace extends Error {
  constructor(
    readonly neededBytes: number,
    readonly freeBytes: number,
    readonly dir: string,
  ) {
    super(`not enough disk space to build the model: need ${formatBytes(neededBytes)}, ${formatBytes(freeBytes)} free on ${dir}`);
    this.name = 'NotEnoughDiskSpace';
  }
}

export interface BuildSizeEstimate {
  /** weights.bin, exactly: each tensor's bytes from its shape and the dtype, plus page alignment. */
  weightsBytes: number;
  /** The three .onnx files (graph structure; the weights are external). */
  graphBytes: number;
  /** Tokenizer files copied into the build, and the manifest. */
  otherBytes: number;
  totalBytes: number;
}

/** Room kept free beyond the estimate: filesystem blocks and metadata, and a safety margin. */
const DISK_MARGIN = { fraction: 0.02, bytes: 16 * 2 ** 20 };
/** Allowance for manifest.json (the checkpoint's config plus a few hundred bytes of our own). */
const MANIFEST_ALLOWANCE = 16 * 1024;

export function formatBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

const GRAPH_FILES = { prelude: 'prelude.onnx', core: 'core.onnx', coda: 'coda.onnx' };

/** The graphs with every weight placed but none read: offsets, sizes and graph bytes are final. */
function plan(ck: HuginnCheckpoint, dtype: WeightDtype) {
  const weights = new WeightsFile('weights.bin');
  const writer = new HuginnGraphWriter(ck, dtype);
  const graphs = (['prelude', 'core', 'coda'] as const).map((part) => {
    const g = new Graph(part, weights);
    writer[part](g);
    return { part, file: GRAPH_FILES[part], nodes: g.nodes.length, bytes: g.encode() };
  });
  const tokenizerFiles = [ck.tokenizerPath, path.join(ck.dir, 'tokenizer_config.json')].filter((f) => fs.existsSync(f));
  const weightsBytes = weights.size;
  const graphBytes = graphs.reduce((a, g) => a + g.bytes.byteLength, 0);
  const otherBytes = tokenizerFiles.reduce((a, f) => a + fs.statSync(f).size, 0) + JSON.stringify(ck.rawConfig).length + MANIFEST_ALLOWANCE;
  const estimate: BuildSizeEstimate = { weightsBytes, graphBytes, otherBytes, totalBytes: weightsBytes + graphBytes + otherBytes };
  return { weights, graphs, tokenizerFiles, estimate };
}

/** The size on disk of `checkpointDir` built as `dtype`, from its tensor shapes (no weights read). */
export function estimateBuildSize(checkpointDir: string, dtype: WeightDtype): BuildSizeEstimate {
  return plan(new HuginnCheckpoint(checkpointDir), dtype).estimate;
}

function statfsFree(dir: string): number {
  const st = fs.statfsSync(dir);
  return st.bavail * st.bsize;
}

/** The nearest existing folder at or above `p`. */
function existingAncestor(p: string): string {
  let dir = p;
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Temporary folders of builds running in this process (the same output may be built twice at once). */
const ACTIVE_BUILDS = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `<out>.building-<pid>-*` folders whose build is no longer running (a killed process). */
function removeAbandonedBuilds(outDir: string, log: (line: string) => void): void {
  const parent = path.dirname(outDir);
  if (!fs.existsSync(parent)) return;
  const prefix = `${path.basename(outDir)}${BUILDING_MARK}`;
  for (const name of fs.readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)/.exec(name.slice(prefix.length))?.[1]);
    const full = path.join(parent, name);
    const running = pid === process.pid ? ACTIVE_BUILDS.has(full) : Number.isInteger(pid) && processAlive(pid);
    if (running) continue;
    log(`removing ${full}, left by a build that did not finish`);
    fs.rmSync(full, { recursive: true, force: true });
  }
}

export async function sha256Files(files: string[], root: string, signal?: AbortSignal): Promise<string> {
  const hash = crypto.createHash('sha256');
  for (const file of files) {
    hash.update(path.relative(root, file) + '\0');
    await new Promise<void>((resolve, reject) => {
      const stream = fs.createReadStream(file, { highWaterMark: 1 << 22 });
      stream
        .on('data', (chunk) => {
          if (signal?.aborted) stream.destroy(new Error('aborted'));
          else hash.update(chunk);
        })
        .on('end', resolve)
        .on('error', reject);
    });
  }
  return hash.digest('hex');
}

export async function buildModel(opts: BuildOptions): Promise<Manifest> {
  const log = opts.log ?? (() => {});
  const outDir = path.resolve(opts.outDir);
  const checkAbort = () => {
    if (opts.signal?.aborted) throw new BuildCancelled(outDir);
  };
  checkAbort();
  const ck = new HuginnCheckpoint(opts.checkpointDir);
  const { weights, graphs, tokenizerFiles, estimate } = plan(ck, opts.dtype);
  const needed = Math.ceil(estimate.totalBytes * (1 + DISK_MARGIN.fraction)) + DISK_MARGIN.bytes;
  const volume = existingAncestor(path.dirname(outDir));
  const free = (opts.freeSpace ?? statfsFree)(volume);
  if (free < needed) throw new NotEnoughDiskSpace(needed, free, volume);

  removeAbandonedBuilds(outDir, log);
  const tmp = `${outDir}${BUILDING_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  ACTIVE_BUILDS.add(tmp);
  fs.mkdirSync(tmp, { recursive: true });
  try {
    for (const g of graphs) {
      fs.writeFileSync(path.join(tmp, g.file), g.bytes);
      log(`${g.part}: ${g.nodes} nodes`);
    }
    log(`writing ${formatBytes(estimate.weightsBytes)} of ${opts.dtype} weights`);
    await weights.write(path.join(tmp, weights.location), checkAbort, (tensor, end) =>
      opts.onProgress?.({ fraction: end / estimate.weightsBytes, tensor, bytesWritten: end, bytesTotal: estimate.weightsBytes }),
    );
    const tokenizerJson = JSON.parse(fs.readFileSync(ck.tokenizerPath, 'utf8'));
    for (const f of tokenizerFiles) fs.copyFileSync(f, path.join(tmp, path.basename(f)));
    const sources = ck.sourceFiles;
    const sha256 = await sha256Files(sources, ck.dir, opts.signal);
    checkAbort();
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      dtype: opts.dtype,
      opset: OPSET,
      config: ck.rawConfig,
      graphs: GRAPH_FILES,
      weights: weights.location,
      tokenizer: 'tokenizer.json',
      specialTokens: specialTokensFrom(ck.config, tokenizerJson),
      source: { sha256, files: sources.map((f) => ({ name: path.relative(ck.dir, f), bytes: fs.statSync(f).size })) },
      builder: BUILDER_VERSION,
    };
    fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    checkAbort(); // the last point where cancelling leaves outDir as it was
    if (!opts.keepExisting) fs.rmSync(outDir, { recursive: true, force: true });
    const done = path.join(outDir, 'manifest.json');
    try {
      fs.renameSync(tmp, outDir);
    } catch (e) {
      // outDir is a finished build (builds only ever appear by this rename): another process won.
      if (!opts.keepExisting || !fs.existsSync(done)) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
      return JSON.parse(fs.readFileSync(done, 'utf8'));
    }
    return manifest;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw opts.signal?.aborted ? new BuildCancelled(outDir) : e;
  } finally {
    ACTIVE_BUILDS.delete(tmp);
  }
}
