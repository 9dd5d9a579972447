/**
 * From a Gaussian over logits to class probabilities.
 *
 * The GLM predictive gives, per input, logits f ~ N(μ, Σ) with Σ = J P⁻¹ Jᵀ.
 * The predictive probability E[softmax(f)] has no closed form; these are the
 * approximations laplace-torch offers, with its exact conventions:
 *
 * - probit (MacKay 1992, extended to softmax): softmax(μₖ / √(1 + π/8 · Σₖₖ)).
 * - bridge (Laplace bridge, Hobbhahn et al. 2022): map N(μ, Σ) to a Dirichlet
 *   whose mean is the prediction, αₖ = (1 − 2/K + e^{μₖ}/K² · Σⱼ e^{−μⱼ}) / Σₖₖ,
 *   after laplace-torch's zero-mean correction, which projects μ and Σ onto
 *   the sum-to-zero subspace (softmax is invariant along 1):
 *   μ ← μ − Σ1 (1ᵀμ)/(1ᵀΣ1),  Σ ← Σ − (Σ1)(1ᵀΣ)/(1ᵀΣ1).
 * - bridgeNorm: the bridge after laplace-torch's variance normalisation,
 *   v̄ = mean(diag Σ)/√(K/2), μ ← μ/√v̄, diag Σ ← diag Σ / v̄.
 * - mc: average softmax over samples of f.
 */
import { type RngLike, toRng } from '../random.js';

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

/** softmax(μ / √(1 + π/8 · diag Σ)) per row; mean [n × K], covariance [n × K × K]. */
export function probitProbabilities(
  mean: Float64Array,
  covariance: Float64Array,
  n: number,
  k: number,
): Float64Array {
  const scaled = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const variance = covariance[(i * k + j) * k + j]!;
      scaled[i * k + j] = mean[i * k + j]! / Math.sqrt(1 + (Math.PI / 8) * variance);
    }
  }
  return softmaxRows(scaled, n, k);
}

/** Laplace-bridge probabilities (Dirichlet mean), optionally with laplace-torch's variance normalisation. */
export function bridgeProbabilities(
  mean: Float64Array,
  covariance: Float64Array,
  n: number,
  k: number,
  normalize: boolean,
): Float64Array {
  const probs = new Float64Array(n * k);
  const mu = new Float64Array(k);
  const rowSum = new Float64Array(k);
  const variance = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const cov = covariance.subarray(i * k * k, (i + 1) * k * k);
    let total = 0;
    let meanSum = 0;
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let b = 0; b < k; b++) s += cov[a * k + b]!;
      rowSum[a] = s;
      total += s;
      meanSum += mean[i * k + a]!;
    }
    // Zero-mean correction. Σ is symmetric, so the column sums equal the row sums.
    for (let a = 0; a < k; a++) {
      mu[a] = mean[i * k + a]! - (rowSum[a]! * meanSum) / total;
      variance[a] = cov[a * k + a]! - (rowSum[a]! * rowSum[a]!) / total;
    }
    if (normalize) {
      let averageVariance = 0;
      for (let a = 0; a < k; a++) averageVariance += variance[a]! / k;
      averageVariance /= Math.sqrt(k / 2);
      const scale = Math.sqrt(averageVariance);
      for (let a = 0; a < k; a++) {
        mu[a]! /= scale;
        variance[a]! /= averageVariance;
      }
    }
    let sumExpNeg = 0;
    for (let a = 0; a < k; a++) sumExpNeg += Math.exp(-mu[a]!);
    let alphaSum = 0;
    for (let a = 0; a < k; a++) {
      const alpha = (1 - 2 / k + (Math.exp(mu[a]!) / (k * k)) * sumExpNeg) / variance[a]!;
      probs[i * k + a] = alpha;
      alphaSum += alpha;
    }
    for (let a = 0; a < k; a++) {
      // laplace-torch maps the 0/0 of a degenerate row (no variance) to 1.
      const p = probs[i * k + a]! / alphaSum;
      probs[i * k + a] = Number.isNaN(p) ? 1 : p;
    }
  }
  return probs;
}

/**
 * Draw f = μ + L z with Σ = L Lᵀ (a small jitter makes semi-definite Σ usable)
 * and return the samples [s × n × K]. Used by the 'mc' link and by
 * predictive sampling.
 */
function sampleGaussianRows(
  mean: Float64Array,
  covariance: Float64Array,
  n: number,
  k: number,
  samples: number,
  seed: RngLike,
): Float64Array {
  const rng = toRng(seed);
  const out = new Float64Array(samples * n * k);
  const l = new Float64Array(k * k);
  const z = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    smallCholesky(covariance.subarray(i * k * k, (i + 1) * k * k), k, l);
    for (let s = 0; s < samples; s++) {
      for (let a = 0; a < k; a++) z[a] = rng.normal();
      for (let a = 0; a < k; a++) {
        let v = mean[i * k + a]!;
        for (let b = 0; b <= a; b++) v += l[a * k + b]! * z[b]!;
        out[(s * n + i) * k + a] = v;
      }
    }
  }
  return out;
}

/** Monte Carlo estimate of E[softmax(f)], f ~ N(μ, Σ). */
export function monteCarloProbabilities(
  mean: Float64Array,
  covariance: Float64Array,
  n: number,
  k: number,
  samples: number,
  seed: RngLike,
): Float64Array {
  const draws = sampleGaussianRows(mean, covariance, n, k, samples, seed);
  const probs = new Float64Array(n * k);
  const p = new Float64Array(n * k);
  for (let s = 0; s < samples; s++) {
    softmaxRows(draws.subarray(s * n * k, (s + 1) * n * k), n, k, p);
    for (let i = 0; i < n * k; i++) probs[i]! += p[i]! / samples;
  }
  return probs;
}

/**
 * Lower Cholesky factor of a small symmetric positive semi-definite matrix;
 * pivots that are not positive (rank deficiency, round-off) become 0, so the
 * sample has no spread along those directions.
 */
function smallCholesky(a: Float64Array, k: number, l: Float64Array): void {
  l.fill(0);
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j]!;
    for (let p = 0; p < j; p++) d -= l[j * k + p]! ** 2;
    const pivot = d > 1e-14 * Math.abs(a[j * k + j]!) && d > 0 ? Math.sqrt(d) : 0;
    l[j * k + j] = pivot;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j]!;
      for (let p = 0; p < j; p++) s -= l[i * k + p]! * l[j * k + p]!;
      l[i * k + j] = pivot > 0 ? s / pivot : 0;
    }
  }
}
