/**
 * Dense and matrix-free linear algebra.
 *
 * Functions over 2-D Tensors that check their arguments and return new
 * Tensors, on top of the raw Float64Array kernels (which validate nothing and
 * are exported on their own, as `laplace-ts/kernels`), and the choice of
 * kernel backend (JavaScript or WebAssembly, with or without workers). Matrix-free methods work on any
 * `LinearOperator`, a symmetric matrix known through v ↦ A·v.
 */

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
