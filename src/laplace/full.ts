/**
 * Full Laplace: P = c·H + diag(p₀) stored densely.
 *
 * Everything goes through the Cholesky factor P = L Lᵀ:
 *   log det P = 2 Σᵢ log Lᵢᵢ,
 *   J P⁻¹ Jᵀ = (J L⁻ᵀ)(J L⁻ᵀ)ᵀ      (one triangular solve with all test rows, m·P²
 *                                    flops per example; or, for many examples with
 *                                    m ≥ 3 outputs, products with L⁻ᵀ that use the
 *                                    Kronecker structure of J's rows, about 2·P²
 *                                    each: see rowsTimesMatrix),
 *   θ = θ* + L⁻ᵀ z, z ~ N(0, I)      (a sample),
 * and for tuning a scalar prior, the eigenvalues λᵢ of H, since then
 * log det P = Σᵢ log(c·λᵢ + δ) costs O(P) per evaluation. When the data give
 * fewer rows than parameters (N·m < P), H = RᵀR shares its non-zero
 * eigenvalues with the smaller Gram matrix R Rᵀ, which is decomposed instead.
 */

import { NotPositiveDefiniteError, ValueError } from '../errors.js';
import { mirrorLower } from '../kernels/blas.js';
import { choleskyInverseKernel, choleskyKernel, triangularInverseKernel } from '../kernels/cholesky.js';
import { mat, syrk, tr, trsm } from '../kernels/view.js';
import { eigvalsh } from '../linalg/index.js';
import { Tensor } from '../tensor.js';
import { BaseLaplace, type CurvatureSpectrum } from './base.js';
import {
  assembleRows,
  chunkSize,
  GramAccumulator,
  type JacobianFactors,
  rowsTimesMatrix,
  sliceFactors,
} from './factors.js';
import type { LikelihoodName } from './likelihood.js';

/** Above 2²⁸ entries (2 GiB) a dense P is refused with advice rather than an allocation failure. */
const MAX_DENSE_ENTRIES = 2 ** 28;

export class FullLaplace<L extends LikelihoodName = LikelihoodName> extends BaseLaplace<L> {
  readonly hessianStructure = 'full' as const;
  /** H, [P × P] row-major, symmetric. */
  private h = new Float64Array(0);
  private factorCache: { version: number; factor: Float64Array } | null = null;
  private inverseCache: { version: number; inverseTransposed: Float64Array } | null = null;
  private spectrumCache: Float64Array | null = null;
  private gram: GramAccumulator | null = null;
  /** The rows of R while there are fewer of them than parameters (for the Gram-matrix spectrum). */
  private rows: Float64Array[] | null = null;
  private rowCount = 0;

  protected beginCurvature(): void {
    const entries = this.nParams * this.nParams;
    if (entries > MAX_DENSE_ENTRIES) {
      throw new ValueError(
        `FullLaplace: a dense ${this.nParams} × ${this.nParams} precision needs ${((entries * 8) / 2 ** 30).toFixed(1)} GiB; use hessianStructure 'lowrank' (top eigenpairs by Lanczos, never forming H), 'kron' or 'diag', or subsetOfWeights 'lastLayer'`,
      );
    }
    this.h = new Float64Array(entries);
    this.gram = new GramAccumulator(this.network, this.selection, this.h);
    this.clearCaches();
    this.rows = [];
    this.rowCount = 0;
  }

  protected accumulateCurvature(factors: JacobianFactors): void {
    this.gram!.add(factors);
    this.rowCount += factors.n * factors.m;
    if (this.rows && this.rowCount < this.nParams) {
      const r = new Float64Array(factors.n * factors.m * this.nParams);
      this.rows.push(assembleRows(factors, this.network, this.selection, 0, factors.n, r));
    } else this.rows = null;
  }

  protected finishCurvature(): void {
    this.gram!.finish();
    this.gram = null;
    mirrorLower(this.nParams, this.h, 0, this.nParams);
  }

