/**
 * Sequential networks.
 *
 * A `Sequential` composes its layers, f = hₗ ∘ … ∘ h₁, each a `Layer`
 * (src/nn/module.ts). Its parameters θ are its layers' parameter tensors, seen
 * in two ways:
 *
 *   a pytree   [[W₁, b₁], [], [W₂, b₂], …], one array per layer in order
 *              (empty for a layer without parameters), which is what
 *              `grad(p => loss(model.apply(p, x)))` differentiates;
 *   a vector   θ ∈ ℝᴾ in PyTorch's `parameters_to_vector` order: layer by
 *              layer, each tensor row-major. This is the order of every
 *              Laplace posterior covariance.
 *
 * `apply(params, x)` is the pure function f(θ, x); `forward(x)` uses the
 * model's own parameters. Training replaces the tensors held by the layers
 * (`setParameters`); tensors themselves are never mutated. A layer that says
 * it `runsBefore` the one preceding it (max pooling after relu) runs first.
 *
 * Shapes are per example. `inputShape` is one example's shape: [d] for an MLP
 * (taken from its first Linear layer), [C, H, W] for images. A batch is
 * [n, ...inputShape], or [n, C·H·W] rows of flattened examples.
 *
 * The JSON form is framework-neutral, so a network trained in PyTorch
 * (`layer.weight.tolist()`, already [out, in]) or Keras (`kernel.T`, since a
 * Dense kernel is [in, out]) can be brought in:
 *
 *   { inputShape?: [C, H, W],
 *     layers: [{ type: 'linear', inFeatures, outFeatures, weight, bias },
 *              { type: 'tanh' }, { type: 'leakyrelu', negativeSlope }, …] }
 */
