// The depth policy: how hard the model may think for one completion. It turns what is known about
// the request (language, file, trigger, text around the cursor) and the user's settings into a
// DepthBudget, and says why in words (shown in the status bar tooltip and the output channel).
// Pure: no `vscode` import, so it is unit-tested in plain Node.

import {
  BUDGET_LIMITS,
  DEFAULT_STEPS_PER_LEVEL,
  DEPTH_LEVELS,
  INVOKE_TIME_FACTOR,
  INVOKE_TOKEN_FACTOR,
  spansLines,
  type DepthBudget,
} from '../server/protocol';
import { classifyCursor, markdownMath, syntaxFor } from './cursorContext';

export const MIN_LEVEL = DEPTH_LEVELS.min;
export const MAX_LEVEL = DEPTH_LEVELS.max;

export type TriggerKind = 'automatic' | 'invoke';

export interface PolicyContext {
  languageId: string;
  /** File path or name; only its extension is used. */
  fileName: string;
  triggerKind: TriggerKind;
  /** A window of the document ending at the cursor, starting at a line start (a few dozen lines). */
  textBefore: string;
  /** The rest of the cursor's line after the cursor. */
  lineSuffix: string;
  /** The first lines of the document (imports live there). */
  documentHead: string;
}

export interface PolicySettings {
  baseLevel: number;
  /** languageId -> level; replaces the base level and the language's own adjustment. */
  languageLevels: Readonly<Record<string, number>>;
  /** Core iterations per token for levels 0..4. */
  stepsPerLevel: readonly number[];
  /** KL threshold for the adaptive exit; 0 turns it off. */
  exitThreshold: number;
  maxTokens: number;
  timeCapMs: number;
  /** Levels added by Think Harder (positive) / Think Less (negative). */
  thinkOffset: number;
}

export interface BudgetDecision {
  budget: DepthBudget;
  reasons: string[];
}

export const clampLevel = (level: number): number => Math.min(MAX_LEVEL, Math.max(MIN_LEVEL, Math.round(level)));

const MATH_LANGUAGES = new Set(['latex', 'tex', 'julia', 'r', 'matlab', 'octave', 'wolfram', 'mathematica', 'sage']);
const MATH_EXTENSIONS = new Set(['tex', 'ltx', 'jl', 'r', 'm', 'wl', 'nb', 'sage']);
const PROSE_LANGUAGES = new Set(['plaintext']);
const PROSE_EXTENSIONS = new Set(['txt', 'log']);
const SCIENTIFIC_IMPORT =
  /^[ \t]*(?:import|from)[ \t]+(numpy|sympy|scipy|math|cmath|torch|jax|statistics|fractions|numba)\b/m;
