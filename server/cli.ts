// recurrent-copilot: command-line front end over the same engine the language server uses.
//   build    --checkpoint DIR --out DIR [--dtype fp32|fp16|int4|auto [--device auto|cpu|webgpu|cuda]]
//   generate [--model DIR] (--prompt TEXT | --ids 1,2,3) [--steps N] [--max-tokens N] [--temperature T]
//            [--top-p P] [--top-k K] [--seed S] [--stop STR]... [--state-init random|zero] [--no-cache] [--json]
//            [--exit CRITERION [--exit-threshold X] [--min-steps N] [--check-every N] [--exit-in-prefill]] [--kv-strategy S]
//            [--warm-start] [--draft-steps N --lookahead N] [--heal] [--beams N] [--document-cache]
//            [--open-file PATH]...
//   score    [--model DIR] --ids 1,2,3 --steps N [--state-init zero|random] [--seed S]
// Without --model, generate and score use the shipped default model (fp32 unless --dtype says
// otherwise, as in the editor); a checkpoint --model is built as --dtype (default auto: int4 on the
// CPU, fp16 on a GPU). Bad arguments or files: one line on stderr and a non-zero exit.
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { buildModel } from '../native/builder/build';
import { EngineClient } from './engine/engineClient';
import { decideDevice, DEVICES } from './engine/device';
import { EXIT_CRITERIA, ExitCriterion } from './engine/exitRules';
import { parseKvStrategy } from './engine/kvCache';
import { MODEL_FORMATS, resolveBuildDtype } from './engine/modelFormat';
import { DEFAULT_MODEL_DTYPE, defaultModelDir } from './engine/modelResolver';

class UsageError extends Error {}

const USAGE = `usage:
  recurrent-copilot build --checkpoint DIR --out DIR [--dtype fp32|fp16|int4|auto (default fp32)]
      [--device auto|cpu|webgpu|cuda (the device --dtype auto builds for)]
  recurrent-copilot generate [--model DIR] (--prompt TEXT | --ids 1,2,3) [--steps N] [--max-tokens N]
      [--temperature T] [--top-p P] [--top-k K] [--seed S] [--stop STR] [--state-init random|zero]
      [--no-cache] [--device auto|cpu|webgpu|cuda] [--threads N] [--json]
      [--dtype auto|fp32|fp16|int4 (a checkpoint --model is built as; auto: int4 on the CPU, fp16 on a GPU)]
      [--exit kl|minp-kl|entropy-diff|latent-diff|cosine|argmax-stability [--exit-threshold X]
       [--min-steps N] [--check-every N] [--exit-in-prefill]] [--kv-strategy full|latest|skip|compress-sN|compress-rN]
      [--warm-start] [--draft-steps N --lookahead N] [--heal (token healing of a --prompt)]
      [--beams N (the likeliest continuation up to a --stop that a beam search of width N finds)]
      [--document-cache (mix in what followed earlier matches of the text's tail in the --prompt)]
      [--open-file PATH (and in this file too, as the editor's other open files; repeatable; implies
       --document-cache)]
  recurrent-copilot score [--model DIR] --ids 1,2,3 --steps N [--state-init zero|random] [--seed S]
      [--dtype auto|fp32|fp16|int4] [--device auto|cpu|webgpu|cuda]
  --device auto: a hardware WebGPU adapter, else CUDA where installed, else the CPU (never a software
  adapter); webgpu and cuda fall back to the CPU, saying why.`;

const common = {
  model: { type: 'string' },
  dtype: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  ids: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  'state-init': { type: 'string' },
} as const;

function intArg(v: string | undefined, name: string, min: number, fallback?: number): number {
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function floatArg(v: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${v}"`);
  return n;
}

function idsArg(v: string): number[] {
  const ids = v.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s))) throw new UsageError(`--ids must be comma-separated non-negative integers, got "${v}"`);
  return ids.map(Number);
}