import { reshape } from '../autodiff/ops.js';
import { assertFinite, ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';
import {
  asTensor,
  type Shape,
  shapeString,
  shapesEqual,
  sizeOf,
  Tensor,
  type TensorLike,
} from '../tensor.js';
import { layerFromJSON } from './json.js';
import { Activation, type ActivationName, activation, isConcrete, Linear } from './layers.js';
import type { ApplyContext, Layer, LayerJSON } from './module.js';

/** A Sequential's parameters as a pytree: one array of tensors per layer, in order. */
export type Params = Tensor[][];

export interface SequentialJSON {
  inputShape?: number[];
  layers: LayerJSON[];
}

export class Sequential {
  readonly layers: Layer[];
  /** One example's input shape. */
  readonly inputShape: Shape;
  /** One example's output shape. */
  readonly outputShape: Shape;

  /**
   * Compose `layers`, checking that each accepts its predecessor's output.
   * `inputShape` is one example's shape; it may be left out when the first
   * layer is Linear (then it is [inFeatures]).
   */
  constructor(layers: Layer[], options: { inputShape?: readonly number[] } = {}) {
    if (!Array.isArray(layers) || layers.length === 0)
      throw new ValueError('Sequential: layers must be a non-empty array of layers');
    layers.forEach((layer, i) => {
      if (typeof layer !== 'object' || layer === null || typeof layer.apply !== 'function') {
        throw new ValueError(`Sequential: layer ${i} is not a layer (Linear, Conv2d, an activation, …)`);
      }
    });
    const given = options.inputShape;
    if (given !== undefined) {
      if (!Array.isArray(given) || given.length === 0 || !given.every((d) => Number.isInteger(d) && d >= 1)) {
        throw new ValueError(
          `Sequential: inputShape must be positive integers such as [3, 32, 32], got ${JSON.stringify(given)}`,
        );
      }
    }
    // Elementwise activations take any shape: the first other layer decides.
    const first = layers.find((l) => !(l instanceof Activation));
    const inputShape = given ?? (first instanceof Linear ? [first.inFeatures] : undefined);
    if (inputShape === undefined) {
      throw new ValueError(
        'Sequential: give options.inputShape (one example, e.g. [1, 28, 28]) when the first layer is not Linear',
      );
    }
    let shape: Shape = [...inputShape];
    layers.forEach((layer, i) => {
      try {
        shape = layer.outputShape(shape);
      } catch (error) {
        if (error instanceof ShapeError || error instanceof ValueError) {
          throw new ShapeError(`Sequential: layer ${i} (${layer.type}): ${error.message}`);
        }
        throw error;
      }
    });
    this.layers = [...layers];
    this.inputShape = [...inputShape];
    this.outputShape = shape;
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

  /** The Linear layers, in order. */
  get linearLayers(): Linear[] {
    return this.layers.filter((l): l is Linear => l instanceof Linear);
  }

  /** Numbers per example in: the size of `inputShape` (d for an MLP, C·H·W for images). */
  get inFeatures(): number {
    return sizeOf(this.inputShape);
  }

  /** Numbers per example out. */
  get outFeatures(): number {
    return sizeOf(this.outputShape);
  }

  /** P, the number of scalar parameters. */
  get nParams(): number {
    let p = 0;
    for (const l of this.layers) for (const t of l.parameters()) p += t.size;
    return p;
  }

  /** The current parameters as a pytree (the layers' own tensors, not copies). */
  parameters(): Params {
    return this.layers.map((l) => l.parameters());
  }

  /** Replace the layers' tensors with those of `params` (shapes checked, values finite). */
  setParameters(params: Params): void {
    checkParams(this, params, 'setParameters', true);
    this.layers.forEach((l, i) => {
      l.setParameters(params[i]!);
    });
  }

  /** θ in PyTorch order: layer by layer, each tensor row-major. A copy. */
  flatParameters(): Float64Array {
    return ravel(this.parameters());
  }

  setFlatParameters(theta: Float64Array): void {
    this.setParameters(unravel(this, theta));
  }

  /**
   * x as a batch [n, ...inputShape]: also accepts rows of flattened examples
   * [n, inFeatures]; `single` when x was one example.
   */
  asBatch(x: TensorLike, what: string): { batch: Tensor; single: boolean } {
    const t = asTensor(x);
    const rank = this.inputShape.length;
    if (shapesEqual(t.shape.slice(1), this.inputShape)) return { batch: t, single: false };
    if (shapesEqual(t.shape, this.inputShape))
      return { batch: reshape(t, [1, ...this.inputShape]), single: true };
    if (rank > 1 && t.ndim === 2 && t.shape[1] === this.inFeatures) {
      return { batch: reshape(t, [t.shape[0]!, ...this.inputShape]), single: false };
    }
    const rows = rank > 1 ? ` or rows [n, ${this.inFeatures}]` : '';
    throw new ShapeError(
      `${what}: x is ${shapeString(t.shape)}, expected [n, ${this.inputShape.join(', ')}]${rows} or [${this.inputShape.join(', ')}]`,
    );
  }

  /**
   * f(params, x): the network's output for inputs x of shape [n, ...inputShape]
   * (or one example), differentiable with respect to both. Pure: the model's
   * own parameters are not used, only its architecture.
   */
  apply(params: Params, x: TensorLike, context?: ApplyContext): Tensor {
    checkParams(this, params, 'apply', false);
    const { batch, single } = this.asBatch(x, 'Sequential.apply');
    const layers = this.layers;
    let h = batch;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const next = layers[i + 1];
      if (next?.runsBefore?.(layer)) {
        h = layer.apply(params[i]!, next.apply(params[i + 1]!, h, context), context);
        i++;
      } else h = layer.apply(params[i]!, h, context);
    }
    return single ? reshape(h, [...this.outputShape]) : h;
  }

  /** The output for inputs x with the current parameters. */
  forward(x: TensorLike): Tensor {
    const xt = asTensor(x);
    if (isConcrete(xt)) assertFinite(xt.data, 'Sequential.forward: x');
    return this.apply(this.parameters(), xt);
  }

  toJSON(): SequentialJSON {
    const layers = this.layers.map((layer) => layer.toJSON());
    const first = this.layers.find((l) => !(l instanceof Activation));
    const inferred = first instanceof Linear;
    return inferred ? { layers } : { inputShape: [...this.inputShape], layers };
  }

  /**
   * Rebuild a network from its JSON form, checking every field: layer types,
   * integer sizes, weights of finite numbers in their layer's shape, and that
   * each layer accepts its predecessor's output.
   */
  static fromJSON(json: SequentialJSON): Sequential {
    const what = 'Sequential.fromJSON';
    if (typeof json !== 'object' || json === null || !Array.isArray(json.layers)) {
      throw new ValueError(`${what}: expected an object { layers: [...] }`);
    }
    const layers = json.layers.map((spec: unknown, i: number) =>
      layerFromJSON(spec, `${what}: layers[${i}]`),
    );
    const linears = layers.filter((l): l is Linear => l instanceof Linear);
    for (let k = 1; k < linears.length; k++) {
      if (linears[k]!.inFeatures !== linears[k - 1]!.outFeatures) {
        throw new ShapeError(
          `${what}: Linear layer ${k} has inFeatures ${linears[k]!.inFeatures} but Linear layer ${k - 1} has outFeatures ${linears[k - 1]!.outFeatures}`,
        );
      }
    }
    return new Sequential(layers, json.inputShape === undefined ? {} : { inputShape: json.inputShape });
  }
}

/** Validate a parameter pytree against the model's layers. */
function checkParams(model: Sequential, params: Params, method: string, concrete: boolean): void {
  const what = `Sequential.${method}`;
  if (!Array.isArray(params) || params.length !== model.layers.length) {
    throw new ValueError(
      `${what}: params must be an array of ${model.layers.length} arrays of tensors (one per layer), got ${Array.isArray(params) ? `${params.length} entries` : typeof params}`,
    );
  }
  model.layers.forEach((layer, i) => {
    const expected = layer.parameters();
    const given = params[i];
    if (!Array.isArray(given) || given.length !== expected.length) {
      throw new ValueError(
        `${what}: params[${i}] must be ${expected.length} tensors for layer ${i} (${layer.type}), got ${Array.isArray(given) ? given.length : typeof given}`,
      );
    }
    expected.forEach((e, j) => {
      const p = given[j];
      if (!(p instanceof Tensor)) throw new ValueError(`${what}: params[${i}][${j}] must be a Tensor`);
      if (!shapesEqual(p.shape, e.shape)) {
        throw new ShapeError(
          `${what}: params[${i}][${j}] is ${shapeString(p.shape)}, expected ${shapeString(e.shape)} for layer ${i} (${layer.type})`,
        );
      }
      if (concrete) {
        if (!isConcrete(p))
          throw new ValueError(`${what}: params[${i}][${j}] is a traced value; pass concrete tensors`);
        assertFinite(p.data, `${what}: params[${i}][${j}]`);
      }
    });
  });
}

/** θ from a parameter pytree, in PyTorch order (layer by layer, each tensor row-major). */
export function ravel(params: Params): Float64Array {
  let size = 0;
  for (const layer of params) for (const p of layer) size += p.size;
  const theta = new Float64Array(size);
  let offset = 0;
  for (const layer of params) {
    for (const p of layer) {
      theta.set(p.data, offset);
      offset += p.size;
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
  return model.layers.map((l) =>
    l.parameters().map((t) => {
      const out = new Tensor(theta.slice(offset, offset + t.size), t.shape);
      offset += t.size;
      return out;
    }),
  );
}
