/**
 * ONNX export.
 *
 * A `Sequential` becomes a ModelProto of opset 13 (IR version 7), one node
 * (or a short fixed pattern) per layer, in the spelling `torch.onnx.export`
 * uses, so that `importOnnx` reads it back through the same patterns:
 *
 *   Linear       Gemm(x, W, b) with transB = 1, W as [out, in]
 *   activations  Relu, Tanh, Sigmoid, Softplus, LeakyRelu(alpha), Elu(alpha),
 *                and GELU as x·(1 + erf(x/√2))·½ (opset 13 has no Gelu)
 *   Identity     Identity
 *   Conv2d       Conv;  MaxPool2d, AvgPool2d  MaxPool, AveragePool (padding
 *                counted); AdaptiveAvgPool2d(1)  GlobalAveragePool
 *   Flatten      Flatten (axis 1);  Dropout  nothing (prediction)
 *   BatchNorm    BatchNormalization with the running statistics
 *   Residual     its inner and shortcut branches from the same value, then Add
 *
 * Weights are named like PyTorch's `nn.Sequential` state: "<layer>.weight",
 * "<layer>.bias" (inside a residual block "<block>.inner.<j>.weight"). ONNX
 * attributes are float32; where that would round a float64 value (a LeakyReLU
 * slope of 0.01, a BatchNorm ε), the exact value also goes in the node's
 * doc_string, which runtimes ignore and `importOnnx` reads.
 *
 * In float64 (the default) the initializers, the input and the output are
 * DOUBLE, so import(export(m)) holds the very same numbers and computes
 * bitwise the same outputs; `{ dtype: 'float32' }` rounds the weights to
 * FLOAT, the type every runtime runs every operator in (onnxruntime's CPU
 * kernels for Softplus, LeakyRelu, Elu and Erf, for one, are float32 only).
 */
import { AdaptiveAvgPool2d } from '../nn/adaptive-avgpool2d.js';
import { AvgPool2d } from '../nn/avgpool2d.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/batchnorm.js';
import { Conv2d } from '../nn/conv2d.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten } from '../nn/flatten.js';
import { Activation, type ELU, type LeakyReLU, Linear } from '../nn/layers.js';
import { MaxPool2d } from '../nn/maxpool2d.js';
import type { Layer } from '../nn/module.js';
import { Residual } from '../nn/residual.js';
import type { Sequential } from '../nn/sequential.js';
import { Tensor } from '../tensor.js';
import { OnnxError } from './errors.js';
import { DataType } from './model.js';
import { ProtoWriter } from './protobuf.js';

export interface ExportOptions {
  /** The type of the weights, input and output: 'float64' (default, exact) or 'float32'. */
  dtype?: 'float64' | 'float32';
  /** The graph input's and output's names (default 'input' and 'output'). */
  inputName?: string;
  outputName?: string;
}

const OPSET = 13;
const IR_VERSION = 7;

/** An ONNX file (ModelProto bytes) of `model`. */
export function exportOnnx(model: Sequential, options: ExportOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'float64';
  if (dtype !== 'float64' && dtype !== 'float32') {
    throw new OnnxError(`exportOnnx: dtype must be 'float64' or 'float32', got ${JSON.stringify(dtype)}`);
  }
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  if (inputName === outputName)
    throw new OnnxError(`exportOnnx: inputName and outputName are both '${inputName}'`);
  const elemType = dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  const g = new GraphBuilder(elemType);
  let value = inputName;
  model.layers.forEach((layer, i) => {
    value = g.layer(layer, String(i), value);
  });
  g.rename(value, outputName, inputName);

  const graph = new ProtoWriter();
  for (const node of g.nodes) graph.message(1, node);
  graph.string(2, 'laplace-ts');
  for (const init of g.initializers) graph.message(5, init);
  graph.message(11, valueInfo(inputName, elemType, ['batch', ...inputShapeOf(model)]));
  graph.message(12, valueInfo(outputName, elemType, ['batch', ...outputShapeOf(model)]));

  const opset = new ProtoWriter().string(1, '').int(2, OPSET);
  return new ProtoWriter()
    .int(1, IR_VERSION)
    .string(2, 'laplace-ts')
    .message(7, graph)
    .message(8, opset)
    .finish();
}

function inputShapeOf(model: Sequential): number[] {
  return [...model.inputShape];
}

function outputShapeOf(model: Sequential): number[] {
  return [...model.outputShape];
}

class GraphBuilder {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  /** The node writers by output name, so the last one can be renamed to the graph output. */
  private readonly pending: {
    op: string;
    name: string;
    inputs: string[];
    outputs: string[];
    attrs: ProtoWriter[];
    doc: string;
  }[] = [];
  private count = 0;

