/**
 * A 2-D convolution layer, PyTorch's `nn.Conv2d`.
 *
 * One example [C, H, W] maps to [O, H′, W′] by
 *
 *   y[o, i, j] = b[o] + Σ_{c, a, b} w[o, c, a, b] · x[g·C/G + c, i·s − p + a·d, j·s − p + b·d]
 *
 * (zero padding, G groups, g the group of o), with H′ = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1.
 * The weight is [O, C/G, kh, kw] and the bias [O]; `parameters()` is
 * [weight, bias] as PyTorch. Both start from U(−1/√fanIn, 1/√fanIn) with
 * fanIn = (C/G)·kh·kw, PyTorch's default (its Kaiming-uniform with a = √5
 * reduces to this bound for the weight).
 */
import { conv2d, type Pair } from '../autodiff/ops.js';
import { assertFinite, ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';
import { asTensor, rand, type Shape, shapeString, type Tensor, type TensorLike } from '../tensor.js';
import { asObject, readInteger, readOptionalTensor, readPair, readTensor } from './fields.js';
import type { Layer, LayerJSON } from './module.js';
import { toPair } from './pooling.js';

export interface Conv2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Whether the layer has a bias (default true). */
  bias?: boolean;
  /** Seed or generator of the initial weights. */
  seed: RngLike;
}

export class Conv2d implements Layer {
  readonly type = 'conv2d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dLayerOptions) {
    for (const [key, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new ValueError(`Conv2d: ${key} must be a positive integer, got ${v}`);
    }
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new ValueError(
        `Conv2d: groups must be a positive integer dividing inChannels (${inChannels}) and outChannels (${outChannels}), got ${groups}`,
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair(kernelSize, undefined, 1, 'Conv2d: kernelSize');
    this.stride = toPair(options.stride, [1, 1], 1, 'Conv2d: stride');
    this.padding = toPair(options.padding, [0, 0], 0, 'Conv2d: padding');
    this.dilation = toPair(options.dilation, [1, 1], 1, 'Conv2d: dilation');
    this.groups = groups;
    const rng = toRng(options.seed);
    const fanIn = (inChannels / groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = rand([outChannels, inChannels / groups, ...this.kernelSize], rng, -bound, bound);
    this.bias = (options.bias ?? true) ? rand([outChannels], rng, -bound, bound) : null;
  }

  /**
   * A layer holding the given weight [O, C/groups, kh, kw] and bias [O] (or
   * null), e.g. trained in PyTorch (`conv.weight.tolist()` is already in this
   * layout); the tensors are held, not copied.
   */
  static fromParameters(
    weight: TensorLike,
    bias: TensorLike | null = null,
    options: Omit<Conv2dLayerOptions, 'seed' | 'bias'> = {},
  ): Conv2d {
    const w = asTensor(weight);
    const groups = options.groups ?? 1;
    if (w.ndim !== 4 || w.size === 0) {
      throw new ShapeError(
        `Conv2d.fromParameters: weight is ${shapeString(w.shape)}, expected [out, in/groups, kh, kw], non-empty`,
      );
    }
    const [outChannels, perGroup, kh, kw] = w.shape as [number, number, number, number];
    const b = bias === null ? null : asTensor(bias);
    if (b !== null && (b.ndim !== 1 || b.shape[0] !== outChannels)) {
      throw new ShapeError(
        `Conv2d.fromParameters: bias is ${shapeString(b.shape)}, expected [${outChannels}] for weight ${shapeString(w.shape)}`,
      );
    }
    assertFinite(w.data, 'Conv2d.fromParameters: weight');
    if (b !== null) assertFinite(b.data, 'Conv2d.fromParameters: bias');
    const layer = new Conv2d(perGroup * groups, outChannels, [kh, kw], {
      ...options,
      bias: b !== null,
      seed: 0,
    });
    layer.weight = w;
    layer.bias = b;
    return layer;
  }

  /** "Conv2d(1→4, 3×3)", for error messages. */
  private get label(): string {
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize[0]}×${this.kernelSize[1]})`;
  }

  parameters(): Tensor[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }

  setParameters(params: readonly Tensor[]): void {
    this.weight = params[0]!;
    this.bias = this.bias === null ? null : params[1]!;
  }

  outputShape(inputShape: Shape): Shape {
    if (inputShape.length !== 3 || inputShape[0] !== this.inChannels) {
      throw new ShapeError(
        `${this.label}: input must be [${this.inChannels}, H, W], got ${shapeString(inputShape)}`,
      );
    }
    const size = (k: 0 | 1) =>
      Math.floor(
        (inputShape[k + 1]! + 2 * this.padding[k] - this.dilation[k] * (this.kernelSize[k] - 1) - 1) /
          this.stride[k],
      ) + 1;
    const shape = [this.outChannels, size(0), size(1)];
    if (shape[1]! < 1 || shape[2]! < 1) {
      throw new ShapeError(
        `${this.label}: input ${shapeString(inputShape)} is smaller than the kernel with padding [${this.padding.join(', ')}] and dilation [${this.dilation.join(', ')}]`,
      );
    }
    return shape;
  }

  apply(params: readonly Tensor[], x: Tensor): Tensor {
    if (x.ndim !== 4)
      throw new ShapeError(
        `${this.label}: input must be [n, ${this.inChannels}, H, W], got ${shapeString(x.shape)}`,
      );
    this.outputShape(x.shape.slice(1));
    return conv2d(x, params[0]!, this.bias === null ? null : params[1]!, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  toJSON(): LayerJSON {
    return {
      type: this.type,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      dilation: [...this.dilation],
      groups: this.groups,
      weight: this.weight.toArray(),
      bias: this.bias === null ? null : this.bias.toArray(),
    };
  }

  /** The layer from its JSON form, every field checked; errors name `what` and the field. */
  static fromJSON(json: Record<string, unknown>, what: string): Conv2d {
    const s = asObject(json, what);
    const inChannels = readInteger(s, 'inChannels', what, 1);
    const outChannels = readInteger(s, 'outChannels', what, 1);
    const groups = readInteger(s, 'groups', what, 1, 1);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new ValueError(
        `${what}.groups (${groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`,
      );
    }
    const kernelSize = readPair(s, 'kernelSize', what, 1);
    const layer = new Conv2d(inChannels, outChannels, kernelSize, {
      stride: readPair(s, 'stride', what, 1, [1, 1]),
      padding: readPair(s, 'padding', what, 0, [0, 0]),
      dilation: readPair(s, 'dilation', what, 1, [1, 1]),
      groups,
      bias: s['bias'] !== null && s['bias'] !== undefined,
      seed: 0,
    });
    layer.weight = readTensor(s, 'weight', what, [outChannels, inChannels / groups, ...kernelSize]);
    layer.bias = readOptionalTensor(s, 'bias', what, [outChannels]);
    return layer;
  }
}
