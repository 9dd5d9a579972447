/**
 * Batch normalisation at prediction time, PyTorch's `nn.BatchNorm1d` and
 * `nn.BatchNorm2d` in eval mode: with the running mean μ and variance σ² of
 * each channel c (buffers, not parameters),
 *
 *   y[·, c, ·] = (x[·, c, ·] − μ_c) / √(σ²_c + ε) · γ_c + β_c,
 *
 * an affine map per channel, computed as x·s + t with s = γ/√(σ² + ε) and
 * t = β − μ·s, so it stays differentiable in γ and β. BatchNorm1d takes
 * examples [C] or [C, L], BatchNorm2d [C, H, W]. `parameters()` is [γ, β]
 * (weight then bias, as PyTorch) when affine, else [].
 *
 * The running statistics are only read: the layer always normalises as
 * PyTorch's eval mode does, also in training (it does not update the
 * statistics from batches). That is the function a Laplace approximation
 * linearises, a trained network's prediction.
 */
import { add, mul, reshape, sub } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { ones, type Shape, shapeString, Tensor, zeros } from '../tensor.js';
import { asObject, readInteger, readNumber, readOptionalTensor, readTensor } from './fields.js';
import type { Layer, LayerJSON } from './module.js';

export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Whether the layer has γ and β (default true; otherwise γ = 1, β = 0). */
  affine?: boolean;
}

