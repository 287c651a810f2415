// All of the extension's settings, read in one place: their defaults and valid ranges, how a raw
// value is checked, and how the whole turns into the depth policy's settings and the server's
// settings. Pure (no `vscode` import): `configStore.ts` feeds it from the workspace configuration,
// the settings panel validates the webview's messages with the same table, and a unit test holds
// package.json's `contributes.configuration` to the same defaults and ranges.

import {
  BUDGET_LIMITS,
  DEFAULT_BUDGET,
  DEFAULT_MIN_CONFIDENCE,
  DEFAULT_STEPS_PER_LEVEL,
  DEVICES,
  MODEL_FORMATS,
  type Device,
  type ModelFormat,
  type ServerSettings,
} from '../server/protocol';
import { MAX_LEVEL, MIN_LEVEL, type PolicySettings } from './depthPolicy';

export const SECTION = 'recurrentCopilot';

export { DEVICES, type Device };

export interface ExtensionConfig {
  enabled: boolean;
  baseLevel: number;
  stepsPerLevel: number[];
  /** KL threshold of the adaptive exit; 0 = off (every token runs the level's full steps). */
  exitThreshold: number;
  maxTokens: number;
  timeCapMs: number;
  languageLevels: Record<string, number>;
  /** '' = the shipped default model. */
  modelPath: string;
  device: Device;
  /** The format a checkpoint at modelPath is built as; auto = int4 on the CPU, fp16 on a GPU. */
  modelFormat: ModelFormat;
  debounceMs: number;
  prefixChars: number;
  suffixChars: number;
  /** Ghost text is the likeliest line a beam search this wide finds; 1 = greedy decoding. */
  beamWidth: number;
  /** Ghost text is shown only as far as its calibrated confidence reaches this; 0 = always. */
  minConfidence: number;
  computeMapEnabled: boolean;
}

/** The settings' keys under `recurrentCopilot.`, as they appear in settings.json. */
export const SETTING_KEYS = {
  enabled: 'enabled',
  baseLevel: 'baseLevel',
  stepsPerLevel: 'stepsPerLevel',
  exitThreshold: 'exitThreshold',
  maxTokens: 'maxTokens',
  timeCapMs: 'timeCapMs',
  languageLevels: 'languageLevels',
  modelPath: 'modelPath',
  device: 'device',
  modelFormat: 'modelFormat',
  debounceMs: 'debounceMs',
  prefixChars: 'prefixChars',
  suffixChars: 'suffixChars',
  beamWidth: 'beamWidth',
  minConfidence: 'minConfidence',
  computeMapEnabled: 'computeMap.enabled',
} as const satisfies Record<keyof ExtensionConfig, string>;

export type SettingKey = (typeof SETTING_KEYS)[keyof typeof SETTING_KEYS];

export const DEFAULTS: Readonly<ExtensionConfig> = Object.freeze({
  enabled: true,
  baseLevel: DEFAULT_BUDGET.level,
  stepsPerLevel: [...DEFAULT_STEPS_PER_LEVEL],
  exitThreshold: DEFAULT_BUDGET.exitThreshold!,
  maxTokens: DEFAULT_BUDGET.maxTokens,
  timeCapMs: DEFAULT_BUDGET.timeCapMs,
  languageLevels: { latex: 3, plaintext: 1 },
  modelPath: '',
  device: 'auto',
  modelFormat: 'auto',
  debounceMs: 75,
  prefixChars: 2000,
  suffixChars: 500,
  beamWidth: 4,
  minConfidence: DEFAULT_MIN_CONFIDENCE,
  computeMapEnabled: true,
});

/** Ranges of the numeric settings (inclusive); integers unless `real`. */
export const LIMITS = {
  baseLevel: { min: MIN_LEVEL, max: MAX_LEVEL },
  steps: { min: 1, max: BUDGET_LIMITS.steps },
  exitThreshold: { min: 0, max: 1, real: true },
  maxTokens: { min: 1, max: BUDGET_LIMITS.maxTokens },
  timeCapMs: { min: 100, max: BUDGET_LIMITS.timeCapMs },
  languageLevel: { min: MIN_LEVEL, max: MAX_LEVEL },
  debounceMs: { min: 0, max: 2000 },
  prefixChars: { min: 0, max: 100000 },
  suffixChars: { min: 0, max: 100000 },
  beamWidth: { min: 1, max: 16 },
  minConfidence: { min: 0, max: 1, real: true },
  modelPathLength: { max: 4096 },
  languageCount: { max: 200 },
} as const;

export const LEVEL_COUNT = MAX_LEVEL - MIN_LEVEL + 1;
/** What a languageLevels key may look like (VS Code language ids). */
export const LANGUAGE_ID = /^[A-Za-z0-9_.+#-]{1,64}$/;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const fail = (error: string): Checked<never> => ({ ok: false, error });

function checkNumber(value: unknown, name: string, range: { min: number; max: number; real?: boolean }): Checked<number> {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`${name} must be a number`);
  if (!range.real && !Number.isInteger(value)) return fail(`${name} must be a whole number`);
  if (value < range.min || value > range.max) return fail(`${name} must be between ${range.min} and ${range.max}`);
  return ok(value);
}

function checkBoolean(value: unknown, name: string): Checked<boolean> {
  return typeof value === 'boolean' ? ok(value) : fail(`${name} must be true or false`);
}

