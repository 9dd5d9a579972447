/**
 * Low-rank Laplace: H ≈ U diag(λ) Uᵀ from its top-k eigenpairs.
 *
 * The eigenpairs come from Lanczos on curvature-vector products
 * H v = Rᵀ(R v), computed from the Jacobian factors in two passes without ever
 * forming R or H, so memory stays O(P·k). With D = diag(p₀) and
 * V = U diag(√(cλ)), the posterior precision is P = D + V Vᵀ, and the identities
 * for a diagonal plus a low-rank term do the rest in O(P·k²):
 *
 *     log det P = log det D + log det M,        M = I + Vᵀ D⁻¹ V      (determinant lemma)
 *     P⁻¹ = D⁻¹ − D⁻¹ V M⁻¹ Vᵀ D⁻¹                                      (Woodbury)
 *
 * With a scalar prior δ the spectrum of P is cλᵢ + δ on span U and δ elsewhere,
 * so the evidence is maximised exactly as for the full posterior.
 */

import { NotPositiveDefiniteError, ValueError } from '../errors.js';
import { mirrorLower } from '../kernels/blas.js';
import { choleskyKernel } from '../kernels/cholesky.js';
import { gemm, mat, syrk, tr, trsm } from '../kernels/view.js';
import { eigh, lanczos } from '../linalg/index.js';
import { Tensor } from '../tensor.js';
import { BaseLaplace, type CurvatureSpectrum, type LaplaceJSON, type LaplaceOptions } from './base.js';
import {
  diagonalQuadraticForm,
  type JacobianFactors,
  rowsTimes,
  rowsTimesMatrix,
  rowsTransposeTimes,
} from './factors.js';
import type { LikelihoodName } from './likelihood.js';
import type { SequentialLike } from './network.js';

export class LowRankLaplace<L extends LikelihoodName = LikelihoodName> extends BaseLaplace<L> {
  readonly hessianStructure = 'lowrank' as const;
  readonly rank: number;
  private readonly seed: number;
  private chunks: JacobianFactors[] = [];
  /** Eigenvectors of H as columns, [P × k]. */
  private u = new Float64Array(0);
  private lambda = new Float64Array(0);
  /** Number of curvature-vector products the last fit used. */
  matvecs = 0;
  private cache: { version: number; dInverse: Float64Array; v: Float64Array; mFactor: Float64Array } | null =
    null;

  constructor(model: SequentialLike, options: LaplaceOptions<L>) {
    super(model, options);
    const rank = options.rank ?? Math.min(50, this.nParams);
    if (!Number.isInteger(rank) || rank < 1 || rank > this.nParams) {
      throw new ValueError(`LowRankLaplace: rank must be an integer in 1..${this.nParams}, got ${rank}`);
    }
    this.rank = rank;
    this.seed = options.seed ?? 0;
  }

  protected beginCurvature(): void {
    this.chunks = [];
  }

  protected accumulateCurvature(factors: JacobianFactors): void {
    this.chunks.push(factors);
  }

  protected finishCurvature(): void {
    const p = this.nParams;
    const matvec = (v: Float64Array, out: Float64Array): void => {
      out.fill(0);
      for (const f of this.chunks) {
        const hv = rowsTransposeTimes(
          f,
          this.network,
          this.selection,
          rowsTimes(f, this.network, this.selection, v),
        );
        for (let i = 0; i < p; i++) out[i]! += hv[i]!;
      }
    };
    const result = lanczos({ size: p, matvec }, this.rank, { seed: this.seed });
    this.matvecs = result.matvecs;
    this.lambda = Float64Array.from(result.values, (v) => Math.max(v, 0));
    this.u = result.vectors.data.slice();
    this.chunks = [];
  }

  /** The top eigenvalues of H found by Lanczos, descending or as returned. */
  get eigenvalues(): Float64Array {
    this.checkFitted('eigenvalues');
    return this.lambda.slice();
  }

