/**
 * Layers.
 *
 * A `Linear` layer is the affine map y = x Wᵀ + b with PyTorch's layout: W is
 * [out, in] and b is [out], so a batch x of shape [n, in] maps to [n, out].
 * PyTorch initialises both W and b from U(−1/√in, 1/√in) (Kaiming-uniform with
 * a = √5 reduces to exactly this bound for W); we do the same from a seed.
 *
 * An activation is an elementwise σ written with the differentiable ops, so
 * every transformation (grad, jvp, vmap) goes through it; the Laplace code's
 * hand-written Jacobians (src/laplace/network.ts) call `apply` and take σ′ by
 * jvp, so these are the only definitions. Values and derivatives, kinks included:
 *
 *   identity    z                                   1
 *   tanh        tanh z                              1 − tanh² z
 *   sigmoid     1/(1 + e⁻ᶻ)                         σ(z)(1 − σ(z))
 *   relu        max(z, 0)                           1 if z > 0 else 0
 *   leakyrelu   z if z > 0 else s·z   (s = 0.01)    1 if z > 0 else s
 *   elu         z if z > 0 else α(eᶻ − 1) (α = 1)   1 if z > 0 else α·eᶻ
 *   softplus    log(1 + eᶻ) (β = 1)                 σ(z)
 *   gelu        z·Φ(z), Φ the normal CDF (exact)    Φ(z) + z·φ(z)
 *
 * These match PyTorch's forward and backward, kinks included.
 */

import { Tracer } from '../autodiff/core.js';
import { expm1, gelu, greater, linear, mul, relu, sigmoid, softplus, tanh, where } from '../autodiff/ops.js';
import { assertFinite, ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';
import { asTensor, rand, type Shape, shapeString, shapesEqual, Tensor, type TensorLike } from '../tensor.js';
import type { Layer, LayerJSON } from './module.js';

/** The activations a `Sequential` may hold, by their JSON `type`. */
export type ActivationName =
  | 'tanh'
  | 'relu'
  | 'sigmoid'
  | 'gelu'
  | 'softplus'
  | 'leakyrelu'
  | 'elu'
  | 'identity';

export const ACTIVATION_NAMES: readonly ActivationName[] = [
  'tanh',
  'relu',
  'sigmoid',
  'gelu',
  'softplus',
  'leakyrelu',
  'elu',
  'identity',
];

/** True for a Tensor with storage (not a tracer inside grad, jvp or vmap). */
export function isConcrete(x: Tensor): boolean {
  return !(x instanceof Tracer);
}

function assertPositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw new ValueError(`${what} must be a positive integer, got ${value}`);
}

/** y = x Wᵀ + b, weight [out, in], bias [out] (or none). */
export class Linear implements Layer {
  readonly type = 'linear' as const;
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  /** PyTorch's default initialisation: weight and bias ~ U(−1/√in, 1/√in), from `seed`. */
  constructor(
    inFeatures: number,
    outFeatures: number,
    { bias = true, seed }: { bias?: boolean; seed: RngLike },
  ) {
    assertPositiveInteger(inFeatures, 'Linear: inFeatures');
    assertPositiveInteger(outFeatures, 'Linear: outFeatures');
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = toRng(seed);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = rand([outFeatures, inFeatures], rng, -bound, bound);
    this.bias = bias ? rand([outFeatures], rng, -bound, bound) : null;
  }

