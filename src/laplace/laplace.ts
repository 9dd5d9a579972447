/**
 * The entry point: `laplace(model, options)` picks the posterior class for the
 * Hessian structure, as laplace-torch's `Laplace(...)` does, and
 * `Laplace.fromJSON(json, model)` restores a fitted one
 * (`Laplace.fromLaplaceTorch(json, model)` one fitted by laplace-torch).
 */
import { ValueError } from '../errors.js';
import type { BaseLaplace, HessianStructure, LaplaceJSON, LaplaceOptions } from './base.js';
import { DiagLaplace } from './diag.js';
import { FullLaplace } from './full.js';
import { FunctionalLaplace } from './functional.js';
import { describe } from './inputs.js';
import { KronLaplace } from './kron.js';
import { laplaceTorchToJSON } from './laplace-torch.js';
import type { LikelihoodName } from './likelihood.js';
import { LowRankLaplace } from './lowrank.js';
import type { SequentialLike } from './network.js';
import { SampledLaplace } from './sampling.js';
import { checkLaplaceJSON } from './serialisation.js';

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
  gp: FunctionalLaplace,
  sampled: SampledLaplace,
};

/** A Laplace approximation of `model` (not yet fitted: call `fit(X, y)`). */
export function laplace<L extends LikelihoodName>(
  model: SequentialLike,
  options: LaplaceOptions<L>,
): BaseLaplace<L> {
  if (typeof options !== 'object' || options === null) {
    throw new ValueError(
      `laplace: options must be an object with at least { likelihood }, got ${String(options)}`,
    );
  }
  if (typeof model !== 'object' || model === null || !Array.isArray((model as { layers?: unknown }).layers)) {
    throw new ValueError('laplace: the model must be a Sequential (an object with layers and an inputShape)');
  }
  const structure = options.hessianStructure ?? 'kron';
  const Structure = Object.hasOwn(structures, structure) ? structures[structure] : undefined;
  if (!Structure) {
    throw new ValueError(
      `laplace: hessianStructure must be 'full', 'kron', 'diag', 'lowrank', 'gp' or 'sampled', got ${describe(structure)}`,
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
    // Every field is checked before it configures anything, so that errors name the field.
    const saved = checkLaplaceJSON(json);
    const la = laplace(model, {
      likelihood: saved.likelihood,
      hessianStructure: saved.hessianStructure,
      subsetOfWeights: saved.subsetOfWeights,
      curvature: saved.curvature,
      priorPrecision: saved.priorPrecision,
      priorMean: Float64Array.from(saved.priorMean),
      sigmaNoise: saved.sigmaNoise,
      temperature: saved.temperature,
      ...(saved.rank === undefined ? {} : { rank: saved.rank }),
      ...(saved.independentOutputs === undefined ? {} : { independentOutputs: saved.independentOutputs }),
    });
    return la.restore(saved);
  },

  /**
   * Serve a posterior fitted by laplace-torch ('lastLayer' with 'full', or 'all'
   * with 'kron'; see laplace-torch.ts for the format): `model` is its network,
   * e.g. imported from the ONNX file exported with it, and must hold `mean`.
   */
  fromLaplaceTorch(json: unknown, model: SequentialLike): BaseLaplace {
    return Laplace.fromJSON(laplaceTorchToJSON(json, model), model);
  },
};
