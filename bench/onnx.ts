/**
 * Just enough of the ONNX protobuf format to build single-op benchmark models in memory (no onnx package needed):
 * a graph of nodes with float32 inputs, initializers (constant weights, which onnxruntime pre-packs) and outputs.
 */

/** A protobuf writer over a list of byte chunks (weights of 64 MiB stay one chunk, never a number[]). */
class Writer {
  readonly parts: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  varint(v: number): this {
    const out: number[] = [];
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      out.push(b);
    } while (x > 0n);
    return this.push(Uint8Array.from(out));
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  float(field: number, v: number): this {
    return this.tag(field, 5).push(new Uint8Array(new Float32Array([v]).buffer));
  }
  raw(field: number, data: Uint8Array): this {
    return this.tag(field, 2).varint(data.length).push(data);
  }
  str(field: number, s: string): this {
    return this.raw(field, new TextEncoder().encode(s));
  }
  msg(field: number, w: Writer): this {
    this.tag(field, 2).varint(w.length);
    for (const p of w.parts) this.push(p);
    return this;
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export type Attr = { name: string; int: number } | { name: string; ints: number[] } | { name: string; float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Attr[];
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  initializers?: { name: string; shape: number[]; data: Float32Array }[];
}

const FLOAT = 1;

function valueInfo(name: string, shape: number[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.msg(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, FLOAT).msg(2, dims);
  return new Writer().str(1, name).msg(2, new Writer().msg(1, tensorType));
}

function attribute(a: Attr): Writer {
  const w = new Writer().str(1, a.name);
  if ('int' in a) return w.int(3, a.int).int(20, 2);
  if ('float' in a) return w.float(2, a.float).int(20, 1);
  for (const v of a.ints) w.int(8, v);
  return w.int(20, 7);
}

/** Serialises a ModelProto (IR 8, opset 17). */
export function onnxModel(g: OnnxGraph): Uint8Array {
  const graph = new Writer();
  for (const n of g.nodes) {
    const node = new Writer();
    for (const i of n.inputs) node.str(1, i);
    for (const o of n.outputs) node.str(2, o);
    node.str(4, n.op);
    for (const a of n.attrs ?? []) node.msg(5, attribute(a));
    graph.msg(1, node);
  }
  graph.str(2, 'bench');
  for (const t of g.initializers ?? []) {
    const tensor = new Writer();
    for (const d of t.shape) tensor.int(1, d);
    tensor.int(2, FLOAT).str(8, t.name).raw(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    graph.msg(5, tensor);
  }
  for (const i of g.inputs) graph.msg(11, valueInfo(i.name, i.shape));
  for (const o of g.outputs) graph.msg(12, valueInfo(o.name, o.shape));
  const model = new Writer().int(1, 8).str(2, 'segllm-bench').msg(7, graph).msg(8, new Writer().str(1, '').int(2, 17));
  return model.concat();
}
