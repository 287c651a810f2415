// npm run bench:gpu — the engine on the GPU that is present (onnxruntime's WebGPU provider), with
// the CPU engine beside it in the same run: prompt and decode tokens/s at r = 4 and 32 and with
// adaptive exit, the bytes that cross between host and GPU per decoded token (with the KV cache
// on the GPU, and with it fed from the host every run), the GPU memory the KV cache's device
// copies reach, and the process's GPU memory where nvidia-smi reports it. Each configuration runs
// in its own process (gpuBenchRun.ts). On Mesa's lavapipe (a software adapter) the figures only
// prove that the path runs; speed needs a real GPU.
//
//   the default model (fp32, as shipped) always;
//   GPU_BENCH_FULLSIZE=1      also a huginn-0125-shaped checkpoint with random weights (generated:
//                             7.1 GB, ~2 minutes), built fp16 and int4
//   FULLSIZE_CHECKPOINT=DIR   that checkpoint instead of generating one
//   GPU_BENCH_PROMPT=N, GPU_BENCH_DECODE=N   prompt tokens (default 64), decoded tokens (default 16)
//   GPU_BENCH_THREADS=N       the CPU engine's intra-op threads (default: every core)
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildModel } from '../../native/builder/build';
import { WeightDtype } from '../../native/model/manifest';
import { probeWebGpu } from '../../server/engine/device';
import { defaultModelDir } from '../../server/engine/modelResolver';
import { PYTHON, REPO, tmpDir } from '../helpers/reference';
import { GpuRow } from './gpuBenchRun';

const PROMPT = Number(process.env.GPU_BENCH_PROMPT ?? 64);
const DECODE = Number(process.env.GPU_BENCH_DECODE ?? 16);
const THREADS = Number(process.env.GPU_BENCH_THREADS ?? os.availableParallelism());
const RUN = path.join(__dirname, 'gpuBenchRun.js');

const log = (line: string) => process.stderr.write(`[gpu] ${line}\n`);

/** The configurations one built model is measured in: the GPU with its KV cache there and fed
 *  from the host, and the CPU (skipped where a format makes no sense on it). */
type Config = 'webgpu' | 'webgpu-hostkv' | 'cpu';

function measure(modelDir: string, config: Config): GpuRow[] {
  log(`${path.basename(path.dirname(modelDir))}/${path.basename(modelDir)} on ${config}`);
  const out = execFileSync(process.execPath, [RUN, modelDir, config, String(PROMPT), String(DECODE), String(THREADS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

async function build(checkpoint: string, dtype: WeightDtype, root: string): Promise<string> {
  const out = path.join(root, dtype);
  log(`building ${dtype} from ${checkpoint}`);
  await buildModel({ checkpointDir: checkpoint, outDir: out, dtype });
  return out;
}

function fullsizeCheckpoint(): string {
  if (process.env.FULLSIZE_CHECKPOINT) return process.env.FULLSIZE_CHECKPOINT;
  const out = path.join(tmpDir('gpu-fullsize'), 'checkpoint');
  log(`generating a huginn-0125-shaped checkpoint in ${out}`);
  execFileSync(PYTHON, [path.join(REPO, 'native/reference/make_fullsize_checkpoint.py'), '--out', out, '--quiet'], { stdio: 'inherit' });
  return out;
}

const num = (n: number | null | undefined, d = 1) => (n === null || n === undefined ? 'n/a' : n.toFixed(d));
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

function table(title: string, rows: { config: Config; dtype: string; row: GpuRow }[]) {
  console.log(`\n## ${title}\n`);
  console.log('| format | device | KV cache | mode | prompt tok/s | decode tok/s | iterations/token | to GPU KiB/token | to host KiB/token | device KV peak MiB | GPU memory MiB |');
  console.log('|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { config, dtype, row } of rows) {
    const device = row.provider === 'webgpu' ? `webgpu (${row.adapter ?? 'adapter unknown'})` : row.provider;
    const kvWhere = row.provider === 'cpu' ? 'host' : config === 'webgpu-hostkv' ? 'host, fed each run' : 'GPU';
    const onGpu = row.provider !== 'cpu';
    console.log(
      `| ${dtype} | ${device} | ${kvWhere} | ${row.mode} | ${num(row.prefill_tok_s)} | ${num(row.decode_tok_s, 2)} | ${num(row.iterations)} | ` +
        `${onGpu ? kb(row.up_per_token) : '-'} | ${onGpu ? kb(row.down_per_token) : '-'} | ${onGpu ? num(row.peak_device_kv_mb, 2) : '-'} | ${onGpu ? num(row.gpu_mem_mb, 0) : '-'} |`,
    );
  }
  const speed = (c: Config, dtype: string, mode: string) => rows.find((r) => r.config === c && r.dtype === dtype && r.row.mode === mode)?.row.decode_tok_s;
  for (const { dtype, row } of rows.filter((r) => r.config === 'webgpu')) {
    const cpu = speed('cpu', dtype, row.mode) ?? speed('cpu', 'int4', row.mode);
    if (cpu) console.log(`- ${dtype} ${row.mode}: GPU decode ${(row.decode_tok_s / cpu).toFixed(2)}x the CPU engine's`);
  }
}

async function main() {
  const probe = await probeWebGpu();
  const gpu = probe.ok;
  console.log(`prompt ${PROMPT} tokens, ${DECODE} greedy tokens, zero state init; CPU engine ${THREADS} threads`);
  console.log(gpu ? `WebGPU adapter: ${probe.adapter.name} (${probe.adapter.software ? 'software: these figures only prove the path runs' : 'hardware'})` : `no WebGPU adapter (${probe.reason}): the CPU only`);
  const configs: Config[] = gpu ? ['webgpu', 'webgpu-hostkv', 'cpu'] : ['cpu'];

  const root = tmpDir('gpu-bench');
  const defaultModel = await build(defaultModelDir(), 'fp32', root);
  table('default model (fp32, as shipped)', configs.flatMap((config) => measure(defaultModel, config).map((row) => ({ config, dtype: 'fp32', row }))));

  if (process.env.GPU_BENCH_FULLSIZE === '1' || process.env.FULLSIZE_CHECKPOINT) {
    const checkpoint = fullsizeCheckpoint();
    const fullRoot = tmpDir('gpu-bench-fullsize');
    const rows: { config: Config; dtype: string; row: GpuRow }[] = [];
    for (const dtype of ['fp16', 'int4'] as const) {
      const dir = await build(checkpoint, dtype, fullRoot);
      // fp16 on the CPU is widened to fp32 at load (platform notes): the CPU runs the int4 build only
      for (const config of configs.filter((c) => c !== 'cpu' || dtype === 'int4')) rows.push(...measure(dir, config).map((row) => ({ config, dtype, row })));
      fs.rmSync(dir, { recursive: true, force: true });
    }
    table('huginn-0125 shape (random weights)', rows);
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
