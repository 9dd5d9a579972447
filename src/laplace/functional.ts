/**
 * Functional Laplace: the linearised network as a Gaussian process.
 *
 * Linearised at θ*, f(x, θ) ≈ f(x, θ*) + J(x)(θ − θ*) is a generalised linear
 * model; under the prior θ ~ N(μ₀, δ⁻¹ I) its outputs are a Gaussian process
 * with the neural-tangent kernel of the GGN, κ(x, x') = J(x) J(x')ᵀ / δ
 * (Khan et al. 2019; Immer et al. 2021 §4). Inference then happens over the
 * N·K training outputs instead of the P weights. On a subset S of M training
 * points (all of them by default) with Λₙ = SₙᵀSₙ the output Hessians
 * (likelihood.ts), write R = S·J_S for the M·m pulled-back rows and
 *
 *     s = (M/N)/δ,   G = R Rᵀ = Q diag(h) Qᵀ,   B = I + c·s·G,
 *
 * the factor M/N being laplace-torch's subset-of-data scaling of the kernel
 * (1 when S is everything). By Woodbury, the weight-space posterior with
 * precision c·RᵀR + I/s is reached through the M·m × M·m matrix B alone:
 *
 *     J* P⁻¹ J*ᵀ = s·J* J*ᵀ − c·s²·C B⁻¹ Cᵀ,    C = J* Rᵀ            (predictive)
 *     log det P − log det P₀ = log det B = Σᵢ log(1 + c·s·hᵢ)      (Sylvester)
 *
 * With S everything, both equal the weight-space `full` posterior's for any
 * network (the GGN is RᵀR). The evidence is
 *
 *     log p(D) ≈ log p(D | θ*) − ½ (log det B + μᵀ K⁻¹ μ),   μ = J_S(θ* − μ₀),
 *
 * with the function-space scatter μᵀK⁻¹μ, K = s·J_S J_Sᵀ, that laplace-torch
 * uses. At a MAP of the linearised model on S, θ* − μ₀ lies in the row space of
 * J_S (representer theorem) and it equals the weight-space (θ* − μ₀)ᵀP₀(θ* − μ₀),
 * so that on a linear model the two evidences agree. For regression it is
 * computed without inverting K, from r̃ = y − f(θ*) + μ (targets minus the prior
 * mean function): r̃ᵀ(K + I/c)⁻¹r̃ = min_θ c‖r̃ − J_S(θ − μ₀)‖² + (θ − μ₀)ᵀP₀(θ − μ₀),
 * so μᵀK⁻¹μ = c·r̃ᵀB⁻¹r̃ − 2c·loss_S at the MAP. For classification K is used
 * through its pseudo-inverse (eigenvalues below 10⁻¹² of the largest dropped),
 * exact whenever μ lies in K's range, as it does at the MAP.
 *
 * Differences from laplace-torch 0.2.2.2's FunctionalLaplace, whose other
 * conventions (the M/N scaling, the scatter, the GP predictive) are followed:
 * its classification keeps only diag Λ, here Λ is used whole (so the identity
 * with `full` is exact); its regression evidence adds log p(D | θ*) to the
 * Gaussian log N(y; m, K + σ²I), which already contains the data fit, and here
 * it is not counted twice. Only a scalar prior (as laplace-torch) and the GGN.
 *
 * Given δ and c every quantity above is a sum over the eigenvalues hᵢ, so the
 * evidence is maximised over δ (and σ) exactly, in O(M·m) per evaluation.
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
import { toMatrix } from './inputs.js';
import type { LikelihoodName, Targets } from './likelihood.js';
import type { SequentialLike } from './network.js';
import type { Prior, PriorPrecision } from './prior.js';

/** Above 2²⁷ entries (1 GiB) a dense array is refused rather than allocated. */
const MAX_DENSE_ENTRIES = 2 ** 27;
/** Relative cut-off below which an eigenvalue of K counts as zero in its pseudo-inverse. */
const PSEUDO_INVERSE_CUTOFF = 1e-12;

