/**
 * Functional Laplace: the linearised network as a Gaussian process, with
 * laplace-torch's FunctionalLaplace conventions (Immer et al. 2021 §4).
 *
 * Linearised at θ*, f(x, θ) ≈ f(x, θ*) + J(x)(θ − θ*) is a generalised linear
 * model; under the prior θ ~ N(μ₀, δ⁻¹ I) its outputs are a Gaussian process
 * with mean m(x) = f(x, θ*) + J(x)(μ₀ − θ*) and the neural-tangent kernel of
 * the GGN, κ(x, x') = J(x) J(x')ᵀ / δ (Khan et al. 2019). Inference then
 * happens over the outputs of a subset S of M training examples (all N by
 * default, nSubset drawn by the seed, or subsetIndices) instead of the P
 * weights. As in laplace-torch:
 *
 * - the kernel is scaled by the subset's share of the data, s = (M/N)/δ,
 *   K = s·J_S J_Sᵀ [M·k × M·k] (k outputs);
 * - the output Hessian of the likelihood is kept diagonal: Λ = diag(pⱼ(1 − pⱼ))
 *   for softmax probabilities p (the −pᵢpⱼ off the diagonal are dropped;
 *   laplace-torch avoids the multi-class Laplace GP of R&W 2006 §3.5), Λ = I
 *   for regression, scaled by c = 1/(σ²T) or 1/T;
 * - `independentOutputs` keeps only the kernel's entries between equal outputs,
 *   k independent GPs: every kernel below is masked to j = j', and the
 *   predictive covariance is diagonal.
 *
 * With W = Λ^{1/2} on the subset's rows, R = W·J_S, G = R Rᵀ = Q diag(h) Qᵀ
 * (masked like K) and B = I + c·s·G, the GP predictive covariance at x* is, by
 * Woodbury, computed in B's eigenbasis:
 *
 *     s·J* J*ᵀ − K*S (K + (cΛ)⁻¹)⁻¹ KS* = s·J* J*ᵀ − c·s²·C B⁻¹ Cᵀ,   C = J* Rᵀ.
 *
 * Without independentOutputs this is the weight-space posterior with
 * precision P = c·RᵀR + I/s, which posteriorCovariance, sample and predType
 * 'nn' use (log det P − log det P₀ = log det B by Sylvester); with
 * independentOutputs no single weight posterior exists and they are refused.
 * For regression with S all the data, P is the `full` posterior's.
 *
 * The evidence is laplace-torch's,
 *
 *     log p(D) ≈ log p(D_S | θ*) − ½ (logDetRatio + scatter),
 *
 * with the log likelihood summed over the subset (its Gaussian normaliser
 * still counting N·k outputs) and, for the eigenvalues h⁰ and eigenvectors
 * Q⁰ of the unweighted (masked) J_S J_Sᵀ,
 *
 *     regression:      logDetRatio = log det(K + σ²I) = M·k·log σ² + Σᵢ log(1 + s·h⁰ᵢ/σ²),
 *                      scatter = rᵀ(K + σ²I)⁻¹r = Σᵢ aᵢ²/(σ² + s·h⁰ᵢ),   r = y − m(X_S),  a = Q⁰ᵀr;
 *     classification:  logDetRatio = log det(I + c·W K W) = Σᵢ log(1 + c·s·hᵢ),
 *                      scatter = μᵀ(K + εI)⁻¹μ = Σᵢ bᵢ²/(s·h⁰ᵢ + ε),   μ = J_S(θ* − μ₀),  b = Q⁰ᵀμ,
 *
 * ε = 10⁻⁵. This is not the weight-space structures' Laplace evidence. For
 * regression, −½(logDetRatio + scatter) − ½M·k·log 2π alone is the exact
 * evidence of the linearised model on S, log N(y; m, K + σ²I), so the data fit
 * and log σ enter twice. For classification (R&W eq. 3.44 at f̂ = μ) Λ is
 * diagonal, and the function-space scatter equals the weight-space
 * (θ* − μ₀)ᵀP₀(θ* − μ₀) only when θ* − μ₀ lies in the row space of J_S, up to
 * ε.
 *
 * laplace-torch 0.2.2.2 is matched to rounding (laplace-torch-gp.test.ts) but
 * for two things. Its predictive with dependent outputs reshapes the
 * cross-kernel [N*, M, k, k] so that the test point's output pairs with the
 * training rows: it returns the covariance of k(x*, x)ⱼ′ⱼ in place of
 * k(x*, x)ⱼⱼ′, the same only when J(x*)ⱼ·J(x)ⱼ′ is symmetric in (j, j′) (an MLP
 * with one hidden layer, not a CNN); the GP covariance is computed here. And it
 * replaces an infinite 1/(cΛⱼⱼ) (a saturated softmax) by 10 in its Cholesky
 * factor, where the eigenbasis here takes Λⱼⱼ = 0 exactly.
 *
 * Given δ and σ every quantity above is a sum over the eigenvalues, so the
 * evidence is maximised over δ (and σ) exactly, in O(M·k) per evaluation.
 *
 * A saved posterior holds the subset's examples (indices, inputs, targets);
 * restoring conditions on them again by the same arithmetic as `fit`, so the
 * restored predictive and evidence are bitwise the fitted ones.
 */

