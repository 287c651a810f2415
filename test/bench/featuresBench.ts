// npm run bench:features — the recurrent inference features on the default model, one run, the
// same prompts for every row: fixed r against adaptive exit at several thresholds (iterations per
// token, tokens/s, greedy agreement with fixed r = 32, held-out math accuracy), KV memory per token
// with and without sharing, and self-speculative decoding against plain decoding. Also writes a
// PNG of the iterations each token of a sample completion used.
import * as fs from 'fs';
import * as path from 'path';
import { Engine } from '../../server/engine/engine';
import { GenerateResult } from '../../server/engine/generate';
import { GenerateRequest } from '../../server/engine/generateRequest';
import { defaultModelDir } from '../../server/engine/modelResolver';
import { PROMPTS } from '../helpers/prompts';
import { REPO } from '../helpers/reference';
import { loadHeldout, mathAccuracy } from './evalLib';
import { writeChart } from './charts';

const MAX_TOKENS = Number(process.env.FEATURES_TOKENS ?? 32);
const PER_SET = Number(process.env.FEATURES_PER_SET ?? 40);

type Options = Omit<GenerateRequest, 'ids' | 'maxTokens'>;

interface Row {
  name: string;
  meanIterations: number;
  tokPerSec: number;
  agreement: number;
  identical: number;
  accuracy: number;
  kvBytesPerToken: number;
  extra?: string;
}

/** Tokens matching the reference before the first divergence, over the reference's length. */
function agreement(a: number[], ref: number[]): number {
  let n = 0;
  while (n < a.length && n < ref.length && a[n] === ref[n]) n++;
  return ref.length ? n / ref.length : 1;
}

