// Lazy reader for the safetensors format (single file or sharded with an index).
// Only headers are parsed up front; tensor bytes are read one tensor at a time on demand,
// so converting a multi-GB checkpoint never holds more than one tensor in memory.
import * as fs from 'fs';
import * as path from 'path';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class CheckpointError extends Error {}

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  file: string;
  /** Absolute byte offset of the tensor data in `file`. */
  offset: number;
  byteLength: number;
}

/** Resolves `name` inside `dir`, refusing anything that would escape it. */
export function resolveInside(dir: string, name: string, what: string): string {
  if (typeof name !== 'string' || name.length === 0 || path.isAbsolute(name) || name.includes('\0')) {
    throw new CheckpointError(`${what}: invalid file name ${JSON.stringify(name)}`);
  }
  const root = path.resolve(dir);
  const full = path.resolve(root, name);
  if (full !== root && !full.startsWith(root + path.sep)) {
    throw new CheckpointError(`${what}: file name ${JSON.stringify(name)} points outside the model folder`);
  }
  return full;
}

function readHeader(file: string): TensorEntry[] {
  const label = path.basename(file);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new CheckpointError(`${label}: cannot open (${(e as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new CheckpointError(`${label}: truncated (only ${size} bytes)`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
      throw new CheckpointError(`${label}: not a safetensors file (header length ${headerLen}, file size ${size})`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    fs.readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch {
      throw new CheckpointError(`${label}: safetensors header is not valid JSON`);
    }
    const dataStart = 8 + headerLen;
    const entries: TensorEntry[] = [];
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const { dtype, shape, data_offsets: offsets } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
        throw new CheckpointError(`${label}: tensor "${name}" has unsupported dtype ${JSON.stringify(dtype)} (F32, F16, BF16, F64 are read)`);
      }
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new CheckpointError(`${label}: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
      }
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
        throw new CheckpointError(`${label}: tensor "${name}" has invalid data_offsets`);
      }
      const [begin, end] = offsets as number[];
      const numel = (shape as number[]).reduce((a, b) => a * b, 1);
      const byteLength = numel * DTYPE_BYTES[dtype as SafetensorsDtype];
      if (end - begin !== byteLength) {
        throw new CheckpointError(`${label}: tensor "${name}" data size ${end - begin} does not match shape ${JSON.stringify(shape)} x ${dtype}`);
      }
      if (dataStart + end > size) {
        throw new CheckpointError(`${label}: truncated: tensor "${name}" ends at byte ${dataStart + end} but the file has ${size}`);
      }
      entries.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], file, offset: dataStart + begin, byteLength });
    }
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}

/** All tensors of a checkpoint folder: `model.safetensors`, or shards listed in `model.safetensors.index.json`. */
export class SafetensorsCheckpoint {
  readonly tensors = new Map<string, TensorEntry>();
  readonly files: string[];

  constructor(readonly dir: string) {
    const index = path.join(dir, 'model.safetensors.index.json');
    const single = path.join(dir, 'model.safetensors');
    if (fs.existsSync(index)) {
      let weightMap: Record<string, string>;
      try {
        weightMap = JSON.parse(fs.readFileSync(index, 'utf8')).weight_map;
      } catch (e) {
        throw new CheckpointError(`model.safetensors.index.json: cannot parse (${(e as Error).message})`);
      }
      if (typeof weightMap !== 'object' || weightMap === null) {
        throw new CheckpointError('model.safetensors.index.json: missing "weight_map"');
      }
      const shards = [...new Set(Object.values(weightMap))];
      this.files = shards.map((s) => resolveInside(dir, s, 'model.safetensors.index.json'));
      for (const file of this.files) {
        if (!fs.existsSync(file)) throw new CheckpointError(`missing shard ${path.basename(file)} listed in model.safetensors.index.json`);
        for (const entry of readHeader(file)) this.tensors.set(entry.name, entry);
      }
      for (const [name, shard] of Object.entries(weightMap)) {
        const entry = this.tensors.get(name);
        if (!entry || path.basename(entry.file) !== path.basename(shard)) {
          throw new CheckpointError(`tensor "${name}" is listed in model.safetensors.index.json for ${shard} but is not in that shard`);
        }
      }
    } else if (fs.existsSync(single)) {
      this.files = [single];
      for (const entry of readHeader(single)) this.tensors.set(entry.name, entry);
    } else {
      throw new CheckpointError(`no model.safetensors or model.safetensors.index.json in ${dir}`);
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  entry(name: string): TensorEntry {
    const e = this.tensors.get(name);
    if (!e) throw new CheckpointError(`missing tensor "${name}"`);
    return e;
  }

  /** Reads one tensor and converts it to float32. */
  readFloat32(name: string): Float32Array {
    const e = this.entry(name);
    const raw = Buffer.allocUnsafe(e.byteLength);
    const fd = fs.openSync(e.file, 'r');
    try {
      let done = 0;
      while (done < e.byteLength) {
        const n = fs.readSync(fd, raw, done, Math.min(e.byteLength - done, 1 << 30), e.offset + done);
        if (n <= 0) throw new CheckpointError(`${path.basename(e.file)}: truncated while reading "${name}"`);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return toFloat32(raw, e.dtype);
  }
}

function toFloat32(raw: Buffer, dtype: SafetensorsDtype): Float32Array {
  // Copy into an aligned buffer first: Buffer.allocUnsafe may come from a pool at any offset.
  const bytes = new Uint8Array(raw.byteLength);
  bytes.set(raw);
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer);
    case 'F64':
      return Float32Array.from(new Float64Array(bytes.buffer));
    case 'BF16': {
      // bfloat16 is the upper half of a float32.
      const src = new Uint16Array(bytes.buffer);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F16': {
      const src = new Uint16Array(bytes.buffer);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
  }
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
