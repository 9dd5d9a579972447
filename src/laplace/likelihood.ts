/**
 * Likelihoods and the square roots of their output Hessians.
 *
 * The generalised Gauss–Newton G = Σₙ Jₙᵀ Λₙ Jₙ needs Λₙ, the Hessian of the
 * negative log-likelihood with respect to the network output fₙ. We never form
 * it: we write Λₙ = SₙᵀSₙ and pull the rows of Sₙ back through the network, so
 * that G = Σₙ (SₙJₙ)ᵀ(SₙJₙ) is a Gram matrix of pulled-back rows.
 *
 * Conventions follow laplace-torch, so that numbers agree with it:
 * - regression: loss ½‖y − f‖² summed, Λ = I (S = I); the noise σ and the
 *   temperature T enter later through the factor 1/(σ²T).
 * - classification (softmax, integer labels): loss Σ cross-entropy,
 *   Λ = diag(p) − ppᵀ, with S = diag(√p) − √p pᵀ (check: SᵀS = diag(p) − 2ppᵀ + (Σp) ppᵀ).
 * - empirical Fisher ('ef'): one row per example, the gradient of the loss with
 *   respect to f. laplace-torch's regression loss is ‖y − f‖² summed times ½, and
 *   its EF is ½ times the outer product of that loss's gradient 2(f − y); the row
 *   √2·(f − y) reproduces it.
 */
import { ShapeError, ValueError } from '../errors.js';

export type LikelihoodName = 'regression' | 'classification';
export type CurvatureName = 'ggn' | 'ef';

/** Targets in flat form: regression values [n × K], or integer labels [n]. */
export type Targets =
  | { kind: 'regression'; values: Float64Array }
  | { kind: 'classification'; labels: Int32Array };

export interface OutputCurvature {
  /** Σₙ loss(fₙ, yₙ) in laplace-torch's convention (½ SSE or summed cross-entropy). */
  loss: number;
  /** Rows of Sₙ for each example, [n, m, K]. */
  roots: Float64Array;
  /** Rows per example. */
  m: number;
}

/** Softmax of each row of `logits` [n × K], stable. */
export function softmaxRows(
  logits: Float64Array,
  n: number,
  k: number,
  out = new Float64Array(n * k),
): Float64Array {
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[i * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(logits[i * k + j]! - max);
      out[i * k + j] = e;
      sum += e;
    }
    for (let j = 0; j < k; j++) out[i * k + j]! /= sum;
  }
  return out;
}

/** Loss and Hessian square-root rows for outputs f [n × K]. */
export function outputCurvature(
  likelihood: LikelihoodName,
  curvature: CurvatureName,
  f: Float64Array,
  targets: Targets,
  offset: number,
  n: number,
  k: number,
): OutputCurvature {
  if (likelihood === 'regression') {
    if (targets.kind !== 'regression') throw new ValueError('laplace: regression needs real-valued targets');
    let loss = 0;
    const residual = new Float64Array(n * k);
    for (let i = 0; i < n * k; i++) {
      residual[i] = f[i]! - targets.values[offset * k + i]!;
      loss += 0.5 * residual[i]! * residual[i]!;
    }
    if (curvature === 'ef') {
      for (let i = 0; i < n * k; i++) residual[i]! *= Math.SQRT2;
      return { loss, roots: residual, m: 1 };
    }
    const roots = new Float64Array(n * k * k);
    for (let e = 0; e < n; e++) for (let j = 0; j < k; j++) roots[(e * k + j) * k + j] = 1;
    return { loss, roots, m: k };
  }
  if (targets.kind !== 'classification') throw new ValueError('laplace: classification needs integer labels');
  const p = softmaxRows(f, n, k);
  let loss = 0;
  for (let e = 0; e < n; e++) {
    const label = targets.labels[offset + e]!;
    loss -= logSoftmaxAt(f, e, k, label);
  }
  if (curvature === 'ef') {
    const roots = p.slice();
    for (let e = 0; e < n; e++) roots[e * k + targets.labels[offset + e]!]! -= 1;
    return { loss, roots, m: 1 };
  }
  const roots = new Float64Array(n * k * k);
  for (let e = 0; e < n; e++) {
    for (let r = 0; r < k; r++) {
      const sr = Math.sqrt(p[e * k + r]!);
      for (let j = 0; j < k; j++) {
        roots[(e * k + r) * k + j] = (r === j ? sr : 0) - sr * p[e * k + j]!;
      }
    }
  }
  return { loss, roots, m: k };
}

/** log softmax(fₑ)_label = f_label − max − log Σⱼ exp(fⱼ − max), finite even when the probability underflows. */
function logSoftmaxAt(f: Float64Array, e: number, k: number, label: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < k; j++) max = Math.max(max, f[e * k + j]!);
  let sum = 0;
  for (let j = 0; j < k; j++) sum += Math.exp(f[e * k + j]! - max);
  return f[e * k + label]! - max - Math.log(sum);
}

/** Validate and flatten targets for `n` examples and `k` outputs. */
export function toTargets(likelihood: LikelihoodName, y: unknown, n: number, k: number): Targets {
  const values = flattenTargets(y);
  if (likelihood === 'classification') {
    if (values.length !== n) {
      throw new ShapeError(`fit: y has ${values.length} labels but X has ${n} rows`);
    }
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= k) {
        throw new ValueError(`fit: y[${i}] = ${v} is not a class index in 0..${k - 1}`);
      }
      labels[i] = v;
    }
    return { kind: 'classification', labels };
  }
  if (values.length !== n * k) {
    throw new ShapeError(
      `fit: y has ${values.length} values but X has ${n} rows and the model ${k} outputs (expected [${n}] or [${n}, ${k}])`,
    );
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!))
      throw new ValueError(`fit: y contains a non-finite value at flat index ${i}`);
  }
  return { kind: 'regression', values };
}

function flattenTargets(y: unknown): Float64Array {
  if (y instanceof Float64Array) return y;
  if (ArrayBuffer.isView(y) && !(y instanceof DataView))
    return Float64Array.from(y as unknown as ArrayLike<number>);
  if (typeof y === 'object' && y !== null && 'shape' in y && 'data' in y) {
    return (y as { data: Float64Array }).data;
  }
  if (Array.isArray(y)) return Float64Array.from((y as unknown[]).flat(Number.POSITIVE_INFINITY) as number[]);
  throw new ValueError('fit: y must be an array, a typed array or a Tensor');
}
