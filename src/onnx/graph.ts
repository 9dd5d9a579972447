/**
 * From an ONNX graph to a sequence of layers.
 *
 * A feed-forward network exported from PyTorch or Keras is a chain: one graph
 * input x, one output, and between them nodes each of which consumes the
 * previous value. We walk that chain from the input, and at each value match
 * the node(s) that consume it against the patterns a layer makes:
 *
 *   Gemm(x, B, C)          Linear, W = α·B (transB = 1) or α·Bᵀ (transB = 0),
 *                          b = β·C broadcast to [out]
 *   MatMul(x, B) [→ Add]   Linear, W = Bᵀ, b the added constant (if any)
 *   Conv                   Conv2d (symmetric pads, NOTSET or VALID auto_pad)
 *   [Pad →] AveragePool    AvgPool2d, padding counted in the mean (PyTorch
 *                          writes such padding as a zero Pad in front)
 *   Pad → Conv             Conv2d with the Pad's zeros as its padding
 *   MaxPool, GlobalAveragePool, Flatten (axis 1), Reshape to [N, −1]
 *   ReduceMean over H, W   AdaptiveAvgPool2d(1) (and Flatten without keepdims)
 *   BatchNormalization     BatchNorm1d on [C] or [C, L], BatchNorm2d on [C, H, W]
 *   Relu Tanh Sigmoid LeakyRelu Elu Softplus Gelu   activations
 *   Div → Erf → Add → Mul → Mul   GELU as x·½(1 + erf(x/√2)), its old spelling
 *   Dropout, Identity      nothing (the network at prediction)
 *   Softmax, LogSoftmax    dropped when last: Laplace works on logits
 *
 * A value with two consumers that meet again at an Add is a residual block:
 * the join is the first node (ONNX lists nodes in topological order) that both
 * branches reach, each branch is walked as a chain up to it, and a branch that
 * is the Add itself is the identity shortcut. Of two non-trivial branches the
 * one whose first weight comes first in the file is `inner`, so the parameter
 * order stays PyTorch's registration order (which `torch.onnx.export` keeps in
 * the initializer list).
 *
 * Shapes are tracked per example through the walk, so a Reshape whose target is
 * computed (Shape → Gather → Unsqueeze → Concat, as `x.view(x.size(0), -1)`
 * exports) is evaluated with the batch size as a symbol N. A graph that is not
 * such a chain, an operator not listed, or an attribute outside what the
 * layers express is an OnnxError naming the node and its op type.
 *
 * The result is plain data (`LayerSpec`), with the weights as float64 and the
 * initializer names they came from; src/onnx/build.ts turns it into layers.
 */
import { OnnxError } from './errors.js';
import {
  type AttributeValue,
  DataType,
  dataTypeName,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  tensorValues,
} from './model.js';

/** The opsets of the default domain this importer reads. */
export const ONNX_MIN_OPSET = 11;
export const ONNX_MAX_OPSET = 21;

/** The op types the importer maps to layers, for error messages. */
export const ONNX_SUPPORTED_OPS: readonly string[] = [
  'Gemm',
  'MatMul (+ Add)',
  'Conv',
  'Relu',
  'Tanh',
  'Sigmoid',
  'LeakyRelu',
  'Elu',
  'Gelu',
  'Erf (in x·½(1 + erf(x/√2)))',
  'Softplus',
  'MaxPool',
  'AveragePool',
  'Pad (zeros, before AveragePool or Conv)',
  'GlobalAveragePool',
  'ReduceMean (over H and W)',
  'Flatten',
  'Reshape (to [N, -1])',
  'BatchNormalization',
  'Dropout',
  'Identity',
  'Add (bias, or a residual join)',
  'Softmax/LogSoftmax (last node, dropped)',
  'Constant',
  'Shape/Gather/Unsqueeze/Concat/Squeeze/Cast (computing a Reshape target)',
];

type Pair = readonly [number, number];

export type LayerSpec =
  | {
      readonly kind: 'linear';
      readonly inFeatures: number;
      readonly outFeatures: number;
      /** [out, in] row-major. */
      readonly weight: Float64Array;
      readonly bias: Float64Array | null;
      readonly names: readonly string[];
    }
  | {
      readonly kind: 'conv2d';
      readonly inChannels: number;
      readonly outChannels: number;
      readonly kernelSize: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly dilation: Pair;
      readonly groups: number;
      /** [out, in/groups, kh, kw] row-major. */
      readonly weight: Float64Array;
      readonly bias: Float64Array | null;
      readonly names: readonly string[];
    }
  | {
      readonly kind: 'activation';
      readonly name: 'relu' | 'tanh' | 'sigmoid' | 'softplus' | 'gelu' | 'leakyrelu' | 'elu';
      readonly negativeSlope?: number;
      readonly alpha?: number;
    }
  | {
      readonly kind: 'maxpool2d';
      readonly kernelSize: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly dilation: Pair;
    }
  | {
      readonly kind: 'avgpool2d';
      readonly kernelSize: Pair;
      readonly stride: Pair;
      /** Zeros on each side, counted in the mean (count_include_pad). */
      readonly padding: Pair;
    }
  | { readonly kind: 'globalavgpool2d' }
  | { readonly kind: 'flatten' }
  | {
      readonly kind: 'batchnorm';
      /** 1 for examples [C] or [C, L], 2 for [C, H, W]. */
      readonly dims: 1 | 2;
      readonly numFeatures: number;
      readonly eps: number;
      readonly weight: Float64Array;
      readonly bias: Float64Array;
      readonly runningMean: Float64Array;
      readonly runningVar: Float64Array;
      readonly names: readonly string[];
    }
  | { readonly kind: 'residual'; readonly inner: LayerSpec[]; readonly shortcut: LayerSpec[] };

export interface GraphImport {
  readonly layers: LayerSpec[];
  /** One example's input shape, e.g. [4] or [1, 28, 28]. */
  readonly inputShape: number[];
  readonly outputShape: number[];
  readonly opsetVersion: number;
  /** What the importer changed or dropped, in words. */
  readonly notes: string[];
}

const HANDLED_OPS = new Set([
  'Gemm',
  'MatMul',
  'Conv',
  'Relu',
  'Tanh',
  'Sigmoid',
  'Softplus',
  'LeakyRelu',
  'Elu',
  'Gelu',
  'Dropout',
  'Identity',
  'Softmax',
  'LogSoftmax',
  'MaxPool',
  'AveragePool',
  'Pad',
  'GlobalAveragePool',
  'ReduceMean',
  'Flatten',
  'Reshape',
  'BatchNormalization',
  'Add',
]);