import { ShapeError, ValueError } from '../errors.js';
import { gemm, mat, tr } from '../kernels/view.js';
import { eigh } from '../linalg/index.js';
import { toRng } from '../random.js';
import { Tensor } from '../tensor.js';
import {
  BaseLaplace,
  type CurvatureSpectrum,
  type HyperparameterResult,
  type LaplaceJSON,
  type LaplaceOptions,
} from './base.js';
import {
  assembleRows,
  chunkSize,
  type JacobianFactors,
  jacobianFactors,
  rowsTimes,
  rowsTransposeTimes,
  sliceFactors,
} from './factors.js';
import type { OptimizeHyperparametersOptions, OptimizePriorOptions } from './hyperparameters.js';
import { describe, toMatrix } from './inputs.js';
import type { LikelihoodName, Targets } from './likelihood.js';
import type { SequentialLike } from './network.js';
import type { Prior, PriorPrecision } from './prior.js';
import type { CurvatureState } from './serialisation.js';

/** Above 2²⁷ entries (1 GiB) a dense array is refused rather than allocated. */
const MAX_DENSE_ENTRIES = 2 ** 27;
/** laplace-torch's ε in the classification scatter μᵀ(K + εI)⁻¹μ. */
const SCATTER_JITTER = 1e-5;

/** What the posterior keeps of the training subset. */
interface SubsetState {
  /** Indices of the subset's examples in the training data, ascending; their inputs and targets. */
  indices: Int32Array;
  inputs: Float64Array;
  targets: Targets;
  /** The plain Jacobian J_S at θ* (unit rows, m = k). */
  factors: JacobianFactors;
  /**
   * Eigenvalues h of G = W J_S J_Sᵀ W (masked; clipped at 0), and W·Q, its
   * eigenvectors (columns, row-major q × q) with row (example, output) scaled by
   * that row's W = Λ^{1/2}, so that R = W J_S is only ever used as (WQ)ᵀJ_S.
   */
  values: Float64Array;
  vectors: Float64Array;
  /** Eigenvalues h⁰ of the unweighted J_S J_Sᵀ (masked), and the scatter's vector (r or μ) in their eigenbasis. */
  plainValues: Float64Array;
  scatterProjection: Float64Array;
  /** M/N. */
  fraction: number;
  /** Σ loss over the subset at θ*. */
  loss: number;
}

export class FunctionalLaplace<L extends LikelihoodName = LikelihoodName> extends BaseLaplace<L> {
  readonly hessianStructure = 'gp' as const;
  /** One GP per output (laplace-torch's independent_outputs): the kernel between different outputs is dropped. */
  readonly independentOutputs: boolean;
  private readonly requestedSize: number | undefined;
  private readonly requestedIndices: Int32Array | undefined;
  private readonly subsetSeed: number;
  private pendingData: { X: unknown; y: unknown } | null = null;
  private state: SubsetState | null = null;

  constructor(model: SequentialLike, options: LaplaceOptions<L>) {
    super(model, options);
    if (this.curvature !== 'ggn') {
      throw new ValueError(
        `FunctionalLaplace: curvature must be 'ggn' (the GP kernel is the GGN's), got '${this.curvature}'`,
      );
    }
    const { nSubset, subsetIndices, independentOutputs } = options;
    if (independentOutputs !== undefined && typeof independentOutputs !== 'boolean') {
      throw new ValueError(
        `FunctionalLaplace: independentOutputs must be true or false, got ${describe(independentOutputs)}`,
      );
    }
    this.independentOutputs = independentOutputs ?? false;
    if (nSubset !== undefined && (!Number.isInteger(nSubset) || nSubset < 1)) {
      throw new ValueError(`FunctionalLaplace: nSubset must be a positive integer, got ${nSubset}`);
    }
    if (subsetIndices !== undefined) {
      const indices = checkIndices(subsetIndices, 'FunctionalLaplace: subsetIndices');
      if (nSubset !== undefined && nSubset !== indices.length) {
        throw new ValueError(
          `FunctionalLaplace: nSubset is ${nSubset} but subsetIndices has ${indices.length} entries`,
        );
      }
      this.requestedIndices = indices;
    }
    this.requestedSize = nSubset;
    this.subsetSeed = options.seed ?? 0;
  }