  /** A layer holding the given weight [out, in] and bias [out] (or null), e.g. trained elsewhere. */
  static fromParameters(weight: TensorLike, bias: TensorLike | null = null): Linear {
    const w = asTensor(weight);
    if (w.ndim !== 2 || w.shape[0] === 0 || w.shape[1] === 0) {
      throw new ShapeError(
        `Linear.fromParameters: weight is ${shapeString(w.shape)}, expected [out, in] with out, in ≥ 1`,
      );
    }
    const [outFeatures, inFeatures] = w.shape as [number, number];
    const b = bias === null ? null : asTensor(bias);
    if (b !== null && (b.ndim !== 1 || b.shape[0] !== outFeatures)) {
      throw new ShapeError(
        `Linear.fromParameters: bias is ${shapeString(b.shape)}, expected [${outFeatures}] for weight ${shapeString(w.shape)}`,
      );
    }
    assertFinite(w.data, 'Linear.fromParameters: weight');
    if (b !== null) assertFinite(b.data, 'Linear.fromParameters: bias');
    const layer = new Linear(inFeatures, outFeatures, { bias: b !== null, seed: 0 });
    layer.weight = w;
    layer.bias = b;
    return layer;
  }

  /** A Linear layer from its JSON form, every field checked (`what` prefixes errors). */
  static fromJSON(spec: Record<string, unknown>, what: string): Linear {
    return linearFromJSON(spec, what);
  }

