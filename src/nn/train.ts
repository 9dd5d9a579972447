/**
 * The training loop: minibatch gradient descent on L(θ) = loss(f(θ, X_B), y_B).
 *
 * Each epoch visits the n examples once, in a seeded random order (or in
 * order with `shuffle: false`), in batches of `batchSize` (default: all n, i.e.
 * full-batch). For each batch, reverse mode gives L and ∇L in one pass, and
 * the optimiser turns ∇L (+ λθ with `weightDecay` λ, an L2 penalty ½λ‖θ‖² not
 * counted in the reported loss) into new parameters. The recorded loss of an
 * epoch is the example-weighted mean of its batch losses, i.e. the epoch's
 * average loss as seen during training.
 */

import { reshape } from '../autodiff/ops.js';
import { valueAndGrad } from '../autodiff/transforms.js';
import { assertFinite, ShapeError, ValueError } from '../errors.js';
import { type Rng, type RngLike, toRng } from '../random.js';
import { asTensor, shapeString, shapesEqual, Tensor, type TensorLike } from '../tensor.js';
import { checkLabels, crossEntropy, type Labels, mseLoss } from './losses.js';
import type { ApplyContext } from './module.js';
import { adam, type Optimizer } from './optim.js';
import type { Params, Sequential } from './sequential.js';

/** A loss of the network output on a batch and the batch's targets, a scalar. */
export type LossFunction = (pred: Tensor, target: Tensor) => Tensor;

export interface TrainOptions {
  /** 'mse' (targets shaped like the output, or [n] for one output), 'crossEntropy' (integer labels), or a function. */
  loss: 'mse' | 'crossEntropy' | LossFunction;
  /** Default `adam({ lr: 1e-3 })`. Its state carries over if the same object is passed again. */
  optimizer?: Optimizer;
  epochs: number;
  /** Examples per step; default all of them (full-batch). */
  batchSize?: number;
  /** Seeds the shuffling. */
  seed: RngLike;
  shuffle?: boolean;
  /** Called after every epoch with its mean loss. */
  onProgress?: (info: { epoch: number; loss: number }) => void;
  /**
   * Adds λθ to every gradient (L2 penalty ½λ‖θ‖²); default 0. An array gives one λ
   * per parameter tensor in PyTorch order (e.g. each Linear's weight, then its bias),
   * i.e. a per-layer Gaussian prior.
   */
  weightDecay?: number | readonly number[];
}

/** Rows `order[start..end)` of an [n, d] array, as a [end − start, d] Tensor. */
function gatherRows(
  data: Float64Array,
  width: number,
  order: Int32Array,
  start: number,
  end: number,
): Float64Array {
  const out = new Float64Array((end - start) * width);
  for (let r = start; r < end; r++) {
    const src = order[r]! * width;
    out.set(data.subarray(src, src + width), (r - start) * width);
  }
  return out;
}

/**
 * Fit `model` to (X, y): replaces the model's parameters with the trained
 * ones after every epoch (so `onProgress` can evaluate it) and returns the
 * mean loss of every epoch. X is [n, in] (or [n] when in = 1). Targets: for 'mse' [n, out] (or [n] when out = 1); for 'crossEntropy' n
 * integer labels in 0..out−1; for a loss function, any Tensor whose first
 * axis has length n (batches are its rows).
 */
