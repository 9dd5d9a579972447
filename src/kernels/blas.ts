/**
 * Level-1 and level-2 kernels, and the symmetric rank-k update.
 *
 *     dot   xᵀy                     axpy  y ← αx + y
 *     nrm2  ‖x‖₂ = √(Σ xᵢ²)          gemv  y ← α·op(A)·x + β·y
 *     syrk  C ← α·A·Aᵀ + β·C  or  C ← α·Aᵀ·A + β·C   (lower triangle)
 *
 * Matrices are row-major: element (i, j) of A lives at a[aOffset + i·lda + j].
 * Vectors have a stride (`inc`). Nothing is validated here; the public layer in
 * ../dense.ts checks shapes and values. syrk recurses down to small diagonal
 * blocks and hands the rest to `gemm`, so it runs at gemm speed on half the work.
 */
import { dot, gemmKernel } from './gemm.js';

/** xᵀy over n elements with strides incx and incy. */
export function dotKernel(
  n: number,
  x: Float64Array,
  xOffset: number,
  incx: number,
  y: Float64Array,
  yOffset: number,
  incy: number,
): number {
  if (incx === 1 && incy === 1) return dot(n, x, xOffset, y, yOffset);
  let s = 0;
  for (let i = 0; i < n; i++) s += x[xOffset + i * incx]! * y[yOffset + i * incy]!;
  return s;
}

/** y ← αx + y. */
export function axpyKernel(
  n: number,
  alpha: number,
  x: Float64Array,
  xOffset: number,
  incx: number,
  y: Float64Array,
  yOffset: number,
  incy: number,
): void {
  if (alpha === 0) return;
  if (incx === 1 && incy === 1) {
    for (let i = 0; i < n; i++) y[yOffset + i] = y[yOffset + i]! + alpha * x[xOffset + i]!;
    return;
  }
  for (let i = 0; i < n; i++) y[yOffset + i * incy] = y[yOffset + i * incy]! + alpha * x[xOffset + i * incx]!;
}

/** x ← αx (α = 0 writes zeros, so NaNs already in x do not survive). */
export function scalKernel(n: number, alpha: number, x: Float64Array, xOffset: number, incx: number): void {
  if (alpha === 1) return;
  if (alpha === 0) {
    for (let i = 0; i < n; i++) x[xOffset + i * incx] = 0;
    return;
  }
  for (let i = 0; i < n; i++) x[xOffset + i * incx] = alpha * x[xOffset + i * incx]!;
}

/**
 * ‖x‖₂. The plain sum of squares is tried first; if it overflowed or underflowed
 * to zero with non-zero entries, the sum is redone scaled by max |xᵢ| (LAPACK's
 * dnrm2 idea, in two passes).
 */
export function nrm2Kernel(n: number, x: Float64Array, xOffset: number, incx: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i * incx]!;
    sum += v * v;
  }
  if (sum > 1e-280 && sum < 1e280) return Math.sqrt(sum);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(x[xOffset + i * incx]!));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  sum = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i * incx]! / scale;
    sum += v * v;
  }
  return scale * Math.sqrt(sum);
}

/**
 * y ← α·op(A)·x + β·y with A m × n. Without transposition y has m entries and
 * each is a row of A dotted with x; transposed, y has n entries and accumulates
 * rows of A scaled by xᵢ, so A is always read along its rows.
 */