const OBJECTIVE_C_MARKERS = /^[ \t]*(?:#import|#include|@interface|@implementation|@protocol)\b/m;

function extensionOf(fileName: string): string {
  return /\.([^./\\]+)$/.exec(fileName)?.[1].toLowerCase() ?? '';
}

/** 'math' for math-heavy languages, 'prose' for plain text, undefined for the rest. */
function languageKind(ctx: PolicyContext): { kind: 'math' | 'prose'; what: string } | undefined {
  const ext = extensionOf(ctx.fileName);
  if (MATH_LANGUAGES.has(ctx.languageId)) return { kind: 'math', what: ctx.languageId };
  if (MATH_EXTENSIONS.has(ext)) {
    // Without a MATLAB extension, VS Code calls .m files Objective-C; tell them apart by content.
    const objectiveC = ext === 'm' && ctx.languageId.startsWith('objective-c') && OBJECTIVE_C_MARKERS.test(ctx.documentHead);
    if (!objectiveC) return { kind: 'math', what: `.${ext} file` };
  }
  if (PROSE_LANGUAGES.has(ctx.languageId) || PROSE_EXTENSIONS.has(ext)) return { kind: 'prose', what: 'plain text' };
  return undefined;
}

/** Math in the content rather than the language: Markdown math, scientific Python. */
function mathContent(ctx: PolicyContext): string | undefined {
  if (ctx.languageId === 'markdown') {
    const place = markdownMath(ctx.textBefore);
    if (place === 'inside') return 'cursor inside Markdown math';
    if (place === 'nearby') return 'Markdown math near the cursor';
  }
  if (ctx.languageId === 'python') {
    const module = SCIENTIFIC_IMPORT.exec(ctx.documentHead)?.[1];
    if (module) return `file imports ${module}`;
  }
  return undefined;
}

export const signed = (n: number): string => (n > 0 ? `+${n}` : `${n}`);

export function decideBudget(ctx: PolicyContext, settings: PolicySettings): BudgetDecision {
  const reasons: string[] = [];
  let level: number;
  let mathLanguage = false;

  const override = settings.languageLevels[ctx.languageId];
  if (override !== undefined) {
    // The user's per-language level already says how deep this language goes.
    level = override;
    reasons.push(`${ctx.languageId}: level ${override} (per-language setting)`);
  } else {
    level = settings.baseLevel;
    reasons.push(`base level ${level}`);
    const kind = languageKind(ctx);
    if (kind?.kind === 'math') {
      mathLanguage = true;
      level += 1;
      reasons.push(`math-heavy language (${kind.what}): +1`);
    } else if (kind?.kind === 'prose') {
      level -= 1;
      reasons.push(`${kind.what}: -1`);
    }
  }

  // Content signals do not stack with a math-heavy language: one +1 for "this is math".
  const math = mathContent(ctx);
  if (math && !mathLanguage) {
    level += 1;
    reasons.push(`${math}: +1`);
  }

  const cursor = classifyCursor(ctx.textBefore, syntaxFor(ctx.languageId));
  if (cursor.region === 'comment') {
    level -= 1;
    reasons.push('cursor in a comment: -1, single line');
  } else if (cursor.region === 'string') {
    level -= 1;
    reasons.push('cursor in a string literal: -1, single line');
  } else if (cursor.unfinished) {
    level += 1;
    reasons.push(`unfinished expression (${cursor.unfinished}): +1`);
  }

  // The user asked (Trigger Inline Suggestion, Think Harder) and is waiting: more tokens, more time,
  // and the server's lower confidence bar (budget.explicit).
  const invoked = ctx.triggerKind === 'invoke';
  const maxTokens = Math.min(BUDGET_LIMITS.maxTokens, invoked ? settings.maxTokens * INVOKE_TOKEN_FACTOR : settings.maxTokens);
  const timeCapMs = Math.min(BUDGET_LIMITS.timeCapMs, invoked ? settings.timeCapMs * INVOKE_TIME_FACTOR : settings.timeCapMs);
  if (invoked) {
    level += 1;
    reasons.push(`explicit request: +1, up to ${maxTokens} tokens and ${timeCapMs} ms`);
  }

  if (settings.thinkOffset !== 0) {
    level += settings.thinkOffset;
    reasons.push(`think ${settings.thinkOffset > 0 ? 'harder' : 'less'}: ${signed(settings.thinkOffset)}`);
  }

  const finalLevel = clampLevel(level);
  if (finalLevel !== level) reasons.push(`clamped to level ${finalLevel}`);

  const multiline = spansLines(cursor.region === 'code', ctx.lineSuffix);
  if (cursor.region === 'code') reasons.push(multiline ? 'cursor at end of line: multi-line allowed' : 'cursor mid-line: single line');

  const steps = settings.stepsPerLevel[finalLevel] ?? DEFAULT_STEPS_PER_LEVEL[finalLevel];
  const exitThreshold = settings.exitThreshold > 0 ? settings.exitThreshold : null;
  reasons.push(
    `level ${finalLevel}: up to ${steps} iterations per token, ` +
      (exitThreshold === null ? 'adaptive exit off' : `exit when KL < ${exitThreshold}`) +
      `, up to ${maxTokens} tokens, ${timeCapMs} ms cap`,
  );

  return {
    budget: { level: finalLevel, steps, exitThreshold, maxTokens, timeCapMs, multiline, explicit: invoked },
    reasons,
  };
}