abstract class BatchNorm implements Layer {
  abstract readonly type: 'batchnorm1d' | 'batchnorm2d';
  readonly numFeatures: number;
  readonly eps: number;
  /** Running mean and variance per channel (buffers). */
  runningMean: Tensor;
  runningVar: Tensor;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(numFeatures: number, options: BatchNormOptions, label: string) {
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new ValueError(`${label}: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    const eps = options.eps ?? 1e-5;
    if (!(Number.isFinite(eps) && eps >= 0))
      throw new ValueError(`${label}: eps must be a finite number ≥ 0, got ${eps}`);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.runningMean = zeros([numFeatures]);
    this.runningVar = ones([numFeatures]);
    const affine = options.affine ?? true;
    this.weight = affine ? ones([numFeatures]) : null;
    this.bias = affine ? zeros([numFeatures]) : null;
  }

  protected abstract get label(): string;
  /** Axes of one example (channel first) this layer accepts. */
  protected abstract checkExample(shape: Shape): void;

  parameters(): Tensor[] {
    return this.weight === null || this.bias === null ? [] : [this.weight, this.bias];
  }

  setParameters(params: readonly Tensor[]): void {
    if (this.weight === null) return;
    this.weight = params[0]!;
    this.bias = params[1]!;
  }

  /** Replace the running statistics (e.g. from a trained PyTorch model), checking shapes and values. */
  setRunningStats(mean: Tensor, variance: Tensor): void {
    for (const [name, t] of [
      ['runningMean', mean],
      ['runningVar', variance],
    ] as const) {
      if (t.ndim !== 1 || t.shape[0] !== this.numFeatures) {
        throw new ShapeError(
          `${this.label}: ${name} must be [${this.numFeatures}], got ${shapeString(t.shape)}`,
        );
      }
    }
    if (variance.data.some((v) => !(v >= 0) || !Number.isFinite(v))) {
      throw new ValueError(`${this.label}: runningVar must be finite and ≥ 0`);
    }
    this.runningMean = mean;
    this.runningVar = variance;
  }

  outputShape(inputShape: Shape): Shape {
    this.checkExample(inputShape);
    return inputShape;
  }

  apply(params: readonly Tensor[], x: Tensor): Tensor {
    if (x.ndim < 2)
      throw new ShapeError(
        `${this.label}: input must be a batch [n, ${this.numFeatures}, ...], got ${shapeString(x.shape)}`,
      );
    this.checkExample(x.shape.slice(1));
    const c = this.numFeatures;
    const perChannel = [1, c, ...new Array<number>(x.ndim - 2).fill(1)];
    const invStd = new Float64Array(c);
    for (let k = 0; k < c; k++) invStd[k] = 1 / Math.sqrt(this.runningVar.data[k]! + this.eps);
    const invT = new Tensor(invStd, [c]);
    let scale: Tensor = invT;
    let shift: Tensor = mul(mul(this.runningMean, invT), -1);
    if (this.weight !== null) {
      const [gamma, beta] = params as [Tensor, Tensor];
      scale = mul(gamma, invT);
      shift = sub(beta, mul(this.runningMean, scale));
    }
    return add(mul(x, reshape(scale, perChannel)), reshape(shift, perChannel));
  }

  toJSON(): LayerJSON {
    return {
      type: this.type,
      numFeatures: this.numFeatures,
      eps: this.eps,
      runningMean: this.runningMean.toArray(),
      runningVar: this.runningVar.toArray(),
      weight: this.weight === null ? null : this.weight.toArray(),
      bias: this.bias === null ? null : this.bias.toArray(),
    };
  }

  /** Fill a fresh layer's fields from its JSON form. */
  protected static read<T extends BatchNorm>(
    make: (n: number, o: BatchNormOptions) => T,
    json: Record<string, unknown>,
    what: string,
  ): T {
    const s = asObject(json, what);
    const numFeatures = readInteger(s, 'numFeatures', what, 1);
    const eps = readNumber(s, 'eps', what, (v) => v >= 0, 'a finite number ≥ 0', 1e-5);
    const weight = readOptionalTensor(s, 'weight', what, [numFeatures]);
    const bias = readOptionalTensor(s, 'bias', what, [numFeatures]);
    if ((weight === null) !== (bias === null)) {
      throw new ValueError(`${what}: weight and bias must both be present (affine) or both be null`);
    }
    const layer = make(numFeatures, { eps, affine: weight !== null });
    const mean = readTensor(s, 'runningMean', what, [numFeatures]);
    const variance = readTensor(s, 'runningVar', what, [numFeatures]);
    const negative = variance.data.findIndex((v) => v < 0);
    if (negative >= 0) {
      throw new ValueError(`${what}.runningVar[${negative}] must be ≥ 0, got ${variance.data[negative]}`);
    }
    layer.runningMean = mean;
    layer.runningVar = variance;
    layer.weight = weight;
    layer.bias = bias;
    return layer;
  }
}

/** Batch normalisation of examples [C] or [C, L] (eval mode). */
export class BatchNorm1d extends BatchNorm {
  readonly type = 'batchnorm1d';

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, 'BatchNorm1d');
  }

  protected get label(): string {
    return `BatchNorm1d(${this.numFeatures})`;
  }

  protected checkExample(shape: Shape): void {
    if ((shape.length !== 1 && shape.length !== 2) || shape[0] !== this.numFeatures) {
      throw new ShapeError(
        `${this.label}: each example must be [${this.numFeatures}] or [${this.numFeatures}, L], got ${shapeString(shape)}`,
      );
    }
  }

  static fromJSON(json: Record<string, unknown>, what: string): BatchNorm1d {
    return BatchNorm.read((n, o) => new BatchNorm1d(n, o), json, what);
  }
}

/** Batch normalisation of examples [C, H, W] (eval mode). */
export class BatchNorm2d extends BatchNorm {
  readonly type = 'batchnorm2d';

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, 'BatchNorm2d');
  }

  protected get label(): string {
    return `BatchNorm2d(${this.numFeatures})`;
  }

  protected checkExample(shape: Shape): void {
    if (shape.length !== 3 || shape[0] !== this.numFeatures) {
      throw new ShapeError(
        `${this.label}: each example must be [${this.numFeatures}, H, W], got ${shapeString(shape)}`,
      );
    }
  }

  static fromJSON(json: Record<string, unknown>, what: string): BatchNorm2d {
    return BatchNorm.read((n, o) => new BatchNorm2d(n, o), json, what);
  }
}
