/**
 * What every layer is.
 *
 * A layer is a pure function of its parameters and a batch of inputs,
 * x ↦ h(θ, x), together with the bookkeeping to hold θ: its parameter tensors
 * in PyTorch's `parameters()` order and shapes, the shape it maps one example
 * to, and its JSON form. `apply` is written with the differentiable ops, so
 * grad, jvp and vmap go through every layer, and so does the generic Laplace
 * rule (src/laplace/rules), which asks nothing else of a layer.
 *
 * Shapes are per example: a layer that maps images [C, H, W] to [C', H', W']
 * has `outputShape([C, H, W]) = [C', H', W']`, and `apply` takes and returns
 * the batch, [n, C, H, W] ↦ [n, C', H', W'].
 */
import type { Rng } from '../random.js';
import type { Shape, Tensor } from '../tensor.js';

/** A layer's JSON form: its `type` and its own fields (sizes, options, weights as nested arrays). */
export type LayerJSON = { type: string } & Record<string, unknown>;

/** How `apply` runs: at prediction (the default) or in training, with a generator for the noise. */
export interface ApplyContext {
  readonly training: boolean;
  readonly rng: Rng;
}

export interface Layer {
  /** The JSON `type`: 'linear', 'conv2d', 'tanh', … */
  readonly type: string;
  /** The parameter tensors in PyTorch's `parameters()` order; [] for a layer without. */
  parameters(): Tensor[];
  /** Hold `params` (same order and shapes as `parameters()`; callers validate). */
  setParameters(params: readonly Tensor[]): void;
  /** One example's output shape for one example's input shape; a ShapeError naming the layer otherwise. */
  outputShape(inputShape: Shape): Shape;
  /**
   * h(params, x) for a batch x [n, ...inputShape], differentiable in both. The
   * prediction-time function unless `context.training` (then Dropout drops,
   * drawing from `context.rng`).
   */
  apply(params: readonly Tensor[], x: Tensor, context?: ApplyContext): Tensor;
  toJSON(): LayerJSON;
  /**
   * True when this layer, run before `previous` (the layer just before it)
   * instead of after it, gives the same output and sends the gradients to the
   * same inputs, at less cost: `Sequential` then runs it first.
   */
  runsBefore?(previous: Layer): boolean;
}
