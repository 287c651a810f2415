// Server settings from the client (initializationOptions and recurrent/configure), validated.
import * as path from 'path';
import { DEFAULT_MIN_CONFIDENCE, Device, DEVICES, MODEL_FORMATS, ModelFormat, ServerSettings } from '../protocol';

// beamWidth 4: on the default model the likeliest line closes 3x as many brackets right as
// greedy decoding, for 1.4x the compute (npm run bench:completions).
export const DEFAULT_SETTINGS: ServerSettings = {
  modelPath: null,
  device: 'auto',
  modelFormat: 'auto',
  prefixChars: 2000,
  suffixChars: 500,
  beamWidth: 4,
  minConfidence: DEFAULT_MIN_CONFIDENCE,
};

export function parseSettings(raw: unknown): ServerSettings {
  if (raw === undefined || raw === null) return DEFAULT_SETTINGS;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error('settings must be an object');
  const r = raw as Record<string, unknown>;
  const out: ServerSettings = { ...DEFAULT_SETTINGS };
  if (r.modelPath !== undefined && r.modelPath !== null && r.modelPath !== '') {
    // A model path must be an absolute folder path; it is only ever read.
    if (typeof r.modelPath !== 'string' || !path.isAbsolute(r.modelPath) || r.modelPath.includes('\0')) {
      throw new Error(`modelPath must be an absolute folder path, got ${JSON.stringify(r.modelPath)}`);
    }
    out.modelPath = path.normalize(r.modelPath);
  }
  if (r.device !== undefined) {
    if (!(DEVICES as readonly unknown[]).includes(r.device)) throw new Error(`device must be one of ${DEVICES.join(', ')}, got ${JSON.stringify(r.device)}`);
    out.device = r.device as Device;
  }
  if (r.modelFormat !== undefined) {
    if (!(MODEL_FORMATS as readonly unknown[]).includes(r.modelFormat)) {
      throw new Error(`modelFormat must be one of ${MODEL_FORMATS.join(', ')}, got ${JSON.stringify(r.modelFormat)}`);
    }
    out.modelFormat = r.modelFormat as ModelFormat;
  }
  for (const key of ['prefixChars', 'suffixChars'] as const) {
    const v = r[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100_000) throw new Error(`${key} must be an integer in [0, 100000], got ${JSON.stringify(v)}`);
    out[key] = v;
  }
  const w = r.beamWidth;
  if (w !== undefined) {
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 16) throw new Error(`beamWidth must be an integer in [1, 16], got ${JSON.stringify(w)}`);
    out.beamWidth = w;
  }
  const c = r.minConfidence;
  if (c !== undefined) {
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0 || c > 1) throw new Error(`minConfidence must be a number in [0, 1], got ${JSON.stringify(c)}`);
    out.minConfidence = c;
  }
  return out;
}
