/**
 * laplace-ts: linearised Laplace approximations for neural networks in pure
 * TypeScript, on its own automatic differentiation and linear algebra.
 */
export * from './autodiff/index.js';
export * from './errors.js';
export * from './laplace/index.js';
export * as linalg from './linalg/index.js';
export * from './metrics.js';
export * from './nn/index.js';
export * from './onnx/index.js';
export { type Rng, type RngLike, seededRng } from './random.js';
