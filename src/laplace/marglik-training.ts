/**
 * Online marginal-likelihood training (Immer et al., ICML 2021).
 *
 * Train the MAP and the hyperparameters together: gradient steps on the
 * negative log joint −log p(D | θ) − log p(θ | δ), and every few epochs a
 * Laplace approximation at the current weights whose evidence is maximised over
 * the per-layer prior precisions δ (and σ for regression). The evidence needs
 * no validation data, so the prior (weight decay) is learnt from the training
 * set alone, and the final evidence of different architectures can be compared
 * to choose among them.
 *
 * The data term is the mean loss (as `train` reports it), so the prior enters as
 * a per-tensor weight decay λ: dividing the negative log joint by N/T
 * (classification) or N·K/(2σ²T) (regression, mean squared error) gives
 * λ = T·δ/N and λ = 2σ²T·δ/(N·K) respectively.
 *
 * Unlike laplace-torch, which takes a few Adam steps on the hyperparameters at
 * each update, we jump to the evidence maximiser for the current weights; the
 * best state by evidence is kept, as laplace-torch does. laplace-torch's
 * training loss, MSE + ½δ‖θ‖²·2σ²/(N·T), equals this tempered MAP objective only
 * for one output and T = 1; we use the exact weight decay above for any K and T.
 */

import { ValueError } from '../errors.js';
import type { Labels } from '../nn/losses.js';
import { adam, type Optimizer } from '../nn/optim.js';
import type { Sequential } from '../nn/sequential.js';
import { train } from '../nn/train.js';
import { type RngLike, toRng } from '../random.js';
import type { TensorLike } from '../tensor.js';
import type { BaseLaplace, HessianStructure } from './base.js';
import { checkOptionNames, integerAtLeast, oneOf, toMatrix } from './inputs.js';
import { laplace } from './laplace.js';
import { type LikelihoodName, likelihoodRule } from './likelihood.js';
import type { PriorStructure } from './prior.js';

export interface MarglikTrainingOptions {
  likelihood: LikelihoodName;
  /** Structure of the Laplace approximations used for the evidence. Default 'kron'. */
  hessianStructure?: HessianStructure;
  /** Default 'layerwise' (one precision per parameter tensor). */
  priorStructure?: PriorStructure;
  epochs: number;
  /** Epochs between hyperparameter updates. Default 5. */
  marglikFrequency?: number;
  /** Epochs before the first update. Default 0. */
  burnin?: number;
  /** Default `adam({ lr: 1e-3 })`. */
  optimizer?: Optimizer;
  batchSize?: number;
  priorPrecision?: number;
  sigmaNoise?: number;
  temperature?: number;
  seed: RngLike;
  onProgress?: (info: { epoch: number; loss: number; logMarginalLikelihood?: number }) => void;
}

export interface MarglikTrainingResult {
  /** Laplace over all weights at the best state, with its hyperparameters. */
  laplace: BaseLaplace;
  /** The evidence after each hyperparameter update. */
  margliks: number[];
  /** The mean training loss of each epoch. */
  losses: number[];
  /** The epoch of the best evidence, whose weights the model now holds. */
  bestEpoch: number;
}

const MARGLIK_OPTIONS = [
  'likelihood',
  'hessianStructure',
  'priorStructure',
  'epochs',
  'marglikFrequency',
  'burnin',
  'optimizer',
  'batchSize',
  'priorPrecision',
  'sigmaNoise',
  'temperature',
  'seed',
  'onProgress',
] as const satisfies readonly (keyof MarglikTrainingOptions)[];

