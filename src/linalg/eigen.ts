/**
 * Eigendecomposition of a symmetric matrix, A = V·diag(λ)·Vᵀ with V orthogonal.
 *
 * Householder reduction to a tridiagonal T = Qᵀ·A·Q (4n³/3 flops, half of them
 * in gemm; kernels/eigen.ts). The eigenvalues alone then need only O(n²) work,
 * by implicit QL. For the eigenvectors, T = Z·Λ·Zᵀ by divide and conquer
 * (kernels/tridiagonal.ts, at most 4n³/3 flops in gemm, much less when
 * eigenvalues cluster), and V = Q·Z by applying the reflectors in blocks (2n³,
 * in gemm).
 */

import { ValueError } from '../errors.js';
import { applyTridiagonalQ, tql2, tridiagonalize } from '../kernels/eigen.js';
import { tridiagonalEigenDC } from '../kernels/tridiagonal.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { symmetricArg } from './validate.js';

export interface Eigh {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** Orthonormal eigenvectors as the columns of an n × n matrix: column j belongs to values[j]. */
  vectors: Tensor;
}

/**
 * Copy A scaled by a power of two to max|A| ≈ 1 (exact, and it keeps the sums of
 * squares in the reflectors from overflowing or underflowing), then reduce it.
 * `exponent` undoes the scaling of the eigenvalues.
 */
function reduce(
  a: TensorLike,
  fn: string,
): { n: number; work: Float64Array; d: Float64Array; e: Float64Array; tau: Float64Array; exponent: number } {
  const { t, n } = symmetricArg(a, fn, 'a');
  const work = Float64Array.from(t.data);
  let largest = 0;
  for (let i = 0; i < work.length; i++) largest = Math.max(largest, Math.abs(work[i]!));
  const exponent = largest > 0 ? Math.round(Math.log2(largest)) : 0;
  scaleByPowerOfTwo(work, -exponent);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tau = new Float64Array(n);
  tridiagonalize(n, work, 0, n, d, e, tau, new Float64Array(2 * n));
  return { n, work, d, e, tau, exponent };
}

/** x ← 2^p·x, in two steps when 2^p alone would overflow or underflow. */
function scaleByPowerOfTwo(x: Float64Array, p: number): void {
  if (p === 0) return;
  const half = Math.trunc(p / 2);
  const f1 = 2 ** half;
  const f2 = 2 ** (p - half);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * f1 * f2;
}

function converged(failed: number, fn: string): void {
  if (failed >= 0) throw new ValueError(`${fn}: the QL iteration did not converge (eigenvalue ${failed})`);
}

/** Eigenvalues (ascending) and orthonormal eigenvectors (columns) of the symmetric matrix A. */
export function eigh(a: TensorLike): Eigh {
  const { n, work, d, e, tau, exponent } = reduce(a, 'eigh');
  // T = Z·Λ·Zᵀ by divide and conquer, then V = Q·Z.
  const vectors = new Float64Array(n * n);
  converged(tridiagonalEigenDC(n, d, e, vectors, 0, n), 'eigh');
  applyTridiagonalQ(n, work, 0, n, tau, vectors, 0, n, n);
  scaleByPowerOfTwo(d, exponent);
  return { values: d, vectors: new Tensor(vectors, [n, n]) };
}

/** Eigenvalues of the symmetric matrix A in ascending order. */
export function eigvalsh(a: TensorLike): Float64Array {
  const { n, d, e, exponent } = reduce(a, 'eigvalsh');
  converged(tql2(n, d, e, null, 0, 0, 0), 'eigvalsh');
  scaleByPowerOfTwo(d, exponent);
  return d;
}