type Shape = readonly number[];
/** An element of a shape computed inside the graph: a number or the batch size. */
type SymbolicDim = number | 'N';

const SQRT2 = Math.SQRT2;

/** Turn a decoded model into layer specs; an OnnxError for anything it cannot map. */
export function graphToLayers(model: OnnxModel): GraphImport {
  const opsetVersion = defaultOpset(model);
  const walker = new Walker(model.graph, opsetVersion);
  return walker.run();
}

function defaultOpset(model: OnnxModel): number {
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (entry === undefined) {
    throw new OnnxError(
      `ModelProto: no opset_import for the default ONNX domain; supported opsets are ${ONNX_MIN_OPSET} to ${ONNX_MAX_OPSET}`,
    );
  }
  if (entry.version < ONNX_MIN_OPSET || entry.version > ONNX_MAX_OPSET) {
    throw new OnnxError(
      `ModelProto: opset ${entry.version} is not supported; export with an opset from ${ONNX_MIN_OPSET} to ${ONNX_MAX_OPSET} (torch.onnx.export(..., opset_version=13))`,
    );
  }
  return entry.version;
}

function nodeLabel(node: OnnxNode): string {
  return `node '${node.name || node.outputs[0] || '?'}' (${node.opType})`;
}

class Walker {
  private readonly constants = new Map<string, OnnxTensor>();
  private readonly initializerIndex = new Map<string, number>();
  private readonly producer = new Map<string, OnnxNode>();
  private readonly consumers = new Map<string, OnnxNode[]>();
  private readonly nodeIndex = new Map<OnnxNode, number>();
  private readonly used = new Set<OnnxNode>();
  private readonly shapes = new Map<string, Shape>();
  private readonly notes: string[] = [];
  private readonly outputName: string;
  private readonly inputName: string;
  private readonly inputShape: number[];

