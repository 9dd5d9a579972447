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
import { activationRule } from './activation.js';
import { conv2dRule } from './conv2d.js';
import { genericRule } from './generic.js';
import { linearRule } from './linear.js';
import { avgPool2dRule, flattenRule, maxPool2dRule } from './pooling.js';
import type { BranchRule, LayerRule } from './rule.js';

export type { BlockLayout, BranchRule, Gather, KroneckerSums, LayerRule, Slot } from './rule.js';
export { gatheredSum } from './rule.js';

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
