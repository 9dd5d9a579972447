/**
 * Layer rules: what Laplace knows of each layer type.
 *
 * Like a primitive in src/autodiff, a layer type is one object here. A rule
 * says how to run the layer on a batch, how to pull output-space cotangents
 * back through it, and how its parameters enter the rows of the Jacobian.
 * Laplace's maths reads rules and never a layer's type.
 *
 * Rows are stored as *slots*, pairs (a, g) of one batch of examples n with m
 * cotangents each:
 *
 *   outer   row(n, r) of a weight [rows × cols] is g[n, r, i]·a[n, j]
 *           (a Linear layer: a its input, g the cotangents at its output);
 *   direct  row(n, r) is g[n, r, ·] itself (a Linear bias: the same g;
 *           any other tensor: the Jacobian rows, computed by the rule).
 *
 * Outer slots are what make Laplace on MLPs cheap: diagonals, Kronecker
 * factors and Gram matrices follow without ever forming a row. A layer with
 * no rule of its own gets `genericRule`, which takes everything from the AD
 * engine (vjp of the layer's `apply`, vmapped over rows): `full`, `diag`,
 * `lowrank` and subnetworks then work for any layer, and `kron` asks for the
 * rule's `kronecker` and says which layer lacks it.
 */
import { ValueError } from '../../errors.js';
import { ACTIVATION_NAMES } from '../../nn/layers.js';
import type { Layer } from '../../nn/module.js';
import type { Shape, Tensor } from '../../tensor.js';
import { activationRule } from './activation.js';
import { conv2dRule } from './conv2d.js';
import { genericRule } from './generic.js';
import { linearRule } from './linear.js';
import { avgPool2dRule, flattenRule, maxPool2dRule } from './pooling.js';

/** One parameter tensor of a layer as a block of Jacobian rows. */
export interface BlockLayout {
  /** The layer's slot the block reads (0, 1, … within the layer). */
  readonly slot: number;
  /**
   * 'outer': rows g ⊗ a, from the slot's a and g; 'direct': rows g, the whole of
   * the slot's g. A slot holds at most one block of each structure.
   */
  readonly structure: 'outer' | 'direct';
  /** Where the block sits in a Kronecker factorisation B ⊗ A: 'weight' is B ⊗ A, 'bias' is B. */
  readonly part: 'weight' | 'bias';
  /** The tensor as a matrix [rows × cols] (a vector is [size × 1]). */
  readonly rows: number;
  readonly cols: number;
}

/** One slot's factors for a batch of n examples with m rows each. */
export interface Slot {
  /** Outer slots: the inputs a, [n × cols]. Direct slots: null. */
  readonly a: Float64Array | null;
  /** [n·m × width]: the cotangents (outer) or the rows (direct). */
  readonly g: Float64Array;
  /** Numbers per row of g. */
  readonly width: number;
}

/** KFLR factors of one layer from one batch (sums over its examples; the caller divides A by N). */
export interface KroneckerSums {
  /** Σₙᵣ (Σₚ gₙᵣₚ)(Σₚ gₙᵣₚ)ᵀ over output positions p, [out × out]. */
  readonly b: Float64Array;
  /** Σₙ Σₚ aₙₚ aₙₚᵀ over input patches p, [in × in]. */
  readonly a: Float64Array;
  readonly outFeatures: number;
  readonly inFeatures: number;
}

export interface LayerRule<T extends Layer = Layer> {
  readonly name: string;
  /** The blocks of the layer's parameter tensors, in order; `inputShape` is one example's. */
  blocks(layer: T, inputShape: Shape): BlockLayout[];
  /** The layer's output on a concrete batch x [n, ...inputShape]. */
  forward(layer: T, params: readonly Tensor[], x: Tensor): Tensor;
  /** Cotangents [n·m, ...outputShape], m per example of x [n, ...], pulled back to the input. */
  pullback(layer: T, params: readonly Tensor[], x: Tensor, cotangent: Tensor, m: number): Tensor;
  /** The slots of the layer's blocks, from its input and the cotangents at its output. */
  slots(layer: T, params: readonly Tensor[], x: Tensor, cotangent: Tensor, m: number): Slot[];
  /** KFLR factors, for layers that have them. */
  kronecker?(layer: T, x: Tensor, cotangent: Tensor, m: number): KroneckerSums;
}

/**
 * A layer that is a sum of chains of layers on the same input (a residual
 * block): Laplace walks into it instead of treating it as one layer.
 */
export interface BranchRule<T extends Layer = Layer> {
  readonly name: string;
  /** The chains whose outputs are summed; an empty chain is the identity. */
  branches(layer: T): readonly (readonly Layer[])[];
}

/** What a residual block exposes (src/nn/residual.ts). */
interface ResidualLike extends Layer {
  readonly inner: readonly Layer[];
  readonly shortcut: readonly Layer[] | null;
}

const residualRule: BranchRule<ResidualLike> = {
  name: 'residual',
  branches: (layer) => [layer.inner, layer.shortcut ?? []],
};

/** Rules of the layer types that have one; any other layer gets the generic rule. */
const RULES: Readonly<Record<string, LayerRule | BranchRule>> = {
  linear: linearRule as LayerRule,
  conv2d: conv2dRule as LayerRule,
  maxpool2d: maxPool2dRule as LayerRule,
  avgpool2d: avgPool2dRule as LayerRule,
  flatten: flattenRule,
  residual: residualRule as BranchRule,
  ...Object.fromEntries(ACTIVATION_NAMES.map((name) => [name, activationRule as LayerRule])),
};

/** The rule Laplace uses for `layer`. */
export function ruleFor(layer: Layer): LayerRule | BranchRule {
  if (typeof layer !== 'object' || layer === null || typeof layer.apply !== 'function') {
    throw new ValueError('laplace: the model holds something that is not a layer');
  }
  return Object.hasOwn(RULES, layer.type) ? RULES[layer.type]! : genericRule;
}
