/**
 * Cholesky factorisation A = L·Lᵀ, recursive.
 *
 * Split the symmetric positive definite A into blocks:
 *
 *     [A₁₁ A₂₁ᵀ]   [L₁₁  0 ] [L₁₁ᵀ L₂₁ᵀ]
 *     [A₂₁ A₂₂ ] = [L₂₁ L₂₂] [ 0   L₂₂ᵀ]
 *
 * so L₁₁ = chol(A₁₁), L₂₁ = A₂₁·L₁₁⁻ᵀ (a triangular solve), and
 * L₂₂ = chol(A₂₂ − L₂₁·L₂₁ᵀ) (a symmetric rank-k update). Recursing on both
 * halves puts almost all n³/3 flops into trsm and syrk, which run on gemm. Small
 * blocks use the row-oriented textbook loop,
 *
 *     L[i, j] = (A[i, j] − Σ_{p<j} L[i, p]·L[j, p]) / L[j, j],
 *     L[i, i] = √(A[i, i] − Σ_{p<i} L[i, p]²),
 *
 * whose inner sums run along rows. A pivot that is not positive (or is NaN)
 * stops the factorisation and is reported.
 */
import { syrkKernel } from './blas.js';
import { trsmKernel } from './triangular.js';

const BASE = 48;

/**
 * Overwrite the lower triangle of the n × n matrix at a[aOffset] (row stride lda)
 * with its Cholesky factor. Reads only the lower triangle; leaves the strict upper
 * triangle untouched. Returns −1 on success, or the index p of the first pivot
 * that is not positive; the factor is then valid above row p and a[p, p] holds
 * the offending pivot (the Schur complement's leading entry).
 */
export function choleskyKernel(n: number, a: Float64Array, aOffset: number, lda: number): number {
  if (n <= BASE) return choleskyUnblocked(n, a, aOffset, lda);
  const n1 = Math.floor(n / 2 / 16) * 16 || n >> 1;
  const n2 = n - n1;
  const failed = choleskyKernel(n1, a, aOffset, lda);
  if (failed >= 0) return failed;
  const a21 = aOffset + n1 * lda;
  trsmKernel(false, true, true, n2, n1, a, aOffset, lda, a, a21, lda);
  syrkKernel(n2, n1, -1, a, a21, lda, false, 1, a, a21 + n1, lda);
  const failed2 = choleskyKernel(n2, a, a21 + n1, lda);
  return failed2 >= 0 ? n1 + failed2 : -1;
}

function choleskyUnblocked(n: number, a: Float64Array, aOffset: number, lda: number): number {
  for (let i = 0; i < n; i++) {
    const ri = aOffset + i * lda;
    for (let j = 0; j <= i; j++) {
      const rj = aOffset + j * lda;
      let s = a[ri + j]!;
      for (let p = 0; p < j; p++) s -= a[ri + p]! * a[rj + p]!;
      if (j < i) {
        a[ri + j] = s / a[rj + j]!;
      } else {
        if (!(s > 0)) {
          a[ri + i] = s; // the failing pivot, for the error message
          return i;
        }
        a[ri + i] = Math.sqrt(s);
      }
    }
  }
  return -1;
}