  /** Drop everything derived from an earlier H (each cache may hold a P × P array). */
  private clearCaches(): void {
    this.factorCache = null;
    this.inverseCache = null;
    this.spectrumCache = null;
  }

  /** The curvature H (GGN or EF) summed over the training data. */
  get hessian(): Tensor {
    this.checkFitted('hessian');
    return new Tensor(this.h.slice(), [this.nParams, this.nParams]);
  }

  private precisionMatrix(): Float64Array {
    const p = this.nParams;
    const c = this.hessianFactor;
    const out = new Float64Array(p * p);
    for (let i = 0; i < out.length; i++) out[i] = c * this.h[i]!;
    const p0 = this.prior.diagonal();
    for (let i = 0; i < p; i++) out[i * p + i]! += p0[i]!;
    return out;
  }

  /** Lower Cholesky factor of P for the current hyperparameters (cached). */
  private choleskyFactor(): Float64Array {
    if (this.factorCache?.version === this.version) return this.factorCache.factor;
    const p = this.nParams;
    const l = this.precisionMatrix();
    const pivot = choleskyKernel(p, l, 0, p);
    if (pivot >= 0) {
      throw new NotPositiveDefiniteError(
        `FullLaplace: posterior precision is not positive definite at pivot ${pivot}; increase priorPrecision`,
        { pivot },
      );
    }
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) l[i * p + j] = 0;
    this.factorCache = { version: this.version, factor: l };
    return l;
  }

  protected computeLogDetPosteriorPrecision(): number {
    const l = this.choleskyFactor();
    let s = 0;
    for (let i = 0; i < this.nParams; i++) s += Math.log(l[i * this.nParams + i]!);
    return 2 * s;
  }

  protected curvatureSpectrum(): CurvatureSpectrum | null {
    if (this.prior.values.length !== 1) return null;
    this.spectrumCache ??= this.rows
      ? this.gramSpectrum(this.rows)
      : eigvalsh(new Tensor(this.h, [this.nParams, this.nParams]));
    return { values: this.spectrumCache, groupOf: new Int32Array(this.nParams) };
  }

  /** Eigenvalues of H = RᵀR from those of R Rᵀ, padded with zeros to P. */
  private gramSpectrum(chunks: Float64Array[]): Float64Array {
    const p = this.nParams;
    const r = new Float64Array(this.rowCount * p);
    let offset = 0;
    for (const chunk of chunks) {
      r.set(chunk, offset);
      offset += chunk.length;
    }
    const m = this.rowCount;
    const gram = new Float64Array(m * m);
    syrk(mat(gram, m, m), 1, mat(r, m, p));
    mirrorLower(m, gram, 0, m);
    const values = new Float64Array(p);
    values.set(eigvalsh(new Tensor(gram, [m, m])));
    return values;
  }

  /** L⁻ᵀ (upper triangular, cached), from which P⁻¹ = L⁻ᵀ L⁻¹. */
  private inverseFactorTransposed(): Float64Array {
    if (this.inverseCache?.version === this.version) return this.inverseCache.inverseTransposed;
    const p = this.nParams;
    const inverse = new Float64Array(p * p);
    triangularInverseKernel(p, this.choleskyFactor(), 0, p, inverse, 0, p);
    transposeInPlace(p, inverse);
    this.inverseCache = { version: this.version, inverseTransposed: inverse };
    return inverse;
  }

  posteriorVariance(): Float64Array {
    this.checkFitted('posteriorVariance');
    const p = this.nParams;
    const inverseTransposed = this.inverseFactorTransposed();
    // (P⁻¹)ᵢᵢ = Σₖ (L⁻ᵀ)ᵢₖ², a sum along row i.
    const variance = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let sum = 0;
      for (let k = i; k < p; k++) sum += inverseTransposed[i * p + k]! ** 2;
      variance[i] = sum;
    }
    return variance;
  }

  posteriorCovariance(): Tensor {
    this.checkFitted('posteriorCovariance');
    const p = this.nParams;
    const covariance = new Float64Array(p * p);
    choleskyInverseKernel(p, this.choleskyFactor(), 0, p, covariance, 0, p);
    return new Tensor(covariance, [p, p]);
  }

  posteriorPrecision(): Tensor {
    this.checkFitted('posteriorPrecision');
    return new Tensor(this.precisionMatrix(), [this.nParams, this.nParams]);
  }

  protected functionalCovariance(factors: JacobianFactors): Float64Array {
    const p = this.nParams;
    const k = factors.m;
    const out = new Float64Array(factors.n * k * k);
    // Rows R = J for these examples, then R L⁻ᵀ by whichever costs fewer flops:
    // a triangular solve (k·P² per example) or, when the selection has layer
    // structure, products with an explicit L⁻ᵀ (rowsTimesMatrix: 2·P² per example
    // for the inputs, 2·k·P·Σ outₗ for the pulled-back rows; plus P³/3 once).
    const outputs = this.selection.blocks.reduce((sum, b) => sum + b.rows, 0);
    const inverseCost =
      (this.inverseCache?.version === this.version ? 0 : p ** 3 / 3) + 2 * factors.n * p * (p + k * outputs);
    const useInverse = !this.selection.indices && inverseCost < factors.n * k * p * p;
    const solve = useInverse ? this.rowsTimesInverseTransposed(factors) : this.rowsSolvedByFactor(factors);
    // The inverse path holds every layer's pulled-back product [outₗ × P] per example.
    const widest = Math.max(k, ...this.selection.blocks.map((b) => b.rows));
    const chunk = chunkSize(useInverse ? widest : k, p);
    for (let start = 0; start < factors.n; start += chunk) {
      const end = Math.min(factors.n, start + chunk);
      const solved = solve(start, end);
      for (let e = start; e < end; e++) {
        const base = (e - start) * k;
        syrk(mat(out, k, k, e * k * k), 1, mat(solved, k, p, base * p));
        mirrorLower(k, out, e * k * k, k);
      }
    }
    return out;
  }

  /** Rows [start, end) of J L⁻ᵀ by products with L⁻ᵀ over the rows' factors. */
  private rowsTimesInverseTransposed(factors: JacobianFactors): (start: number, end: number) => Float64Array {
    const inverseTransposed = this.inverseFactorTransposed();
    return (start, end) =>
      rowsTimesMatrix(
        sliceFactors(factors, start, end),
        this.network,
        this.selection,
        inverseTransposed,
        this.nParams,
      );
  }

  /** Rows [start, end) of J L⁻ᵀ by solving X·Lᵀ = J, in one reused buffer. */
  private rowsSolvedByFactor(factors: JacobianFactors): (start: number, end: number) => Float64Array {
    const p = this.nParams;
    const k = factors.m;
    const l = this.choleskyFactor();
    const rows = new Float64Array(Math.min(chunkSize(k, p), factors.n) * k * p);
    return (start, end) => {
      assembleRows(factors, this.network, this.selection, start, end, rows);
      trsm('right', tr(mat(l, p, p)), true, mat(rows, (end - start) * k, p));
      return rows;
    };
  }

  protected applyPosteriorScale(z: Float64Array, n: number): Float64Array {
    // Each row x of X solves Lᵀ x = z, i.e. X·L = Z.
    trsm('right', mat(this.choleskyFactor(), this.nParams, this.nParams), true, mat(z, n, this.nParams));
    return z;
  }

  protected curvatureState(): Record<string, number[]> {
    return { hessian: Array.from(this.h) };
  }

  protected restoreCurvature(state: Record<string, number[] | number[][] | number>): void {
    this.h = Float64Array.from(state['hessian'] as number[]);
    this.clearCaches();
    this.rows = null;
  }
}

/** a ← aᵀ for the n × n row-major a. */
function transposeInPlace(n: number, a: Float64Array): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const t = a[i * n + j]!;
      a[i * n + j] = a[j * n + i]!;
      a[j * n + i] = t;
    }
  }
}