  constructor(private readonly elemType: number) {}

  /** Add `layer` (named `prefix`) reading `x`; its output value. */
  layer(layer: Layer, prefix: string, x: string): string {
    if (layer instanceof Linear) {
      const inputs = [x, this.tensor(`${prefix}.weight`, layer.weight)];
      if (layer.bias !== null) inputs.push(this.tensor(`${prefix}.bias`, layer.bias));
      return this.node('Gemm', `/${prefix}/Gemm`, inputs, [
        attrFloat('alpha', 1),
        attrFloat('beta', 1),
        attrInt('transB', 1),
      ]);
    }
    if (layer instanceof Activation) return this.activation(layer, prefix, x);
    if (layer instanceof Conv2d) {
      const inputs = [x, this.tensor(`${prefix}.weight`, layer.weight)];
      if (layer.bias !== null) inputs.push(this.tensor(`${prefix}.bias`, layer.bias));
      const [ph, pw] = layer.padding;
      return this.node('Conv', `/${prefix}/Conv`, inputs, [
        attrInts('dilations', layer.dilation),
        attrInt('group', layer.groups),
        attrInts('kernel_shape', layer.kernelSize),
        attrInts('pads', [ph, pw, ph, pw]),
        attrInts('strides', layer.stride),
      ]);
    }
    if (layer instanceof MaxPool2d) {
      const [ph, pw] = layer.padding;
      return this.node(
        'MaxPool',
        `/${prefix}/MaxPool`,
        [x],
        [
          attrInts('kernel_shape', layer.kernelSize),
          attrInts('pads', [ph, pw, ph, pw]),
          attrInts('strides', layer.stride),
          attrInts('dilations', layer.dilation),
        ],
      );
    }
    if (layer instanceof AvgPool2d) {
      const [ph, pw] = layer.padding;
      return this.node(
        'AveragePool',
        `/${prefix}/AveragePool`,
        [x],
        [
          attrInts('kernel_shape', layer.kernelSize),
          attrInts('pads', [ph, pw, ph, pw]),
          attrInts('strides', layer.stride),
          attrInt('count_include_pad', 1),
        ],
      );
    }
    if (layer instanceof AdaptiveAvgPool2d)
      return this.node('GlobalAveragePool', `/${prefix}/GlobalAveragePool`, [x]);
    if (layer instanceof Flatten)
      return this.node('Flatten', `/${prefix}/Flatten`, [x], [attrInt('axis', 1)]);
    if (layer instanceof Dropout) return x; // the network at prediction
    if (layer instanceof BatchNorm1d || layer instanceof BatchNorm2d) {
      const c = layer.numFeatures;
      // without affine parameters γ = 1, β = 0
      const gamma = layer.weight ?? new Tensor(new Float64Array(c).fill(1), [c]);
      const beta = layer.bias ?? new Tensor(new Float64Array(c), [c]);
      return this.node(
        'BatchNormalization',
        `/${prefix}/BatchNormalization`,
        [
          x,
          this.tensor(`${prefix}.weight`, gamma),
          this.tensor(`${prefix}.bias`, beta),
          this.tensor(`${prefix}.running_mean`, layer.runningMean),
          this.tensor(`${prefix}.running_var`, layer.runningVar),
        ],
        [attrFloat('epsilon', layer.eps)],
        exactDoc('epsilon', layer.eps),
      );
    }
    if (layer instanceof Residual) {
      let inner = x;
      layer.inner.forEach((child, j) => {
        inner = this.layer(child, `${prefix}.inner.${j}`, inner);
      });
      let shortcut = x;
      (layer.shortcut ?? []).forEach((child, j) => {
        shortcut = this.layer(child, `${prefix}.shortcut.${j}`, shortcut);
      });
      return this.node('Add', `/${prefix}/Add`, [inner, shortcut]);
    }
    throw new OnnxError(
      `exportOnnx: layer ${prefix} (${layer.type}) has no ONNX form; exportable: linear, conv2d, maxpool2d, avgpool2d, adaptiveavgpool2d, flatten, dropout, batchnorm1d, batchnorm2d, residual and the activations`,
    );
  }

