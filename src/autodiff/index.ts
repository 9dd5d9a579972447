/** Automatic differentiation: tensors, primitives, jvp / vjp / vmap and friends, networks. */
export { bind, type Primitive, Trace, Tracer } from './core.js';
export * from './nn/index.js';
export * from './ops.js';
export { primitives } from './primitives/index.js';
export * from './pytree.js';
export * from './tensor.js';
export * from './transforms.js';