  parameters(): Tensor[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  setParameters(params: readonly Tensor[]): void {
    this.weight = params[0]!;
    if (this.bias) this.bias = params[1]!;
  }

  outputShape(inputShape: Shape): Shape {
    if (!shapesEqual(inputShape, [this.inFeatures])) {
      throw new ShapeError(
        `Linear(${this.inFeatures} → ${this.outFeatures}): expects inputs of shape [${this.inFeatures}] but receives ${shapeString(inputShape)}`,
      );
    }
    return [this.outFeatures];
  }

  apply(params: readonly Tensor[], x: Tensor): Tensor {
    return linear(x, params[0]!, params[1] ?? null);
  }

  toJSON(): LayerJSON {
    return {
      type: 'linear',
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      weight: this.weight.toArray() as number[][],
      bias: this.bias ? (this.bias.toArray() as number[]) : null,
    };
  }
}

/** An elementwise nonlinearity σ with no parameters; `forward` is differentiable (built from ops). */
export abstract class Activation implements Layer {
  abstract readonly type: ActivationName;
  /**
   * σ(a) ≤ σ(b) whenever a ≤ b, exactly in floating point, and σ(a) = σ(b) for
   * a ≠ b only where σ′ = 0: then σ commutes with a maximum and sends the
   * gradient where the maximum does. Only relu says so (max(z, 0) is); Math.tanh
   * and Math.exp carry no such guarantee, and a leaky relu's small slope can
   * underflow to ties where σ′ ≠ 0.
   */
  readonly nonDecreasing: boolean = false;
  /** σ applied elementwise. */
  abstract forward(x: Tensor): Tensor;
  parameters(): Tensor[] {
    return [];
  }
  setParameters(): void {}
  outputShape(inputShape: Shape): Shape {
    return inputShape;
  }
  apply(_params: readonly Tensor[], x: Tensor): Tensor {
    return this.forward(x);
  }
  toJSON(): LayerJSON {
    return { type: this.type };
  }
}

export class Identity extends Activation {
  readonly type = 'identity' as const;
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class Tanh extends Activation {
  readonly type = 'tanh' as const;
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Sigmoid extends Activation {
  readonly type = 'sigmoid' as const;
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class ReLU extends Activation {
  readonly type = 'relu' as const;
  override readonly nonDecreasing = true;
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Softplus with β = 1: log(1 + eᶻ) = max(z, 0) + log1p(e^−|z|), stable for any |z|. */
export class Softplus extends Activation {
  readonly type = 'softplus' as const;
  forward(x: Tensor): Tensor {
    return softplus(x);
  }
}

/** The exact GELU z·Φ(z) = ½ z erfc(−z/√2), PyTorch's default (not the tanh approximation). */
export class GELU extends Activation {
  readonly type = 'gelu' as const;
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}

export class LeakyReLU extends Activation {
  readonly type = 'leakyrelu' as const;
  readonly negativeSlope: number;
  constructor(negativeSlope = 0.01) {
    super();
    if (!Number.isFinite(negativeSlope)) {
      throw new ValueError(`LeakyReLU: negativeSlope must be finite, got ${negativeSlope}`);
    }
    this.negativeSlope = negativeSlope;
  }
  override toJSON(): LayerJSON {
    return { type: this.type, negativeSlope: this.negativeSlope };
  }
  forward(x: Tensor): Tensor {
    return where(greater(x, 0), x, mul(x, this.negativeSlope));
  }
}

export class ELU extends Activation {
  readonly type = 'elu' as const;
  readonly alpha: number;
  constructor(alpha = 1) {
    super();
    if (!Number.isFinite(alpha)) throw new ValueError(`ELU: alpha must be finite, got ${alpha}`);
    this.alpha = alpha;
  }
  override toJSON(): LayerJSON {
    return { type: this.type, alpha: this.alpha };
  }
  forward(x: Tensor): Tensor {
    // expm1 sees only the non-positive part: for large z > 0, expm1(z) would be
    // +∞ and its derivative ∞·0 = NaN even in the branch `where` discards.
    const positive = greater(x, 0);
    const negativePart = where(positive, 0, x);
    return where(positive, x, mul(expm1(negativePart), this.alpha));
  }
}

/** A fresh activation layer by name (default slope/alpha unless given). */
export function activation(
  name: ActivationName,
  options: { negativeSlope?: number; alpha?: number } = {},
): Activation {
  switch (name) {
    case 'identity':
      return new Identity();
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
    case 'relu':
      return new ReLU();
    case 'softplus':
      return new Softplus();
    case 'gelu':
      return new GELU();
    case 'leakyrelu':
      return new LeakyReLU(options.negativeSlope);
    case 'elu':
      return new ELU(options.alpha);
    default:
      throw new ValueError(
        `activation: unknown activation '${String(name)}'; expected one of ${ACTIVATION_NAMES.join(', ')}`,
      );
  }
}

/** A Linear layer from its JSON form, every field checked (`what` prefixes errors). */
function linearFromJSON(s: Record<string, unknown>, what: string): Linear {
  const inFeatures = s['inFeatures'];
  const outFeatures = s['outFeatures'];
  for (const [key, v] of [
    ['inFeatures', inFeatures],
    ['outFeatures', outFeatures],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new ValueError(`${what}.${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  const n = inFeatures as number;
  const m = outFeatures as number;
  const weight = s['weight'];
  if (!Array.isArray(weight) || weight.length !== m) {
    throw new ShapeError(
      `${what}.weight must be ${m} rows (outFeatures) of ${n} numbers, got ${describeArray(weight)}`,
    );
  }
  const w = new Float64Array(m * n);
  weight.forEach((row: unknown, r: number) => {
    if (!Array.isArray(row) || row.length !== n) {
      throw new ShapeError(
        `${what}.weight[${r}] must have ${n} numbers (inFeatures; weight is [out][in]), got ${describeArray(row)}`,
      );
    }
    row.forEach((v: unknown, c: number) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ValueError(`${what}.weight[${r}][${c}] must be a finite number, got ${JSON.stringify(v)}`);
      }
      w[r * n + c] = v;
    });
  });
  const bias = s['bias'];
  let b: Float64Array | null = null;
  if (bias !== null && bias !== undefined) {
    if (!Array.isArray(bias) || bias.length !== m) {
      throw new ShapeError(
        `${what}.bias must be null or ${m} numbers (outFeatures), got ${describeArray(bias)}`,
      );
    }
    b = new Float64Array(m);
    bias.forEach((v: unknown, j: number) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ValueError(`${what}.bias[${j}] must be a finite number, got ${JSON.stringify(v)}`);
      }
      b![j] = v;
    });
  }
  return Linear.fromParameters(new Tensor(w, [m, n]), b === null ? null : new Tensor(b, [m]));
}

function describeArray(x: unknown): string {
  return Array.isArray(x) ? `an array of length ${x.length}` : (JSON.stringify(x) ?? String(x));
}