  private activation(layer: Activation, prefix: string, x: string): string {
    switch (layer.type) {
      case 'identity':
        return this.node('Identity', `/${prefix}/Identity`, [x]);
      case 'relu':
        return this.node('Relu', `/${prefix}/Relu`, [x]);
      case 'tanh':
        return this.node('Tanh', `/${prefix}/Tanh`, [x]);
      case 'sigmoid':
        return this.node('Sigmoid', `/${prefix}/Sigmoid`, [x]);
      case 'softplus':
        return this.node('Softplus', `/${prefix}/Softplus`, [x]);
      case 'leakyrelu': {
        const slope = (layer as LeakyReLU).negativeSlope;
        return this.node(
          'LeakyRelu',
          `/${prefix}/LeakyRelu`,
          [x],
          [attrFloat('alpha', slope)],
          exactDoc('alpha', slope),
        );
      }
      case 'elu': {
        const alpha = (layer as ELU).alpha;
        return this.node('Elu', `/${prefix}/Elu`, [x], [attrFloat('alpha', alpha)], exactDoc('alpha', alpha));
      }
      case 'gelu': {
        // x·(1 + erf(x/√2))·½, as torch.onnx.export writes GELU below opset 20
        const scaled = this.node('Div', `/${prefix}/Div`, [x, this.scalar(`${prefix}.sqrt2`, Math.SQRT2)]);
        const erf = this.node('Erf', `/${prefix}/Erf`, [scaled]);
        const onePlus = this.node('Add', `/${prefix}/Add`, [erf, this.scalar(`${prefix}.one`, 1)]);
        const product = this.node('Mul', `/${prefix}/Mul`, [x, onePlus]);
        return this.node('Mul', `/${prefix}/Mul_1`, [product, this.scalar(`${prefix}.half`, 0.5)]);
      }
      default:
        throw new OnnxError(`exportOnnx: activation ${prefix} (${String(layer.type)}) has no ONNX form here`);
    }
  }

  /** Add a node with one output; its output's name. */
  node(op: string, name: string, inputs: string[], attrs: ProtoWriter[] = [], doc = ''): string {
    const out = `${name}_output_${this.count++}`;
    this.pending.push({ op, name, inputs, outputs: [out], attrs, doc });
    return out;
  }

  /** Name the last node's output `outputName` (an Identity if the graph is empty). */
  rename(value: string, outputName: string, inputName: string): void {
    if (value === inputName) {
      this.pending.push({
        op: 'Identity',
        name: '/Identity',
        inputs: [inputName],
        outputs: [outputName],
        attrs: [],
        doc: '',
      });
    } else {
      for (const n of this.pending) {
        n.outputs = n.outputs.map((o) => (o === value ? outputName : o));
        n.inputs = n.inputs.map((o) => (o === value ? outputName : o));
      }
    }
    for (const n of this.pending) {
      const w = new ProtoWriter();
      for (const i of n.inputs) w.string(1, i);
      for (const o of n.outputs) w.string(2, o);
      w.string(3, n.name).string(4, n.op);
      for (const a of n.attrs) w.message(5, a);
      if (n.doc !== '') w.string(6, n.doc);
      this.nodes.push(w);
    }
  }

  /** An initializer holding `t`; its name. */
  tensor(name: string, t: Tensor): string {
    this.initializers.push(tensorProto(name, t.shape, t.data, this.elemType));
    return name;
  }

  private scalar(name: string, v: number): string {
    this.initializers.push(tensorProto(name, [], Float64Array.of(v), this.elemType));
    return name;
  }
}

/** A TensorProto with raw little-endian data of `elemType` (DOUBLE or FLOAT). */
function tensorProto(
  name: string,
  dims: readonly number[],
  values: ArrayLike<number>,
  elemType: number,
): ProtoWriter {
  const width = elemType === DataType.DOUBLE ? 8 : 4;
  const raw = new Uint8Array(values.length * width);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) {
    if (width === 8) view.setFloat64(8 * i, values[i]!, true);
    else view.setFloat32(4 * i, values[i]!, true);
  }
  const w = new ProtoWriter();
  if (dims.length > 0) w.packedInt64(1, dims);
  return w.int(2, elemType).string(8, name).bytes(9, raw);
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, name).message(2, type);
}

/** The exact value of a float attribute that float32 would round, for the importer. */
function exactDoc(name: string, v: number): string {
  return Math.fround(v) === v ? '' : `laplace-ts: ${name}=${v}`;
}

function attrFloat(name: string, v: number): ProtoWriter {
  return new ProtoWriter().string(1, name).float32(2, v).int(20, 1);
}

function attrInt(name: string, v: number): ProtoWriter {
  return new ProtoWriter().string(1, name).int(3, v).int(20, 2);
}

function attrInts(name: string, v: readonly number[]): ProtoWriter {
  return new ProtoWriter().string(1, name).packedInt64(8, v).int(20, 7);
}
