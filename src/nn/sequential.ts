/**
 * Sequential networks.
 *
 * A `Sequential` composes its layers, f = hₗ ∘ … ∘ h₁. Its parameters θ are the
 * weights and biases of its Linear layers, seen in two ways:
 *
 *   a pytree   [{ weight, bias }, …], one entry per Linear layer in order
 *              (`bias` absent for a layer without one), which is what
 *              `grad(p => loss(model.apply(p, x)))` differentiates;
 *   a vector   θ ∈ ℝᴾ in PyTorch's `parameters_to_vector` order: per Linear
 *              layer, the weight [out, in] row-major, then the bias. This is
 *              the order of every Laplace posterior covariance.
 *
 * `apply(params, x)` is the pure function f(θ, x); `forward(x)` uses the
 * model's own parameters. Training replaces the tensors held by the Linear
 * layers (`setParameters`); tensors themselves are never mutated.
 *
 * The JSON form is framework-neutral, so a network trained in PyTorch
 * (`layer.weight.tolist()`, already [out, in]) or Keras (`kernel.T`, since a
 * Dense kernel is [in, out]) can be brought in:
 *
 *   { layers: [{ type: 'linear', inFeatures, outFeatures, weight, bias },
 *              { type: 'tanh' }, { type: 'leakyrelu', negativeSlope }, …] }
 */

import { linear } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';
import { asTensor, shapeString, shapesEqual, sizeOf, Tensor, type TensorLike } from '../tensor.js';
import {
  ACTIVATION_NAMES,
  Activation,
  type ActivationName,
  activation,
  assertFinite,
  ELU,
  isConcrete,
  type Layer,
  LeakyReLU,
  Linear,
} from './layers.js';

/** One Linear layer's parameters. A type alias (not an interface) so it is a pytree. */
export type LinearParams = { weight: Tensor; bias?: Tensor };

/** A Sequential's parameters as a pytree: one entry per Linear layer, in order. */
export type Params = LinearParams[];

export type LayerJSON =
  | { type: 'linear'; inFeatures: number; outFeatures: number; weight: number[][]; bias: number[] | null }
  | { type: 'leakyrelu'; negativeSlope: number }
  | { type: 'elu'; alpha: number }
  | { type: Exclude<ActivationName, 'leakyrelu' | 'elu'> };

export interface SequentialJSON {
  layers: LayerJSON[];
}

export class Sequential {
  readonly layers: Layer[];

  /** Compose `layers`; consecutive Linear layers must chain (out of one = in of the next). */
  constructor(layers: Layer[]) {
    if (!Array.isArray(layers))
      throw new ValueError('Sequential: layers must be an array of Linear and activation layers');
    let width = -1;
    let linearCount = 0;
    layers.forEach((layer, i) => {
      if (layer instanceof Linear) {
        if (width >= 0 && layer.inFeatures !== width) {
          throw new ShapeError(
            `Sequential: layer ${i} (Linear ${layer.inFeatures} → ${layer.outFeatures}) expects ${layer.inFeatures} inputs but the previous Linear gives ${width}`,
          );
        }
        width = layer.outFeatures;
        linearCount++;
      } else if (!(layer instanceof Activation)) {
        throw new ValueError(`Sequential: layer ${i} is neither a Linear nor an Activation`);
      }
    });
    if (linearCount === 0) throw new ValueError('Sequential: needs at least one Linear layer');
    this.layers = [...layers];
  }

