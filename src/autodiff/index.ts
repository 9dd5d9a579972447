/** Automatic differentiation: tensors, primitives, jvp / vjp / vmap and friends, networks. */
export * from './tensor.js';
