// The engine: one loaded model plus the operations every front end uses (CLI, language server,
// benchmarks): generate from text or ids, and score a sequence. Front ends that must stay
// responsive run it through EngineClient (a worker thread); this class is the worker's body.
import { CancelSignal, NEVER_CANCELLED } from './cancel';
import { generate, GenerateResult } from './generate';
import { GenerateRequest } from './generateRequest';
import { TokenEvent } from './stopping';
import { HuginnModel, StateInit } from './huginnModel';
import { resolveModelDir } from './modelResolver';
import { forwardChunk } from './recurrence';
import { PromptCache } from './promptCache';
import { healPrompt } from './tokenHealing';
import { SessionOptions } from './sessions';
import { WeightDtype } from '../../native/builder/huginnGraphs';

export interface EngineOptions extends SessionOptions {
  /** dtype used when `model` is a checkpoint that must be built. */
  buildDtype?: WeightDtype;
  log?: (line: string) => void;
}

export interface EngineInfo {
  modelDir: string;
  provider: string;
  fallbackReason?: string;
  dtype: string;
  vocabSize: number;
  nEmbd: number;
  meanRecurrence: number;
  blockSize: number;
}

export interface TextGenerateRequest extends Omit<GenerateRequest, 'ids'> {
  prompt?: string;
  ids?: number[];
  /** Reuse the KV entries of the previous request's prompt (editor requests share prefixes). */
  reusePrompt?: boolean;
  /** Fill-in-the-middle: the text before and after the cursor (untrusted document text). */
  fim?: { prefix: string; suffix: string };
  /** Token healing for a text or fim prompt that ends at an arbitrary character (a cursor): the
   *  prompt gives back its trailing tokens (tokenHealing.healPrompt) and the first generated token
   *  must start with their text, so `c` + `la` can become `class`. */
  heal?: boolean;
}

export interface ScoreRequest {
  ids: number[];
  steps: number;
  stateInit?: StateInit;
  seed?: number;
}

export class Engine {
  private readonly prompts = new PromptCache();

  private constructor(readonly model: HuginnModel) {}

  static async open(modelDir: string, opts: EngineOptions = {}): Promise<Engine> {
    const resolved = await resolveModelDir(modelDir, opts.buildDtype ?? 'fp32', opts.log);
    return new Engine(await HuginnModel.load(resolved.dir, opts));
  }

  info(): EngineInfo {
    const m = this.model;
    return {
      modelDir: m.manifest.dir,
      provider: m.sessions.provider,
      fallbackReason: m.sessions.fallbackReason,
      dtype: m.manifest.dtype,
      vocabSize: m.cfg.vocabSize,
      nEmbd: m.cfg.nEmbd,
      meanRecurrence: m.cfg.meanRecurrence,
      blockSize: m.cfg.blockSize,
    };
  }

  encode(text: string): number[] {
    return this.model.tokenizer.encode(text);
  }

  async generate(req: TextGenerateRequest, onToken?: (e: TokenEvent) => void, cancel: CancelSignal = NEVER_CANCELLED): Promise<GenerateResult> {
    let ids = req.ids;
    let healedText: string | undefined;
    if (!ids && req.fim) ({ ids, healedText } = this.fimPrompt(req.fim.prefix, req.fim.suffix, req.maxTokens, req.heal));
    const bos = this.model.manifest.specialTokens.bos;
    if (!ids) {
      if (typeof req.prompt !== 'string') throw new RangeError('generate needs a prompt, fim or ids');
      ids = this.encode(req.prompt);
      if (req.heal) ({ ids, healedText } = healPrompt(this.model, ids));
      // A text prompt starts a document, as every training row starts with <|begin_text|>.
      if (bos !== null && ids[0] !== bos) ids = [bos, ...ids];
    }
    if (ids.length === 0 && bos !== null) ids = [bos];
    return generate(this.model, { ...req, ids, healedText }, onToken, cancel, req.reusePrompt ? this.prompts : undefined);
  }

  /**
   * Prefix-suffix-middle prompt as the model was trained (<|fim_prefix|> prefix <|fim_suffix|>
   * suffix <|fim_middle|>), trimmed to leave room for `maxTokens` in the context: the prefix loses
   * its start, the suffix its end. A model without FIM tokens, or whose config says its FIM
   * training did not take, gets <|begin_text|> and the prefix alone, like a training row.
   */
  fimPrompt(prefix: string, suffix: string, maxTokens: number, heal = false): { ids: number[]; healedText?: string } {
    const st = this.model.manifest.specialTokens;
    const tok = this.model.tokenizer;
    const room = Math.max(8, this.model.cfg.blockSize - Math.min(maxTokens, this.model.cfg.blockSize / 2) - 3);
    let { ids: pre, healedText } = heal ? healPrompt(this.model, tok.encodeUntrusted(prefix)) : { ids: tok.encodeUntrusted(prefix) };
    if (st.fimPrefix === null || st.fimSuffix === null || st.fimMiddle === null || !this.model.cfg.fillInTheMiddle) {
      return { ids: [...(st.bos !== null ? [st.bos] : []), ...pre.slice(-room)], healedText };
    }
    let suf = tok.encodeUntrusted(suffix);
    // Keep most of the room for the prefix: it matters more for what comes next.
    suf = suf.slice(0, Math.min(suf.length, Math.floor(room / 4)));
    pre = pre.slice(-(room - suf.length));
    return { ids: [st.fimPrefix, ...pre, st.fimSuffix, ...suf, st.fimMiddle], healedText };
  }

  /** Raw float32 logits of every input position, from one full forward. */
  async score(req: ScoreRequest, cancel: CancelSignal = NEVER_CANCELLED): Promise<Float32Array[]> {
    const V = this.model.cfg.vocabSize;
    for (const id of req.ids) {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${V})`);
    }
    const cache = this.model.newCache();
    const { logits } = await forwardChunk(this.model, cache, req.ids, {
      steps: req.steps,
      stateInit: req.stateInit ?? 'random',
      seed: req.seed ?? 0,
      numLogits: req.ids.length,
      cancel,
    });
    return req.ids.map((_, t) => logits.slice(t * V, (t + 1) * V));
  }

  async close(): Promise<void> {
    await this.model.release();
  }
}
