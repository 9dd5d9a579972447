/**
 * The network as Laplace sees it.
 *
 * For curvature and for the GLM predictive we need, for every example, the
 * Jacobian of the K outputs with respect to the weights, never formed whole.
 * A network is a chain of layers h = hₗ ∘ … ∘ h₁. One forward pass keeps every
 * layer's input xₗ; one backward pass of a few output-space vectors per
 * example (m of them) gives their cotangents gₗ at every layer's output. What
 * a layer's parameters contribute to row (n, r) of the Jacobian is then the
 * layer's own affair:
 *
 *     row(n, r) restricted to θₗ = gₗ[n, r]ᵀ ∂hₗ(θₗ, xₗ[n]) / ∂θₗ,
 *
 * a vector-Jacobian product through one layer. Each layer type has a rule
 * (src/laplace/rules) that knows how to pull cotangents through it and how its
 * rows are structured: for a Linear layer ∂/∂W[i, j] = g[i]·a[j] (an outer
 * product, so rows need never be formed), for anything else the rows
 * themselves. This page only walks the chain; it never looks at a layer's type.
 *
 * Backward passes start from arbitrary output-space vectors, not only from the
 * unit vectors eₖ: starting from the rows of a square root S of the output
 * Hessian Λ = SᵀS gives the rows of S·J, whose Gram matrix is the GGN JᵀΛJ.
 *
 * Parameters are one flat vector in PyTorch order: layer by layer, each tensor
 * row-major.
 */

import { ShapeError, ValueError } from '../errors.js';
import type { Layer } from '../nn/module.js';
import { type Shape, shapeString, sizeOf, Tensor } from '../tensor.js';
import { type BlockLayout, type LayerRule, ruleFor, type Slot } from './rules/index.js';

/** A feed-forward chain of layers with a known per-example input shape, such as `Sequential`. */
export interface SequentialLike {
  readonly layers: readonly Layer[];
  readonly inputShape: Shape;
}

/** One layer in the chain, with what Laplace knows of it. */
export interface NetworkLayer {
  readonly layer: Layer;
  readonly rule: LayerRule;
  /** Position in the model's `layers`. */
  readonly index: number;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  /** Offset of the layer's first parameter in θ. */
  readonly offset: number;
  /** Shapes of its parameter tensors, in order. */
  readonly tensorShapes: Shape[];
  readonly nParams: number;
  /** How its tensors appear as blocks of Jacobian rows. */
  readonly blocks: readonly BlockLayout[];
  /** Index of its first slot among the network's slots. */
  readonly firstSlot: number;
}

/** A flat-parameter description of a network, independent of any particular parameter values. */
export class Network {
  readonly layers: NetworkLayer[] = [];
  /** The layers with parameters, in order. */
  readonly parametric: NetworkLayer[] = [];
  readonly nParams: number;
  readonly nSlots: number;
  /** Numbers per example in and out. */
  readonly inputSize: number;
  readonly outputSize: number;
  readonly inputShape: Shape;

  constructor(model: SequentialLike) {
    if (!Array.isArray(model.layers) || model.layers.length === 0) {
      throw new ValueError('laplace: the model has no layers');
    }
    let offset = 0;
    let slots = 0;
    let shape: Shape = model.inputShape;
    this.inputShape = shape;
    model.layers.forEach((layer, index) => {
      const rule = ruleFor(layer);
      const inputShape = shape;
      shape = layer.outputShape(inputShape);
      const tensorShapes: Shape[] = layer.parameters().map((t: Tensor) => t.shape);
      const nParams = tensorShapes.reduce((sum: number, t: Shape) => sum + sizeOf(t), 0);
      const blocks = nParams > 0 ? rule.blocks(layer, inputShape) : [];
      const entry: NetworkLayer = {
        layer,
        rule,
        index,
        inputShape,
        outputShape: shape,
        offset,
        tensorShapes,
        nParams,
        blocks,
        firstSlot: slots,
      };
      this.layers.push(entry);
      if (nParams > 0) {
        this.parametric.push(entry);
        slots += 1 + Math.max(...blocks.map((b) => b.slot));
      }
      offset += nParams;
    });
    if (this.parametric.length === 0) throw new ValueError('laplace: the model has no parameters');
    if (shape.length !== 1) {
      throw new ShapeError(
        `laplace: the network's output for one example must be a vector [K], got ${shapeString(shape)}; end it with flatten and a linear layer`,
      );
    }
    this.nParams = offset;
    this.nSlots = slots;
    this.inputSize = sizeOf(model.inputShape);
    this.outputSize = shape[0]!;
  }

  /** The model's current parameters as one flat vector in PyTorch order. */
  static flatParameters(model: SequentialLike): Float64Array {
    const parts = model.layers.flatMap((layer) => layer.parameters().map((t) => t.data));
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  /** Layer ℓ's parameter tensors, views into θ. */
  parametersOf(entry: NetworkLayer, theta: Float64Array): Tensor[] {
    let offset = entry.offset;
    return entry.tensorShapes.map((shape) => {
      const size = sizeOf(shape);
      const t = new Tensor(theta.subarray(offset, offset + size), shape);
      offset += size;
      return t;
    });
  }

  /**
   * Forward pass on n examples of `x` ([n, inputSize], row-major) with
   * parameters `theta`, keeping every layer's input for the backward pass.
   */
  forward(theta: Float64Array, x: Float64Array, n: number): ForwardCache {
    let current = new Tensor(x, [n, ...this.inputShape]);
    const inputs: Tensor[] = [];
    for (const entry of this.layers) {
      inputs.push(current);
      current = entry.rule.forward(entry.layer, this.parametersOf(entry, theta), current);
    }
    return { n, inputs, output: current.data };
  }

  /**
   * Pull m output-space vectors per example, v [n, m, K], back through the
   * network, and return every slot's factors (see rules/index.ts): for a
   * Linear layer its input and the cotangents at its output, for other
   * layers the rows of the Jacobian themselves.
   */
  backward(theta: Float64Array, cache: ForwardCache, v: Float64Array, m: number): BackwardResult {
    const slots: Slot[] = new Array(this.nSlots);
    const pulled: Tensor[] = new Array(this.parametric.length);
    const first = this.parametric[0]!.index;
    let cotangent = new Tensor(v, [cache.n * m, this.outputSize]);
    for (let l = this.layers.length - 1; l >= first; l--) {
      const entry = this.layers[l]!;
      const params = this.parametersOf(entry, theta);
      const input = cache.inputs[l]!;
      if (entry.nParams > 0) {
        pulled[this.parametric.indexOf(entry)] = cotangent;
        entry.rule.slots(entry.layer, params, input, cotangent, m).forEach((slot, s) => {
          slots[entry.firstSlot + s] = slot;
        });
      }
      if (l > first) cotangent = entry.rule.pullback(entry.layer, params, input, cotangent, m);
    }
    return { slots, pulled };
  }
}

export interface ForwardCache {
  readonly n: number;
  /** The input of every layer, [n, ...inputShape of that layer]. */
  readonly inputs: Tensor[];
  /** Network output f, [n × K]. */
  readonly output: Float64Array;
}

export interface BackwardResult {
  /** Every slot's factors, in slot order. */
  readonly slots: Slot[];
  /** Cotangents at each parametric layer's output, [n·m, ...outputShape]. */
  readonly pulled: Tensor[];
}
