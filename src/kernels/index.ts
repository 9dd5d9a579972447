/**
 * The raw kernels, for code that runs its own hot loops: Float64Arrays with
 * sizes, offsets, leading dimensions and strides, results written into an
 * `out` argument, nothing validated (`laplace-ts/linalg` has the checked
 * functions over Tensors). Matrices are row-major: element (i, j) of A lives
 * at a[aOffset + i·lda + j].
 *
 *   gemm   C ← α·op(A)·op(B) + β·C        gemv  y ← α·op(A)·x + β·y
 *   syrk   C ← α·A·Aᵀ + β·C (lower)       trsm  op(A)·X = B or X·op(A) = B, A triangular
 *   cholesky, triangular inverse, (LLᵀ)⁻¹, tridiagonal eigensolvers
 */
export {
  axpyKernel,
  dotKernel,
  gemvKernel,
  mirrorLower,
  nrm2Kernel,
  scalKernel,
  syrkKernel,
} from './blas.js';
export { choleskyInverseKernel, choleskyKernel, triangularInverseKernel } from './cholesky.js';
export { applyTridiagonalQ, tql2, tridiagonalize, tridiagonalQ } from './eigen.js';
export { gemmKernel } from './gemm.js';
export { trsmKernel } from './triangular.js';
export { tridiagonalEigenDC } from './tridiagonal.js';