  constructor(
    private readonly graph: OnnxGraph,
    private readonly opset: number,
  ) {
    graph.initializers.forEach((t, i) => {
      this.constants.set(t.name, t);
      this.initializerIndex.set(t.name, i);
    });
    graph.nodes.forEach((node, i) => {
      this.nodeIndex.set(node, i);
      if (node.domain !== '' && node.domain !== 'ai.onnx') {
        throw new OnnxError(
          `${nodeLabel(node)} is from the operator domain '${node.domain}'; only the default ONNX domain is supported`,
        );
      }
      for (const out of node.outputs) {
        if (out === '') continue;
        if (this.producer.has(out) || this.constants.has(out)) {
          throw new OnnxError(`${nodeLabel(node)} writes value '${out}', which is already defined`);
        }
        this.producer.set(out, node);
      }
      for (const input of node.inputs) {
        if (input === '') continue;
        const list = this.consumers.get(input);
        if (list === undefined) this.consumers.set(input, [node]);
        else if (!list.includes(node)) list.push(node);
      }
      if (node.opType === 'Constant') {
        this.used.add(node);
        if (node.outputs.length !== 1 || node.outputs[0] === '') {
          throw new OnnxError(`${nodeLabel(node)} has ${node.outputs.length} outputs, expected 1`);
        }
        const value = node.attributes.find((a) => a.name === 'value');
        if (value === undefined || value.value.kind !== 'tensor') {
          // value_float, value_ints, …: only as scalars and lists
          const other = node.attributes[0];
          const tensor = other ? constantFromAttribute(other.value, node.outputs[0] ?? '') : null;
          if (tensor === null) {
            throw new OnnxError(`${nodeLabel(node)} holds no tensor value this importer reads`);
          }
          this.constants.set(node.outputs[0]!, tensor);
        } else {
          this.constants.set(node.outputs[0]!, value.value.value);
        }
      }
    });

    const inputs = graph.inputs.filter((v) => !this.constants.has(v.name));
    if (inputs.length !== 1) {
      throw new OnnxError(
        `GraphProto: the graph has ${inputs.length} inputs (${inputs.map((v) => `'${v.name}'`).join(', ') || 'none'}); a network to import takes exactly one`,
      );
    }
    if (graph.outputs.length !== 1) {
      throw new OnnxError(
        `GraphProto: the graph has ${graph.outputs.length} outputs (${graph.outputs.map((v) => `'${v.name}'`).join(', ') || 'none'}); a network to import gives exactly one`,
      );
    }
    const input = inputs[0]!;
    this.inputName = input.name;
    this.outputName = graph.outputs[0]!.name;
    if (input.elemType !== DataType.FLOAT && input.elemType !== DataType.DOUBLE) {
      throw new OnnxError(
        `GraphProto: input '${input.name}' is of type ${dataTypeName(input.elemType)}; the importer reads float and double networks`,
      );
    }
    const shape = input.shape;
    if (shape === null || shape.length < 2) {
      throw new OnnxError(
        `GraphProto: input '${input.name}' has ${shape === null ? 'no shape' : `shape [${shape.join(', ')}]`}; expected [batch, ...one example's shape]`,
      );
    }
    const perExample = shape.slice(1);
    if (!perExample.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)) {
      throw new OnnxError(
        `GraphProto: input '${input.name}' has shape [${shape.map((d) => d ?? '?').join(', ')}]; every dimension after the batch must be a fixed positive size (dynamic shapes cannot be resolved)`,
      );
    }
    this.inputShape = perExample as number[];
  }

  run(): GraphImport {
    this.shapes.set(this.inputName, this.inputShape);
    const { layers, value, shape } = this.walk(this.inputName, this.inputShape, null, null);
    if (value !== this.outputName) {
      throw new OnnxError(`GraphProto: the walk from the input ended at '${value}', not the output`);
    }
    for (const node of this.graph.nodes) {
      if (!this.used.has(node) && !this.isShapeNode(node)) {
        throw new OnnxError(
          `${nodeLabel(node)} is not on the path from the input '${this.inputName}' to the output '${this.outputName}'; the importer reads single-path networks with residual blocks`,
        );
      }
    }
    if (layers.length === 0) throw new OnnxError('GraphProto: the graph holds no layer');
    this.checkParameterOrder(layers);
    return {
      layers,
      inputShape: [...this.inputShape],
      outputShape: [...shape],
      opsetVersion: this.opset,
      notes: this.notes,
    };
  }

  /** Nodes that only compute shapes (their outputs never feed a layer's data input). */
  private isShapeNode(node: OnnxNode): boolean {
    return ['Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Constant'].includes(node.opType);
  }

  /** Consumers of a value that carry its data (not Shape, which reads only its shape). */
  private dataConsumers(value: string): OnnxNode[] {
    return (this.consumers.get(value) ?? []).filter((n) => n.opType !== 'Shape');
  }

  /**
   * Walk the chain from `value` until the graph output, or (inside a residual
   * branch) until the next consumer is `join`. `first` forces the first node.
   */
  private walk(
    value: string,
    shape: Shape,
    first: OnnxNode | null,
    join: OnnxNode | null,
  ): { layers: LayerSpec[]; value: string; shape: Shape } {
    const layers: LayerSpec[] = [];
    let next: OnnxNode | null = first;
    for (;;) {
      if (next === null) {
        const consumers = this.dataConsumers(value);
        if (consumers.length === 0) {
          if (join === null && value === this.outputName) return { layers, value, shape };
          throw new OnnxError(
            `GraphProto: value '${value}' is used by no node and is not the graph output '${this.outputName}'`,
          );
        }
        if (value === this.outputName) {
          throw new OnnxError(`GraphProto: the graph output '${value}' is also used inside the graph`);
        }
        if (consumers.length > 1) {
          const gelu = this.matchErfGelu(value, consumers);
          if (gelu !== null) {
            layers.push({ kind: 'activation', name: 'gelu' });
            value = gelu;
            this.shapes.set(value, shape);
            continue;
          }
          const block = this.residual(value, shape, consumers);
          layers.push(block.spec);
          value = block.value;
          shape = block.shape;
          this.shapes.set(value, shape);
          continue;
        }
        next = consumers[0]!;
        if (next === join) return { layers, value, shape };
      }
      const node = next;
      next = null;
      if (this.used.has(node))
        throw new OnnxError(`${nodeLabel(node)} is reached twice; the graph has a cycle`);
      const step = this.step(node, value, shape);
      if (Array.isArray(step.layer)) layers.push(...step.layer);
      else if (step.layer !== null) layers.push(step.layer);
      value = step.value;
      shape = step.shape;
      this.shapes.set(value, shape);
    }
  }

  /** Match the node(s) starting at `node`, which consumes `value`; mark them used. */
  private step(
    node: OnnxNode,
    value: string,
    shape: Shape,
  ): { layer: LayerSpec | LayerSpec[] | null; value: string; shape: Shape } {
    const op = node.opType;
    if (!HANDLED_OPS.has(op)) {
      throw new OnnxError(
        `${nodeLabel(node)} is not supported; supported ops: ${ONNX_SUPPORTED_OPS.join(', ')}`,
      );
    }
    if (node.inputs[0] !== value) {
      throw new OnnxError(
        `${nodeLabel(node)} takes '${value}' as input ${node.inputs.indexOf(value)}, not as its data input 0`,
      );
    }
    this.used.add(node);
    const out = this.singleOutput(node);
    const activation = (spec: LayerSpec & { kind: 'activation' }) => ({ layer: spec, value: out, shape });
    switch (op) {
      case 'Gemm':
        return this.gemm(node, shape, out);
      case 'MatMul':
        return this.matmul(node, shape, out);
      case 'Conv':
        return this.conv(node, shape, out, [0, 0]);
      case 'Relu':
        return activation({ kind: 'activation', name: 'relu' });
      case 'Tanh':
        return activation({ kind: 'activation', name: 'tanh' });
      case 'Sigmoid':
        return activation({ kind: 'activation', name: 'sigmoid' });
      case 'Softplus':
        return activation({ kind: 'activation', name: 'softplus' });
      case 'LeakyRelu':
        return activation({
          kind: 'activation',
          name: 'leakyrelu',
          negativeSlope: exactFloat(node, 'alpha', 0.01),
        });
      case 'Elu':
        return activation({ kind: 'activation', name: 'elu', alpha: exactFloat(node, 'alpha', 1) });
      case 'Gelu': {
        const approximate = attrString(node, 'approximate', 'none');
        if (approximate !== 'none') {
          throw new OnnxError(
            `${nodeLabel(node)} uses approximate='${approximate}'; only the exact GELU is supported`,
          );
        }
        return activation({ kind: 'activation', name: 'gelu' });
      }
      case 'Dropout':
      case 'Identity':
        return { layer: null, value: out, shape };
      case 'Softmax':
      case 'LogSoftmax': {
        if (out !== this.outputName) {
          throw new OnnxError(
            `${nodeLabel(node)} is not the last node; a ${op} is only supported at the end, where it is dropped`,
          );
        }
        this.notes.push(
          `dropped the final ${op} (${nodeLabel(node)}): the imported network returns logits, which is what laplace works on; the predictive applies the likelihood's link`,
        );
        return { layer: null, value: out, shape };
      }
      case 'MaxPool':
        return this.pool(node, shape, out, 'max', [0, 0]);
      case 'AveragePool':
        return this.pool(node, shape, out, 'avg', [0, 0]);
      case 'Pad':
        return this.pad(node, shape, out);
      case 'GlobalAveragePool': {
        if (shape.length !== 3) this.shapeFail(node, shape, '[C, H, W]');
        return { layer: { kind: 'globalavgpool2d' }, value: out, shape: [shape[0]!, 1, 1] };
      }
      case 'ReduceMean':
        return this.spatialMean(node, shape, out);
      case 'Flatten': {
        let axis = attrInt(node, 'axis', 1);
        if (axis < 0) axis += shape.length + 1;
        if (axis !== 1) {
          throw new OnnxError(
            `${nodeLabel(node)} has axis ${attrInt(node, 'axis', 1)}; only flattening everything after the batch (axis 1) is supported`,
          );
        }
        return this.flatten(shape, out);
      }
      case 'Reshape':
        return this.reshape(node, shape, out);
      case 'BatchNormalization':
        return this.batchNorm(node, shape, out);
      case 'Add':
        throw new OnnxError(
          `${nodeLabel(node)} adds '${node.inputs[1] ?? ''}' to '${value}' where neither a bias (after MatMul) nor a residual join was expected`,
        );
      default:
        throw new OnnxError(
          `${nodeLabel(node)} is not supported; supported ops: ${ONNX_SUPPORTED_OPS.join(', ')}`,
        );
    }
  }

  private singleOutput(node: OnnxNode): string {
    const out = node.outputs[0];
    if (out === undefined || out === '') throw new OnnxError(`${nodeLabel(node)} has no output`);
    for (const extra of node.outputs.slice(1)) {
      if (extra !== '' && (this.consumers.has(extra) || extra === this.outputName)) {
        throw new OnnxError(
          `${nodeLabel(node)}: its output '${extra}' is used, but only the first output of a ${node.opType} can be imported`,
        );
      }
    }
    return out;
  }

  private constant(node: OnnxNode, index: number, role: string): OnnxTensor {
    const name = node.inputs[index];
    if (name === undefined || name === '')
      throw new OnnxError(`${nodeLabel(node)} has no ${role} (input ${index})`);
    const t = this.constants.get(name);
    if (t === undefined) {
      throw new OnnxError(
        `${nodeLabel(node)}: its ${role} '${name}' is computed in the graph, not stored; only stored weights can be imported`,
      );
    }
    return t;
  }

  private optionalConstant(node: OnnxNode, index: number, role: string): OnnxTensor | null {
    const name = node.inputs[index];
    if (name === undefined || name === '') return null;
    return this.constant(node, index, role);
  }

  private values(node: OnnxNode, t: OnnxTensor, role: string): Float64Array {
    const v = tensorValues(t, `${nodeLabel(node)}: ${role}`);
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i]!)) {
        throw new OnnxError(
          `${nodeLabel(node)}: ${role} '${t.name}' holds a non-finite value ${v[i]} at index ${i}`,
        );
      }
    }
    return v;
  }

  private shapeFail(node: OnnxNode, shape: Shape, expected: string): never {
    throw new OnnxError(
      `${nodeLabel(node)} gets one example of shape [${shape.join(', ')}], expected ${expected}`,
    );
  }

  private gemm(node: OnnxNode, shape: Shape, out: string) {
    if (attrInt(node, 'transA', 0) !== 0) {
      throw new OnnxError(
        `${nodeLabel(node)} has transA = 1, which would mix the examples of a batch; only transA = 0 is supported`,
      );
    }
    if (shape.length !== 1) this.shapeFail(node, shape, '[features] (a Flatten before Gemm)');
    const transB = attrInt(node, 'transB', 0) !== 0;
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const b = this.constant(node, 1, 'weight B');
    const c = this.optionalConstant(node, 2, 'bias C');
    const names = [b.name];
    if (b.dims.length !== 2)
      throw new OnnxError(`${nodeLabel(node)}: B '${b.name}' is [${b.dims.join(', ')}], not 2-D`);
    const [rows, cols] = b.dims as [number, number];
    const inFeatures = transB ? cols : rows;
    const outFeatures = transB ? rows : cols;
    if (inFeatures !== shape[0]) {
      throw new OnnxError(
        `${nodeLabel(node)}: B '${b.name}' is [${b.dims.join(', ')}]${transB ? ' (transposed)' : ''} for ${shape[0]} input features`,
      );
    }
    const bv = this.values(node, b, 'B');
    const weight = transB ? Float64Array.from(bv) : transpose(bv, rows, cols);
    if (!transB) {
      this.notes.push(
        `${nodeLabel(node)}: B '${b.name}' is [in, out] (transB = 0), stored transposed as the Linear weight [out, in]; its posterior entries are in [out, in] order`,
      );
    }
    if (alpha !== 1) for (let i = 0; i < weight.length; i++) weight[i] = weight[i]! * alpha;
    let bias: Float64Array | null = null;
    if (c !== null && beta !== 0) {
      bias = this.broadcastBias(node, c, outFeatures);
      if (beta !== 1) for (let i = 0; i < bias.length; i++) bias[i] = bias[i]! * beta;
      names.push(c.name);
    }
    if (alpha !== 1 || (beta !== 1 && bias !== null)) {
      this.notes.push(`${nodeLabel(node)}: alpha ${alpha} and beta ${beta} folded into the weight and bias`);
    }
    return {
      layer: { kind: 'linear', inFeatures, outFeatures, weight, bias, names } as LayerSpec,
      value: out,
      shape: [outFeatures],
    };
  }

  /** A bias of shape [], [1], [out] or [1, out] as [out]. */
  private broadcastBias(node: OnnxNode, c: OnnxTensor, outFeatures: number): Float64Array {
    const v = this.values(node, c, 'bias');
    const dims = c.dims;
    const trailing = dims.length === 0 ? 1 : dims[dims.length - 1]!;
    const leadingOnes = dims.slice(0, -1).every((d) => d === 1);
    if (dims.length > 2 || !leadingOnes || (trailing !== 1 && trailing !== outFeatures)) {
      throw new OnnxError(
        `${nodeLabel(node)}: bias '${c.name}' is [${dims.join(', ')}], which does not broadcast to [${outFeatures}] without the batch`,
      );
    }
    return trailing === outFeatures ? Float64Array.from(v) : new Float64Array(outFeatures).fill(v[0]!);
  }

  private matmul(node: OnnxNode, shape: Shape, out: string) {
    if (shape.length !== 1) this.shapeFail(node, shape, '[features]');
    const b = this.constant(node, 1, 'weight');
    if (b.dims.length !== 2 || b.dims[0] !== shape[0]) {
      throw new OnnxError(
        `${nodeLabel(node)}: weight '${b.name}' is [${b.dims.join(', ')}], expected [${shape[0]}, out]`,
      );
    }
    const [inFeatures, outFeatures] = b.dims as [number, number];
    const weight = transpose(this.values(node, b, 'weight'), inFeatures, outFeatures);
    const names = [b.name];
    this.notes.push(
      `${nodeLabel(node)}: weight '${b.name}' is [in, out], stored transposed as the Linear weight [out, in]; its posterior entries are in [out, in] order`,
    );
    // A following Add of a constant is the bias.
    let value = out;
    let bias: Float64Array | null = null;
    const consumers = this.dataConsumers(out);
    const add = consumers.length === 1 ? consumers[0]! : null;
    if (add !== null && add.opType === 'Add' && out !== this.outputName) {
      const other = add.inputs[0] === out ? 1 : 0;
      const name = add.inputs[other];
      const c = name !== undefined ? this.constants.get(name) : undefined;
      if (c !== undefined && add.inputs.length === 2) {
        this.used.add(add);
        bias = this.broadcastBias(add, c, outFeatures);
        names.push(c.name);
        value = this.singleOutput(add);
      }
    }
    return {
      layer: { kind: 'linear', inFeatures, outFeatures, weight, bias, names } as LayerSpec,
      value,
      shape: [outFeatures],
    };
  }

  /** Spatial pads [top, left, bottom, right] (NOTSET/VALID auto_pad) as symmetric [ph, pw]. */
  private pads2d(node: OnnxNode, extra: Pair): Pair {
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') {
      throw new OnnxError(
        `${nodeLabel(node)} has auto_pad '${autoPad}'; only explicit pads (NOTSET) or VALID are supported`,
      );
    }
    const pads = autoPad === 'VALID' ? [0, 0, 0, 0] : attrInts(node, 'pads', [0, 0, 0, 0]);
    if (pads.length !== 4 || pads[0] !== pads[2] || pads[1] !== pads[3] || pads.some((p) => p < 0)) {
      throw new OnnxError(
        `${nodeLabel(node)} has pads [${pads.join(', ')}]; only symmetric non-negative padding of the two spatial axes is supported`,
      );
    }
    return [pads[0]! + extra[0], pads[1]! + extra[1]];
  }

  private pair(node: OnnxNode, name: string, fallback: Pair): Pair {
    const v = attrInts(node, name, [...fallback]);
    if (v.length !== 2 || v.some((x) => !Number.isSafeInteger(x) || x < 1)) {
      throw new OnnxError(
        `${nodeLabel(node)} has ${name} [${v.join(', ')}]; expected two positive integers (2-D)`,
      );
    }
    return [v[0]!, v[1]!];
  }

  private conv(node: OnnxNode, shape: Shape, out: string, extraPad: Pair) {
    if (shape.length !== 3) this.shapeFail(node, shape, '[C, H, W] (2-D convolution)');
    const w = this.constant(node, 1, 'weight');
    const b = this.optionalConstant(node, 2, 'bias');
    if (w.dims.length !== 4) {
      throw new OnnxError(
        `${nodeLabel(node)}: weight '${w.name}' is [${w.dims.join(', ')}]; only 2-D convolutions are supported`,
      );
    }
    const [outChannels, perGroup, kh, kw] = w.dims as [number, number, number, number];
    const groups = attrInt(node, 'group', 1);
    if (
      groups < 1 ||
      perGroup * groups !== shape[0] ||
      outChannels < 1 ||
      outChannels % groups !== 0 ||
      kh < 1 ||
      kw < 1
    ) {
      throw new OnnxError(
        `${nodeLabel(node)}: weight '${w.name}' is [${w.dims.join(', ')}] with group ${groups}, for ${shape[0]} input channels`,
      );
    }
    const kernelSize = this.pair(node, 'kernel_shape', [kh, kw]);
    if (kernelSize[0] !== kh || kernelSize[1] !== kw) {
      throw new OnnxError(
        `${nodeLabel(node)}: kernel_shape [${kernelSize.join(', ')}] differs from the weight's [${kh}, ${kw}]`,
      );
    }
    const stride = this.pair(node, 'strides', [1, 1]);
    const dilation = this.pair(node, 'dilations', [1, 1]);
    const padding = this.pads2d(node, extraPad);
    const outShape = [outChannels, ...windowOutput(node, shape, kernelSize, stride, padding, dilation)];
    const names = [w.name];
    let bias: Float64Array | null = null;
    if (b !== null) {
      if (b.dims.length !== 1 || b.dims[0] !== outChannels) {
        throw new OnnxError(
          `${nodeLabel(node)}: bias '${b.name}' is [${b.dims.join(', ')}], expected [${outChannels}]`,
        );
      }
      bias = Float64Array.from(this.values(node, b, 'bias'));
      names.push(b.name);
    }
    return {
      layer: {
        kind: 'conv2d',
        inChannels: shape[0]!,
        outChannels,
        kernelSize,
        stride,
        padding,
        dilation,
        groups,
        weight: Float64Array.from(this.values(node, w, 'weight')),
        bias,
        names,
      } as LayerSpec,
      value: out,
      shape: outShape,
    };
  }

  private pool(node: OnnxNode, shape: Shape, out: string, type: 'max' | 'avg', extraPad: Pair) {
    if (shape.length !== 3) this.shapeFail(node, shape, '[C, H, W] (2-D pooling)');
    if (attrInt(node, 'ceil_mode', 0) !== 0) {
      throw new OnnxError(
        `${nodeLabel(node)} has ceil_mode = 1; only floor rounding of the output size is supported`,
      );
    }
    const kernelSize = this.pair(node, 'kernel_shape', [0, 0]);
    const stride = this.pair(node, 'strides', [1, 1]);
    const dilation = type === 'max' ? this.pair(node, 'dilations', [1, 1]) : ([1, 1] as Pair);
    const ownPadding = this.pads2d(node, [0, 0]);
    const padding: Pair = [ownPadding[0] + extraPad[0], ownPadding[1] + extraPad[1]];
    if (2 * padding[0] > kernelSize[0] || 2 * padding[1] > kernelSize[1]) {
      throw new OnnxError(
        `${nodeLabel(node)}: padding ${padding.join('×')} is more than half the kernel ${kernelSize.join('×')}`,
      );
    }
    const outShape = [shape[0]!, ...windowOutput(node, shape, kernelSize, stride, padding, dilation)];
    if (type === 'max') {
      return {
        layer: { kind: 'maxpool2d', kernelSize, stride, padding, dilation } as LayerSpec,
        value: out,
        shape: outShape,
      };
    }
    // The padded zeros are counted in each mean (PyTorch's default, which it
    // exports as a zero Pad before the pool); the mean over real pixels only
    // (count_include_pad = 0) is another function.
    const ownPads = ownPadding[0] > 0 || ownPadding[1] > 0;
    if (ownPads && attrInt(node, 'count_include_pad', 0) === 0) {
      throw new OnnxError(
        `${nodeLabel(node)} averages over pads [${ownPadding.join(', ')}] without counting them (count_include_pad = 0); only count_include_pad = 1 is supported (PyTorch's default)`,
      );
    }
    return {
      layer: { kind: 'avgpool2d', kernelSize, stride, padding } as LayerSpec,
      value: out,
      shape: outShape,
    };
  }

  /** A constant zero Pad of the spatial axes, merged into the Conv or AveragePool that follows. */
  private pad(node: OnnxNode, shape: Shape, out: string) {
    const mode = attrString(node, 'mode', 'constant');
    const padsTensor = this.constant(node, 1, 'pads');
    const pads = Array.from(this.values(node, padsTensor, 'pads'));
    const fill = this.optionalConstant(node, 2, 'constant_value');
    const fillValue = fill === null ? 0 : (this.values(node, fill, 'constant_value')[0] ?? 0);
    if (node.inputs.length > 3 && node.inputs[3] !== '') {
      throw new OnnxError(`${nodeLabel(node)} pads only some axes (axes input); not supported`);
    }
    const rank = shape.length + 1;
    if (pads.length !== 2 * rank) {
      throw new OnnxError(`${nodeLabel(node)} has ${pads.length} pads for a tensor of rank ${rank}`);
    }
    if (pads.every((p) => p === 0)) return { layer: null, value: out, shape };
    const begin = pads.slice(0, rank);
    const end = pads.slice(rank);
    const symmetric =
      rank === 4 &&
      begin[0] === 0 &&
      begin[1] === 0 &&
      end[0] === 0 &&
      end[1] === 0 &&
      begin[2] === end[2] &&
      begin[3] === end[3] &&
      begin[2]! >= 0 &&
      begin[3]! >= 0;
    const consumers = this.dataConsumers(out);
    const next = consumers.length === 1 ? consumers[0]! : null;
    if (
      !symmetric ||
      mode !== 'constant' ||
      fillValue !== 0 ||
      next === null ||
      (next.opType !== 'AveragePool' && next.opType !== 'Conv') ||
      next.inputs[0] !== out ||
      out === this.outputName
    ) {
      throw new OnnxError(
        `${nodeLabel(node)} (mode '${mode}', value ${fillValue}, pads [${pads.join(', ')}]) is supported only as symmetric zero padding of H and W right before a Conv or AveragePool`,
      );
    }
    this.used.add(next);
    const extra: Pair = [begin[2]!, begin[3]!];
    const nextOut = this.singleOutput(next);
    return next.opType === 'Conv'
      ? this.conv(next, shape, nextOut, extra)
      : this.pool(next, shape, nextOut, 'avg', extra);
  }

  /** ReduceMean over H and W, as `x.mean((2, 3))` exports: a global average pool (then a flatten). */
  private spatialMean(node: OnnxNode, shape: Shape, out: string) {
    if (shape.length !== 3) this.shapeFail(node, shape, '[C, H, W]');
    const fromInput = node.inputs[1] !== undefined && node.inputs[1] !== '';
    const axes = fromInput
      ? Array.from(this.values(node, this.constant(node, 1, 'axes'), 'axes'))
      : attrInts(node, 'axes', []);
    const spatial = axes.map((a) => (a < 0 ? a + 4 : a)).sort();
    if (spatial.length !== 2 || spatial[0] !== 2 || spatial[1] !== 3) {
      throw new OnnxError(
        `${nodeLabel(node)} averages over axes [${axes.join(', ')}]; only the mean over H and W (axes 2, 3) is supported`,
      );
    }
    const pool: LayerSpec = { kind: 'globalavgpool2d' };
    if (attrInt(node, 'keepdims', 1) !== 0) return { layer: pool, value: out, shape: [shape[0]!, 1, 1] };
    return { layer: [pool, { kind: 'flatten' } as LayerSpec], value: out, shape: [shape[0]!] };
  }

  private flatten(shape: Shape, out: string) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 1) return { layer: null, value: out, shape };
    return { layer: { kind: 'flatten' } as LayerSpec, value: out, shape: [size] };
  }

  private reshape(node: OnnxNode, shape: Shape, out: string) {
    if (attrInt(node, 'allowzero', 0) !== 0) {
      throw new OnnxError(`${nodeLabel(node)} has allowzero = 1; not supported`);
    }
    const target = this.symbolicValue(node.inputs[1] ?? '', node);
    const size = shape.reduce((a, b) => a * b, 1);
    const first = target[0];
    const batchFirst = first === 'N' || first === 0 || (first !== undefined && first === this.staticBatch());
    const rest = target.slice(1);
    const flat = rest.length === 1 && (rest[0] === -1 || rest[0] === size);
    if (target.length === 2 && batchFirst && flat) return this.flatten(shape, out);
    // [-1, C·H·W], as tf2onnx writes a Keras Flatten: the batch is what is left
    if (target.length === 2 && first === -1 && rest[0] === size) return this.flatten(shape, out);
    const same = target.length === shape.length + 1 && batchFirst && rest.every((d, i) => d === shape[i]);
    if (same) return { layer: null, value: out, shape };
    throw new OnnxError(
      `${nodeLabel(node)} reshapes one example of shape [${shape.join(', ')}] to [${target.join(', ')}]; only [N, -1] (flatten) is supported`,
    );
  }

  private staticBatch(): number | null {
    const d = this.graph.inputs.find((v) => v.name === this.inputName)?.shape?.[0];
    return typeof d === 'number' ? d : null;
  }

  /** The value of a small integer tensor computed from shapes and constants, with N for the batch. */
  private symbolicValue(name: string, user: OnnxNode, depth = 0): SymbolicDim[] {
    if (depth > 64) {
      throw new OnnxError(
        `${nodeLabel(user)}: its shape input is computed by more than 64 nested nodes (or a cycle)`,
      );
    }
    const c = this.constants.get(name);
    if (c !== undefined) {
      return Array.from(tensorValues(c, `${nodeLabel(user)}: constant '${name}'`));
    }
    const node = this.producer.get(name);
    if (node === undefined) {
      throw new OnnxError(`${nodeLabel(user)}: '${name}' is neither a constant nor computed by a node`);
    }
    this.used.add(node);
    const fail = (): never => {
      throw new OnnxError(
        `${nodeLabel(user)}: its shape input comes from ${nodeLabel(node)}, which cannot be resolved before the batch is known (dynamic shapes)`,
      );
    };
    switch (node.opType) {
      case 'Shape': {
        const input = node.inputs[0] ?? '';
        const s = this.shapes.get(input);
        if (s === undefined) return fail();
        const full: SymbolicDim[] = ['N', ...s];
        const start = normalizeIndex(attrInt(node, 'start', 0), full.length);
        const end = normalizeIndex(attrInt(node, 'end', full.length), full.length);
        return full.slice(start, end);
      }
      case 'Gather': {
        const data = this.symbolicValue(node.inputs[0] ?? '', node, depth + 1);
        const indices = this.symbolicValue(node.inputs[1] ?? '', node, depth + 1);
        if (attrInt(node, 'axis', 0) !== 0) return fail();
        return indices.map((i) => {
          if (typeof i !== 'number') return fail();
          const k = i < 0 ? i + data.length : i;
          const v = data[k];
          return v === undefined ? fail() : v;
        });
      }
      case 'Unsqueeze':
      case 'Squeeze':
      case 'Cast':
      case 'Identity':
        return this.symbolicValue(node.inputs[0] ?? '', node, depth + 1);
      case 'Concat':
        return node.inputs.flatMap((input) => this.symbolicValue(input, node, depth + 1));
      default:
        return fail();
    }
  }

  private batchNorm(node: OnnxNode, shape: Shape, out: string) {
    if (attrInt(node, 'training_mode', 0) !== 0) {
      throw new OnnxError(`${nodeLabel(node)} has training_mode = 1; export the model in eval mode`);
    }
    if (shape.length < 1 || shape.length > 3) this.shapeFail(node, shape, '[C], [C, L] or [C, H, W]');
    const channels = shape[0]!;
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const parts = (['scale', 'B', 'input_mean', 'input_var'] as const).map((role, i) => {
      const t = this.constant(node, i + 1, role);
      if (t.dims.length !== 1 || t.dims[0] !== channels) {
        throw new OnnxError(
          `${nodeLabel(node)}: ${role} '${t.name}' is [${t.dims.join(', ')}], expected [${channels}]`,
        );
      }
      return t;
    });
    const [scale, b, mean, variance] = parts as [OnnxTensor, OnnxTensor, OnnxTensor, OnnxTensor];
    const runningVar = Float64Array.from(this.values(node, variance, 'input_var'));
    if (runningVar.some((v) => v < 0)) {
      throw new OnnxError(`${nodeLabel(node)}: input_var '${variance.name}' has a negative variance`);
    }
    return {
      layer: {
        kind: 'batchnorm',
        dims: shape.length === 3 ? 2 : 1,
        numFeatures: channels,
        eps,
        weight: Float64Array.from(this.values(node, scale, 'scale')),
        bias: Float64Array.from(this.values(node, b, 'B')),
        runningMean: Float64Array.from(this.values(node, mean, 'input_mean')),
        runningVar,
        names: [scale.name, b.name],
      } as LayerSpec,
      value: out,
      shape,
    };
  }

  /**
   * x·½(1 + erf(x/√2)) as PyTorch writes GELU below opset 20: Div(x, √2) →
   * Erf → Add(·, 1) → Mul(x, ·) → Mul(·, ½), or with the ½ applied to x first.
   * The value of its last node, or null if `consumers` are not this pattern.
   */
  private matchErfGelu(x: string, consumers: OnnxNode[]): string | null {
    if (consumers.length !== 2) return null;
    const scaled = consumers.find(
      (n) =>
        (n.opType === 'Div' && n.inputs[0] === x && this.scalarIs(n.inputs[1], SQRT2)) ||
        (n.opType === 'Mul' &&
          this.otherInput(n, x) !== null &&
          this.scalarIs(this.otherInput(n, x)!, 1 / SQRT2)),
    );
    if (scaled === undefined) return null;
    const mulX = consumers.find((n) => n !== scaled && n.opType === 'Mul');
    if (mulX === undefined) return null;
    const erf = this.onlyConsumer(scaled.outputs[0]);
    if (erf?.opType !== 'Erf') return null;
    const addOne = this.onlyConsumer(erf.outputs[0]);
    if (addOne?.opType !== 'Add' || !this.scalarIs(this.otherInput(addOne, erf.outputs[0]!) ?? '', 1))
      return null;
    const onePlusErf = addOne.outputs[0]!;
    const last = this.onlyConsumer(mulX.outputs[0]);
    if (last?.opType !== 'Mul') return null;
    const mulXOther = this.otherInput(mulX, x);
    const lastOther = this.otherInput(last, mulX.outputs[0]!);
    // x·(1 + erf)·½ or (x·½)·(1 + erf)
    const ok =
      (mulXOther === onePlusErf && lastOther !== null && this.scalarIs(lastOther, 0.5)) ||
      (mulXOther !== null && this.scalarIs(mulXOther, 0.5) && lastOther === onePlusErf);
    if (!ok) return null;
    for (const n of [scaled, erf, addOne, mulX, last]) this.used.add(n);
    return this.singleOutput(last);
  }

  private onlyConsumer(value: string | undefined): OnnxNode | null {
    if (value === undefined || value === this.outputName) return null;
    const c = this.dataConsumers(value);
    return c.length === 1 ? c[0]! : null;
  }

  private otherInput(node: OnnxNode, value: string): string | null {
    if (node.inputs.length !== 2) return null;
    if (node.inputs[0] === value) return node.inputs[1]!;
    if (node.inputs[1] === value) return node.inputs[0]!;
    return null;
  }

  /** True if `name` is a one-element constant equal to `target` up to float32 rounding. */
  private scalarIs(name: string | undefined, target: number): boolean {
    const t = name === undefined ? undefined : this.constants.get(name);
    if (t === undefined || t.values === null || t.values.length !== 1) return false;
    return Math.abs(t.values[0]! - target) <= 1e-6 * Math.abs(target);
  }

  /** A value used by two branches that meet again at an Add: a residual block. */
  private residual(x: string, shape: Shape, consumers: OnnxNode[]) {
    if (consumers.length !== 2) {
      throw new OnnxError(
        `GraphProto: value '${x}' feeds ${consumers.length} nodes (${consumers.map(nodeLabel).join(', ')}); only residual blocks of two branches are supported`,
      );
    }
    const [a, b] = consumers as [OnnxNode, OnnxNode];
    const join = this.firstCommonNode(a, b);
    if (join === null || join.opType !== 'Add' || join.inputs.length !== 2) {
      throw new OnnxError(
        `GraphProto: value '${x}' feeds ${nodeLabel(a)} and ${nodeLabel(b)}, which ${join === null ? 'never meet again' : `meet at ${nodeLabel(join)}, not an Add`}; only residual blocks (two branches summed) are supported`,
      );
    }
    const branch = (first: OnnxNode) => {
      if (first === join) return { layers: [] as LayerSpec[], value: x, shape };
      return this.walk(x, shape, first, join);
    };
    const ra = branch(a);
    const rb = branch(b);
    const ends = [ra.value, rb.value];
    if (
      !(join.inputs.includes(ends[0]!) && join.inputs.includes(ends[1]!)) ||
      (ends[0] === ends[1] && join.inputs[0] !== join.inputs[1])
    ) {
      throw new OnnxError(`${nodeLabel(join)} does not add the ends of the two branches from '${x}'`);
    }
    if (ra.shape.length !== rb.shape.length || ra.shape.some((d, i) => d !== rb.shape[i])) {
      throw new OnnxError(
        `${nodeLabel(join)} adds branches of shapes [${ra.shape.join(', ')}] and [${rb.shape.join(', ')}]; a residual block needs equal shapes`,
      );
    }
    this.used.add(join);
    let inner = ra.layers;
    let shortcut = rb.layers;
    if (
      inner.length === 0 ||
      (shortcut.length > 0 && this.firstWeightIndex(shortcut) < this.firstWeightIndex(inner))
    ) {
      [inner, shortcut] = [shortcut, inner];
    }
    return {
      spec: { kind: 'residual', inner, shortcut } as LayerSpec,
      value: this.singleOutput(join),
      shape: ra.shape,
    };
  }

  private firstWeightIndex(layers: readonly LayerSpec[]): number {
    for (const name of parameterNamesOf(layers)) {
      const i = this.initializerIndex.get(name);
      if (i !== undefined) return i;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** The first node, in the graph's topological order, reachable from both `a` and `b`. */
  private firstCommonNode(a: OnnxNode, b: OnnxNode): OnnxNode | null {
    const ra = this.reachable(a);
    const rb = this.reachable(b);
    let best: OnnxNode | null = null;
    for (const n of ra) {
      if (rb.has(n) && (best === null || this.nodeIndex.get(n)! < this.nodeIndex.get(best)!)) best = n;
    }
    return best;
  }

  private reachable(start: OnnxNode): Set<OnnxNode> {
    const seen = new Set<OnnxNode>();
    const stack = [start];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const out of n.outputs) for (const c of this.dataConsumers(out)) stack.push(c);
    }
    return seen;
  }

  /** Note when the layers' parameter order differs from the file's (PyTorch's registration) order. */
  private checkParameterOrder(layers: readonly LayerSpec[]): void {
    const names = parameterNamesOf(layers);
    const renamed = names.filter((n) => n.startsWith('onnx::'));
    if (renamed.length > 0) {
      this.notes.push(
        `the exporter folded or renamed some weights (${renamed.join(', ')}), so they are not PyTorch's parameters (a BatchNorm folded into the convolution before it, for one); torch.onnx.export(..., training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) on a model in eval mode keeps them`,
      );
      return;
    }
    const indices = names
      .map((n) => this.initializerIndex.get(n))
      .filter((i): i is number => i !== undefined);
    for (let i = 1; i < indices.length; i++) {
      if (indices[i]! < indices[i - 1]!) {
        this.notes.push(
          `the parameters follow the order the graph uses them, which differs from the order of the file's initializers (PyTorch's parameters() order when exported from PyTorch): ${names.join(', ')}`,
        );
        return;
      }
    }
  }
}

