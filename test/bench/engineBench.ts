// npm run bench:engine — the engine (fp32, fp16, int4) against the PyTorch reference on the same
// random weights: prefill and decode tokens/s at steps 4, 16 and 32, the ratio to the reference,
// and peak memory. One run, one table; each configuration runs in its own process.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { buildModel } from '../../native/builder/build';
import { WEIGHT_DTYPES } from '../../native/model/manifest';
import { CheckpointShape, makeCheckpoint, PYTHON, REPO, tmpDir } from '../helpers/reference';

interface Row {
  steps: number;
  prefill_tok_s: number;
  decode_tok_s: number;
  peak_rss_mb: number;
}

const STEPS = [4, 16, 32];
const PROMPT = Number(process.env.BENCH_PROMPT ?? 64);
const DECODE = Number(process.env.BENCH_DECODE ?? 24);
const SHAPES: Record<string, CheckpointShape> = {
  // The default model's class of size, and a wider one where matrix products dominate.
  'h256 (2/4/2 layers)': { nEmbd: 256, nHeads: 4, prelude: 2, core: 4, coda: 2, intermediate: 704, vocab: 4096, blockSize: 1024 },
  'h512 (2/4/2 layers)': { nEmbd: 512, nHeads: 8, prelude: 2, core: 4, coda: 2, intermediate: 1408, vocab: 4096, blockSize: 1024 },
};

function lines(out: string): Row[] {
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

function reference(checkpoint: string): Row[] {
  return STEPS.map((steps) => {
    const out = execFileSync(
      PYTHON,
      [path.join(REPO, 'native/reference/cli.py'), 'bench', '--checkpoint', checkpoint, '--steps', String(steps), '--prompt-len', String(PROMPT), '--decode-tokens', String(DECODE)],
      { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', RC_TORCH_THREADS: '1' } },
    );
    return { steps, ...JSON.parse(out) };
  });
}

function engine(modelDir: string): Row[] {
  return lines(
    execFileSync(process.execPath, [path.join(__dirname, 'engineBenchRun.js'), modelDir, STEPS.join(','), String(PROMPT), String(DECODE)], { encoding: 'utf8' }),
  );
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(9);

async function main() {
  console.log(`prompt ${PROMPT} tokens, ${DECODE} greedy decode tokens, 1 thread each, zero state init\n`);
  for (const [name, shape] of Object.entries(SHAPES)) {
    const checkpoint = makeCheckpoint(shape);
    const results: Record<string, Row[]> = { 'pytorch fp32': reference(checkpoint) };
    for (const dtype of WEIGHT_DTYPES) {
      const dir = path.join(tmpDir('bench'), dtype);
      await buildModel({ checkpointDir: checkpoint, outDir: dir, dtype });
      results[`engine ${dtype}`] = engine(dir);
    }
    const ref = results['pytorch fp32'];
    console.log(`## ${name}`);
    console.log('| runtime       | steps | prefill tok/s | x ref | decode tok/s | x ref | peak RSS MB |');
    console.log('|---------------|------:|--------------:|------:|-------------:|------:|------------:|');
    for (const [label, rows] of Object.entries(results)) {
      rows.forEach((r, i) => {
        console.log(
          `| ${label.padEnd(13)} | ${String(r.steps).padStart(5)} | ${fmt(r.prefill_tok_s)}     | ${fmt(r.prefill_tok_s / ref[i].prefill_tok_s, 2).trim().padStart(5)} | ${fmt(r.decode_tok_s)}    | ${fmt(r.decode_tok_s / ref[i].decode_tok_s, 2).trim().padStart(5)} | ${fmt(r.peak_rss_mb, 0)}   |`,
        );
      });
    }
    console.log('');
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
