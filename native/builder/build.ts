// Turns a Huginn checkpoint folder into a built model folder: prelude.onnx, core.onnx,
// coda.onnx, one external-data file (weights.bin), tokenizer.json and manifest.json.
// The build goes to a temporary folder that is renamed at the end, so a crash never leaves a
// half-built model that looks complete.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { HuginnCheckpoint } from '../model/checkpoint';
import { Manifest, MANIFEST_FORMAT, MANIFEST_VERSION, specialTokensFrom, WeightDtype } from '../model/manifest';
import { Graph, OPSET, WeightsFile } from './onnxGraph';
import { HuginnGraphWriter } from './huginnGraphs';

export const BUILDER_VERSION = 'huginn-onnx-builder/1';

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
}

export async function sha256Files(files: string[], root: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for (const file of files) {
    hash.update(path.relative(root, file) + '\0');
    await new Promise<void>((resolve, reject) => {
      fs.createReadStream(file, { highWaterMark: 1 << 22 })
        .on('data', (chunk) => hash.update(chunk))
        .on('end', resolve)
        .on('error', reject);
    });
  }
  return hash.digest('hex');
}

export async function buildModel(opts: BuildOptions): Promise<Manifest> {
  const log = opts.log ?? (() => {});
  const ck = new HuginnCheckpoint(opts.checkpointDir);
  const outDir = path.resolve(opts.outDir);
  const tmp = `${outDir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    const weights = new WeightsFile(path.join(tmp, 'weights.bin'), 'weights.bin');
    const writer = new HuginnGraphWriter(ck, opts.dtype);
    const graphs = { prelude: 'prelude.onnx', core: 'core.onnx', coda: 'coda.onnx' };
    try {
      for (const part of ['prelude', 'core', 'coda'] as const) {
        const g = new Graph(part, weights);
        writer[part](g);
        fs.writeFileSync(path.join(tmp, graphs[part]), g.encode());
        log(`built ${part}: ${g.nodes.length} nodes, weights so far ${(weights.size / 2 ** 20).toFixed(1)} MiB`);
      }
    } finally {
      weights.close();
    }
    const tokenizerJson = JSON.parse(fs.readFileSync(ck.tokenizerPath, 'utf8'));
    fs.copyFileSync(ck.tokenizerPath, path.join(tmp, 'tokenizer.json'));
    const tokConfig = path.join(ck.dir, 'tokenizer_config.json');
    if (fs.existsSync(tokConfig)) fs.copyFileSync(tokConfig, path.join(tmp, 'tokenizer_config.json'));
    const sources = ck.sourceFiles;
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      dtype: opts.dtype,
      opset: OPSET,
      config: ck.rawConfig,
      graphs,
      weights: 'weights.bin',
      tokenizer: 'tokenizer.json',
      specialTokens: specialTokensFrom(ck.config, tokenizerJson),
      source: {
        sha256: await sha256Files(sources, ck.dir),
        files: sources.map((f) => ({ name: path.relative(ck.dir, f), bytes: fs.statSync(f).size })),
      },
      builder: BUILDER_VERSION,
    };
    fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
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
    throw e;
  }
}