export function gemvKernel(
  m: number,
  n: number,
  alpha: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  trans: boolean,
  x: Float64Array,
  xOffset: number,
  incx: number,
  beta: number,
  y: Float64Array,
  yOffset: number,
  incy: number,
): void {
  if (!trans) {
    for (let i = 0; i < m; i++) {
      const s = dotKernel(n, a, aOffset + i * lda, 1, x, xOffset, incx);
      const yi = yOffset + i * incy;
      y[yi] = beta === 0 ? alpha * s : alpha * s + beta * y[yi]!;
    }
    return;
  }
  scalKernel(n, beta, y, yOffset, incy);
  if (alpha === 0) return;
  let i = 0;
  if (incy === 1) {
    // Two rows per pass halve the traffic on y.
    for (; i + 1 < m; i += 2) {
      const x0 = alpha * x[xOffset + i * incx]!;
      const x1 = alpha * x[xOffset + (i + 1) * incx]!;
      const r0 = aOffset + i * lda;
      const r1 = r0 + lda;
      for (let j = 0; j < n; j++) y[yOffset + j] = y[yOffset + j]! + x0 * a[r0 + j]! + x1 * a[r1 + j]!;
    }
  }
  for (; i < m; i++) axpyKernel(n, alpha * x[xOffset + i * incx]!, a, aOffset + i * lda, 1, y, yOffset, incy);
}

/** Diagonal blocks up to this size are formed whole in scratch, of which the lower half is kept. */
const SYRK_BASE = 32;
const syrkScratch = new Float64Array(SYRK_BASE * SYRK_BASE);

/**
 * Lower triangle of C ← α·A·Aᵀ + β·C (A is n × k, `trans` false) or
 * C ← α·Aᵀ·A + β·C (A is k × n, `trans` true). The strict upper triangle of C is
 * neither read nor written; `mirrorLower` fills it when a full matrix is wanted.
 *
 * Recursive on the rows of op(A) = [A₁; A₂]:
 *
 *     [C₁₁    ]      [A₁A₁ᵀ      ]
 *     [C₂₁ C₂₂]  ←  α[A₂A₁ᵀ A₂A₂ᵀ] + β·C,
 *
 * so the off-diagonal block is one gemm and the recursion bottoms out in small
 * diagonal blocks, where computing the whole block wastes little.
 */
export function syrkKernel(
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  trans: boolean,
  beta: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  if (n === 0) return;
  if (k === 0 || alpha === 0) {
    for (let i = 0; i < n; i++) scalKernel(i + 1, beta, c, cOffset + i * ldc, 1);
    return;
  }
  // Row r of op(A) starts at aOffset + r·rowStride.
  const rowStride = trans ? 1 : lda;
  if (n <= SYRK_BASE) {
    const s = syrkScratch;
    gemmKernel(n, n, k, alpha, a, aOffset, lda, trans, a, aOffset, lda, !trans, 0, s, 0, n);
    for (let i = 0; i < n; i++) {
      const ci = cOffset + i * ldc;
      for (let j = 0; j <= i; j++) c[ci + j] = beta === 0 ? s[i * n + j]! : s[i * n + j]! + beta * c[ci + j]!;
    }
    return;
  }
  const n1 = Math.max(16, Math.floor(n / 2 / 16) * 16);
  const n2 = n - n1;
  const a2 = aOffset + n1 * rowStride;
  syrkKernel(n1, k, alpha, a, aOffset, lda, trans, beta, c, cOffset, ldc);
  gemmKernel(n2, n1, k, alpha, a, a2, lda, trans, a, aOffset, lda, !trans, beta, c, cOffset + n1 * ldc, ldc);
  syrkKernel(n2, k, alpha, a, a2, lda, trans, beta, c, cOffset + n1 * ldc + n1, ldc);
}

/** Copy the strict lower triangle of the n × n matrix C onto its upper triangle. */
export function mirrorLower(n: number, c: Float64Array, cOffset: number, ldc: number): void {
  // Blocked so that the column reads of the lower triangle stay in cache.
  const B = 32;
  for (let i0 = 0; i0 < n; i0 += B) {
    for (let j0 = i0; j0 < n; j0 += B) {
      const iEnd = Math.min(i0 + B, n);
      const jEnd = Math.min(j0 + B, n);
      for (let i = i0; i < iEnd; i++) {
        for (let j = Math.max(j0, i + 1); j < jEnd; j++) c[cOffset + i * ldc + j] = c[cOffset + j * ldc + i]!;
      }
    }
  }
}
