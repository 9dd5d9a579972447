/**
 * WebAssembly kernels, assembled at run time by our own TypeScript: a byte
 * emitter (emit.ts), the packed-panel macro-kernel in f64x2 SIMD (gebp.ts), the
 * gemm driver that packs into linear memory (gemm.ts), the symmetric product of
 * the tridiagonal reduction (symv.ts, over a panel copied by panel.ts) and the
 * backend switch (backend.ts). gemmKernel routes its packed path here, so every
 * product of the library (syrk, Cholesky, triangular solves, eigensolver
 * updates, autodiff matmuls, Laplace GGNs) follows `backend()`.
 */
export { availableBackends, type Backend, backend, setBackend } from './backend.js';
export { startWorkers, stopWorkers, workerCount } from './pool.js';
