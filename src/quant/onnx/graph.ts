// An ONNX graph under construction, and its encoding as a model file (+ external data files), through the
// protobuf classes of the `onnx-proto` package. Only what the decoder export needs: nodes, initializers,
// typed inputs and outputs with symbolic dimensions.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

export type ElemType = 'float32' | 'int64' | 'int32' | 'uint8';
const ELEM: Record<ElemType, number> = { float32: T.FLOAT, int64: T.INT64, int32: T.INT32, uint8: T.UINT8 };

/** An attribute value: a number is an INT, `{ f }` a FLOAT, an array INTS. */
export type Attr = number | { f: number } | number[];
export type Dim = number | string;

interface Initializer {
  name: string;
  type: ElemType;
  dims: number[];
  data: Uint8Array;
}

const bytesOf = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

export class Graph {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: Initializer[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly names = new Set<string>();
  private count = 0;

  /** A constant tensor; returns its name. */
  init(name: string, type: ElemType, dims: number[], data: ArrayBufferView): string {
    this.claim(name);
    this.initializers.push({ name, type, dims, data: bytesOf(data) });
    return name;
  }

  /** Small constants (shapes, axes, scalars), named after their values. */
  i64(values: number[], scalar = false): string {
    const name = `const_i64_${scalar ? 's' : ''}${values.join('_')}`.replace(/-/g, 'm');
    if (!this.names.has(name)) this.init(name, 'int64', scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt)));
    return name;
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemType, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /**
   * One node. `outputs`: names to give its outputs ('' leaves an optional output out), or how many fresh names
   * to make. Returns the output names.
   */
  node(op: string, inputs: string[], outputs: string[] | number = 1, attrs: Record<string, Attr> = {}, domain = ''): string[] {
    const id = this.count++;
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => `/${op}_${id}/out${i}`) : outputs;
    for (const o of outs) if (o) this.claim(o);
    const attribute = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v) ? { name, type: A.INTS, ints: v } : typeof v === 'number' ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v.f });
    this.nodes.push(onnx.NodeProto.create({ name: `/${op}_${id}`, opType: op, domain, input: inputs, output: outs, attribute }));
    return outs;
  }

  /** node() for a single output. */
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, domain = ''): string {
    return this.node(op, inputs, 1, attrs, domain)[0];
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph: the name ${name} is used twice`);
    this.names.add(name);
  }

  get initializerBytes(): number {
    return this.initializers.reduce((s, t) => s + t.data.byteLength, 0);
  }

  /**
   * The model file, and the external data files its large initializers go to when all of them together exceed
   * `externalAbove` bytes (ONNX files cannot exceed 2 GiB): chunks of at most `chunkBytes`, named
   * `<fileName>_data`, `<fileName>_data_1`, ... (transformers.js's names), referenced by location.
   */
  encode(opts: { fileName: string; externalAbove: number; chunkBytes: number; metadata: Record<string, string>; opsets: Record<string, number> }): { model: Uint8Array; data: { name: string; data: Uint8Array }[] } {
    const external = this.initializerBytes > opts.externalAbove;
    const chunks: { name: string; parts: Uint8Array[]; size: number }[] = [];
    const initializer = this.initializers.map((t) => {
      const base = { name: t.name, dataType: ELEM[t.type], dims: t.dims };
      if (!external || t.data.byteLength < 1024) return onnx.TensorProto.create({ ...base, rawData: t.data });
      let c = chunks[chunks.length - 1];
      if (!c || (c.size > 0 && c.size + t.data.byteLength > opts.chunkBytes)) {
        c = { name: `${opts.fileName}_data${chunks.length ? `_${chunks.length}` : ''}`, parts: [], size: 0 };
        chunks.push(c);
      }
      const offset = c.size;
      c.parts.push(t.data);
      c.size += t.data.byteLength;
      const externalData = [{ key: 'location', value: c.name }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(t.data.byteLength) }];
      return onnx.TensorProto.create({ ...base, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData });
    });
    const graph = onnx.GraphProto.create({ name: 'main_graph', node: this.nodes, initializer, input: this.inputs, output: this.outputs });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'quantlab',
      opsetImport: Object.entries(opts.opsets).map(([domain, version]) => ({ domain, version })),
      graph,
      metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
    });
    const data = chunks.map((c) => {
      const out = new Uint8Array(c.size);
      let o = 0;
      for (const p of c.parts) (out.set(p, o), (o += p.byteLength));
      return { name: c.name, data: out };
    });
    return { model: onnx.ModelProto.encode(model).finish(), data };
  }
}

function valueInfo(name: string, type: ElemType, dims: Dim[]) {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: ELEM[type], shape: { dim } } } });
}

/** The graph of an encoded model, decoded (tests and checks). */
export function decodeModel(bytes: Uint8Array) {
  return onnx.ModelProto.decode(bytes);
}