export function marglikTraining(
  model: Sequential,
  X: TensorLike,
  y: TensorLike | Labels,
  options: MarglikTrainingOptions,
): MarglikTrainingResult {
  if (typeof options !== 'object' || options === null) {
    throw new ValueError(
      'marglikTraining: options must be an object with at least { likelihood, epochs, seed }',
    );
  }
  checkOptionNames(options, MARGLIK_OPTIONS, 'marglikTraining');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ValueError('marglikTraining: onProgress must be a function');
  }
  if (
    options.optimizer !== undefined &&
    typeof (options.optimizer as Partial<Optimizer> | null)?.step !== 'function'
  ) {
    throw new ValueError('marglikTraining: optimizer must be an Optimizer (such as adam({ lr }))');
  }
  const {
    likelihood,
    hessianStructure = 'kron',
    priorStructure = 'layerwise',
    epochs,
    marglikFrequency = 5,
    burnin = 0,
    temperature = 1,
  } = options;
  const what = 'marglikTraining';
  integerAtLeast(epochs, 1, `${what}: epochs`);
  integerAtLeast(marglikFrequency, 1, `${what}: marglikFrequency`);
  integerAtLeast(burnin, 0, `${what}: burnin`);
  if (options.batchSize !== undefined) integerAtLeast(options.batchSize, 1, `${what}: batchSize`);
  // The prior becomes the weight decay of training, one value per parameter tensor.
  oneOf(priorStructure, ['scalar', 'layerwise'], `${what}: priorStructure`);
  const rule = likelihoodRule(likelihood, 'marglikTraining: likelihood');
  const rng = toRng(options.seed);
  const optimizer = options.optimizer ?? adam({ lr: 1e-3 });
  const makeLaplace = (priorPrecision: number | number[] | Float64Array, sigmaNoise: number) =>
    laplace(model, {
      likelihood,
      subsetOfWeights: 'all',
      hessianStructure,
      priorPrecision,
      sigmaNoise,
      temperature,
    });

  // The hyperparameters live in a Laplace object, which also validates them.
  let la = makeLaplace(options.priorPrecision ?? 1, options.sigmaNoise ?? 1);
  const tensorCount = model.layers.reduce((s, l) => s + l.parameters().length, 0);
  const { rows: n } = toMatrix(X, model.inputShape, 'marglikTraining: X');
  const outputs = model.outFeatures;

  /** λ per parameter tensor from the current δ and σ. */
  const weightDecay = (): number[] => {
    const p = la.priorPrecision;
    const perTensor = typeof p === 'number' ? new Array<number>(tensorCount).fill(p) : Array.from(p);
    if (perTensor.length !== tensorCount) {
      throw new ValueError('marglikTraining: priorStructure must be scalar or layerwise');
    }
    const scale = rule.weightDecayScale(la.sigmaNoise, temperature, n, outputs);
    return perTensor.map((d) => d * scale);
  };

  const losses: number[] = [];
  const margliks: number[] = [];
  let best: {
    evidence: number;
    theta: Float64Array;
    priorPrecision: number | number[] | Float64Array;
    sigmaNoise: number;
    epoch: number;
  } | null = null;
  let first = true;
  for (let epoch = 0; epoch < epochs; ) {
    const chunk = Math.min(marglikFrequency, epochs - epoch);
    const result = train(model, X, y, {
      loss: rule.trainingLoss,
      optimizer,
      epochs: chunk,
      seed: rng.split(),
      weightDecay: weightDecay(),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
    losses.push(...result.losses);
    epoch += chunk;
    if (epoch < burnin) {
      options.onProgress?.({ epoch, loss: losses[losses.length - 1]! });
      continue;
    }
    la = makeLaplace(la.priorPrecision, la.sigmaNoise).fit(X, y);
    const tuned = la.optimizeHyperparameters(first ? { priorStructure } : {});
    first = false;
    margliks.push(tuned.logMarginalLikelihood);
    if (!best || tuned.logMarginalLikelihood > best.evidence) {
      best = {
        evidence: tuned.logMarginalLikelihood,
        theta: model.flatParameters(),
        priorPrecision: tuned.priorPrecision,
        sigmaNoise: tuned.sigmaNoise,
        epoch,
      };
    }
    options.onProgress?.({
      epoch,
      loss: losses[losses.length - 1]!,
      logMarginalLikelihood: tuned.logMarginalLikelihood,
    });
  }
  if (!best) {
    // Every epoch was burn-in: fit once at the end.
    la = makeLaplace(la.priorPrecision, la.sigmaNoise).fit(X, y);
    const tuned = la.optimizeHyperparameters({ priorStructure });
    margliks.push(tuned.logMarginalLikelihood);
    return { laplace: la, margliks, losses, bestEpoch: epochs };
  }
  model.setFlatParameters(best.theta);
  const restored = makeLaplace(best.priorPrecision, best.sigmaNoise).fit(X, y);
  return { laplace: restored, margliks, losses, bestEpoch: best.epoch };
}
