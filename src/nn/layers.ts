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
import { expm1, gelu, greater, mul, relu, sigmoid, softplus, tanh, where } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';
import { asTensor, rand, shapeString, type Tensor, type TensorLike } from '../tensor.js';

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

/** Throw unless every value is finite, naming `what` and the first offender. */
export function assertFinite(values: Float64Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!))
      throw new ValueError(`${what} has a non-finite value ${values[i]} at index ${i}`);
  }
}

/** True for a Tensor with storage (not a tracer inside grad, jvp or vmap). */
export function isConcrete(x: Tensor): boolean {
  return !(x instanceof Tracer);
}

function assertPositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw new ValueError(`${what} must be a positive integer, got ${value}`);
}

/** y = x Wᵀ + b, weight [out, in], bias [out] (or none). */
export class Linear {
  readonly kind = 'linear' as const;
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
}

/** An elementwise nonlinearity; `apply` is differentiable (built from ops). */
export abstract class Activation {
  readonly kind = 'activation' as const;
  abstract readonly name: ActivationName;
  abstract apply(x: Tensor): Tensor;
}

export class Identity extends Activation {
  readonly name = 'identity' as const;
  apply(x: Tensor): Tensor {
    return x;
  }
}

export class Tanh extends Activation {
  readonly name = 'tanh' as const;
  apply(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Sigmoid extends Activation {
  readonly name = 'sigmoid' as const;
  apply(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class ReLU extends Activation {
  readonly name = 'relu' as const;
  apply(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Softplus with β = 1: log(1 + eᶻ) = max(z, 0) + log1p(e^−|z|), stable for any |z|. */
export class Softplus extends Activation {
  readonly name = 'softplus' as const;
  apply(x: Tensor): Tensor {
    return softplus(x);
  }
}

/** The exact GELU z·Φ(z) = ½ z erfc(−z/√2), PyTorch's default (not the tanh approximation). */
export class GELU extends Activation {
  readonly name = 'gelu' as const;
  apply(x: Tensor): Tensor {
    return gelu(x);
  }
}

export class LeakyReLU extends Activation {
  readonly name = 'leakyrelu' as const;
  readonly negativeSlope: number;
  constructor(negativeSlope = 0.01) {
    super();
    if (!Number.isFinite(negativeSlope)) {
      throw new ValueError(`LeakyReLU: negativeSlope must be finite, got ${negativeSlope}`);
    }
    this.negativeSlope = negativeSlope;
  }
  apply(x: Tensor): Tensor {
    return where(greater(x, 0), x, mul(x, this.negativeSlope));
  }
}

export class ELU extends Activation {
  readonly name = 'elu' as const;
  readonly alpha: number;
  constructor(alpha = 1) {
    super();
    if (!Number.isFinite(alpha)) throw new ValueError(`ELU: alpha must be finite, got ${alpha}`);
    this.alpha = alpha;
  }
  apply(x: Tensor): Tensor {
    // expm1 sees only the non-positive part: for large z > 0, expm1(z) would be
    // +∞ and its derivative ∞·0 = NaN even in the branch `where` discards.
    const positive = greater(x, 0);
    const negativePart = where(positive, 0, x);
    return where(positive, x, mul(expm1(negativePart), this.alpha));
  }
}

export type Layer = Linear | Activation;

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
