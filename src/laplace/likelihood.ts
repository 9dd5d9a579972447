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
 *   temperature T enter later through the factor c = 1/(σ²T), and
 *   log p(D | θ) = −c·loss − N·K·log(σ√(2π)).
 * - classification (softmax, integer labels): loss Σ cross-entropy,
 *   Λ = diag(p) − ppᵀ, with S = diag(√p) − √p pᵀ (check: SᵀS = diag(p) − 2ppᵀ + (Σp) ppᵀ);
 *   c = 1/T and log p(D | θ) = −c·loss.
 *   Λ has rank K − 1 (Λ1 = 0), so K − 1 rows suffice: its Cholesky factor, one
 *   binary split at a time. With tails tₖ = Σ_{j≥k} pⱼ, row k < K − 1 is
 *   √(pₖ tₖ₊₁ / tₖ) (eₖ − Σ_{j>k} (pⱼ / tₖ₊₁) eⱼ): class k against the classes
 *   after it. Fewer rows to pull back where each costs much (formed rows,
 *   network.ts); networks whose rows factor keep the symmetric root.
 * - empirical Fisher ('ef'): one row per example, the gradient of the loss with
 *   respect to f. laplace-torch's regression loss is ‖y − f‖² summed times ½, and
 *   its EF is ½ times the outer product of that loss's gradient 2(f − y); the row
 *   √2·(f − y) reproduces it.
 *
 * Everything that depends on the likelihood lives in one object per likelihood
 * (a `LikelihoodRule`), chosen once from its name; the rest of the library
 * never branches on the name.
 */
import { ValueError } from '../errors.js';
import type { RngLike } from '../random.js';
import { Tensor } from '../tensor.js';
import { toTargetRows } from './inputs.js';
import { bridgeProbabilities, monteCarloProbabilities, probitProbabilities, softmaxRows } from './link.js';

export type LikelihoodName = 'regression' | 'classification';
export type CurvatureName = 'ggn' | 'ef';
export type PredType = 'glm' | 'nn';
export type LinkApprox = 'probit' | 'bridge' | 'bridgeNorm' | 'mc';

/** Targets in flat form: regression values [n × K], or integer labels [n]. */
export type Targets =
  | { kind: 'regression'; values: Float64Array }
  | { kind: 'classification'; labels: Int32Array };

interface OutputCurvature {
  /** Σₙ loss(fₙ, yₙ) in laplace-torch's convention (½ SSE or summed cross-entropy). */
  loss: number;
  /** Rows of Sₙ for each example, [n, m, K]. */
  roots: Float64Array;
  /** Rows per example. */
  m: number;
}

export interface RegressionPrediction {
  /** Predictive mean [n, K]. */
  mean: Tensor;
  /** Covariance of the outputs f, J P⁻¹ Jᵀ for 'glm' (sample covariance for 'nn'), [n, K, K]. */
  functionalCovariance: Tensor;
  /** diag(functionalCovariance) + σ², [n, K]. */
  predictiveVariance: Tensor;
}

export interface ClassificationPrediction {
  /** Predictive class probabilities [n, K]. */
  probs: Tensor;
  /** Logits at the MAP [n, K] ('glm' only). */
  mean?: Tensor;
  /** Covariance of the logits J P⁻¹ Jᵀ [n, K, K] ('glm' only). */
  functionalCovariance?: Tensor;
}

export type Prediction = RegressionPrediction | ClassificationPrediction;

/** A predictive in flat arrays: mean [n × K], covariance [n × K × K], and variance or probabilities [n × K]. */
export interface FlatPrediction {
  mean: Float64Array;
  covariance?: Float64Array;
  variance?: Float64Array;
  probs?: Float64Array;
}

