/** Small ONNX models written field by field, for the cases no exporter writes. */
import { DataType } from '../../src/onnx/model.js';
import { ProtoWriter } from '../../src/onnx/protobuf.js';

type Attr = number | string | number[] | { floats: number[] } | { float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, Attr>;
}

export interface TensorSpec {
  name: string;
  dims: number[];
  values: number[];
  /** How the values are stored (default raw float32). */
  as?: 'raw-float' | 'raw-double' | 'float_data' | 'double_data' | 'int64_data' | 'raw-int64';
}

export interface ModelSpec {
  inputs: { name: string; dims: (number | string)[]; elemType?: number }[];
  outputs: { name: string; dims: (number | string)[] }[];
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
  opset?: number;
}

function tensorProto(t: TensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length > 0) w.packedInt64(1, t.dims);
  const as = t.as ?? 'raw-float';
  const type = {
    'raw-float': DataType.FLOAT,
    float_data: DataType.FLOAT,
    'raw-double': DataType.DOUBLE,
    double_data: DataType.DOUBLE,
    int64_data: DataType.INT64,
    'raw-int64': DataType.INT64,
  }[as];
  w.int(2, type).string(8, t.name);
  if (as === 'float_data') w.packedFloat32(4, t.values);
  else if (as === 'int64_data') w.packedInt64(7, t.values);
  else if (as === 'double_data') {
    const b = new Uint8Array(8 * t.values.length);
    const view = new DataView(b.buffer);
    t.values.forEach((v, i) => {
      view.setFloat64(8 * i, v, true);
    });
    w.bytes(10, b);
  } else {
    const width = as === 'raw-float' ? 4 : 8;
    const b = new Uint8Array(width * t.values.length);
    const view = new DataView(b.buffer);
    t.values.forEach((v, i) => {
      if (as === 'raw-float') view.setFloat32(4 * i, v, true);
      else if (as === 'raw-double') view.setFloat64(8 * i, v, true);
      else view.setBigInt64(8 * i, BigInt(v), true);
    });
    w.bytes(9, b);
  }
  return w;
}

function attribute(name: string, a: Attr): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof a === 'number') return w.int(3, a).int(20, 2);
  if (typeof a === 'string') return w.string(4, a).int(20, 3);
  if (Array.isArray(a)) return w.packedInt64(8, a).int(20, 7);
  if ('floats' in a) return w.packedFloat32(7, a.floats).int(20, 6);
  return w.float32(2, a.float).int(20, 1);
}

function valueInfo(name: string, dims: (number | string)[], elemType: number): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

export function modelBytes(spec: ModelSpec): Uint8Array {
  const graph = new ProtoWriter();
  spec.nodes.forEach((n, i) => {
    const w = new ProtoWriter();
    for (const x of n.inputs) w.string(1, x);
    for (const y of n.outputs) w.string(2, y);
    w.string(3, n.name ?? `${n.op}_${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
    graph.message(1, w);
  });
  graph.string(2, 'handmade');
  for (const t of spec.initializers ?? []) graph.message(5, tensorProto(t));
  for (const v of spec.inputs) graph.message(11, valueInfo(v.name, v.dims, v.elemType ?? DataType.FLOAT));
  for (const v of spec.outputs) graph.message(12, valueInfo(v.name, v.dims, DataType.FLOAT));
  return new ProtoWriter()
    .int(1, 7)
    .string(2, 'handmade')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, spec.opset ?? 13))
    .finish();
}

/** A one-layer network x [n, 2] ↦ Gemm(x, W [3, 2], b [3]) with `extra` nodes after it. */
export function gemmModel(
  extra: NodeSpec[] = [],
  options: { weightAs?: TensorSpec['as']; opset?: number; output?: string } = {},
): ModelSpec {
  return {
    inputs: [{ name: 'x', dims: ['batch', 2] }],
    outputs: [
      {
        name: options.output ?? (extra.length > 0 ? extra[extra.length - 1]!.outputs[0]! : 'h'),
        dims: ['batch', 3],
      },
    ],
    nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['h'], attrs: { transB: 1 } }, ...extra],
    initializers: [
      { name: 'W', dims: [3, 2], values: [1, 2, 3, 4, 5, 6], as: options.weightAs ?? 'raw-float' },
      { name: 'b', dims: [3], values: [0.5, -0.5, 0.25], as: options.weightAs ?? 'raw-float' },
    ],
    opset: options.opset ?? 13,
  };
}