export function train(
  model: Sequential,
  X: TensorLike,
  y: TensorLike | Labels,
  options: TrainOptions,
): { losses: number[] } {
  const what = 'train';
  const { loss, epochs, seed, shuffle = true, onProgress, weightDecay = 0 } = options;
  const inFeatures = model.inFeatures;
  const outFeatures = model.outFeatures;

  let x = asTensor(X);
  if (x.ndim === 1 && inFeatures === 1) x = reshape(x, [x.shape[0]!, 1]);
  // Examples [n, ...inputShape] (images, say) are gathered as rows of inFeatures numbers.
  if (x.ndim > 2 && shapesEqual(x.shape.slice(1), model.inputShape))
    x = reshape(x, [x.shape[0]!, inFeatures]);
  if (x.ndim !== 2 || x.shape[1] !== inFeatures) {
    const shape = model.inputShape.length > 1 ? ` or [n, ${model.inputShape.join(', ')}]` : '';
    throw new ShapeError(`${what}: X is ${shapeString(x.shape)}, expected [n, ${inFeatures}]${shape}`);
  }
  const n = x.shape[0]!;
  if (n === 0) throw new ValueError(`${what}: X has no rows`);
  assertFinite(x.data, `${what}: X`);

  // Targets as one [n, width] array, so batches are gathered the same way for every loss.
  let targets: Float64Array;
  let targetShape: number[];
  let lossFn: LossFunction;
  if (loss === 'crossEntropy') {
    const labels = checkLabels(y as Labels, n, outFeatures, what);
    targets = Float64Array.from(labels);
    targetShape = [n];
    lossFn = (pred, target) => crossEntropy(pred, target);
  } else {
    const t =
      y instanceof Int32Array ? new Tensor(Float64Array.from(y), [y.length]) : asTensor(y as TensorLike);
    if (t.ndim === 0 || t.shape[0] !== n) {
      throw new ShapeError(`${what}: X has ${n} rows but y is ${shapeString(t.shape)}`);
    }
    assertFinite(t.data, `${what}: y`);
    targets = t.data;
    if (loss === 'mse') {
      if (t.size !== n * outFeatures) {
        throw new ShapeError(
          `${what}: y is ${shapeString(t.shape)}, expected [${n}, ${outFeatures}] for the model's output`,
        );
      }
      targetShape = [n, outFeatures];
      lossFn = (pred, target) => mseLoss(pred, target);
    } else if (typeof loss === 'function') {
      targetShape = [...t.shape];
      lossFn = loss;
    } else {
      throw new ValueError(
        `${what}: loss must be 'mse', 'crossEntropy' or a function, got ${JSON.stringify(loss)}`,
      );
    }
  }
  const targetWidth = targets.length / n;

  if (!Number.isInteger(epochs) || epochs < 0)
    throw new ValueError(`${what}: epochs must be a non-negative integer, got ${epochs}`);
  const batchSize = options.batchSize ?? n;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ValueError(`${what}: batchSize must be a positive integer, got ${batchSize}`);
  }
  const decays = typeof weightDecay === 'number' ? null : Array.from(weightDecay);
  const tensorCount = model.layers.reduce((s, l) => s + l.parameters().length, 0);
  if (decays && decays.length !== tensorCount) {
    throw new ShapeError(
      `${what}: weightDecay has ${decays.length} values but the model has ${tensorCount} parameter tensors`,
    );
  }
  for (const v of decays ?? [weightDecay as number]) {
    if (!Number.isFinite(v) || v < 0) {
      throw new ValueError(`${what}: weightDecay must be finite and ≥ 0, got ${v}`);
    }
  }
  const decayOf = (tensor: number): number => (decays ? decays[tensor]! : (weightDecay as number));
  const optimizer = options.optimizer ?? adam({ lr: 1e-3 });
  const rng = toRng(seed);

  // Layers that are noisy in training (Dropout) draw from their own generator,
  // split off the first time one asks, so training without them is unchanged.
  let noise: Rng | undefined;
  const context: ApplyContext = {
    training: true,
    get rng() {
      noise ??= rng.split();
      return noise;
    },
  };
  const lossAndGrad = valueAndGrad((params: Params, xb: Tensor, yb: Tensor) =>
    lossFn(model.apply(params, xb, context), yb),
  );
  let params = model.parameters();
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    if (shuffle) {
      // Fisher–Yates.
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const tmp = order[i]!;
        order[i] = order[j]!;
        order[j] = tmp;
      }
    }
    let total = 0;
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const xb = new Tensor(gatherRows(x.data, inFeatures, order, start, end), [end - start, inFeatures]);
      const yb = new Tensor(gatherRows(targets, targetWidth, order, start, end), [
        end - start,
        ...targetShape.slice(1),
      ]);
      let [value, grads] = lossAndGrad(params, xb, yb) as [Tensor, Params];
      const batchLoss = value.item();
      if (!Number.isFinite(batchLoss)) {
        throw new ValueError(
          `${what}: the loss became ${batchLoss} in epoch ${epoch} (examples ${start}..${end - 1}); try a smaller learning rate`,
        );
      }
      if (decays || weightDecay !== 0) grads = addWeightDecay(grads, params, decayOf);
      params = optimizer.step(params, grads);
      total += batchLoss * (end - start);
    }
    const epochLoss = total / n;
    losses.push(epochLoss);
    model.setParameters(params); // so that onProgress sees the model as trained so far
    onProgress?.({ epoch, loss: epochLoss });
  }
  return { losses };
}

/** g + λθ, leaf by leaf; `decayOf(t)` is λ of parameter tensor t in PyTorch order. */
function addWeightDecay(grads: Params, params: Params, decayOf: (tensor: number) => number): Params {
  let tensor = 0;
  const plus = (g: Tensor, p: Tensor): Tensor => {
    const lambda = decayOf(tensor++);
    const out = new Float64Array(g.size);
    for (let i = 0; i < out.length; i++) out[i] = g.data[i]! + lambda * p.data[i]!;
    return new Tensor(out, g.shape);
  };
  return grads.map((layer, i) => layer.map((g, j) => plus(g, params[i]![j]!)));
}