  /**
   * A multilayer perceptron with Linear layers of the given widths, e.g.
   * [1, 50, 50, 1], and `activation` (default tanh) between them, none after
   * the last. The layers are initialised in order from one generator.
   */
  static mlp(
    sizes: number[],
    { activation: name = 'tanh', seed }: { activation?: ActivationName; seed: RngLike },
  ): Sequential {
    if (!Array.isArray(sizes) || sizes.length < 2) {
      throw new ValueError(
        `Sequential.mlp: sizes needs at least an input and an output width, got [${String(sizes)}]`,
      );
    }
    activation(name); // validates the name even for a single Linear layer
    const rng = toRng(seed);
    const layers: Layer[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      if (i > 0) layers.push(activation(name));
      layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { seed: rng }));
    }
    return new Sequential(layers);
  }

  get linearLayers(): Linear[] {
    return this.layers.filter((l): l is Linear => l instanceof Linear);
  }

  get inFeatures(): number {
    return this.linearLayers[0]!.inFeatures;
  }

  get outFeatures(): number {
    const linears = this.linearLayers;
    return linears[linears.length - 1]!.outFeatures;
  }

  /** P, the number of scalar parameters. */
  get nParams(): number {
    let p = 0;
    for (const l of this.linearLayers) p += l.weight.size + (l.bias?.size ?? 0);
    return p;
  }

  /** The current parameters as a pytree (the layers' own tensors, not copies). */
  parameters(): Params {
    return this.linearLayers.map((l) => (l.bias ? { weight: l.weight, bias: l.bias } : { weight: l.weight }));
  }

  /** Replace the Linear layers' tensors with those of `params` (shapes checked, values finite). */
  setParameters(params: Params): void {
    checkParams(this, params, 'setParameters', true);
    this.linearLayers.forEach((l, i) => {
      l.weight = params[i]!.weight;
      if (l.bias) l.bias = params[i]!.bias!;
    });
  }

  /** θ in PyTorch order: per Linear layer, weight row-major, then bias. A copy. */
  flatParameters(): Float64Array {
    return ravel(this.parameters());
  }

  setFlatParameters(theta: Float64Array): void {
    this.setParameters(unravel(this, theta));
  }

  /**
   * f(params, x): the network's output for inputs x of shape [n, in] (or one
   * input [in]), differentiable with respect to both. Pure: the model's own
   * parameters are not used, only its architecture.
   */
  apply(params: Params, x: TensorLike): Tensor {
    checkParams(this, params, 'apply', false);
    let h = asTensor(x);
    const inFeatures = this.inFeatures;
    if ((h.ndim !== 1 && h.ndim !== 2) || h.shape[h.ndim - 1] !== inFeatures) {
      throw new ShapeError(
        `Sequential.apply: x is ${shapeString(h.shape)}, expected [n, ${inFeatures}] or [${inFeatures}]`,
      );
    }
    let k = 0;
    for (const layer of this.layers) {
      if (layer instanceof Linear) {
        const p = params[k++]!;
        h = linear(h, p.weight, p.bias ?? null);
      } else {
        h = layer.apply(h);
      }
    }
    return h;
  }

  /** The output for inputs x ([n, in] or [in]) with the current parameters. */
  forward(x: TensorLike): Tensor {
    const xt = asTensor(x);
    if (isConcrete(xt)) assertFinite(xt.data, 'Sequential.forward: x');
    return this.apply(this.parameters(), xt);
  }

  toJSON(): SequentialJSON {
    return {
      layers: this.layers.map((layer): LayerJSON => {
        if (layer instanceof Linear) {
          return {
            type: 'linear',
            inFeatures: layer.inFeatures,
            outFeatures: layer.outFeatures,
            weight: layer.weight.toArray() as number[][],
            bias: layer.bias ? (layer.bias.toArray() as number[]) : null,
          };
        }
        if (layer instanceof LeakyReLU) return { type: 'leakyrelu', negativeSlope: layer.negativeSlope };
        if (layer instanceof ELU) return { type: 'elu', alpha: layer.alpha };
        return { type: layer.name as Exclude<ActivationName, 'leakyrelu' | 'elu'> };
      }),
    };
  }

  /**
   * Rebuild a network from its JSON form, checking every field: layer types,
   * integer sizes, weight [out][in] and bias [out] of finite numbers, and that
   * each Linear's inFeatures equals the previous Linear's outFeatures.
   */
  static fromJSON(json: SequentialJSON): Sequential {
    const what = 'Sequential.fromJSON';
    if (typeof json !== 'object' || json === null || !Array.isArray(json.layers)) {
      throw new ValueError(`${what}: expected an object { layers: [...] }`);
    }
    const layers = json.layers.map((spec: unknown, i: number): Layer => {
      if (typeof spec !== 'object' || spec === null)
        throw new ValueError(`${what}: layers[${i}] is not an object`);
      const s = spec as Record<string, unknown>;
      const type = s['type'];
      if (type === 'linear') return linearFromJSON(s, `${what}: layers[${i}]`);
      if (typeof type !== 'string' || !(ACTIVATION_NAMES as readonly string[]).includes(type)) {
        throw new ValueError(
          `${what}: layers[${i}] has unknown type ${JSON.stringify(type)}; expected 'linear' or one of ${ACTIVATION_NAMES.join(', ')}`,
        );
      }
      const option = (key: string): number | undefined => {
        const v = s[key];
        if (v === undefined) return undefined;
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new ValueError(
            `${what}: layers[${i}].${key} must be a finite number, got ${JSON.stringify(v)}`,
          );
        }
        return v;
      };
      const negativeSlope = option('negativeSlope');
      const alpha = option('alpha');
      return activation(type as ActivationName, {
        ...(negativeSlope !== undefined ? { negativeSlope } : {}),
        ...(alpha !== undefined ? { alpha } : {}),
      });
    });
    const linears = layers.filter((l): l is Linear => l instanceof Linear);
    for (let k = 1; k < linears.length; k++) {
      if (linears[k]!.inFeatures !== linears[k - 1]!.outFeatures) {
        throw new ShapeError(
          `${what}: Linear layer ${k} has inFeatures ${linears[k]!.inFeatures} but Linear layer ${k - 1} has outFeatures ${linears[k - 1]!.outFeatures}`,
        );
      }
    }
    return new Sequential(layers);
  }
}

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