function checkSteps(value: unknown): Checked<number[]> {
  if (!Array.isArray(value) || value.length !== LEVEL_COUNT) return fail(`stepsPerLevel must list ${LEVEL_COUNT} numbers`);
  const steps: number[] = [];
  for (const [i, v] of value.entries()) {
    const c = checkNumber(v, `stepsPerLevel[${i}]`, LIMITS.steps);
    if (!c.ok) return c;
    steps.push(c.value);
  }
  return ok(steps);
}

function checkLanguageLevels(value: unknown): Checked<Record<string, number>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('languageLevels must be an object');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > LIMITS.languageCount.max) return fail(`languageLevels may list at most ${LIMITS.languageCount.max} languages`);
  // A null-prototype object: a language called "__proto__" or "constructor" stays a plain key.
  const levels: Record<string, number> = Object.create(null);
  for (const [id, level] of entries) {
    if (!LANGUAGE_ID.test(id)) return fail(`"${id}" is not a language id`);
    const c = checkNumber(level, `level of ${id}`, LIMITS.languageLevel);
    if (!c.ok) return c;
    levels[id] = c.value;
  }
  return ok({ ...levels });
}

function checkModelPath(value: unknown): Checked<string> {
  if (typeof value !== 'string') return fail('modelPath must be a string');
  if (value.length > LIMITS.modelPathLength.max) return fail('modelPath is too long');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(value)) return fail('modelPath must not contain control characters');
  return ok(value);
}

function checkOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): Checked<T> {
  return (allowed as readonly unknown[]).includes(value) ? ok(value as T) : fail(`${name} must be one of ${allowed.join(', ')}`);
}

/** Checks one setting's value, by its settings.json key. Used for settings.json and webview messages. */
export function checkSetting(key: string, value: unknown): Checked<unknown> {
  switch (key) {
    case SETTING_KEYS.enabled: return checkBoolean(value, key);
    case SETTING_KEYS.baseLevel: return checkNumber(value, key, LIMITS.baseLevel);
    case SETTING_KEYS.stepsPerLevel: return checkSteps(value);
    case SETTING_KEYS.exitThreshold: return checkNumber(value, key, LIMITS.exitThreshold);
    case SETTING_KEYS.maxTokens: return checkNumber(value, key, LIMITS.maxTokens);
    case SETTING_KEYS.timeCapMs: return checkNumber(value, key, LIMITS.timeCapMs);
    case SETTING_KEYS.languageLevels: return checkLanguageLevels(value);
    case SETTING_KEYS.modelPath: return checkModelPath(value);
    case SETTING_KEYS.device: return checkOneOf(value, key, DEVICES);
    case SETTING_KEYS.modelFormat: return checkOneOf(value, key, MODEL_FORMATS);
    case SETTING_KEYS.debounceMs: return checkNumber(value, key, LIMITS.debounceMs);
    case SETTING_KEYS.prefixChars: return checkNumber(value, key, LIMITS.prefixChars);
    case SETTING_KEYS.suffixChars: return checkNumber(value, key, LIMITS.suffixChars);
    case SETTING_KEYS.beamWidth: return checkNumber(value, key, LIMITS.beamWidth);
    case SETTING_KEYS.minConfidence: return checkNumber(value, key, LIMITS.minConfidence);
    case SETTING_KEYS.computeMapEnabled: return checkBoolean(value, key);
    default: return fail(`unknown setting "${key}"`);
  }
}

/** Anything with VS Code's `WorkspaceConfiguration.get` shape. */
export interface ConfigSource {
  get(key: string): unknown;
}

export interface ReadResult {
  config: ExtensionConfig;
  /** One line per setting whose value was invalid and replaced by its default. */
  problems: string[];
}

/** Reads every setting; an invalid value falls back to its default and is reported. */
export function readConfig(source: ConfigSource): ReadResult {
  const problems: string[] = [];
  const config = { ...DEFAULTS } as ExtensionConfig;
  for (const field of Object.keys(SETTING_KEYS) as (keyof ExtensionConfig)[]) {
    const key = SETTING_KEYS[field];
    const raw = source.get(key);
    if (raw === undefined || raw === null) continue;
    const checked = checkSetting(key, raw);
    if (checked.ok) (config as unknown as Record<string, unknown>)[field] = checked.value;
    else problems.push(`${SECTION}.${key}: ${checked.error}; using the default`);
  }
  config.stepsPerLevel = [...config.stepsPerLevel];
  config.languageLevels = { ...config.languageLevels };
  return { config, problems };
}

export function toPolicySettings(config: ExtensionConfig, thinkOffset: number): PolicySettings {
  return {
    baseLevel: config.baseLevel,
    languageLevels: config.languageLevels,
    stepsPerLevel: config.stepsPerLevel,
    exitThreshold: config.exitThreshold,
    maxTokens: config.maxTokens,
    timeCapMs: config.timeCapMs,
    thinkOffset,
  };
}

export function toServerSettings(config: ExtensionConfig): ServerSettings {
  const modelPath = config.modelPath.trim();
  return {
    modelPath: modelPath === '' ? null : modelPath,
    device: config.device,
    modelFormat: config.modelFormat,
    prefixChars: config.prefixChars,
    suffixChars: config.suffixChars,
    beamWidth: config.beamWidth,
    minConfidence: config.minConfidence,
  };
}

/** Every server setting is a plain value, so equal fields mean equal settings. */
export function sameServerSettings(a: ServerSettings, b: ServerSettings): boolean {
  return (Object.keys(a) as (keyof ServerSettings)[]).every((key) => a[key] === b[key]);
}