  /** laplace-torch's GP prior is isotropic: one precision for every weight. */
  protected override checkPrior(prior: Prior): void {
    if (prior.values.length !== 1) {
      throw new ValueError(
        `FunctionalLaplace: the GP kernel needs a scalar priorPrecision, got ${prior.values.length} values`,
      );
    }
  }

  /** The training examples the GP posterior conditions on (after `fit`). */
  get subsetIndices(): Int32Array {
    this.checkFitted('subsetIndices');
    return this.state!.indices.slice();
  }

  override fit(X: unknown, y: unknown): this {
    this.pendingData = { X, y };
    try {
      return super.fit(X, y);
    } finally {
      this.pendingData = null;
    }
  }

  protected beginCurvature(): void {
    this.state = null;
  }

  /** The kernel is built from the subset in finishCurvature; the pass over all data only sums the loss. */
  protected accumulateCurvature(_factors: JacobianFactors): void {}

  protected finishCurvature(): void {
    const { X, y } = this.pendingData!;
    const d = this.network.inputSize;
    const k = this.nOutputs;
    const { data: x } = toMatrix(X, d, 'fit: X');
    const n = this.nData;
    const targets = this.likelihoodRule.parseTargets(y, n, k, 'fit: y');
    const indices = this.chooseSubset(n);
    const inputs = new Float64Array(indices.length * d);
    indices.forEach((row, i) => {
      inputs.set(x.subarray(row * d, (row + 1) * d), i * d);
    });
    this.state = this.conditionOn(indices, inputs, gatherTargets(targets, indices, k));
  }