/** Validate a parameter pytree against the model's Linear layers. */
function checkParams(model: Sequential, params: Params, method: string, concrete: boolean): void {
  const linears = model.linearLayers;
  const what = `Sequential.${method}`;
  if (!Array.isArray(params) || params.length !== linears.length) {
    throw new ValueError(
      `${what}: params must be an array of ${linears.length} { weight, bias } entries (one per Linear layer), got ${Array.isArray(params) ? `${params.length} entries` : typeof params}`,
    );
  }
  linears.forEach((l, i) => {
    const p = params[i];
    if (typeof p !== 'object' || p === null || !(p.weight instanceof Tensor)) {
      throw new ValueError(`${what}: params[${i}].weight must be a Tensor`);
    }
    if (!shapesEqual(p.weight.shape, [l.outFeatures, l.inFeatures])) {
      throw new ShapeError(
        `${what}: params[${i}].weight is ${shapeString(p.weight.shape)}, expected [${l.outFeatures}, ${l.inFeatures}]`,
      );
    }
    if (l.bias === null) {
      if (p.bias !== undefined && p.bias !== null) {
        throw new ShapeError(`${what}: params[${i}].bias is given but Linear layer ${i} has no bias`);
      }
    } else if (!(p.bias instanceof Tensor) || !shapesEqual(p.bias.shape, [l.outFeatures])) {
      throw new ShapeError(
        `${what}: params[${i}].bias is ${p.bias instanceof Tensor ? shapeString(p.bias.shape) : 'missing'}, expected [${l.outFeatures}]`,
      );
    }
    if (concrete) {
      if (!isConcrete(p.weight) || (p.bias && !isConcrete(p.bias))) {
        throw new ValueError(`${what}: params[${i}] holds traced values; pass concrete tensors`);
      }
      assertFinite(p.weight.data, `${what}: params[${i}].weight`);
      if (p.bias) assertFinite(p.bias.data, `${what}: params[${i}].bias`);
    }
  });
}

/** θ from a parameter pytree, in PyTorch order (weight row-major, then bias, per layer). */
export function ravel(params: Params): Float64Array {
  let size = 0;
  for (const p of params) size += p.weight.size + (p.bias?.size ?? 0);
  const theta = new Float64Array(size);
  let offset = 0;
  for (const p of params) {
    theta.set(p.weight.data, offset);
    offset += p.weight.size;
    if (p.bias) {
      theta.set(p.bias.data, offset);
      offset += p.bias.size;
    }
  }
  return theta;
}

/** The parameter pytree of `model`'s architecture holding θ (copied), the inverse of `ravel`. */
export function unravel(model: Sequential, theta: Float64Array): Params {
  const p = model.nParams;
  if (!(theta instanceof Float64Array) || theta.length !== p) {
    throw new ShapeError(
      `unravel: theta has ${theta instanceof Float64Array ? `${theta.length} values` : 'the wrong type'}, the model has ${p} parameters`,
    );
  }
  let offset = 0;
  const take = (shape: number[]): Tensor => {
    const n = sizeOf(shape);
    const t = new Tensor(theta.slice(offset, offset + n), shape);
    offset += n;
    return t;
  };
  return model.linearLayers.map((l) => {
    const weight = take([l.outFeatures, l.inFeatures]);
    return l.bias ? { weight, bias: take([l.outFeatures]) } : { weight };
  });
}