/** The initializer names of the layers' parameters, in the layers' parameter order. */
export function parameterNamesOf(layers: readonly LayerSpec[]): string[] {
  const names: string[] = [];
  for (const l of layers) {
    if (l.kind === 'residual') names.push(...parameterNamesOf(l.inner), ...parameterNamesOf(l.shortcut));
    else if ('names' in l) names.push(...l.names);
  }
  return names;
}

/** floor((size + 2p − d(k − 1) − 1)/s) + 1 for both spatial axes; an OnnxError if < 1. */
function windowOutput(
  node: OnnxNode,
  shape: Shape,
  kernel: Pair,
  stride: Pair,
  padding: Pair,
  dilation: Pair,
): number[] {
  return [0, 1].map((axis) => {
    const size = shape[axis + 1]!;
    const span = dilation[axis]! * (kernel[axis]! - 1) + 1;
    const n = Math.floor((size + 2 * padding[axis]! - span) / stride[axis]!) + 1;
    if (n < 1) {
      throw new OnnxError(
        `${nodeLabel(node)}: a window of ${span} (kernel ${kernel.join('×')}, dilation ${dilation.join('×')}) does not fit an input of [${shape.join(', ')}] with padding ${padding.join('×')}`,
      );
    }
    return n;
  });
}

function transpose(v: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = v[i * cols + j]!;
  return out;
}

