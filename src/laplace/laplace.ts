/**
 * The entry point: `laplace(model, options)` picks the posterior class for the
 * Hessian structure, as laplace-torch's `Laplace(...)` does, and
 * `Laplace.fromJSON(json, model)` restores a fitted one.
 */
import { ValueError } from '../errors.js';
import type { BaseLaplace, HessianStructure, LaplaceJSON, LaplaceOptions } from './base.js';
import { DiagLaplace } from './diag.js';
import { FullLaplace } from './full.js';
import { KronLaplace } from './kron.js';
import type { LikelihoodName } from './likelihood.js';
import { LowRankLaplace } from './lowrank.js';
import type { SequentialLike } from './network.js';

const structures: Record<
  HessianStructure,
  new (
    model: SequentialLike,
    options: LaplaceOptions,
  ) => BaseLaplace
> = {
  full: FullLaplace,
  kron: KronLaplace,
  diag: DiagLaplace,
  lowrank: LowRankLaplace,
};

/** A Laplace approximation of `model` (not yet fitted: call `fit(X, y)`). */
export function laplace<L extends LikelihoodName>(
  model: SequentialLike,
  options: LaplaceOptions<L>,
): BaseLaplace<L> {
  const structure = options.hessianStructure ?? 'kron';
  const Structure = structures[structure];
  if (!Structure) {
    throw new ValueError(
      `laplace: hessianStructure must be 'full', 'kron', 'diag' or 'lowrank', got '${structure}'`,
    );
  }
  const subset = options.subsetOfWeights ?? 'lastLayer';
  if (typeof subset === 'object' && structure === 'kron') {
    throw new ValueError(`laplace: a subnetwork has no Kronecker structure; use 'full', 'diag' or 'lowrank'`);
  }
  // Each class is generic in the likelihood; the table erases it and this restores it.
  return new Structure(model, options) as BaseLaplace<L>;
}

export const Laplace = {
  /** Restore a fitted approximation saved with `toJSON()`; `model` must hold the same MAP weights. */
  fromJSON(json: LaplaceJSON, model: SequentialLike): BaseLaplace {
    if (json?.format !== 'laplace-ts/laplace@1') {
      throw new ValueError(`Laplace.fromJSON: not a laplace-ts posterior (format '${String(json?.format)}')`);
    }
    const la = laplace(model, {
      likelihood: json.likelihood,
      hessianStructure: json.hessianStructure,
      subsetOfWeights: json.subsetOfWeights,
      curvature: json.curvature,
      priorPrecision: json.priorPrecision,
      priorMean: Float64Array.from(json.priorMean),
      sigmaNoise: json.sigmaNoise,
      temperature: json.temperature,
      ...(json.rank === undefined ? {} : { rank: json.rank }),
    });
    return la.restore(json);
  },
};