async function main() {
  const modelDir = process.argv[2] ?? defaultModelDir();
  const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
  const bos = engine.model.manifest.specialTokens.bos;
  const promptIds = PROMPTS.map((p) => [...(bos !== null ? [bos] : []), ...engine.encode(p)]);
  const { sets } = loadHeldout(PER_SET, modelDir);
  const mathSets = sets.filter((s) => s.family !== 'add' && [4, 6, 8].includes(s.difficulty));

  const run = async (opts: Options) => {
    const results: GenerateResult[] = [];
    for (const ids of promptIds) results.push(await engine.generate({ ...opts, ids, maxTokens: MAX_TOKENS }));
    return results;
  };
  const summarize = async (name: string, opts: Options, ref: GenerateResult[] | undefined, extra?: (r: GenerateResult[]) => string): Promise<[Row, GenerateResult[]]> => {
    const results = await run(opts);
    const tokens = results.reduce((a, r) => a + r.ids.length, 0);
    const ms = results.reduce((a, r) => a + r.decodeMs + r.prefillMs, 0);
    const iters = results.flatMap((r) => r.iterations);
    const scores = await mathAccuracy(engine, mathSets, opts);
    const row: Row = {
      name,
      meanIterations: iters.reduce((a, b) => a + b, 0) / Math.max(1, iters.length),
      tokPerSec: (tokens * 1000) / ms,
      agreement: ref ? results.reduce((a, r, i) => a + agreement(r.ids, ref[i].ids), 0) / results.length : 1,
      identical: ref ? results.filter((r, i) => r.ids.join() === ref[i].ids.join()).length / results.length : 1,
      accuracy: scores.reduce((a, s) => a + s.correct, 0) / scores.reduce((a, s) => a + s.total, 0),
      kvBytesPerToken: results.reduce((a, r) => a + r.kvBytesPerToken, 0) / results.length,
      extra: extra?.(results),
    };
    process.stderr.write(`${name} done\n`);
    return [row, results];
  };

  const rows: Row[] = [];
  const [ref32, refResults] = await summarize('fixed r=32', { steps: 32 }, undefined);
  for (const r of [8, 16]) rows.push((await summarize(`fixed r=${r}`, { steps: r }, refResults))[0]);
  rows.push(ref32);
  let sample: GenerateResult | undefined;
  for (const [criterion, threshold] of [['kl', 1e-2], ['kl', 1e-3], ['kl', 1e-4], ['minp-kl', 1e-5], ['entropy-diff', 1e-3], ['latent-diff', 0.03], ['argmax-stability', 5]] as const) {
    const [row, results] = await summarize(`exit ${criterion} < ${threshold} (max 32)`, { steps: 32, exit: { criterion, threshold } }, refResults);
    rows.push(row);
    if (criterion === 'kl' && threshold === 1e-3) sample = results[0];
  }
  const kvRows: Row[] = [];
  for (const kvStrategy of ['full', 'compress-s8', 'compress-s4']) {
    for (const steps of [8, 32]) {
      kvRows.push((await summarize(`r=${steps} kv ${kvStrategy}`, { steps, kvStrategy }, refResults))[0]);
    }
  }
  kvRows.push((await summarize('exit kl<1e-3, kv compress-s8', { steps: 32, kvStrategy: 'compress-s8', exit: { criterion: 'kl', threshold: 1e-3 } }, refResults))[0]);
  const specRows: Row[] = [ref32];
  for (const [draftSteps, lookahead] of [[4, 4], [8, 4], [4, 8]]) {
    specRows.push(
      (
        await summarize(`speculative draft r=${draftSteps}, lookahead ${lookahead}`, { steps: 32, speculative: { draftSteps, lookahead } }, refResults, (rs) => {
          const d = rs.reduce((a, r) => a + (r.speculative?.drafted ?? 0), 0);
          const acc = rs.reduce((a, r) => a + (r.speculative?.accepted ?? 0), 0);
          return `acceptance ${((100 * acc) / Math.max(1, d)).toFixed(1)}%`;
        })
      )[0],
    );
  }
  await engine.close();

  const fmt = (r: Row) =>
    `| ${r.name.padEnd(38)} | ${r.meanIterations.toFixed(1).padStart(6)} | ${r.tokPerSec.toFixed(1).padStart(7)} | ${(100 * r.agreement).toFixed(1).padStart(6)} | ${(100 * r.identical).toFixed(0).padStart(5)} | ${(100 * r.accuracy).toFixed(1).padStart(6)} | ${(r.kvBytesPerToken / 1024).toFixed(1).padStart(8)} |${r.extra ? ` ${r.extra}` : ''}`;
  const head = `| ${'mode'.padEnd(38)} | iters/tok | tok/s | agree% | same% | math% | KV KiB/tok |\n|${'-'.repeat(40)}|-------:|--------:|-------:|------:|-------:|---------:|`;
  console.log(`model ${modelDir}; ${PROMPTS.length} prompts x ${MAX_TOKENS} tokens greedy; agreement = tokens before the first divergence from fixed r=32; math = ${mathSets.length} held-out sets x ${PER_SET}\n`);
  console.log('### Adaptive exit\n' + head);
  rows.forEach((r) => console.log(fmt(r)));
  console.log('\n### KV-cache sharing\n' + head);
  kvRows.forEach((r) => console.log(fmt(r)));
  console.log('\n### Self-speculative decoding (greedy)\n' + head);
  specRows.forEach((r) => console.log(fmt(r)));

  const out = path.join(REPO, 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  if (sample) {
    await writeChart(path.join(out, 'iterations-per-token.png'), [{ label: `exit kl<1e-3 on: ${JSON.stringify(PROMPTS[0]).slice(0, 40)}`, points: sample.iterations.map((y, x) => ({ x, y })) }], {
      title: 'Iterations per generated token (adaptive exit, max 32)',
      xLabel: 'generated token',
      yLabel: 'iterations',
      kind: 'bar',
      yMin: 0,
      yMax: 32,
    });
    console.log(`\nsample completion: ${JSON.stringify(sample.text)}\niterations: ${sample.iterations.join(' ')}\nplot: ${path.join(out, 'iterations-per-token.png')}`);
  }
}

main().catch((e) => {
  console.error(e.stack);
  process.exit(1);
});
