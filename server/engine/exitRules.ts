// Per-token adaptive exit: after each core iteration, an exit rule looks at the latent state (or
// the next-token distribution decoded from it) and decides whether the token has converged.
// Criteria and default thresholds follow the official generation code
// (generate_with_adaptive_compute and its exit evaluators).
import { argmax, logSoftmax } from './sampling';

export type ExitCriterion = 'none' | 'kl' | 'minp-kl' | 'entropy-diff' | 'latent-diff' | 'cosine' | 'argmax-stability';

export const EXIT_CRITERIA: readonly ExitCriterion[] = ['none', 'kl', 'minp-kl', 'entropy-diff', 'latent-diff', 'cosine', 'argmax-stability'];

/** Thresholds of the newest official release. */
export const DEFAULT_THRESHOLDS: Record<ExitCriterion, number> = {
  none: 0,
  kl: 1e-3,
  'minp-kl': 1e-5,
  'entropy-diff': 1e-3,
  'latent-diff': 0.03,
  cosine: 1e-3,
  'argmax-stability': 5,
};

export interface AdaptiveExit {
  criterion: ExitCriterion;
  /** Defaults to DEFAULT_THRESHOLDS[criterion]. */
  threshold?: number;
  /** Iterations always run before the rule is consulted. */
  minSteps?: number;
  /** Whether the prompt's prefill may exit early too (off, as in the official default). */
  exitInPrefill?: boolean;
  /** Consult the rule after every n-th iteration only (default 1), comparing with the previous
   *  consulted iteration: a rule that needs the next-token distribution runs the coda and the LM
   *  head at each check, which at full size costs most of an iteration, so checking less often
   *  makes the exit cost less than the iterations it saves (docs/architecture.md#adaptive-exit). */
  checkEvery?: number;
}

export function validateExit(e: AdaptiveExit): void {
  if (!EXIT_CRITERIA.includes(e.criterion)) throw new RangeError(`unknown exit criterion "${e.criterion}" (one of ${EXIT_CRITERIA.join(', ')})`);
  if (e.threshold !== undefined && !(Number.isFinite(e.threshold) && e.threshold >= 0)) throw new RangeError(`exit threshold must be a non-negative number, got ${e.threshold}`);
  if (e.minSteps !== undefined && !(Number.isInteger(e.minSteps) && e.minSteps >= 0)) throw new RangeError(`minSteps must be a non-negative integer, got ${e.minSteps}`);
  if (e.checkEvery !== undefined && !(Number.isInteger(e.checkEvery) && e.checkEvery >= 1)) throw new RangeError(`checkEvery must be a positive integer, got ${e.checkEvery}`);
}

/** min-p filtered distribution: probabilities below 0.1 x max become 1/V, then renormalised. */
function minpLogProbs(logits: Float32Array): Float64Array {
  const lp = logSoftmax(logits);
  const V = lp.length;
  let maxP = 0;
  for (const v of lp) maxP = Math.max(maxP, Math.exp(v));
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) {
    const pi = Math.exp(lp[i]);
    p[i] = pi < 0.1 * maxP ? 1 / V : pi;
    sum += p[i];
  }
  for (let i = 0; i < V; i++) p[i] = Math.log(p[i] / sum);
  return p;
}

/** KL(prev || cur), as torch's kl_div(cur, prev, log_target=True).sum(). */
function kl(prev: Float64Array, cur: Float64Array): number {
  let s = 0;
  for (let i = 0; i < cur.length; i++) s += Math.exp(prev[i]) * (prev[i] - cur[i]);
  return s;
}

function entropy(lp: Float64Array): number {
  let s = 0;
  for (const v of lp) s -= Math.exp(v) * v;
  return s;
}

function norm(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

/** Stateful evaluator for one token's (or chunk's) iterations. */
export class ExitEvaluator {
  readonly threshold: number;
  readonly minSteps: number;
  readonly checkEvery: number;
  private prevLogProbs: Float64Array | undefined;
  private prevEntropy = 100;
  private prevState: Float32Array;
  private prevArgmax = -1;
  private stableFor = 0;

  constructor(
    readonly rule: AdaptiveExit,
    initialState: Float32Array,
    private readonly vocab: number,
    private readonly width: number,
  ) {
    this.threshold = rule.threshold ?? DEFAULT_THRESHOLDS[rule.criterion];
    this.minSteps = rule.minSteps ?? 0;
    this.checkEvery = rule.checkEvery ?? 1;
    this.prevState = initialState;
  }

  /** Whether check() wants the decoded next-token logits (a coda run) at this iteration. */
  get needsLogits(): boolean {
    return ['kl', 'minp-kl', 'entropy-diff', 'argmax-stability'].includes(this.rule.criterion);
  }

  /** Whether check() reads the latent state (latent-diff, cosine), which may have to come back from the GPU. */
  get needsState(): boolean {
    return this.rule.criterion === 'latent-diff' || this.rule.criterion === 'cosine';
  }

  /** Whether the rule is consulted after iteration `step` (0-based): from minSteps on, every
   *  checkEvery-th iteration. */
  consulted(step: number): boolean {
    return this.rule.criterion !== 'none' && step >= this.minSteps && (step - this.minSteps) % this.checkEvery === this.checkEvery - 1;
  }

  /**
   * The exit value after an iteration and whether it passes the threshold. `state` is the chunk's
   * latent [S, h] (latent rules average over rows); `logits` is the last row's distribution.
   */
  check(state: Float32Array | undefined, logits: Float32Array | undefined): { exit: boolean; value: number } {
    const c = this.rule.criterion;
    if (c === 'latent-diff' || c === 'cosine') {
      if (!state) throw new Error(`exit criterion ${c} needs the latent state`);
      const h = this.width;
      const rows = state.length / h;
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const cur = state.subarray(r * h, (r + 1) * h);
        const prev = this.prevState.subarray(r * h, (r + 1) * h);
        if (c === 'latent-diff') {
          let d = 0;
          for (let i = 0; i < h; i++) d += (cur[i] - prev[i]) ** 2;
          total += Math.sqrt(d) / norm(cur);
        } else {
          let dot = 0;
          for (let i = 0; i < h; i++) dot += cur[i] * prev[i];
          total += 1 - dot / (norm(cur) * norm(prev));
        }
      }
      this.prevState = state;
      const value = total / rows;
      return { exit: value < this.threshold, value };
    }
    if (!logits) throw new Error(`exit criterion ${c} needs logits`);
    if (c === 'argmax-stability') {
      const best = argmax(logits);
      this.stableFor = best === this.prevArgmax ? this.stableFor + 1 : 0;
      this.prevArgmax = best;
      return { exit: this.stableFor >= this.threshold, value: this.stableFor };
    }
    if (c === 'entropy-diff') {
      const e = entropy(logSoftmax(logits));
      const value = Math.abs(e - this.prevEntropy);
      this.prevEntropy = e;
      return { exit: value < this.threshold, value };
    }
    const cur = c === 'minp-kl' ? minpLogProbs(logits) : logSoftmax(logits);
    // Before the first iteration the distribution is uniform.
    const prev = this.prevLogProbs ?? new Float64Array(this.vocab).fill(-Math.log(this.vocab));
    const value = kl(prev, cur);
    this.prevLogProbs = cur;
    return { exit: value < this.threshold, value };
  }
}
