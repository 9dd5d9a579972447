/** Dense and matrix-free linear algebra over Float64Array and 2-D Tensors. */
export { gemmKernel } from './kernels/gemm.js';
