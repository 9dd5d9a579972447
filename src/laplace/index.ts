/** Linearised Laplace approximations: curvature, posteriors, marginal likelihood, predictives. */
export {
  BaseLaplace,
  type ClassificationPrediction,
  type HessianStructure,
  type HyperparameterResult,
  type LaplaceJSON,
  type LaplaceOptions,
  type LinkApprox,
  type OptimizePriorOptions,
  type Prediction,
  type PredictionFor,
  type PredictOptions,
  type PredType,
  type RegressionPrediction,
} from './base.js';
export { DiagLaplace } from './diag.js';
export { FullLaplace } from './full.js';
export { FunctionalLaplace } from './functional.js';
export { KronLaplace } from './kron.js';
export { Laplace, laplace } from './laplace.js';
export type { LaplaceTorchFactors, LaplaceTorchJSON } from './laplace-torch.js';
export type { CurvatureName, LikelihoodName } from './likelihood.js';
export { LowRankLaplace } from './lowrank.js';
export {
  type MarglikTrainingOptions,
  type MarglikTrainingResult,
  marglikTraining,
} from './marglik-training.js';
export type { SequentialLike } from './network.js';
export type { PriorPrecision, PriorStructure } from './prior.js';
export { type PosteriorMean, SampledLaplace, type SolveReport } from './sampling.js';
export type { SubsetOfWeights } from './selection.js';