/** What the posterior keeps of the training subset. */
interface SubsetState {
  /** Indices of the subset's examples in the training data, ascending. */
  indices: Int32Array;
  /** Rows R = S·J_S at θ*, m per example. */
  factors: JacobianFactors;
  /** Eigenvalues h of G = R Rᵀ (clipped at 0) and eigenvectors Q (columns, row-major q × q). */
  values: Float64Array;
  vectors: Float64Array;
  /** M/N. */
  fraction: number;
  /** Regression: Qᵀ r̃. */
  residualProjection: Float64Array | null;
  /** Classification: eigenvalues of J_S J_Sᵀ and the projection of μ on its eigenvectors. */
  plainValues: Float64Array | null;
  meanProjection: Float64Array | null;
  /** Σ loss over the subset at θ*, and over the other training examples (exactly 0 when there are none). */
  loss: number;
  lossOutside: number;
}

export class FunctionalLaplace<L extends LikelihoodName = LikelihoodName> extends BaseLaplace<L> {
  readonly hessianStructure = 'gp' as const;
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
    const { nSubset, subsetIndices } = options;
    if (nSubset !== undefined && (!Number.isInteger(nSubset) || nSubset < 1)) {
      throw new ValueError(`FunctionalLaplace: nSubset must be a positive integer, got ${nSubset}`);
    }
    if (subsetIndices !== undefined) {
      const indices = Int32Array.from(subsetIndices, (v, i) => {
        if (!Number.isInteger(v) || v < 0) {
          throw new ValueError(`FunctionalLaplace: subsetIndices[${i}] = ${v} is not a non-negative integer`);
        }
        return v;
      }).sort();
      if (indices.length === 0) throw new ValueError('FunctionalLaplace: subsetIndices is empty');
      const repeated = indices.findIndex((v, i) => i > 0 && v === indices[i - 1]);
      if (repeated >= 0)
        throw new ValueError(`FunctionalLaplace: subsetIndices holds ${indices[repeated]} twice`);
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
    const size = indices.length;
    const xs = new Float64Array(size * d);
    indices.forEach((row, i) => {
      xs.set(x.subarray(row * d, (row + 1) * d), i * d);
    });
    const subsetTargets = gatherTargets(targets, indices, k);
    let loss = 0;
    const factors = jacobianFactors(
      this.network,
      this.theta,
      xs,
      size,
      (output) => {
        const oc = this.likelihoodRule.outputCurvature('ggn', output, subsetTargets, 0, size, k);
        loss = oc.loss;
        return { rows: oc.roots, m: oc.m };
      },
      this.selection.layers,
    );
    const gram = eigh(
      new Tensor(this.crossRows(factors, factors, true), [size * factors.m, size * factors.m]),
    );
    const values = gram.values.map((v) => Math.max(v, 0));
    const vectors = gram.vectors.data;
    const q = size * factors.m;
    const shift = new Float64Array(this.nParams);
    for (let i = 0; i < shift.length; i++) shift[i] = this.mean[i]! - this.priorMeanVector[i]!;
    let residualProjection: Float64Array | null = null;
    let plainValues: Float64Array | null = null;
    let meanProjection: Float64Array | null = null;
    if (subsetTargets.kind === 'regression') {
      // The rows are J itself (Λ = I): r̃ = y − f(θ*) + J(θ* − μ₀).
      const residual = rowsTimes(factors, this.network, this.selection, shift);
      for (let i = 0; i < q; i++) residual[i]! += subsetTargets.values[i]! - factors.output[i]!;
      residualProjection = transposeTimes(vectors, q, residual);
    } else {
      const plain = jacobianFactors(this.network, this.theta, xs, size, undefined, this.selection.layers);
      const plainGram = eigh(new Tensor(this.crossRows(plain, plain, true), [size * k, size * k]));
      plainValues = plainGram.values;
      const mu = rowsTimes(plain, this.network, this.selection, shift);
      meanProjection = transposeTimes(plainGram.vectors.data, size * k, mu);
    }
    this.state = {
      indices,
      factors,
      values,
      vectors,
      fraction: size / n,
      residualProjection,
      plainValues,
      meanProjection,
      loss,
      lossOutside: size === n ? 0 : Math.max(this.loss - loss, 0),
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

  /** log det B = Σᵢ log(1 + c·s·hᵢ). */
  private logDetRatio(c: number, s: number): number {
    let sum = 0;
    for (const h of this.state!.values) sum += Math.log1p(c * s * h);
    return sum;
  }

  /** μᵀ K⁻¹ μ (see the header) for the factor c and kernel scale s. */
  private functionScatter(c: number, s: number): number {
    const state = this.state!;
    if (state.residualProjection) {
      let sum = 0;
      state.residualProjection.forEach((a, i) => {
        sum += (a * a) / (1 + c * s * state.values[i]!);
      });
      return c * sum - 2 * c * state.loss;
    }
    const g = state.plainValues!;
    const cutoff = PSEUDO_INVERSE_CUTOFF * Math.max(0, ...g);
    let sum = 0;
    state.meanProjection!.forEach((b, i) => {
      if (g[i]! > cutoff) sum += (b * b) / (s * g[i]!);
    });
    return sum;
  }

  override get scatter(): number {
    this.checkFitted('scatter');
    return this.functionScatter(this.hessianFactor, this.kernelScale);
  }

  /** log det P₀ + log det B: log det P itself when the subset is all the data. */
  protected computeLogDetPosteriorPrecision(): number {
    return this.logDetPriorPrecision + this.logDetRatio(this.hessianFactor, this.kernelScale);
  }

  /**
   * The evidence at prior precision δ and noise σ, from the eigenvalues alone.
   * For regression, log p(D | θ*) − ½·scatter has the subset's data fit c·loss_S
   * twice with opposite signs; it is left out of both, so that a small σ (a
   * large c) does not cancel catastrophically.
   */
  private evidenceAt(delta: number, sigma: number): number {
    const rule = this.likelihoodRule;
    const state = this.state!;
    const c = rule.hessianFactor(sigma, this.temperature);
    const s = state.fraction / delta;
    const logDet = this.logDetRatio(c, s);
    if (state.residualProjection) {
      let fit = 0;
      state.residualProjection.forEach((a, i) => {
        fit += (a * a) / (1 + c * s * state.values[i]!);
      });
      const outside = rule.logLikelihood(
        state.lossOutside,
        sigma,
        this.temperature,
        this.nData,
        this.nOutputs,
      );
      return outside - 0.5 * (logDet + c * fit);
    }
    const logLikelihood = rule.logLikelihood(this.loss, sigma, this.temperature, this.nData, this.nOutputs);
    return logLikelihood - 0.5 * (logDet + this.functionScatter(c, s));
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
      // C = J* Rᵀ, then C Q: the cross-kernel in B's eigenbasis.
      const cross = this.crossRows(part, state.factors);
      gemm(mat(projected, count, q), 1, mat(cross, count, q), mat(state.vectors, q, q));
      assembleRows(factors, this.network, this.selection, start, end, rows);
      for (let e = 0; e < end - start; e++) {
        for (let a = 0; a < k; a++) {
          const ra = (e * k + a) * p;
          const pa = (e * k + a) * q;
          for (let b = 0; b <= a; b++) {
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

  /** Z = Qᵀ R [q × P], the subset's rows in B's eigenbasis; RᵀR = ZᵀZ. */
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
    this.checkDense('posteriorCovariance');
    return new Tensor(
      this.weightSpace((h, c, s) => (-c * s * s) / (1 + c * s * h), this.kernelScale),
      [this.nParams, this.nParams],
    );
  }

  /** P = I/s + c·ZᵀZ. */
  posteriorPrecision(): Tensor {
    this.checkFitted('posteriorPrecision');
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
   * Rows of s^{1/2}(I − c·s·Rᵀ Q diag(w) Qᵀ R) z with wᵢ = (1 − (1 + c·s·hᵢ)^{-1/2})/(c·s·hᵢ):
   * a square root of P⁻¹ (on the right singular vectors of √(cs)·R it is
   * (1 + c·s·hᵢ)^{-1/2}, elsewhere 1), applied with two passes over the factors.
   */
  protected applyPosteriorScale(z: Float64Array, n: number): Float64Array {
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

  protected curvatureState(): Record<string, number[]> {
    throw new ValueError(
      "toJSON: a 'gp' posterior is not saved yet (it needs its training subset); refit it instead",
    );
  }

  protected restoreCurvature(): void {
    throw new ValueError("Laplace.fromJSON: a 'gp' posterior cannot be restored");
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