function normalizeIndex(i: number, n: number): number {
  const k = i < 0 ? i + n : i;
  return Math.min(Math.max(k, 0), n);
}

function attr(node: OnnxNode, name: string): AttributeValue | undefined {
  return node.attributes.find((a) => a.name === name)?.value;
}

function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const a = attr(node, name);
  if (a === undefined) return fallback;
  if (a.kind !== 'int') throw new OnnxError(`${nodeLabel(node)}: attribute ${name} is not an int`);
  return a.value;
}

/**
 * A float attribute. Attributes are float32; the exporter rounded a float64
 * (PyTorch keeps a LeakyReLU slope of 0.2 or a BatchNorm ε of 1e-5 as Python
 * floats), and the shortest decimal that rounds to the same float32 is taken
 * as the value it had: 0.2, not 0.20000000298023224.
 */
function attrFloat(node: OnnxNode, name: string, fallback: number): number {
  const a = attr(node, name);
  if (a === undefined) return fallback;
  if (a.kind !== 'float' || !Number.isFinite(a.value)) {
    throw new OnnxError(`${nodeLabel(node)}: attribute ${name} is not a finite float`);
  }
  for (let digits = 1; digits < 9; digits++) {
    const shortest = Number(a.value.toPrecision(digits));
    if (Math.fround(shortest) === a.value) return shortest;
  }
  return a.value;
}

