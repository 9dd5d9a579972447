/**
 * From a table of numbers to a fitted Laplace approximation, the way the CLI,
 * the demo and the playground do it (reading and standardising the table is
 * src/data's part).
 *
 * 1. Train the MAP. Minimising the mean training loss plus ½λ‖θ‖² is the same
 *    as maximising the log joint log p(y | θ) + log N(θ; 0, δ⁻¹I) when the
 *    weight decay λ is matched to the prior precision δ:
 *
 *      classification   (1/N) Σ CE + ½λ‖θ‖²               ⇒  λ = δ / N
 *      regression       (1/N) Σ (y − f)² + ½λ‖θ‖²          ⇒  λ = 2σ²δ / N
 *
 *    (the second is (2σ²/N)·[Σ (y − f)²/(2σ²) + ½δ‖θ‖²]), σ being the noise
 *    standard deviation assumed during training.
 * 2. Fit the Laplace approximation at the MAP and tune δ (and σ) by
 *    maximising the log marginal likelihood, which needs no validation data.
 * 3. Score held-out data with the MAP (the network's softmax, or a Gaussian
 *    with the tuned σ around its output) and with the linearised (GLM)
 *    predictive.
 *
 * Regression targets are standardised before training, y = m + s·z. The
 * densities of y and z differ by the Jacobian 1/s per target, so the evidence
 * in the user's units is log p(z) − N·log s, and predictions map back as
 * mean m + s·μ and variance s²·v.
 */

import { softmax } from '../autodiff/ops.js';
import {
  accuracy,
  brierScore,
  classificationNll,
  expectedCalibrationError,
  gaussianNll,
  rmse,
} from '../metrics.js';
import { type ActivationName, adam, Sequential, train } from '../nn/index.js';
import { tensor } from '../tensor.js';
import type { BaseLaplace, HessianStructure, LinkApprox, RegressionPrediction } from './base.js';
import { laplace } from './laplace.js';
import { marglikTraining } from './marglik-training.js';

export type Task = 'regression' | 'classification';

/** The weight decay λ that makes `train` find the MAP under the prior N(0, δ⁻¹I); see the header. */
export function weightDecay(task: Task, priorPrecision: number, nData: number, sigmaNoise = 1): number {
  return task === 'classification'
    ? priorPrecision / nData
    : (2 * sigmaNoise * sigmaNoise * priorPrecision) / nData;
}

export interface TrainSettings {
  task: Task;
  /** Widths of the hidden layers, e.g. [50, 50]. */
  hidden: readonly number[];
  activation: ActivationName;
  epochs: number;
  /** Examples per Adam step. */
  batchSize: number;
  learningRate: number;
  /** Prior precision δ assumed during training. */
  priorPrecision: number;
  /** Noise σ assumed during training (regression, in the units of the targets it sees). */
  sigmaNoise: number;
  seed: number;
}

/** The untrained MLP of `settings` from X's width to `nOutputs`, seeded. */
function initialMlp(X: number[][], nOutputs: number, settings: TrainSettings): Sequential {
  return Sequential.mlp([X[0]!.length, ...settings.hidden, nOutputs], {
    activation: settings.activation,
    seed: settings.seed,
  });
}

/** Targets as the losses take them: class indices, or one-output rows [y]. */
function lossTargets(task: Task, y: readonly number[]): number[] | number[][] {
  return task === 'classification' ? [...y] : y.map((v) => [v]);
}

/** Train an MLP to the MAP on X [n, d] and targets (class indices, or values). */
export function trainMap(
  X: number[][],
  y: readonly number[],
  nOutputs: number,
  settings: TrainSettings,
  onEpoch?: (epoch: number, loss: number) => void,
): { model: Sequential; losses: number[] } {
  const n = X.length;
  const model = initialMlp(X, nOutputs, settings);
  const { losses } = train(model, X, lossTargets(settings.task, y), {
    loss: settings.task === 'classification' ? 'crossEntropy' : 'mse',
    epochs: settings.epochs,
    batchSize: Math.min(settings.batchSize, n),
    seed: settings.seed + 1,
    optimizer: adam({ lr: settings.learningRate }),
    weightDecay: weightDecay(settings.task, settings.priorPrecision, n, settings.sigmaNoise),
    ...(onEpoch ? { onProgress: ({ epoch, loss }) => onEpoch(epoch, loss) } : {}),
  });
  return { model, losses };
}

/**
 * Online marginal-likelihood training (Immer et al. 2021): the MAP and the
 * per-layer prior precisions (and σ) are learnt together, the latter by
 * maximising the Laplace evidence every `marglikFrequency` epochs, so no
 * weight decay has to be guessed. Returns the model at the best evidence and
 * its Laplace approximation over all weights.
 */
