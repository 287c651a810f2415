// npm run bench:scaling — test-time scaling of the default model on the engine: exact-match
// accuracy on held-out math by family and difficulty (including difficulties harder than any
// trained on) and bits per byte on held-out code, at r = 1 ... 64 recurrent iterations.
// Prints a table and writes a PNG plot (bench-results/scaling.png).
import * as fs from 'fs';
import * as path from 'path';
import { Engine } from '../../server/engine/engine';
import { defaultModelDir } from '../../server/lsp/modelHost';
import { REPO } from '../helpers/reference';
import { bitsPerByte, heldoutCode, loadHeldout, mathAccuracy } from './evalLib';
import { writeChart } from './pngChart';

const STEPS = (process.env.SCALING_STEPS ?? '1,2,4,8,16,32,64').split(',').map(Number);
const PER_SET = Number(process.env.SCALING_PER_SET ?? 100);
const CODE_DOCS = Number(process.env.SCALING_CODE_DOCS ?? 12);

async function main() {
  const modelDir = process.argv[2] ?? defaultModelDir();
  const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
  const { sets, trainDifficulties } = loadHeldout(PER_SET);
  const code = heldoutCode(CODE_DOCS);
  const acc = new Map<string, number[]>();
  const bpb: number[] = [];
  const t0 = Date.now();
  for (const steps of STEPS) {
    for (const s of await mathAccuracy(engine, sets, { steps, stateInit: 'random', seed: 0 })) {
      const key = `${s.family} d=${s.difficulty}`;
      if (!acc.has(key)) acc.set(key, []);
      acc.get(key)!.push(s.correct / s.total);
    }
    bpb.push(await bitsPerByte(engine, code, steps, 256));
    process.stderr.write(`r=${steps} done (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  await engine.close();

  const header = `| set (${PER_SET} problems each) | ${STEPS.map((r) => `r=${r}`.padStart(6)).join(' | ')} |`;
  console.log(`model: ${modelDir}\ntrained difficulties: ${JSON.stringify(trainDifficulties)}\n`);
  console.log(header);
  console.log(`|${'-'.repeat(26)}|${STEPS.map(() => '-------:').join('|')}|`);
  for (const [key, row] of acc) {
    const family = key.split(' ')[0];
    const d = Number(key.split('=')[1]);
    const held = trainDifficulties[family] && d > Math.max(...trainDifficulties[family]) ? ' (harder than trained)' : '';
    console.log(`| ${(key + held).padEnd(24)} | ${row.map((a) => (100 * a).toFixed(1).padStart(6)).join(' | ')} |`);
  }
  console.log(`| ${'code bits/byte'.padEnd(24)} | ${bpb.map((b) => b.toFixed(3).padStart(6)).join(' | ')} |`);

  const out = path.join(REPO, 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  const series = [...acc].filter(([k]) => !k.startsWith('add')).map(([label, row]) => ({ label, points: row.map((y, i) => ({ x: STEPS[i], y: 100 * y })) }));
  await writeChart(path.join(out, 'scaling.png'), series, { title: 'Held-out math accuracy vs recurrent iterations', xLabel: 'iterations r', yLabel: 'exact match %', xLog2: true, yMin: 0, yMax: 100 });
  await writeChart(path.join(out, 'scaling-code.png'), [{ label: 'held-out code', points: bpb.map((y, i) => ({ x: STEPS[i], y })) }], { title: 'Held-out code bits per byte vs iterations', xLabel: 'iterations r', yLabel: 'bits/byte', xLog2: true });
  fs.writeFileSync(path.join(out, 'scaling.json'), JSON.stringify({ steps: STEPS, accuracy: Object.fromEntries(acc), bpb }, null, 2));
  console.log(`\nplots: ${path.join(out, 'scaling.png')}, ${path.join(out, 'scaling-code.png')}`);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