/** Everything about one likelihood, in one place. */
export interface LikelihoodRule {
  readonly name: LikelihoodName;
  /** Whether the observation noise σ is a free hyperparameter (otherwise it is 1). */
  readonly hasNoise: boolean;
  /** The fewest network outputs the likelihood makes sense for. */
  readonly minOutputs: number;
  /** The loss `train` minimises for this likelihood. */
  readonly trainingLoss: 'mse' | 'crossEntropy';
  /** The factor c in P = c·H + P₀. */
  hessianFactor(sigma: number, temperature: number): number;
  /** log p(D | θ*) from the summed loss at θ*. */
  logLikelihood(loss: number, sigma: number, temperature: number, nData: number, nOutputs: number): number;
  /** Weight decay per unit prior precision when `train`'s mean loss stands for the tempered log joint. */
  weightDecayScale(sigma: number, temperature: number, nData: number, nOutputs: number): number;
  /** Validate and flatten targets for `n` examples and `k` outputs; `what` names them in errors. */
  parseTargets(y: unknown, n: number, k: number, what: string): Targets;
  /**
   * Loss and Hessian square-root rows (GGN) or gradient rows (EF) for outputs f
   * [n × K]; `fewest`: as few rows as the rank of Λ (softmax's K − 1) rather than
   * the symmetric root.
   */
  outputCurvature(
    curvature: CurvatureName,
    f: Float64Array,
    targets: Targets,
    offset: number,
    n: number,
    k: number,
    fewest?: boolean,
  ): OutputCurvature;
  /** ∂ loss / ∂f for outputs f [n × K], in the loss's own convention (f − y; softmax(f) − onehot(y)). */
  outputGradient(f: Float64Array, targets: Targets, offset: number, n: number, k: number): Float64Array;
  /** The predictive from the linearised outputs N(mean, covariance). */
  glmPredictive(
    mean: Float64Array,
    covariance: Float64Array,
    n: number,
    k: number,
    sigma: number,
    link: LinkApprox,
    nSamples: number,
    seed: RngLike,
  ): FlatPrediction;
  /** The predictive from network outputs at nSamples weight samples (`output(s)`) and at the MAP. */
  nnPredictive(
    output: (s: number) => Float64Array,
    mapOutput: () => Float64Array,
    nSamples: number,
    n: number,
    k: number,
    sigma: number,
  ): FlatPrediction;
  /** Σ over examples of −log p(y | x) under a flat predictive. */
  negativeLogPredictive(prediction: FlatPrediction, targets: Targets, n: number, k: number): number;
  /** The public form of a flat predictive. */
  toPrediction(flat: FlatPrediction, n: number, k: number, predType: PredType): Prediction;
}

const regressionRule: LikelihoodRule = {
  name: 'regression',
  hasNoise: true,
  minOutputs: 1,
  trainingLoss: 'mse',
  hessianFactor: (sigma, temperature) => 1 / (sigma * sigma * temperature),
  logLikelihood(loss, sigma, temperature, nData, nOutputs) {
    const c = this.hessianFactor(sigma, temperature);
    return -c * loss - nData * nOutputs * Math.log(sigma * Math.sqrt(2 * Math.PI));
  },
  weightDecayScale: (sigma, temperature, nData, nOutputs) =>
    (2 * sigma ** 2 * temperature) / (nData * nOutputs),
  parseTargets(y, n, k, what) {
    const values = toTargetRows(y, n, k, what);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!))
        throw new ValueError(`${what} contains a non-finite value at flat index ${i}`);
    }
    return { kind: 'regression', values };
  },
  outputCurvature(curvature, f, targets, offset, n, k) {
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
  },
  outputGradient(f, targets, offset, n, k) {
    if (targets.kind !== 'regression') throw new ValueError('laplace: regression needs real-valued targets');
    const gradient = new Float64Array(n * k);
    for (let i = 0; i < n * k; i++) gradient[i] = f[i]! - targets.values[offset * k + i]!;
    return gradient;
  },
  glmPredictive(mean, covariance, n, k, sigma) {
    const variance = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) variance[i * k + j] = covariance[(i * k + j) * k + j]! + sigma ** 2;
    }
    return { mean, covariance, variance };
  },
  nnPredictive(output, _mapOutput, nSamples, n, k, sigma) {
    // Sample mean and (unbiased, as torch.var) sample covariance of the outputs.
    const outputs: Float64Array[] = [];
    for (let s = 0; s < nSamples; s++) outputs.push(output(s));
    const mean = new Float64Array(n * k);
    for (const o of outputs) for (let i = 0; i < n * k; i++) mean[i]! += o[i]! / nSamples;
    const covariance = new Float64Array(n * k * k);
    const denominator = Math.max(nSamples - 1, 1);
    for (const o of outputs) {
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < k; a++) {
          const da = o[i * k + a]! - mean[i * k + a]!;
          for (let b = 0; b < k; b++)
            covariance[(i * k + a) * k + b]! += (da * (o[i * k + b]! - mean[i * k + b]!)) / denominator;
        }
      }
    }
    const variance = new Float64Array(n * k);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < k; j++) variance[i * k + j] = covariance[(i * k + j) * k + j]! + sigma ** 2;
    return { mean, covariance, variance };
  },
  negativeLogPredictive(prediction, targets, n, k) {
    if (targets.kind !== 'regression') throw new ValueError('laplace: regression needs real-valued targets');
    let total = 0;
    for (let i = 0; i < n * k; i++) {
      const v = prediction.variance![i]!;
      total += 0.5 * Math.log(2 * Math.PI * v) + (targets.values[i]! - prediction.mean[i]!) ** 2 / (2 * v);
    }
    return total;
  },
  toPrediction(flat, n, k): RegressionPrediction {
    return {
      mean: new Tensor(flat.mean, [n, k]),
      functionalCovariance: new Tensor(flat.covariance!, [n, k, k]),
      predictiveVariance: new Tensor(flat.variance!, [n, k]),
    };
  },
};