  /** The GP posterior on the subset (indices, inputs, targets) at θ*, for the current N. */
  private conditionOn(indices: Int32Array, inputs: Float64Array, targets: Targets): SubsetState {
    const size = indices.length;
    const k = this.nOutputs;
    const q = size * k;
    const factors = jacobianFactors(this.network, this.theta, inputs, size, undefined, this.selection.layers);
    const { loss, roots, m } = this.likelihoodRule.outputCurvature(
      'ggn',
      factors.output,
      targets,
      0,
      size,
      k,
    );
    // W² = diag(SᵀS) for the output Hessian Λ = SᵀS of each example.
    const weights = new Float64Array(q);
    for (let e = 0; e < size; e++) {
      for (let j = 0; j < k; j++) {
        let sum = 0;
        for (let r = 0; r < m; r++) sum += roots[(e * m + r) * k + j]! ** 2;
        weights[e * k + j] = Math.sqrt(sum);
      }
    }
    const plain = this.crossRows(factors, factors, true);
    if (this.independentOutputs) maskOutputs(plain, q, q, k);
    const plainEigen = eigh(new Tensor(plain, [q, q]));
    const plainValues = plainEigen.values.map((v) => Math.max(v, 0));
    const shift = new Float64Array(this.nParams);
    for (let i = 0; i < shift.length; i++) shift[i] = this.mean[i]! - this.priorMeanVector[i]!;
    // μ = J_S(θ* − μ₀); for regression r = y − f(θ*) + μ.
    const scatterVector = rowsTimes(factors, this.network, this.selection, shift);
    let values = plainValues;
    let vectors: Float64Array = plainEigen.vectors.data.slice();
    if (targets.kind === 'regression') {
      for (let i = 0; i < q; i++) scatterVector[i]! += targets.values[i]! - factors.output[i]!;
    } else {
      for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) plain[i * q + j]! *= weights[i]! * weights[j]!;
      const eigen = eigh(new Tensor(plain, [q, q]));
      values = eigen.values.map((v) => Math.max(v, 0));
      vectors = eigen.vectors.data;
    }
    for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) vectors[i * q + j]! *= weights[i]!;
    return {
      indices,
      inputs,
      targets,
      factors,
      values,
      vectors,
      plainValues,
      scatterProjection: transposeTimes(plainEigen.vectors.data, q, scatterVector),
      fraction: size / this.nData,
      loss,
    };
  }

  /** The user's subset, or nSubset examples drawn without replacement by the seed (default: all). */
  private chooseSubset(n: number): Int32Array {
    if (this.requestedIndices) {
      const last = this.requestedIndices[this.requestedIndices.length - 1]!;
      if (last >= n) {
        throw new ValueError(
          `FunctionalLaplace: subsetIndices holds ${last}, but the training data has ${n} rows`,
        );
      }
      return this.requestedIndices.slice();
    }
    const size = this.requestedSize ?? n;
    if (size > n) {
      throw new ValueError(`FunctionalLaplace: nSubset is ${size}, more than the ${n} training rows`);
    }
    if (size === n) return Int32Array.from({ length: n }, (_, i) => i);
    // A partial Fisher–Yates shuffle: the first `size` entries are a uniform draw.
    const rng = toRng(this.subsetSeed);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < size; i++) {
      const j = i + rng.int(n - i);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    return order.slice(0, size).sort();
  }

  /**
   * R_A R_Bᵀ [n_A·m_A × n_B·m_B] from the rows of two sets of factors, a chunk of
   * rows of each at a time (never more than a few million numbers of rows).
   */
  private crossRows(a: JacobianFactors, b: JacobianFactors, symmetric = false): Float64Array {
    const p = this.nParams;
    const qa = a.n * a.m;
    const qb = b.n * b.m;
    const out = new Float64Array(qa * qb);
    const chunkA = Math.min(a.n, chunkSize(a.m, p, 2_000_000));
    const chunkB = Math.min(b.n, chunkSize(b.m, p, 2_000_000));
    const rowsA = new Float64Array(chunkA * a.m * p);
    const rowsB = new Float64Array(chunkB * b.m * p);
    for (let i0 = 0; i0 < a.n; i0 += chunkA) {
      const i1 = Math.min(a.n, i0 + chunkA);
      assembleRows(a, this.network, this.selection, i0, i1, rowsA);
      for (let j0 = 0; j0 < b.n; j0 += chunkB) {
        const j1 = Math.min(b.n, j0 + chunkB);
        assembleRows(b, this.network, this.selection, j0, j1, rowsB);
        gemm(
          mat(out, (i1 - i0) * a.m, (j1 - j0) * b.m, i0 * a.m * qb + j0 * b.m, qb),
          1,
          mat(rowsA, (i1 - i0) * a.m, p),
          tr(mat(rowsB, (j1 - j0) * b.m, p)),
        );
      }
    }
    if (symmetric) {
      // Round-off makes the two triangles differ in the last bits; eigh wants them equal.
      for (let i = 0; i < qa; i++) {
        for (let j = i + 1; j < qa; j++) {
          const value = 0.5 * (out[i * qa + j]! + out[j * qa + i]!);
          out[i * qa + j] = value;
          out[j * qa + i] = value;
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------
  // Evidence

  /** s = (M/N)/δ, the kernel's prior variance. */
  private get kernelScale(): number {
    return this.state!.fraction / this.prior.values[0]!;
  }

  /** log p(D_S | θ*): the loss over the subset, the Gaussian normaliser over all N·k outputs. */
  override get logLikelihood(): number {
    this.checkFitted('logLikelihood');
    return this.subsetLogLikelihood(this.sigmaNoise);
  }

  private subsetLogLikelihood(sigma: number): number {
    return this.likelihoodRule.logLikelihood(
      this.state!.loss,
      sigma,
      this.temperature,
      this.nData,
      this.nOutputs,
    );
  }

  /** The evidence's log-determinant term (see the header), laplace-torch's `log_det_ratio`. */
  get logDetRatio(): number {
    this.checkFitted('logDetRatio');
    return this.evidenceTerms(this.kernelScale, this.sigmaNoise).logDet;
  }

  /** The evidence's function-space scatter (see the header), laplace-torch's `scatter`. */
  override get scatter(): number {
    this.checkFitted('scatter');
    return this.evidenceTerms(this.kernelScale, this.sigmaNoise).scatter;
  }

  private evidenceTerms(s: number, sigma: number): { logDet: number; scatter: number } {
    const { values, plainValues, scatterProjection } = this.state!;
    let logDet = 0;
    let scatter = 0;
    if (this.likelihoodRule.hasNoise) {
      const noise = sigma * sigma;
      logDet = plainValues.length * Math.log(noise);
      plainValues.forEach((h, i) => {
        logDet += Math.log1p((s * h) / noise);
        scatter += scatterProjection[i]! ** 2 / (noise + s * h);
      });
    } else {
      const c = this.likelihoodRule.hessianFactor(sigma, this.temperature);
      for (const h of values) logDet += Math.log1p(c * s * h);
      plainValues.forEach((h, i) => {
        scatter += scatterProjection[i]! ** 2 / (s * h + SCATTER_JITTER);
      });
    }
    return { logDet, scatter };
  }

  /** log det P = P·log(1/s) + log det B for the weight-space P = c·RᵀR + I/s (log det P₀ + log det B when M = N). */
  protected computeLogDetPosteriorPrecision(): number {
    this.checkWeightSpace('logDetPosteriorPrecision');
    const c = this.hessianFactor;
    const s = this.kernelScale;
    let sum = -this.nParams * Math.log(s);
    for (const h of this.state!.values) sum += Math.log1p(c * s * h);
    return sum;
  }

  /** The evidence at prior precision δ and noise σ, from the eigenvalues alone. */
  private evidenceAt(delta: number, sigma: number): number {
    const { logDet, scatter } = this.evidenceTerms(this.state!.fraction / delta, sigma);
    return this.subsetLogLikelihood(sigma) - 0.5 * (logDet + scatter);
  }

  override logMarginalLikelihood(
    hyper: { priorPrecision?: PriorPrecision; sigmaNoise?: number } = {},
  ): number {
    this.checkFitted('logMarginalLikelihood');
    if (hyper.priorPrecision !== undefined) this.priorPrecision = hyper.priorPrecision;
    if (hyper.sigmaNoise !== undefined) this.sigmaNoise = hyper.sigmaNoise;
    return this.evidenceAt(this.prior.values[0]!, this.sigmaNoise);
  }

  /** None: the scatter here is not the weight-space one the shared tuning assumes (see optimizePriorPrecision). */
  protected curvatureSpectrum(): CurvatureSpectrum | null {
    return null;
  }

  /**
   * 'marglik' maximises this posterior's own evidence over the scalar prior
   * exactly (each evaluation a sum over M·m eigenvalues); 'gridsearch' is the
   * validation grid search common to every structure.
   */
  override optimizePriorPrecision(options: OptimizePriorOptions = {}): HyperparameterResult {
    this.checkFitted('optimizePriorPrecision');
    if ((options.method ?? 'marglik') !== 'marglik') return super.optimizePriorPrecision(options);
    this.checkTuning(options, 'optimizePriorPrecision');
    const sigma = this.sigmaNoise;
    this.priorPrecision = maximizeOverLog((delta) => this.evidenceAt(delta, sigma), 'the prior precision');
    return this.tuned(1);
  }

  /** Prior precision and (regression) σ by coordinate ascent, each step an exact 1-D maximisation. */
  override optimizeHyperparameters(options: OptimizeHyperparametersOptions = {}): HyperparameterResult {
    this.checkFitted('optimizeHyperparameters');
    this.checkTuning(options, 'optimizeHyperparameters');
    const tol = options.tol ?? 1e-8;
    const maxIter = options.maxIter ?? 500;
    let iterations = 0;
    while (iterations < maxIter) {
      iterations++;
      const before = [this.prior.values[0]!, this.sigmaNoise];
      const sigma = this.sigmaNoise;
      this.priorPrecision = maximizeOverLog((delta) => this.evidenceAt(delta, sigma), 'the prior precision');
      if (this.likelihoodRule.hasNoise) {
        const delta = this.prior.values[0]!;
        this.sigmaNoise = maximizeOverLog((s) => this.evidenceAt(delta, s), 'sigmaNoise');
      }
      const after = [this.prior.values[0]!, this.sigmaNoise];
      if (Math.max(...after.map((v, i) => Math.abs(Math.log(v / before[i]!)))) < tol) break;
    }
    return this.tuned(iterations);
  }

  private checkTuning(options: OptimizePriorOptions, what: string): void {
    if (options.priorStructure !== undefined && options.priorStructure !== 'scalar') {
      throw new ValueError(
        `${what}: FunctionalLaplace has only a scalar prior, got priorStructure '${options.priorStructure}'`,
      );
    }
    if (options.optimizer !== undefined && options.optimizer !== 'exact') {
      throw new ValueError(
        `${what}: FunctionalLaplace maximises its evidence exactly; optimizer '${options.optimizer}' is not offered`,
      );
    }
  }

  private tuned(iterations: number): HyperparameterResult {
    return {
      priorPrecision: this.priorPrecision,
      sigmaNoise: this.sigmaNoise,
      logMarginalLikelihood: this.logMarginalLikelihood(),
      iterations,
    };
  }

  // ------------------------------------------------------------------------
  // Predictive and weight space

  protected functionalCovariance(factors: JacobianFactors): Float64Array {
    const state = this.state!;
    const p = this.nParams;
    const k = factors.m;
    const q = state.values.length;
    const c = this.hessianFactor;
    const s = this.kernelScale;
    const weights = state.values.map((h) => 1 / (1 + c * s * h));
    const out = new Float64Array(factors.n * k * k);
    const chunk = Math.min(factors.n, chunkSize(k, p + 2 * q, 2_000_000));
    const rows = new Float64Array(chunk * k * p);
    const projected = new Float64Array(chunk * k * q);
    for (let start = 0; start < factors.n; start += chunk) {
      const end = Math.min(factors.n, start + chunk);
      const count = (end - start) * k;
      const part = sliceFactors(factors, start, end);
      // C Q = (J* J_Sᵀ)(W Q): the cross-kernel in B's eigenbasis.
      const cross = this.crossRows(part, state.factors);
      if (this.independentOutputs) maskOutputs(cross, count, q, k);
      gemm(mat(projected, count, q), 1, mat(cross, count, q), mat(state.vectors, q, q));
      assembleRows(factors, this.network, this.selection, start, end, rows);
      for (let e = 0; e < end - start; e++) {
        for (let a = 0; a < k; a++) {
          const ra = (e * k + a) * p;
          const pa = (e * k + a) * q;
          for (let b = this.independentOutputs ? a : 0; b <= a; b++) {
            const rb = (e * k + b) * p;
            const pb = (e * k + b) * q;
            let prior = 0;
            for (let i = 0; i < p; i++) prior += rows[ra + i]! * rows[rb + i]!;
            let data = 0;
            for (let i = 0; i < q; i++) data += projected[pa + i]! * projected[pb + i]! * weights[i]!;
            const value = s * prior - c * s * s * data;
            out[((start + e) * k + a) * k + b] = value;
            out[((start + e) * k + b) * k + a] = value;
          }
        }
      }
    }
    return out;
  }

  /** Z = Qᵀ R = (WQ)ᵀ J_S [q × P], the subset's rows in B's eigenbasis; RᵀR = ZᵀZ. */
  private rotatedRows(what: string): Float64Array {
    const state = this.state!;
    const p = this.nParams;
    const q = state.values.length;
    if (q * p > MAX_DENSE_ENTRIES) {
      throw new ValueError(
        `${what}: needs the ${q} × ${p} rotated Jacobian of the subset; use a smaller nSubset`,
      );
    }
    const { factors } = state;
    const m = factors.m;
    const z = new Float64Array(q * p);
    const chunk = Math.min(factors.n, chunkSize(m, p, 2_000_000));
    const rows = new Float64Array(chunk * m * p);
    for (let start = 0; start < factors.n; start += chunk) {
      const end = Math.min(factors.n, start + chunk);
      assembleRows(factors, this.network, this.selection, start, end, rows);
      gemm(
        mat(z, q, p),
        1,
        tr(mat(state.vectors, (end - start) * m, q, start * m * q)),
        mat(rows, (end - start) * m, p),
        1,
      );
    }
    return z;
  }

  /** diag P⁻¹ = s − c·s²·Σᵢ Zᵢₚ² / (1 + c·s·hᵢ). */
  posteriorVariance(): Float64Array {
    this.checkFitted('posteriorVariance');
    this.checkWeightSpace('posteriorVariance');
    const z = this.rotatedRows('posteriorVariance');
    const { values } = this.state!;
    const p = this.nParams;
    const c = this.hessianFactor;
    const s = this.kernelScale;
    const variance = new Float64Array(p).fill(s);
    values.forEach((h, i) => {
      const w = (c * s * s) / (1 + c * s * h);
      for (let j = 0; j < p; j++) variance[j]! -= w * z[i * p + j]! ** 2;
    });
    return variance;
  }

  private checkDense(what: string): void {
    if (this.nParams * this.nParams > MAX_DENSE_ENTRIES) {
      throw new ValueError(
        `${what}: a dense ${this.nParams} × ${this.nParams} matrix is what 'gp' avoids forming`,
      );
    }
  }

  /** P⁻¹ = s·I − c·s²·Zᵀ diag(1/(1 + c·s·h)) Z. */
  posteriorCovariance(): Tensor {
    this.checkFitted('posteriorCovariance');
    this.checkWeightSpace('posteriorCovariance');
    this.checkDense('posteriorCovariance');
    return new Tensor(
      this.weightSpace((h, c, s) => (-c * s * s) / (1 + c * s * h), this.kernelScale),
      [this.nParams, this.nParams],
    );
  }

  /** P = I/s + c·ZᵀZ. */
  posteriorPrecision(): Tensor {
    this.checkFitted('posteriorPrecision');
    this.checkWeightSpace('posteriorPrecision');
    this.checkDense('posteriorPrecision');
    return new Tensor(
      this.weightSpace((_h, c) => c, 1 / this.kernelScale),
      [this.nParams, this.nParams],
    );
  }

  /** diagonal·I + Zᵀ diag(w(hᵢ)) Z. */
  private weightSpace(w: (h: number, c: number, s: number) => number, diagonal: number): Float64Array {
    const z = this.rotatedRows('posteriorCovariance');
    const { values } = this.state!;
    const p = this.nParams;
    const q = values.length;
    const c = this.hessianFactor;
    const s = this.kernelScale;
    const scaled = new Float64Array(q * p);
    values.forEach((h, i) => {
      const wi = w(h, c, s);
      for (let j = 0; j < p; j++) scaled[i * p + j] = wi * z[i * p + j]!;
    });
    const out = new Float64Array(p * p);
    gemm(mat(out, p, p), 1, tr(mat(z, q, p)), mat(scaled, q, p));
    for (let i = 0; i < p; i++) out[i * p + i]! += diagonal;
    return out;
  }

  /**
   * Rows of s^{1/2}(I − c·s·Rᵀ Q diag(w) Qᵀ R) z (R = W J_S, so Qᵀ R = (WQ)ᵀ J_S) with wᵢ = (1 − (1 + c·s·hᵢ)^{-1/2})/(c·s·hᵢ):
   * a square root of P⁻¹ (on the right singular vectors of √(cs)·R it is
   * (1 + c·s·hᵢ)^{-1/2}, elsewhere 1), applied with two passes over the factors.
   */
  protected applyPosteriorScale(z: Float64Array, n: number): Float64Array {
    this.checkWeightSpace('sample');
    const state = this.state!;
    const p = this.nParams;
    const q = state.values.length;
    const c = this.hessianFactor;
    const s = this.kernelScale;
    const w = state.values.map((h) => {
      const x = c * s * h;
      return x > 1e-8 ? (1 - 1 / Math.sqrt(1 + x)) / x : 0.5 - 0.375 * x;
    });
    const rooted = Math.sqrt(s);
    for (let r = 0; r < n; r++) {
      const row = z.subarray(r * p, (r + 1) * p);
      const projected = transposeTimes(
        state.vectors,
        q,
        rowsTimes(state.factors, this.network, this.selection, row),
      );
      for (let i = 0; i < q; i++) projected[i]! *= c * s * w[i]!;
      const back = rowsTransposeTimes(
        state.factors,
        this.network,
        this.selection,
        times(state.vectors, q, projected),
      );
      for (let i = 0; i < p; i++) row[i] = rooted * (row[i]! - back[i]!);
    }
    return z;
  }

  // ------------------------------------------------------------------------
  // Serialisation

  override toJSON(): LaplaceJSON {
    return {
      ...super.toJSON(),
      nSubset: this.state!.indices.length,
      independentOutputs: this.independentOutputs,
    };
  }

  /** The subset's examples: restoring conditions on them again, the same arithmetic as fit. */
  protected curvatureState(): CurvatureState {
    const { indices, inputs, targets } = this.state!;
    return {
      subsetIndices: Array.from(indices),
      subsetInputs: Array.from(inputs),
      subsetTargets: Array.from(targets.kind === 'regression' ? targets.values : targets.labels),
    };
  }

  override restore(json: LaplaceJSON): this {
    const saved = json?.independentOutputs ?? false;
    if (saved !== this.independentOutputs) {
      throw new ValueError(
        `Laplace.fromJSON: the saved independentOutputs is ${String(saved)}, this posterior's ${this.independentOutputs}`,
      );
    }
    return super.restore(json);
  }

  protected restoreCurvature(state: CurvatureState): void {
    const what = 'Laplace.fromJSON: curvatureState';
    const indices = checkIndices(state['subsetIndices'] as number[], `${what}.subsetIndices`);
    const last = indices[indices.length - 1]!;
    if (last >= this.nData) {
      throw new ValueError(
        `${what}.subsetIndices holds ${last}, but the posterior was fitted on ${this.nData} rows`,
      );
    }
    const targets = this.likelihoodRule.parseTargets(
      Float64Array.from(state['subsetTargets'] as number[]),
      indices.length,
      this.nOutputs,
      `${what}.subsetTargets`,
    );
    this.state = this.conditionOn(indices, Float64Array.from(state['subsetInputs'] as number[]), targets);
  }

  private checkWeightSpace(what: string): void {
    if (this.independentOutputs) {
      throw new ValueError(
        `${what}: with independentOutputs the ${this.nOutputs} outputs are separate GPs, with no single weight-space posterior`,
      );
    }
  }
}

/** Distinct non-negative integer indices, ascending; `what` names them in errors. */
function checkIndices(values: ArrayLike<number>, what: string): Int32Array {
  const indices = Int32Array.from(values, (v, i) => {
    if (!Number.isInteger(v) || v < 0) {
      throw new ValueError(`${what}[${i}] = ${v} is not a non-negative integer`);
    }
    return v;
  }).sort();
  if (indices.length === 0) throw new ValueError(`${what} is empty`);
  const repeated = indices.findIndex((v, i) => i > 0 && v === indices[i - 1]);
  if (repeated >= 0) throw new ValueError(`${what} holds ${indices[repeated]} twice`);
  return indices;
}

/** Zero the entries of a [rows × cols] kernel between different outputs (row i is output i mod k, column j output j mod k). */
function maskOutputs(kernel: Float64Array, rows: number, cols: number, k: number): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) if (i % k !== j % k) kernel[i * cols + j] = 0;
  }
}

