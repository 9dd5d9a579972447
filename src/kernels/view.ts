/**
 * Strided matrix views, so that a call reads like its formula.
 *
 * A view is a matrix laid over a Float64Array without copying it: element
 * (i, j) of `mat(data, rows, cols, offset, ld)` is data[offset + i·ld + j]
 * (row-major, leading dimension ld ≥ cols), and `tr(A)` is Aᵀ, the same
 * numbers read the other way. The wrappers pass a view's fields to the raw
 * kernels unchanged, so
 *
 *   gemm(C, α, A, tr(B), β)   is  C ← α·A·Bᵀ + β·C
 *   syrk(C, α, A, β)          is  C ← α·A·Aᵀ + β·C   (lower triangle of C)
 *   trsm('right', tr(L), true, B)  is  B ← B·L⁻ᵀ     (L stored lower)
 *
 * and give exactly the bits of the kernel call they stand for. Nothing is
 * validated (sizes must agree: C is A.rows × B.cols, A.cols = B.rows); the
 * output view must not be transposed.
 */
import { syrkKernel } from './blas.js';
import { gemmKernel } from './gemm.js';
import { trsmKernel } from './triangular.js';

export interface MatrixView {
  readonly data: Float64Array;
  readonly offset: number;
  /** Rows and columns of the matrix the view shows (after any transpose). */
  readonly rows: number;
  readonly cols: number;
  /** Distance between consecutive rows of the stored matrix. */
  readonly ld: number;
  /** True when the view is the transpose of the stored matrix. */
  readonly trans: boolean;
}

/** The rows × cols matrix stored row-major in `data` from `offset`, rows `ld` apart. */
export function mat(data: Float64Array, rows: number, cols: number, offset = 0, ld = cols): MatrixView {
  return { data, offset, rows, cols, ld, trans: false };
}

/** Aᵀ, without a copy. */
export function tr(a: MatrixView): MatrixView {
  return { data: a.data, offset: a.offset, rows: a.cols, cols: a.rows, ld: a.ld, trans: !a.trans };
}

/** C ← α·A·B + β·C. */
export function gemm(c: MatrixView, alpha: number, a: MatrixView, b: MatrixView, beta = 0): void {
  // biome-ignore format: BLAS argument groups
  gemmKernel(
    c.rows, c.cols, a.cols, alpha,
    a.data, a.offset, a.ld, a.trans,
    b.data, b.offset, b.ld, b.trans,
    beta, c.data, c.offset, c.ld,
  );
}

/** C ← α·A·Aᵀ + β·C on the lower triangle of C (the upper one is not touched). */
export function syrk(c: MatrixView, alpha: number, a: MatrixView, beta = 0): void {
  syrkKernel(c.rows, a.cols, alpha, a.data, a.offset, a.ld, a.trans, beta, c.data, c.offset, c.ld);
}

/**
 * B ← A⁻¹·B ('left') or B ← B·A⁻¹ ('right') in place, for A triangular;
 * `storedLower` says which triangle of the stored matrix holds A (or Aᵀ, when
 * the view is transposed). The other triangle is never read.
 */
export function trsm(side: 'left' | 'right', a: MatrixView, storedLower: boolean, b: MatrixView): void {
  trsmKernel(
    side === 'left',
    storedLower,
    a.trans,
    b.rows,
    b.cols,
    a.data,
    a.offset,
    a.ld,
    b.data,
    b.offset,
    b.ld,
  );
}
