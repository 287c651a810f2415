// One benchmark process: loads a built model with the engine and times prefill and greedy decode
// at each requested step count. Run in its own process so peak memory is the engine's alone.
// usage: node engineBenchRun.js MODEL_DIR STEPS,STEPS PROMPT_LEN DECODE_TOKENS
import { Engine } from '../../server/engine/engine';

async function main() {
  const [modelDir, stepsArg, promptLen, decodeTokens] = process.argv.slice(2);
  const engine = await Engine.open(modelDir, { device: 'cpu', threads: 1 });
  const V = engine.info().vocabSize;
  const ids = Array.from({ length: Number(promptLen) }, (_, i) => (i * 7919 + 13) % Math.min(V, 256));
  for (const steps of stepsArg.split(',').map(Number)) {
    const req = { ids, steps, maxTokens: Number(decodeTokens), stateInit: 'zero' as const };
    await engine.generate({ ...req, maxTokens: 2 }); // warm-up: first runs allocate
    const r = await engine.generate(req);
    process.stdout.write(
      JSON.stringify({
        steps,
        prefill_tok_s: ids.length / (r.prefillMs / 1000),
        decode_tok_s: (r.ids.length - 1) / (r.decodeMs / 1000),
        tokens: r.ids.length,
        peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      }) + '\n',
    );
  }
  await engine.close();
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