function gatherTargets(targets: Targets, indices: Int32Array, k: number): Targets {
  if (targets.kind === 'classification') {
    return { kind: 'classification', labels: Int32Array.from(indices, (i) => targets.labels[i]!) };
  }
  const values = new Float64Array(indices.length * k);
  indices.forEach((row, i) => {
    values.set(targets.values.subarray(row * k, (row + 1) * k), i * k);
  });
  return { kind: 'regression', values };
}

/** Qᵀ v for Q [q × q] row-major. */
function transposeTimes(q: Float64Array, n: number, v: Float64Array): Float64Array {
  if (v.length !== n) throw new ShapeError(`FunctionalLaplace: a vector of ${v.length} against ${n} rows`);
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const vr = v[r]!;
    if (vr === 0) continue;
    for (let i = 0; i < n; i++) out[i]! += q[r * n + i]! * vr;
  }
  return out;
}

/** Q v for Q [q × q] row-major. */
function times(q: Float64Array, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += q[r * n + i]! * v[i]!;
    out[r] = sum;
  }
  return out;
}

/**
 * The maximiser of f over x ∈ [10⁻¹², 10¹²] on a log scale: the best of 97
 * points, then golden-section search in the bracket around it. A maximum on the
 * edge means f keeps increasing towards 0 or ∞, which is an error naming `what`.
 */
