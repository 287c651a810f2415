// A small ONNX graph writer in the style of onnxruntime-genai's builder: nodes are added one by
// one with names that read like a path (/core/layers.2/attn/qkv/MatMul), so a graph viewer shows
// the model's structure. Large weights go to a shared external-data file.
import * as fs from 'fs';
import { onnx } from 'onnx-proto';

export const DataType = onnx.TensorProto.DataType;
export type Dim = number | string;

export const OPSET = 17;
export const MS_DOMAIN = 'com.microsoft';

type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v, 'utf8') };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

/** Bytes per element of the tensor types the builder writes. */
const ELEMENT_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.FLOAT16]: 2,
  [DataType.UINT8]: 1,
  [DataType.INT64]: 8,
};

/** Called after each tensor reaches the weights file; `end` is the file offset written up to. */
export type TensorWritten = (key: string, end: number) => void;

interface Placement {
  offset: number;
  length: number;
}

/**
 * The external-data file shared by all graphs of a model. Building is in two phases: graphs
 * `place` their weights (each tensor once, keyed by name, page-aligned so onnxruntime can
 * memory-map it; graphs that use the same weight, such as the embedding in the prelude and the
 * tied LM head in the coda, reference the same bytes), which fixes every offset and the file's
 * size from the shapes alone; then `write` produces the bytes tensor by tensor, yielding between
 * tensors so that a build can report progress and be cancelled.
 */
export class WeightsFile {
  private end = 0;
  private readonly placed = new Map<string, Placement>();
  private readonly pending: { key: string; at: Placement; data: (() => Uint8Array) | null }[] = [];
  static readonly ALIGN = 4096;

  constructor(readonly location: string) {}

  /** Reserves `length` bytes under `key`, once; later calls return the same place. */
  place(key: string, length: number, data: () => Uint8Array): Placement {
    const existing = this.placed.get(key);
    if (existing) {
      if (existing.length !== length) throw new Error(`weight ${key}: ${length} bytes requested, ${existing.length} placed`);
      return existing;
    }
    const at = { offset: this.end + ((WeightsFile.ALIGN - (this.end % WeightsFile.ALIGN)) % WeightsFile.ALIGN), length };
    this.end = at.offset + length;
    this.placed.set(key, at);
    this.pending.push({ key, at, data });
    return at;
  }

  /** The file's size once written (known after placing). */
  get size(): number {
    return this.end;
  }

  /**
   * Writes every placed tensor to `filePath` in order. `beforeTensor` runs before each one (throw
   * there to stop: the file is closed, the caller removes it); `written` after each.
   */
  async write(filePath: string, beforeTensor: () => void, written: TensorWritten = () => {}): Promise<void> {
    const fd = fs.openSync(filePath, 'w');
    try {
      for (const p of this.pending) {
        beforeTensor();
        const bytes = p.data!();
        p.data = null; // let the source (and its quantisation) be collected
        if (bytes.byteLength !== p.at.length) throw new Error(`weight ${p.key}: ${bytes.byteLength} bytes, ${p.at.length} placed`);
        // Alignment gaps are left as holes, which read as zeros.
        fs.writeSync(fd, bytes, 0, bytes.byteLength, p.at.offset);
        written(p.key, p.at.offset + p.at.length);
        await new Promise((resolve) => setImmediate(resolve));
      }
      fs.ftruncateSync(fd, this.end);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function bytesOf(data: Float32Array | Uint16Array | Uint8Array | BigInt64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class Graph {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly scopes: string[] = [];
  private readonly initNames = new Set<string>();
  private counter = 0;

  constructor(readonly name: string, readonly weights: WeightsFile) {}

  /** Runs `fn` with `name` appended to the node-name path. */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private path(leaf: string): string {
    return `/${this.name}/${[...this.scopes, leaf].join('/')}`;
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[], from: string): void {
    this.node('Identity', [from], { outputs: [name], leaf: `output.${name}` });
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Makes a value some node already writes under `name` a graph output, without an Identity
   *  copy: a run that does not fetch it pays nothing for it. */
  exposeOutput(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a node; returns its output names (one by default). */
  node(
    opType: string,
    inputs: string[],
    opts: { attrs?: Record<string, AttrValue>; outputs?: string[] | number; domain?: string; leaf?: string } = {},
  ): string[] {
    const nodeName = this.path(opts.leaf ?? opType);
    const unique = `${nodeName}#${this.counter++}`;
    const outputs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, (_, i) => `${unique}:${i}`);
    this.nodes.push({
      name: unique,
      opType,
      domain: opts.domain ?? '',
      input: inputs,
      output: outputs,
      attribute: Object.entries(opts.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  op(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, domain?: string): string {
    return this.node(opType, inputs, { attrs, domain })[0];
  }

  /** A small constant stored inside the graph. */
  constInt64(values: number[], dims: number[] = [values.length]): string {
    const name = `const_i64_${this.counter++}`;
    this.initializers.push({ name, dataType: DataType.INT64, dims, int64Data: values });
    return name;
  }

  constFloat(value: number): string {
    const name = `const_f32_${this.counter++}`;
    this.initializers.push({ name, dataType: DataType.FLOAT, dims: [], floatData: [value] });
    return name;
  }

  /** A weight stored in the shared external-data file under `key`; `data` runs when the file is
   *  written and must give exactly `dims` elements of `elemType`. A graph may declare another
   *  shape for bytes another graph placed (the tied embedding: 2-D for GatherBlockQuantized,
   *  3-D for MatMulNBits). */
  weight(key: string, elemType: number, dims: number[], data: () => Float32Array | Uint16Array | Uint8Array): string {
    if (!this.initNames.has(key)) {
      const length = dims.reduce((a, d) => a * d, ELEMENT_BYTES[elemType] ?? NaN);
      if (!Number.isFinite(length)) throw new Error(`weight ${key}: unsupported element type ${elemType}`);
      const { offset } = this.weights.place(key, length, () => bytesOf(data()));
      this.initializers.push({
        name: key,
        dataType: elemType,
        dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: this.weights.location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(length) },
        ],
      });
      this.initNames.add(key);
    }
    return key;
  }

  encode(): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: 'recurrent-copilot',
      opsetImport: [
        { domain: '', version: OPSET },
        { domain: MS_DOMAIN, version: 1 },
      ],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
