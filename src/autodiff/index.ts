/** Automatic differentiation: tensors, primitives, jvp / vjp / vmap and friends. */
export * from '../tensor.js';
export { bind, type Primitive, Trace, Tracer } from './core.js';
export * from './ops.js';
export { primitives } from './primitives/index.js';
export * from './pytree.js';
export * from './transforms.js';
