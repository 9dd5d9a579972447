/**
 * Saving and restoring a fitted posterior.
 *
 * A fitted approximation is its options, the hyperparameters, the statistics of
 * the fit (N, Σ loss at the MAP), the MAP of the random weights and the
 * structure's curvature state (H, its diagonal, Kronecker factors or
 * eigenpairs). The network itself is saved separately; restoring checks that
 * the network given holds the weights the posterior was fitted at.
 */
import { ShapeError, ValueError } from '../errors.js';
import type { CurvatureName, LikelihoodName } from './likelihood.js';
import type { SubsetOfWeights } from './selection.js';

export type HessianStructure = 'full' | 'kron' | 'diag' | 'lowrank';
export type CurvatureState = Record<string, number[] | number[][] | number>;

/** The serialised state of a fitted Laplace approximation. */
export interface LaplaceJSON {
  format: 'laplace-ts/laplace@1';
  likelihood: LikelihoodName;
  hessianStructure: HessianStructure;
  subsetOfWeights: 'all' | 'lastLayer' | { subnetwork: number[] };
  curvature: CurvatureName;
  priorPrecision: number | number[];
  priorMean: number[];
  sigmaNoise: number;
  temperature: number;
  rank?: number;
  nData: number;
  nOutputs: number;
  loss: number;
  mean: number[];
  curvatureState: CurvatureState;
}

/** The fields of a fitted posterior that its JSON holds. */
export interface SavedPosterior {
  likelihood: LikelihoodName;
  hessianStructure: HessianStructure;
  subsetOfWeights: SubsetOfWeights;
  curvature: CurvatureName;
  priorPrecision: number | number[] | Float64Array;
  priorMeanVector: Float64Array;
  sigmaNoise: number;
  temperature: number;
  nData: number;
  nOutputs: number;
  loss: number;
  mean: Float64Array;
  curvatureState: CurvatureState;
}

export function toLaplaceJSON(saved: SavedPosterior): LaplaceJSON {
  const subset = saved.subsetOfWeights;
  const p = saved.priorPrecision;
  return {
    format: 'laplace-ts/laplace@1',
    likelihood: saved.likelihood,
    hessianStructure: saved.hessianStructure,
    subsetOfWeights: typeof subset === 'string' ? subset : { subnetwork: Array.from(subset.subnetwork) },
    curvature: saved.curvature,
    priorPrecision: typeof p === 'number' ? p : Array.from(p),
    priorMean: Array.from(saved.priorMeanVector),
    sigmaNoise: saved.sigmaNoise,
    temperature: saved.temperature,
    nData: saved.nData,
    nOutputs: saved.nOutputs,
    loss: saved.loss,
    mean: Array.from(saved.mean),
    curvatureState: saved.curvatureState,
  };
}

/**
 * The MAP of the random weights from `json`, checked against the weights the
 * model holds now (`current`, the same selection): the posterior is centred on
 * them, so they must be the ones it was fitted at.
 */
export function restoredMean(json: LaplaceJSON, current: Float64Array): Float64Array {
  if (json.mean.length !== current.length) {
    throw new ShapeError(
      `Laplace.fromJSON: the saved posterior has ${json.mean.length} weights, the model ${current.length}`,
    );
  }
  const mean = Float64Array.from(json.mean);
  const index = current.findIndex((w, i) => Math.abs(w - mean[i]!) > 1e-12 * Math.max(1, Math.abs(w)));
  if (index >= 0) {
    throw new ValueError(
      `Laplace.fromJSON: the model's weight ${index} of the posterior is ${current[index]}, but the posterior was fitted at ${mean[index]}; load the network saved with it`,
    );
  }
  return mean;
}
