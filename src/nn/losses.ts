/**
 * Losses, as in torch.nn.functional, each a differentiable function of the
 * prediction with reduction 'mean' (default) or 'sum' over its terms:
 *
 *   mseLoss                       ℓ = (ŷ − y)²                       per element
 *   crossEntropy                  ℓᵢ = −log softmax(zᵢ)[yᵢ]          per row, labels yᵢ ∈ {0…k−1}
 *                                    = logsumexp(zᵢ) − zᵢ[yᵢ]
 *   binaryCrossEntropyWithLogits  ℓ = −t log σ(z) − (1 − t) log(1 − σ(z))
 *                                    = softplus(z) − t·z             per element
 *
 * The last two are the negative log likelihoods of a categorical and a
 * Bernoulli observation; written through logSoftmax and softplus they stay
 * finite for any finite logits (no log of an underflowed probability).
 */

import { logSoftmax, mean, mul, neg, reshape, softplus, square, sub, sum, take } from '../autodiff/ops.js';
import { assertFinite, ShapeError, ValueError } from '../errors.js';
import { asTensor, shapeString, shapesEqual, Tensor, type TensorLike } from '../tensor.js';
import { isConcrete } from './layers.js';

export type Reduction = 'mean' | 'sum';

/** Integer class labels: an array, an Int32Array, or a Tensor of integer values. */
export type Labels = readonly number[] | Int32Array | Tensor;

function reduce(terms: Tensor, reduction: Reduction, what: string): Tensor {
  if (reduction === 'mean') return mean(terms);
  if (reduction === 'sum') return sum(terms);
  throw new ValueError(`${what}: reduction must be 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
}

/** Prediction and target with equal shapes; a concrete target must be finite. */
function pairedTarget(pred: TensorLike, target: TensorLike, what: string): [Tensor, Tensor] {
  const p = asTensor(pred);
  const t = asTensor(target);
  if (!shapesEqual(p.shape, t.shape)) {
    throw new ShapeError(
      `${what}: pred is ${shapeString(p.shape)} and target is ${shapeString(t.shape)}; they must have the same shape (reshape the target, e.g. to [n, 1])`,
    );
  }
  if (isConcrete(t)) assertFinite(t.data, `${what}: target`);
  return [p, t];
}

/** Σ (pred − target)², divided by the number of elements for 'mean' (torch.nn.MSELoss). */
export function mseLoss(pred: TensorLike, target: TensorLike, reduction: Reduction = 'mean'): Tensor {
  const [p, t] = pairedTarget(pred, target, 'mseLoss');
  return reduce(square(sub(p, t)), reduction, 'mseLoss');
}

/** Labels as validated integers for `n` rows and `k` classes. */
export function checkLabels(labels: Labels, n: number, k: number, what: string): Int32Array {
  let values: ArrayLike<number>;
  if (labels instanceof Int32Array || Array.isArray(labels)) values = labels as ArrayLike<number>;
  else if (labels instanceof Tensor) {
    const t = labels;
    if (t.ndim !== 1) throw new ShapeError(`${what}: labels must be 1-D, got shape ${shapeString(t.shape)}`);
    values = t.data;
  } else throw new ValueError(`${what}: labels must be an array, Int32Array or Tensor of integers`);
  if (values.length !== n) {
    throw new ShapeError(`${what}: ${values.length} labels for ${n} rows of logits`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = values[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k) {
      throw new ValueError(`${what}: label ${i} is ${y}, expected an integer in 0..${k - 1}`);
    }
    out[i] = y;
  }
  return out;
}

/**
 * −Σᵢ log softmax(logitsᵢ)[labelᵢ] over the rows of logits [n, k]; 'mean'
 * divides by n (torch.nn.CrossEntropyLoss with integer targets).
 */
export function crossEntropy(logits: TensorLike, labels: Labels, reduction: Reduction = 'mean'): Tensor {
  const z = asTensor(logits);
  if (z.ndim !== 2 || z.shape[1]! < 1) {
    throw new ShapeError(`crossEntropy: logits must be [n, k] with k ≥ 1, got ${shapeString(z.shape)}`);
  }
  const [n, k] = z.shape as [number, number];
  const y = checkLabels(labels, n, k, 'crossEntropy');
  // The picked log-probabilities are a gather from the flattened [n·k] array at i·k + yᵢ.
  const flatIndex = new Int32Array(n);
  for (let i = 0; i < n; i++) flatIndex[i] = i * k + y[i]!;
  const picked = take(reshape(logSoftmax(z, 1), [n * k]), flatIndex, 0);
  return reduce(neg(picked), reduction, 'crossEntropy');
}

/**
 * Binary cross-entropy of targets t ∈ [0, 1] against probabilities σ(logits),
 * as softplus(z) − t·z (torch.nn.BCEWithLogitsLoss).
 */
export function binaryCrossEntropyWithLogits(
  logits: TensorLike,
  targets: TensorLike,
  reduction: Reduction = 'mean',
): Tensor {
  const what = 'binaryCrossEntropyWithLogits';
  const [z, t] = pairedTarget(logits, targets, what);
  if (isConcrete(t)) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (d[i]! < 0 || d[i]! > 1)
        throw new ValueError(`${what}: target ${i} is ${d[i]}, expected a value in [0, 1]`);
    }
  }
  return reduce(sub(softplus(z), mul(t, z)), reduction, what);
}
