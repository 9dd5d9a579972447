/**
 * Dense and matrix-free linear algebra.
 *
 * Two layers: kernels over Float64Array with sizes, offsets and leading
 * dimensions that write into an `out` argument and validate nothing (for hot
 * loops elsewhere in the library), and functions over 2-D Tensors that check
 * their arguments and return new Tensors. Matrix-free methods work on any
 * `LinearOperator`, a symmetric matrix known through v ↦ A·v.
 */

export {
  axpyKernel,
  dotKernel,
  gemvKernel,
  mirrorLower,
  nrm2Kernel,
  scalKernel,
  syrkKernel,
} from '../kernels/blas.js';
export { choleskyInverseKernel, choleskyKernel, triangularInverseKernel } from '../kernels/cholesky.js';
export { applyTridiagonalQ, tql2, tridiagonalize, tridiagonalQ } from '../kernels/eigen.js';
export { gemmKernel } from '../kernels/gemm.js';
export { trsmKernel } from '../kernels/triangular.js';
export { tridiagonalEigenDC } from '../kernels/tridiagonal.js';
export {
  availableBackends,
  type Backend,
  backend,
  setBackend,
  startWorkers,
  stopWorkers,
  workerCount,
} from '../kernels/wasm/index.js';
export {
  cholesky,
  choleskyInverse,
  choleskySolve,
  choleskyWithJitter,
  type JitterOptions,
  logdetFromCholesky,
  type SolveTriangularOptions,
  solveTriangular,
} from './cholesky.js';
export {
  axpy,
  dot,
  type GemmOptions,
  type GemvOptions,
  gemm,
  gemv,
  nrm2,
  type SyrkOptions,
  syrk,
} from './dense.js';
export { type Eigh, eigh, eigvalsh } from './eigen.js';
export {
  type CgOptions,
  type CgResult,
  cg,
  type LanczosOptions,
  type LanczosResult,
  lanczos,
} from './krylov.js';
export {
  applyToColumns,
  denseOperator,
  diagonalOperator,
  type LinearOperator,
  type LowRankPlusDiagonal,
  lowRankPlusDiagonal,
  operatorToDense,
  scaledOperator,
  sumOperator,
} from './operators.js';
export {
  type Estimate,
  hutchinsonDiagonal,
  hutchinsonTrace,
  type ProbeOptions,
  type SlqOptions,
  slqLogdet,
} from './stochastic.js';
