// Evaluations on the engine (not PyTorch) shared by the benchmarks: exact-match accuracy on the
// held-out math sets, and bits per byte on held-out code.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Engine } from '../../server/engine/engine';
import { GenerateRequest } from '../../server/engine/generateRequest';
import { PYTHON, REPO, tmpDir } from '../helpers/reference';

export interface HeldoutSet {
  family: string;
  difficulty: number;
  /** Accuracy of answer-blind guessing on these items (math_tasks.chance_accuracy). */
  chance: number;
  items: { prompt: string; answer: string }[];
}

/** The math families a model folder's train_config.json (written by npm run train:default) says it
 * was trained on, or undefined (e.g. a released checkpoint): a family the model never saw is no
 * measure of its depth. */
function trainedFamilies(modelDir: string): Set<string> | undefined {
  const file = path.join(modelDir, 'train_config.json');
  if (!fs.existsSync(file)) return undefined;
  return new Set(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).data.math_families));
}

/** The held-out math sets the trainer excluded, exported by native/data/export_heldout.py: those of
 * the families the model was trained on, when its folder says. With surroundings, the same problems
 * each wrapped in surroundings (Markdown, a comment, a docstring, code or prose before it;
 * math_tasks.export_surrounded), the answers unchanged. */
export function loadHeldout(perSet: number, modelDir: string, surroundings = false): { sets: HeldoutSet[]; trainDifficulties: Record<string, number[]> } {
  const file = path.join(tmpDir('heldout'), surroundings ? 'heldout-surroundings.json' : 'heldout.json');
  if (surroundings) {
    const script = 'import sys; sys.path.insert(0, sys.argv[1]); import math_tasks; math_tasks.export_surrounded(sys.argv[2], int(sys.argv[3]))';
    execFileSync(PYTHON, ['-c', script, path.join(REPO, 'native/data'), file, String(perSet)]);
  } else {
    execFileSync(PYTHON, [path.join(REPO, 'native/data/export_heldout.py'), '--out', file, '--n', String(perSet)]);
  }
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  const families = trainedFamilies(modelDir);
  const keep = (family: string) => !families || families.has(family);
  return {
    sets: data.sets.filter((s: HeldoutSet) => keep(s.family)),
    trainDifficulties: Object.fromEntries(Object.entries(data.train_difficulties as Record<string, number[]>).filter(([f]) => keep(f))),
  };
}

export interface SetScore {
  family: string;
  difficulty: number;
  correct: number;
  total: number;
  meanIterations: number;
  generatedTokens: number;
  decodeMs: number;
}

export type EvalOptions = Omit<GenerateRequest, 'ids' | 'maxTokens'>;

/** Greedy answers after <|begin_text|> + prompt, compared exactly with the reference answer. */
export async function mathAccuracy(engine: Engine, sets: HeldoutSet[], opts: EvalOptions): Promise<SetScore[]> {
  const bos = engine.model.manifest.specialTokens.bos;
  const scores: SetScore[] = [];
  for (const set of sets) {
    const s: SetScore = { family: set.family, difficulty: set.difficulty, correct: 0, total: 0, meanIterations: 0, generatedTokens: 0, decodeMs: 0 };
    let iterations = 0;
    for (const item of set.items) {
      const ids = [...(bos !== null ? [bos] : []), ...engine.encode(item.prompt)];
      const r = await engine.generate({ ...opts, ids, maxTokens: engine.encode(item.answer).length + 1 });
      const answer = r.text.split('\n')[0].trim();
      s.total++;
      if (answer === item.answer) s.correct++;
      iterations += r.iterations.reduce((a, b) => a + b, 0);
      s.generatedTokens += r.iterations.length;
      s.decodeMs += r.prefillMs + r.decodeMs;
    }
    s.meanIterations = iterations / Math.max(1, s.generatedTokens);
    scores.push(s);
  }
  return scores;
}

/** Held-out code documents (built by native/data/code_corpus.py when missing). */
export function heldoutCode(maxDocs: number): string[] {
  const file = path.join(REPO, 'native/data/build/code_heldout.jsonl');
  if (!fs.existsSync(file)) execFileSync(PYTHON, [path.join(REPO, 'native/data/code_corpus.py'), '--out', path.dirname(file)]);
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, maxDocs)
    .map((l) => JSON.parse(l).text as string);
}

/** Bits per UTF-8 byte of `docs` under the model at `steps` iterations (windows of `window` tokens). */
export async function bitsPerByte(engine: Engine, docs: string[], steps: number, window: number): Promise<number> {
  const tok = engine.model.tokenizer;
  const V = engine.model.cfg.vocabSize;
  let nats = 0;
  let bytes = 0;
  for (const doc of docs) {
    const ids = tok.encodeUntrusted(doc);
    for (let start = 0; start + 1 < ids.length; start += window) {
      const chunk = ids.slice(start, start + window + 1);
      const rows = await engine.score({ ids: chunk.slice(0, -1), steps, stateInit: 'random', seed: 0 });
      for (let t = 0; t < rows.length; t++) {
        const row = rows[t];
        let max = -Infinity;
        for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
        let sum = 0;
        for (let i = 0; i < V; i++) sum += Math.exp(row[i] - max);
        nats += max + Math.log(sum) - row[chunk[t + 1]];
      }
      bytes += Buffer.byteLength(tok.decode(chunk.slice(1)), 'utf8');
    }
  }
  return nats / Math.LN2 / bytes;
}