const classificationRule: LikelihoodRule = {
  name: 'classification',
  hasNoise: false,
  // A softmax over one class is the constant 1: there is nothing to learn or predict.
  minOutputs: 2,
  trainingLoss: 'crossEntropy',
  hessianFactor: (_sigma, temperature) => 1 / temperature,
  logLikelihood(loss, sigma, temperature) {
    return -this.hessianFactor(sigma, temperature) * loss;
  },
  weightDecayScale: (_sigma, temperature, nData) => temperature / nData,
  parseTargets(y, n, k, what) {
    const values = toTargetRows(y, n, 1, what);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= k) {
        throw new ValueError(`${what}[${i}] = ${v} is not a class index in 0..${k - 1}`);
      }
      labels[i] = v;
    }
    return { kind: 'classification', labels };
  },
  outputCurvature(curvature, f, targets, offset, n, k, fewest = false) {
    if (targets.kind !== 'classification')
      throw new ValueError('laplace: classification needs integer labels');
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
    if (fewest) return { loss, roots: softmaxCholeskyRows(p, n, k), m: k - 1 };
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
  },
  outputGradient(f, targets, offset, n, k) {
    if (targets.kind !== 'classification')
      throw new ValueError('laplace: classification needs integer labels');
    const gradient = softmaxRows(f, n, k);
    for (let e = 0; e < n; e++) gradient[e * k + targets.labels[offset + e]!]! -= 1;
    return gradient;
  },
  glmPredictive(mean, covariance, n, k, _sigma, link, nSamples, seed) {
    let probs: Float64Array;
    if (link === 'probit') probs = probitProbabilities(mean, covariance, n, k);
    else if (link === 'mc') probs = monteCarloProbabilities(mean, covariance, n, k, nSamples, seed);
    else probs = bridgeProbabilities(mean, covariance, n, k, link === 'bridgeNorm');
    return { mean, covariance, probs };
  },
  nnPredictive(output, mapOutput, nSamples, n, k) {
    const probs = new Float64Array(n * k);
    const p = new Float64Array(n * k);
    for (let s = 0; s < nSamples; s++) {
      softmaxRows(output(s), n, k, p);
      for (let i = 0; i < n * k; i++) probs[i]! += p[i]! / nSamples;
    }
    return { mean: mapOutput(), probs };
  },
  negativeLogPredictive(prediction, targets, n, k) {
    if (targets.kind !== 'classification')
      throw new ValueError('laplace: classification needs integer labels');
    let total = 0;
    for (let i = 0; i < n; i++)
      total -= Math.log(Math.max(prediction.probs![i * k + targets.labels[i]!]!, 1e-300));
    return total;
  },
  toPrediction(flat, n, k, predType): ClassificationPrediction {
    const result: ClassificationPrediction = { probs: new Tensor(flat.probs!, [n, k]) };
    if (predType === 'glm') {
      result.mean = new Tensor(flat.mean, [n, k]);
      result.functionalCovariance = new Tensor(flat.covariance!, [n, k, k]);
    }
    return result;
  },
};

const rules: Record<LikelihoodName, LikelihoodRule> = {
  regression: regressionRule,
  classification: classificationRule,
};

/** The rule for a likelihood name; `what` names the option in errors. */
export function likelihoodRule(name: unknown, what = 'laplace: likelihood'): LikelihoodRule {
  const rule = typeof name === 'string' && Object.hasOwn(rules, name) ? rules[name as LikelihoodName] : null;
  if (!rule) throw new ValueError(`${what} must be 'regression' or 'classification', got '${String(name)}'`);
  return rule;
}

/** log softmax(fₑ)_label = f_label − max − log Σⱼ exp(fⱼ − max), finite even when the probability underflows. */
function logSoftmaxAt(f: Float64Array, e: number, k: number, label: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < k; j++) max = Math.max(max, f[e * k + j]!);
  let sum = 0;
  for (let j = 0; j < k; j++) sum += Math.exp(f[e * k + j]! - max);
  return f[e * k + label]! - max - Math.log(sum);
}

/**
 * The K − 1 rows of the Cholesky factor of Λ = diag(p) − ppᵀ per example,
 * [n, K − 1, K] (the header derives them). The tails are summed from the end,
 * so no subtraction cancels; a row whose tail after k is 0 is 0.
 */
function softmaxCholeskyRows(p: Float64Array, n: number, k: number): Float64Array {
  const roots = new Float64Array(n * (k - 1) * k);
  const tails = new Float64Array(k + 1);
  for (let e = 0; e < n; e++) {
    const pe = e * k;
    for (let j = k - 1; j >= 0; j--) tails[j] = tails[j + 1]! + p[pe + j]!;
    for (let r = 0; r < k - 1; r++) {
      const after = tails[r + 1]!;
      if (after === 0) continue;
      const scale = Math.sqrt((p[pe + r]! * after) / tails[r]!);
      const row = (e * (k - 1) + r) * k;
      roots[row + r] = scale;
      for (let j = r + 1; j < k; j++) roots[row + j] = (-scale * p[pe + j]!) / after;
    }
  }
  return roots;
}