export function trainWithMarglik(
  X: number[][],
  y: readonly number[],
  nOutputs: number,
  settings: TrainSettings,
  hessianStructure: HessianStructure,
  onProgress?: (epoch: number, loss: number) => void,
): { model: Sequential; losses: number[]; posterior: BaseLaplace } {
  const model = initialMlp(X, nOutputs, settings);
  const result = marglikTraining(model, X, lossTargets(settings.task, y), {
    likelihood: settings.task,
    hessianStructure,
    epochs: settings.epochs,
    batchSize: Math.min(settings.batchSize, X.length),
    optimizer: adam({ lr: settings.learningRate }),
    priorPrecision: settings.priorPrecision,
    ...(settings.task === 'regression' ? { sigmaNoise: settings.sigmaNoise } : {}),
    seed: settings.seed + 1,
    ...(onProgress ? { onProgress: ({ epoch, loss }) => onProgress(epoch, loss) } : {}),
  });
  return { model, losses: result.losses, posterior: result.laplace };
}

export interface PosteriorSettings {
  hessianStructure: HessianStructure;
  subsetOfWeights: 'all' | 'lastLayer';
  /** For 'lowrank': the number of eigenpairs of the GGN kept. */
  rank?: number;
}

/**
 * Laplace at the model's weights over (X, y), with the prior precision (and
 * for regression σ) set to the maximisers of the log marginal likelihood.
 */
export function fitPosterior(
  model: Sequential,
  X: number[][],
  y: readonly number[],
  task: Task,
  settings: PosteriorSettings,
  start: { priorPrecision: number; sigmaNoise: number },
): BaseLaplace {
  const la = laplace(model, {
    likelihood: task,
    hessianStructure: settings.hessianStructure,
    subsetOfWeights: settings.subsetOfWeights,
    ...(settings.rank === undefined ? {} : { rank: settings.rank }),
    priorPrecision: start.priorPrecision,
    ...(task === 'regression' ? { sigmaNoise: start.sigmaNoise } : {}),
  });
  la.fit(X, [...y]);
  la.optimizeHyperparameters();
  return la;
}

/** Class probabilities of the network itself, softmax(f(x; θ*)), as rows. */
export function mapProbabilities(model: Sequential, X: number[][]): Float64Array {
  return softmax(model.forward(tensor(X))).data;
}

/** The 97.5% quantile of the standard normal: μ ± Z95·σ is the central 95% interval of N(μ, σ²). */
export const Z95 = 1.959963984540054;

/** A Gaussian predictive per input in the user's units: mean and variance. */
export interface GaussianPrediction {
  mean: Float64Array;
  variance: Float64Array;
}

/** y = m + s·z for targets standardised to z. */
export interface TargetScale {
  mean: number;
  std: number;
}

/** The GLM predictive of a single-output regression posterior, mapped back to the user's units. */
export function regressionPredictive(
  la: BaseLaplace,
  X: number[][],
  scale: TargetScale,
  predType: 'glm' | 'nn' = 'glm',
  seed = 0,
): GaussianPrediction {
  const prediction = la.predict(X, { predType, seed }) as RegressionPrediction;
  return {
    mean: prediction.mean.data.map((z) => scale.mean + scale.std * z),
    variance: prediction.predictiveVariance.data.map((v) => scale.std * scale.std * v),
  };
}

/** The MAP as a regressor: N(f(x; θ*), σ²) with σ the posterior's (tuned) noise, in the user's units. */
export function mapRegression(
  la: BaseLaplace,
  model: Sequential,
  X: number[][],
  scale: TargetScale,
): GaussianPrediction {
  const output = model.forward(tensor(X)).data;
  const variance = (scale.std * la.sigmaNoise) ** 2;
  return {
    mean: output.map((z) => scale.mean + scale.std * z),
    variance: new Float64Array(output.length).fill(variance),
  };
}

/** The GLM class probabilities with the given link approximation, as rows ('mc': `nSamples` logit samples). */
export function classificationPredictive(
  la: BaseLaplace,
  X: number[][],
  linkApprox: LinkApprox = 'probit',
  { seed = 0, nSamples = 1000 }: { seed?: number; nSamples?: number } = {},
): Float64Array {
  const prediction = la.predict(X, { predType: 'glm', linkApprox, seed, nSamples });
  return (prediction as { probs: { data: Float64Array } }).probs.data;
}

/** Scores of a predictive on labelled data; lower NLL, ECE and Brier and higher accuracy are better. */
export interface ClassificationScores {
  nll: number;
  accuracy: number;
  ece: number;
  brier: number;
}

export interface RegressionScores {
  nll: number;
  rmse: number;
}

export function classificationScores(
  probs: Float64Array,
  labels: readonly number[],
  nClasses: number,
): ClassificationScores {
  const table = tensor(probs, [labels.length, nClasses]);
  return {
    nll: classificationNll(table, labels),
    accuracy: accuracy(table, labels),
    ece: expectedCalibrationError(table, labels, 10),
    brier: brierScore(table, labels),
  };
}

export function regressionScores(
  prediction: GaussianPrediction,
  targets: readonly number[],
): RegressionScores {
  return {
    nll: gaussianNll(prediction.mean, prediction.variance, targets),
    rmse: rmse(prediction.mean, targets),
  };
}
