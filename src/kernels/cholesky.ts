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
import { mirrorLower, syrkKernel } from './blas.js';
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

/** Column (and row) blocks of the inverses below. */
const INVERSE_BLOCK = 64;

/**
 * x ← L⁻¹ for the lower-triangular n × n L (row strides ldl, ldx; x is zeroed
 * above the diagonal), in about n³/3 flops: block column J of X solves
 * L·X[:, J] = I[:, J], whose rows above J are zero, so only the trailing triangle
 * L[J₀:, J₀:] takes part.
 */
export function triangularInverseKernel(
  n: number,
  l: Float64Array,
  lOffset: number,
  ldl: number,
  x: Float64Array,
  xOffset: number,
  ldx: number,
): void {
  for (let i = 0; i < n; i++) x.fill(0, xOffset + i * ldx, xOffset + i * ldx + n);
  for (let j0 = 0; j0 < n; j0 += INVERSE_BLOCK) {
    const nb = Math.min(INVERSE_BLOCK, n - j0);
    for (let i = 0; i < nb; i++) x[xOffset + (j0 + i) * ldx + j0 + i] = 1;
    trsmKernel(
      true,
      true,
      false,
      n - j0,
      nb,
      l,
      lOffset + j0 * ldl + j0,
      ldl,
      x,
      xOffset + j0 * ldx + j0,
      ldx,
    );
  }
}

/**
 * out ← (L·Lᵀ)⁻¹ = L⁻ᵀ·L⁻¹, full and symmetric, in about 2n³/3 flops. `work` holds
 * X = L⁻¹ (n × n, row stride n). Block row P of X is zero right of its diagonal
 * block, so it adds X[P, 0:P₁]ᵀ·X[P, 0:P₁] to the leading P₁ × P₁ corner only.
 */
export function choleskyInverseKernel(
  n: number,
  l: Float64Array,
  lOffset: number,
  ldl: number,
  out: Float64Array,
  outOffset: number,
  ldo: number,
  work: Float64Array = new Float64Array(n * n),
): void {
  triangularInverseKernel(n, l, lOffset, ldl, work, 0, n);
  for (let i = 0; i < n; i++) out.fill(0, outOffset + i * ldo, outOffset + i * ldo + i + 1);
  for (let p0 = 0; p0 < n; p0 += INVERSE_BLOCK) {
    const p1 = Math.min(p0 + INVERSE_BLOCK, n);
    syrkKernel(p1, p1 - p0, 1, work, p0 * n, n, true, 1, out, outOffset, ldo);
  }
  mirrorLower(n, out, outOffset, ldo);
}
