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

/**
 * The external-data file shared by all graphs of a model. Each tensor is written once (keyed by
 * name) and page-aligned so onnxruntime can memory-map it; graphs that use the same weight (the
 * embedding in the prelude and as the tied LM head) reference the same bytes.
 */
export class WeightsFile {
  private fd: number;
  private offset = 0;
  private readonly written = new Map<string, { offset: number; length: number }>();
  static readonly ALIGN = 4096;

  constructor(readonly filePath: string, readonly location: string) {
    this.fd = fs.openSync(filePath, 'w');
  }

  /** Writes the bytes produced by `data` under `key`, once; later calls return the same place. */
  write(key: string, data: () => Uint8Array): { offset: number; length: number } {
    const existing = this.written.get(key);
    if (existing) return existing;
    const bytes = data();
    const pad = (WeightsFile.ALIGN - (this.offset % WeightsFile.ALIGN)) % WeightsFile.ALIGN;
    if (pad) fs.writeSync(this.fd, Buffer.alloc(pad), 0, pad, this.offset);
    this.offset += pad;
    fs.writeSync(this.fd, bytes, 0, bytes.byteLength, this.offset);
    const entry = { offset: this.offset, length: bytes.byteLength };
    this.offset += bytes.byteLength;
    this.written.set(key, entry);
    return entry;
  }

  get size(): number {
    return this.offset;
  }

  close(): void {
    fs.closeSync(this.fd);
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

  /** A weight stored in the shared external-data file under `key`. */
  weight(key: string, elemType: number, dims: number[], data: () => Float32Array | Uint16Array | Uint8Array): string {
    if (!this.initNames.has(key)) {
      const { offset, length } = this.weights.write(key, () => bytesOf(data()));
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
