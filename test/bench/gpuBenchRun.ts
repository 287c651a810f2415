// One bench:gpu process: opens a built model on one device and measures, per mode (r=4, r=32,
// adaptive exit), prompt and decode tokens/s, the bytes that cross between host and GPU per decoded
// token, and the GPU memory the KV cache's device copies reach. One JSON line per mode.
// usage: node gpuBenchRun.js MODEL_DIR cpu|webgpu|webgpu-hostkv PROMPT_LEN DECODE_TOKENS THREADS
import { execFileSync } from 'child_process';
import { Engine } from '../../server/engine/engine';
import { GenerateRequest } from '../../server/engine/generateRequest';

export interface GpuRow {
  mode: string;
  provider: string;
  adapter?: string;
  prefill_tok_s: number;
  decode_tok_s: number;
  /** Mean core iterations per decoded token. */
  iterations: number;
  /** Bytes per decoded token (GPU providers only). */
  up_per_token: number;
  down_per_token: number;
  peak_device_kv_mb: number;
  /** This process's GPU memory as nvidia-smi reports it, where there is one. */
  gpu_mem_mb: number | null;
}

export const MODES: Record<string, Pick<GenerateRequest, 'steps' | 'exit'>> = {
  'r=4': { steps: 4 },
  'r=32': { steps: 32 },
  // the language server's rule (server/lsp/completionService.ts) at its default threshold
  'exit kl 1e-3, max 32': { steps: 32, exit: { criterion: 'kl', threshold: 1e-3, checkEvery: 4 } },
};

/** This process's GPU memory in MiB from nvidia-smi, or null without one. */
function gpuMemoryMb(): number | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_gpu_memory', '--format=csv,noheader,nounits'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const mine = out.split('\n').map((l) => l.split(',').map((s) => s.trim())).find(([pid]) => Number(pid) === process.pid);
    return mine ? Number(mine[1]) : 0;
  } catch {
    return null;
  }
}

async function main() {
  const [modelDir, device, promptLen, decodeTokens, threads] = process.argv.slice(2);
  const engine = await Engine.open(modelDir, {
    device: device === 'cpu' ? 'cpu' : 'webgpu',
    deviceKv: device !== 'webgpu-hostkv',
    threads: Number(threads),
  });
  const info = engine.info();
  const model = engine.model;
  const V = info.vocabSize;
  const ids = Array.from({ length: Number(promptLen) }, (_, i) => (i * 7919 + 13) % Math.min(V, 256));
  const t = model.sessions.transfers;
  let gpuMem = gpuMemoryMb();
  for (const [mode, m] of Object.entries(MODES)) {
    const req = { ids, ...m, maxTokens: Number(decodeTokens), stateInit: 'zero' as const };
    await engine.generate({ ...req, maxTokens: 2 }); // warm-up: first runs allocate
    // Bytes per decoded token: a request of N tokens minus one of 1 token (the same prefill).
    const bytes = async (maxTokens: number) => {
      const [up, down] = [t.toDevice, t.toHost];
      const r = await engine.generate({ ...req, maxTokens });
      return { r, up: t.toDevice - up, down: t.toHost - down };
    };
    const one = await bytes(1);
    model.peakDeviceKvBytes = 0;
    const all = await bytes(req.maxTokens);
    const now = gpuMemoryMb();
    if (now !== null) gpuMem = Math.max(gpuMem ?? 0, now);
    const decoded = all.r.ids.length - 1;
    const row: GpuRow = {
      mode,
      provider: info.provider,
      adapter: info.adapter,
      prefill_tok_s: ids.length / (all.r.prefillMs / 1000),
      decode_tok_s: decoded / (all.r.decodeMs / 1000),
      iterations: all.r.iterations.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, decoded),
      up_per_token: (all.up - one.up) / Math.max(1, decoded),
      down_per_token: (all.down - one.down) / Math.max(1, decoded),
      peak_device_kv_mb: model.peakDeviceKvBytes / 2 ** 20,
      gpu_mem_mb: gpuMem,
    };
    process.stdout.write(JSON.stringify(row) + '\n');
  }
  await engine.close();
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
