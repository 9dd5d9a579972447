/**
 * Diagonal Laplace: keep only diag H, so P = diag(c·h + p₀).
 *
 * Cheapest of all: log det P = Σᵢ log(c·hᵢ + p₀ᵢ), samples θᵢ* + zᵢ/√Pᵢᵢ, and
 * J P⁻¹ Jᵀ = Σᵢ Jᵢ Jᵢᵀ / Pᵢᵢ. Any prior structure keeps P diagonal, so the
 * evidence is maximised exactly for scalar, per-layer and per-parameter priors.
 */
import { Tensor } from '../tensor.js';
import { BaseLaplace, type CurvatureSpectrum } from './base.js';
import { diagonalQuadraticForm, gramDiagonal, type JacobianFactors } from './factors.js';
import type { LikelihoodName } from './likelihood.js';

export class DiagLaplace<L extends LikelihoodName = LikelihoodName> extends BaseLaplace<L> {
  readonly hessianStructure = 'diag' as const;
  private h = new Float64Array(0);

  protected beginCurvature(): void {
    this.h = new Float64Array(this.nParams);
  }

  protected accumulateCurvature(factors: JacobianFactors): void {
    const d = gramDiagonal(factors, this.network, this.selection);
    for (let i = 0; i < d.length; i++) this.h[i]! += d[i]!;
  }

  protected finishCurvature(): void {}

  protected override get readsRowSquares(): boolean {
    return true;
  }

  /** diag H summed over the training data. */
  get hessian(): Tensor {
    this.checkFitted('hessian');
    return new Tensor(this.h.slice(), [this.nParams]);
  }

  private precisionDiagonal(): Float64Array {
    const c = this.hessianFactor;
    const p0 = this.prior.diagonal();
    return p0.map((v, i) => c * this.h[i]! + v);
  }

  protected computeLogDetPosteriorPrecision(): number {
    return this.precisionDiagonal().reduce((s, v) => s + Math.log(v), 0);
  }

  protected curvatureSpectrum(): CurvatureSpectrum {
    return { values: this.h, groupOf: this.prior.groupOf };
  }

  posteriorVariance(): Float64Array {
    this.checkFitted('posteriorVariance');
    return this.precisionDiagonal().map((v) => 1 / v);
  }

  posteriorCovariance(): Tensor {
    return diagonalMatrix(this.posteriorVariance());
  }

  posteriorPrecision(): Tensor {
    this.checkFitted('posteriorPrecision');
    return diagonalMatrix(this.precisionDiagonal());
  }

  protected functionalCovariance(factors: JacobianFactors): Float64Array {
    return diagonalQuadraticForm(factors, this.network, this.selection, this.posteriorVariance());
  }

  protected applyPosteriorScale(z: Float64Array, n: number): Float64Array {
    const sd = this.posteriorVariance().map(Math.sqrt);
    for (let s = 0; s < n; s++) for (let i = 0; i < this.nParams; i++) z[s * this.nParams + i]! *= sd[i]!;
    return z;
  }

  protected curvatureState(): Record<string, number[]> {
    return { hessian: Array.from(this.h) };
  }

  protected restoreCurvature(state: Record<string, number[] | number[][] | number>): void {
    this.h = Float64Array.from(state['hessian'] as number[]);
  }
}

function diagonalMatrix(d: Float64Array): Tensor {
  const p = d.length;
  const out = new Float64Array(p * p);
  for (let i = 0; i < p; i++) out[i * p + i] = d[i]!;
  return new Tensor(out, [p, p]);
}