function maximizeOverLog(f: (x: number) => number, what: string): number {
  const lo = Math.log(1e-12);
  const hi = Math.log(1e12);
  const points = 97;
  const step = (hi - lo) / (points - 1);
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < points; i++) {
    const value = f(Math.exp(lo + i * step));
    if (value > bestValue) {
      best = i;
      bestValue = value;
    }
  }
  if (!Number.isFinite(bestValue))
    throw new ValueError(`the evidence is not finite for any value of ${what}`);
  if (best === 0 || best === points - 1) {
    throw new ValueError(
      `the evidence increases without bound as ${what} → ${best === 0 ? '0' : '∞'}; set it instead of tuning it`,
    );
  }
  let a = lo + (best - 1) * step;
  let b = lo + (best + 1) * step;
  const ratio = (Math.sqrt(5) - 1) / 2;
  let x1 = b - ratio * (b - a);
  let x2 = a + ratio * (b - a);
  let f1 = f(Math.exp(x1));
  let f2 = f(Math.exp(x2));
  while (b - a > 1e-12) {
    if (f1 >= f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - ratio * (b - a);
      f1 = f(Math.exp(x1));
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + ratio * (b - a);
      f2 = f(Math.exp(x2));
    }
  }
  return Math.exp(0.5 * (a + b));
}