  /** D⁻¹, V = U diag(√(cλ)) and the Cholesky factor of M = I + Vᵀ D⁻¹ V (cached per hyperparameters). */
  private woodbury(): { dInverse: Float64Array; v: Float64Array; mFactor: Float64Array } {
    if (this.cache?.version === this.version) return this.cache;
    const p = this.nParams;
    const k = this.rank;
    const c = this.hessianFactor;
    const dInverse = this.prior.diagonal().map((x) => 1 / x);
    const v = new Float64Array(p * k);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < k; j++) v[i * k + j] = this.u[i * k + j]! * Math.sqrt(c * this.lambda[j]!);
    const scaled = new Float64Array(p * k);
    for (let i = 0; i < p; i++) {
      const s = Math.sqrt(dInverse[i]!);
      for (let j = 0; j < k; j++) scaled[i * k + j] = v[i * k + j]! * s;
    }
    const m = new Float64Array(k * k);
    syrk(mat(m, k, k), 1, tr(mat(scaled, p, k)));
    for (let j = 0; j < k; j++) m[j * k + j]! += 1;
    const pivot = choleskyKernel(k, m, 0, k);
    if (pivot >= 0)
      throw new NotPositiveDefiniteError(`LowRankLaplace: I + VᵀD⁻¹V failed at pivot ${pivot}`, { pivot });
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) m[i * k + j] = 0;
    this.cache = { version: this.version, dInverse, v, mFactor: m };
    return this.cache;
  }

  protected computeLogDetPosteriorPrecision(): number {
    const { dInverse, mFactor } = this.woodbury();
    let s = 0;
    for (const d of dInverse) s -= Math.log(d);
    for (let j = 0; j < this.rank; j++) s += 2 * Math.log(mFactor[j * this.rank + j]!);
    return s;
  }

  protected curvatureSpectrum(): CurvatureSpectrum | null {
    if (this.prior.values.length !== 1) return null;
    const values = new Float64Array(this.nParams);
    values.set(this.lambda);
    return { values, groupOf: new Int32Array(this.nParams) };
  }

  /** W L_M⁻ᵀ for W = Y D⁻¹ V [r × k], so that Y P⁻¹ Yᵀ = Y D⁻¹ Yᵀ − (W L_M⁻ᵀ)(W L_M⁻ᵀ)ᵀ. */
  private correction(ydv: Float64Array, r: number): Float64Array {
    trsm('right', tr(mat(this.woodbury().mFactor, this.rank, this.rank)), true, mat(ydv, r, this.rank));
    return ydv;
  }

  /** D⁻¹ V, [P × k]. */
  private scaledBasis(): Float64Array {
    const { dInverse, v } = this.woodbury();
    const k = this.rank;
    return v.map((x, idx) => x * dInverse[Math.floor(idx / k)]!);
  }

  posteriorVariance(): Float64Array {
    this.checkFitted('posteriorVariance');
    const { dInverse } = this.woodbury();
    const p = this.nParams;
    const k = this.rank;
    // diag(D⁻¹ V M⁻¹ Vᵀ D⁻¹) = row norms² of D⁻¹ V L_M⁻ᵀ.
    const w = this.correction(this.scaledBasis(), p);
    const out = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += w[i * k + j]! ** 2;
      out[i] = dInverse[i]! - s;
    }
    return out;
  }

  protected functionalCovariance(factors: JacobianFactors): Float64Array {
    const { n, m: k } = factors;
    const out = diagonalQuadraticForm(factors, this.network, this.selection, this.woodbury().dInverse);
    const w = this.correction(
      rowsTimesMatrix(factors, this.network, this.selection, this.scaledBasis(), this.rank),
      n * k,
    );
    for (let e = 0; e < n; e++) {
      syrk(mat(out, k, k, e * k * k), -1, mat(w, k, this.rank, e * k * this.rank), 1);
      // syrk updated the lower triangle; copy it up.
      for (let a = 0; a < k; a++)
        for (let b = 0; b < a; b++) out[e * k * k + b * k + a] = out[e * k * k + a * k + b]!;
    }
    return out;
  }

  /**
   * x = D^{-1/2} (I + ṼṼᵀ)^{-1/2} z with Ṽ = D^{-1/2} V. Writing ṼᵀṼ = E diag(μ) Eᵀ
   * and Q = Ṽ E diag(μ^{-1/2}) (orthonormal columns),
   * (I + ṼṼᵀ)^{-1/2} = I + Q diag((1 + μ)^{-1/2} − 1) Qᵀ.
   */
  protected applyPosteriorScale(z: Float64Array, n: number): Float64Array {
    const { dInverse, v } = this.woodbury();
    const p = this.nParams;
    const k = this.rank;
    const vt = new Float64Array(p * k);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < k; j++) vt[i * k + j] = v[i * k + j]! * Math.sqrt(dInverse[i]!);
    const gram = new Float64Array(k * k);
    syrk(mat(gram, k, k), 1, tr(mat(vt, p, k)));
    mirrorLower(k, gram, 0, k);
    const { values: mu, vectors } = eigh(new Tensor(gram, [k, k]));
    const e = vectors.data;
    const q = new Float64Array(p * k);
    gemm(mat(q, p, k), 1, mat(vt, p, k), mat(e, k, k));
    const shrink = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      const m = Math.max(mu[j]!, 0);
      if (m > 1e-300) for (let i = 0; i < p; i++) q[i * k + j]! /= Math.sqrt(m);
      shrink[j] = m > 1e-300 ? 1 / Math.sqrt(1 + m) - 1 : 0;
    }
    const coefficients = new Float64Array(n * k);
    gemm(mat(coefficients, n, k), 1, mat(z, n, p), mat(q, p, k));
    for (let s = 0; s < n; s++) for (let j = 0; j < k; j++) coefficients[s * k + j]! *= shrink[j]!;
    gemm(mat(z, n, p), 1, mat(coefficients, n, k), tr(mat(q, p, k)), 1);
    for (let s = 0; s < n; s++) for (let i = 0; i < p; i++) z[s * p + i]! *= Math.sqrt(dInverse[i]!);
    return z;
  }

  posteriorCovariance(): Tensor {
    this.checkFitted('posteriorCovariance');
    const p = this.nParams;
    const w = this.correction(this.scaledBasis(), p);
    const { dInverse } = this.woodbury();
    const out = new Float64Array(p * p);
    const W = mat(w, p, this.rank);
    gemm(mat(out, p, p), -1, W, tr(W));
    for (let i = 0; i < p; i++) out[i * p + i]! += dInverse[i]!;
    return new Tensor(out, [p, p]);
  }

  posteriorPrecision(): Tensor {
    this.checkFitted('posteriorPrecision');
    const { dInverse, v } = this.woodbury();
    const p = this.nParams;
    const out = new Float64Array(p * p);
    const V = mat(v, p, this.rank);
    gemm(mat(out, p, p), 1, V, tr(V));
    for (let i = 0; i < p; i++) out[i * p + i]! += 1 / dInverse[i]!;
    return new Tensor(out, [p, p]);
  }

  override toJSON(): LaplaceJSON {
    return { ...super.toJSON(), rank: this.rank };
  }

  protected curvatureState(): Record<string, number[]> {
    return { eigenvalues: Array.from(this.lambda), eigenvectors: Array.from(this.u) };
  }

  protected restoreCurvature(state: Record<string, number[] | number[][] | number>): void {
    this.lambda = Float64Array.from(state['eigenvalues'] as number[]);
    this.u = Float64Array.from(state['eigenvectors'] as number[]);
    this.cache = null;
  }
}