/**
 * A float attribute at float64 precision. Attributes are float32 in ONNX;
 * `exportOnnx` writes the exact value in the node's doc_string as
 * "laplace-ts: alpha=0.01" when rounding would change it, and it is taken
 * when it rounds to the attribute's float32.
 */
function exactFloat(node: OnnxNode, name: string, fallback: number): number {
  const rounded = attrFloat(node, name, fallback);
  const match = node.docString.match(new RegExp(`laplace-ts: ${name}=(\\S+)`));
  if (match === null) return rounded;
  const exact = Number(match[1]);
  return Number.isFinite(exact) && Math.fround(exact) === Math.fround(rounded) ? exact : rounded;
}

function attrString(node: OnnxNode, name: string, fallback: string): string {
  const a = attr(node, name);
  if (a === undefined) return fallback;
  if (a.kind !== 'string') throw new OnnxError(`${nodeLabel(node)}: attribute ${name} is not a string`);
  return a.value;
}

function attrInts(node: OnnxNode, name: string, fallback: number[]): number[] {
  const a = attr(node, name);
  if (a === undefined) return fallback;
  if (a.kind !== 'ints') throw new OnnxError(`${nodeLabel(node)}: attribute ${name} is not a list of ints`);
  return [...a.value];
}

/** A Constant node's value_float / value_floats / value_int / value_ints as a tensor. */
function constantFromAttribute(a: AttributeValue, name: string): OnnxTensor | null {
  switch (a.kind) {
    case 'float':
    case 'int':
      return {
        name,
        dims: [],
        dataType: a.kind === 'float' ? DataType.FLOAT : DataType.INT64,
        values: Float64Array.of(a.value),
        problem: null,
      };
    case 'floats':
    case 'ints':
      return {
        name,
        dims: [a.value.length],
        dataType: a.kind === 'floats' ? DataType.FLOAT : DataType.INT64,
        values: Float64Array.from(a.value),
        problem: null,
      };
    default:
      return null;
  }
}