function oneOf<T extends string>(v: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be one of ${allowed.join('|')}, got "${v}"`);
  return v as T;
}

async function openEngine(values: Record<string, string | boolean | string[] | undefined>): Promise<EngineClient> {
  // Without --model, the shipped default model (as in the editor), in its own format unless told.
  const model = typeof values.model === 'string' ? values.model : defaultModelDir();
  const shipped = path.resolve(model) === path.resolve(defaultModelDir());
  return EngineClient.open(model, {
    buildDtype: oneOf(values.dtype as string | undefined, 'dtype', MODEL_FORMATS, shipped ? DEFAULT_MODEL_DTYPE : 'auto'),
    device: oneOf(values.device as string | undefined, 'device', DEVICES, 'auto'),
    // Without --threads, the engine's choice for the model's size (intraOpThreads).
    threads: values.threads === undefined ? undefined : intArg(values.threads as string, 'threads', 0),
    log: (line) => process.stderr.write(`${line}\n`),
  });
}

async function cmdBuild(argv: string[]): Promise<void> {
  const options = { checkpoint: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' }, device: { type: 'string' } } as const;
  const { values } = parseArgs({ args: argv, options });
  if (!values.checkpoint) throw new UsageError('--checkpoint DIR is required');
  if (!values.out) throw new UsageError('--out DIR is required');
  const format = oneOf(values.dtype, 'dtype', MODEL_FORMATS, 'fp32');
  const device = oneOf(values.device, 'device', DEVICES, 'auto');
  // Only `--dtype auto` depends on the device (and only then is it probed).
  const dtype = resolveBuildDtype(format, format === 'auto' ? (await decideDevice(device)).provider : 'cpu');
  const m = await buildModel({ checkpointDir: values.checkpoint, outDir: values.out, dtype, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`built ${values.out} (${m.dtype}, source sha256 ${m.source.sha256.slice(0, 16)})\n`);
}

async function cmdGenerate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...common,
      prompt: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      'top-k': { type: 'string' },
      stop: { type: 'string', multiple: true },
      'no-cache': { type: 'boolean' },
      json: { type: 'boolean' },
      exit: { type: 'string' },
      'exit-threshold': { type: 'string' },
      'min-steps': { type: 'string' },
      'exit-in-prefill': { type: 'boolean' },
      'check-every': { type: 'string' },
      'kv-strategy': { type: 'string' },
      'warm-start': { type: 'boolean' },
      heal: { type: 'boolean' },
      'draft-steps': { type: 'string' },
      lookahead: { type: 'string' },
      beams: { type: 'string' },
      'document-cache': { type: 'boolean' },
      'open-file': { type: 'string', multiple: true },
    },
  });
  if (values['kv-strategy'] !== undefined) {
    try {
      parseKvStrategy(values['kv-strategy']);
    } catch (e) {
      throw new UsageError(`--kv-strategy: ${(e as Error).message}`);
    }
  }
  if ((values['draft-steps'] === undefined) !== (values.lookahead === undefined)) throw new UsageError('--draft-steps and --lookahead go together');
  if ((values.prompt === undefined) === (values.ids === undefined)) throw new UsageError('give exactly one of --prompt TEXT or --ids 1,2,3');
  const ids = values.ids !== undefined ? idsArg(values.ids) : undefined;
  if (values.heal && ids) throw new UsageError('--heal works on a --prompt, not on --ids');
  if ((values['document-cache'] || values['open-file']) && ids) throw new UsageError('--document-cache and --open-file work on a --prompt, not on --ids');
  const others = (values['open-file'] ?? []).map((file) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`--open-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  });
  const documentCache = values['document-cache'] || others.length > 0;
  const request = {
    prompt: values.prompt,
    ids,
    heal: values.heal ?? false,
    document: documentCache && values.prompt !== undefined ? { before: values.prompt, others } : undefined,
    steps: 0,
    maxTokens: intArg(values['max-tokens'], 'max-tokens', 1, 64),
    sampling: {
      temperature: floatArg(values.temperature, 'temperature', 0, 100, 0),
      topP: floatArg(values['top-p'], 'top-p', 0, 1, 1),
      topK: intArg(values['top-k'], 'top-k', 0, 0),
    },
    seed: intArg(values.seed, 'seed', 0, 0),
    stop: values.stop ?? [],
    stateInit: oneOf(values['state-init'], 'state-init', ['random', 'zero'] as const, 'random'),
    useCache: !values['no-cache'],
    exit:
      values.exit === undefined
        ? undefined
        : {
            criterion: oneOf(values.exit, 'exit', EXIT_CRITERIA, 'none') as ExitCriterion,
            threshold: values['exit-threshold'] === undefined ? undefined : floatArg(values['exit-threshold'], 'exit-threshold', 0, 1e9, 0),
            minSteps: intArg(values['min-steps'], 'min-steps', 0, 0),
            exitInPrefill: values['exit-in-prefill'] ?? false,
            checkEvery: intArg(values['check-every'], 'check-every', 1, 1),
          },
    kvStrategy: values['kv-strategy'],
    warmStart: values['warm-start'] ?? false,
    speculative:
      values['draft-steps'] === undefined
        ? undefined
        : { draftSteps: intArg(values['draft-steps'], 'draft-steps', 1), lookahead: intArg(values.lookahead, 'lookahead', 1) },
    beams: intArg(values.beams, 'beams', 1, 1),
  };
  const engine = await openEngine(values);
  try {
    request.steps = intArg(values.steps, 'steps', 1, engine.info.meanRecurrence);
    const stream = !values.json;
    const handle = engine.generate(request, stream ? (e) => process.stdout.write(e.delta) : undefined);
    process.once('SIGINT', () => handle.cancel());
    const result = await handle.result;
    if (values.json) {
      const { provider, adapter, fallbackReason } = engine.info;
      process.stdout.write(JSON.stringify({ ...result, provider, adapter, fallbackReason }) + '\n');
    } else {
      process.stdout.write('\n');
      const tps = result.ids.length / Math.max(result.decodeMs / 1000, 1e-9);
      const iters = result.iterations.reduce((a, b) => a + b, 0) / Math.max(1, result.iterations.length);
      process.stderr.write(`[${result.ids.length} tokens, ${result.finishReason}, ${where(engine)}, ${tps.toFixed(1)} tok/s, ${iters.toFixed(1)} iterations/token]\n`);
    }
  } finally {
    await engine.close();
  }
}

/** `cpu`, or `webgpu (adapter name)`. */
function where(engine: EngineClient): string {
  return engine.info.adapter ? `${engine.info.provider} (${engine.info.adapter})` : engine.info.provider;
}

async function cmdScore(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: common });
  if (values.ids === undefined) throw new UsageError('--ids 1,2,3 is required');
  const ids = idsArg(values.ids);
  const steps = intArg(values.steps, 'steps', 1);
  const stateInit = oneOf(values['state-init'], 'state-init', ['zero', 'random'] as const, 'random');
  const seed = intArg(values.seed, 'seed', 0, 0);
  const engine = await openEngine(values);
  try {
    const logits = await engine.score({ ids, steps, stateInit, seed }).result;
    process.stdout.write(`{"logits": [${logits.map((row) => `[${Array.from(row).join(',')}]`).join(',')}]}\n`);
  } finally {
    await engine.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'build':
        await cmdBuild(rest);
        return 0;
      case 'generate':
        await cmdGenerate(rest);
        return 0;
      case 'score':
        await cmdScore(rest);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stderr.write(`recurrent-copilot: error: ${err.message.split('\n')[0]}\n`);
    return err instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
