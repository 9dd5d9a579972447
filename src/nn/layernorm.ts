/**
 * Layer normalisation, PyTorch's `nn.LayerNorm(normalizedShape)`: each
 * example's trailing axes of shape `normalizedShape` (D values) are normalised
 * by their own mean and biased variance,
 *
 *   y = (x − μ) / √(σ² + ε) · γ + β,   μ = Σx/D,  σ² = Σ(x − μ)²/D,
 *
 * with γ and β of shape `normalizedShape` (elementwise affine, weight then
 * bias) when `elementwiseAffine`, the default. Differentiable in x, γ and β.
 */
import { add, div, mean, mul, sqrt, square, sub } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { ones, type Shape, shapeString, shapesEqual, type Tensor, zeros } from '../tensor.js';
import { asObject, readNumber, readOptionalTensor, readShape } from './fields.js';
import type { Layer, LayerJSON } from './module.js';

export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Whether the layer has γ and β (default true). */
  elementwiseAffine?: boolean;
}

export class LayerNorm implements Layer {
  readonly type = 'layernorm';
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ValueError(
        `LayerNorm: normalizedShape must be positive integers, got ${JSON.stringify(normalizedShape)}`,
      );
    }
    const eps = options.eps ?? 1e-5;
    if (!(Number.isFinite(eps) && eps >= 0))
      throw new ValueError(`LayerNorm: eps must be a finite number ≥ 0, got ${eps}`);
    this.normalizedShape = shape;
    this.eps = eps;
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? ones(shape) : null;
    this.bias = affine ? zeros(shape) : null;
  }

  private get label(): string {
    return `LayerNorm(${shapeString(this.normalizedShape)})`;
  }

  parameters(): Tensor[] {
    return this.weight === null || this.bias === null ? [] : [this.weight, this.bias];
  }

  setParameters(params: readonly Tensor[]): void {
    if (this.weight === null) return;
    this.weight = params[0]!;
    this.bias = params[1]!;
  }

  outputShape(inputShape: Shape): Shape {
    const k = this.normalizedShape.length;
    if (
      inputShape.length < k ||
      !shapesEqual(inputShape.slice(inputShape.length - k), this.normalizedShape)
    ) {
      throw new ShapeError(
        `${this.label}: each example must end in ${shapeString(this.normalizedShape)}, got ${shapeString(inputShape)}`,
      );
    }
    return inputShape;
  }

  apply(params: readonly Tensor[], x: Tensor): Tensor {
    if (x.ndim < 1)
      throw new ShapeError(`${this.label}: input must be a batch [n, ...], got ${shapeString(x.shape)}`);
    this.outputShape(x.shape.slice(1));
    const axes = this.normalizedShape.map((_, i) => x.ndim - this.normalizedShape.length + i);
    const centred = sub(x, mean(x, axes, true));
    const variance = mean(square(centred), axes, true);
    const normalised = div(centred, sqrt(add(variance, this.eps)));
    if (this.weight === null) return normalised;
    return add(mul(normalised, params[0]!), params[1]!);
  }

  toJSON(): LayerJSON {
    return {
      type: this.type,
      normalizedShape: [...this.normalizedShape],
      eps: this.eps,
      weight: this.weight === null ? null : this.weight.toArray(),
      bias: this.bias === null ? null : this.bias.toArray(),
    };
  }

  static fromJSON(json: Record<string, unknown>, what: string): LayerNorm {
    const s = asObject(json, what);
    const normalizedShape = readShape(s, 'normalizedShape', what);
    const eps = readNumber(s, 'eps', what, (v) => v >= 0, 'a finite number ≥ 0', 1e-5);
    const weight = readOptionalTensor(s, 'weight', what, normalizedShape);
    const bias = readOptionalTensor(s, 'bias', what, normalizedShape);
    if ((weight === null) !== (bias === null)) {
      throw new ValueError(
        `${what}: weight and bias must both be present (elementwise affine) or both be null`,
      );
    }
    const layer = new LayerNorm(normalizedShape, { eps, elementwiseAffine: weight !== null });
    layer.weight = weight;
    layer.bias = bias;
    return layer;
  }
}
