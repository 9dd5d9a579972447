/**
 * What the playground computes, free of the page: from clicked points to a
 * Laplace posterior and its predictive on a grid.
 *
 * 1. The MAP. Minimising the mean training loss plus ½λ‖θ‖² maximises the log
 *    joint log p(y | θ) + log N(θ; 0, δ⁻¹I) when the weight decay matches the
 *    prior precision δ: λ = 2σ²δ/N for regression, δ/N for classification
 *    (`weightDecay`, derived in src/laplace/pipeline.ts, which the CLI trains with too).
 *
 * 2. The Laplace approximation at θ*: q(θ) = N(θ*, P⁻¹) with P = c·H + δI, H
 *    the Gauss–Newton curvature of the data term (c = 1/σ² for regression)
 *    in the chosen structure. "Tune" maximises its log marginal likelihood
 *
 *      log p(y) ≈ log p(y | θ*) − ½δ‖θ*‖² − ½ log det P + ½ P·log δ,
 *
 *    over δ (and σ), which needs no held-out data.
 * 3. The predictive. 'glm' linearises f at θ*: f(x) ~ N(f(x; θ*), J P⁻¹ Jᵀ),
 *    giving the bands mean ± 2·sd and, through a link approximation, class
 *    probabilities; 'nn' samples θ ~ q and runs the network itself.
 *
 * Comparing log p(y) across depths (`evidenceByDepth`) is Bayesian model
 * selection with the same approximation. Inputs and targets are used in the
 * canvas' own units, which are of order one by construction of the views.
 */

import { evenlySpaced, grid2d } from '../src/data/toy.js';
import {
  type ActivationName,
  adam,
  type BaseLaplace,
  type ClassificationPrediction,
  type HessianStructure,
  type LinkApprox,
  laplace,
  type PredType,
  type RegressionPrediction,
  Sequential,
  train,
  ValueError,
} from '../src/index.js';
import { weightDecay } from '../src/laplace/pipeline.js';

export type Task = 'regression' | 'classification';

/** The posterior choices offered: a Hessian structure over all weights, or a full one over the last layer. */
export type PosteriorChoice = 'full' | 'kron' | 'diag' | 'lastLayer';

/** A clicked point: (x, y) on the canvas; `label` 0 or 1 is its class (classification only). */
export interface Point {
  x: number;
  y: number;
  label: number;
}

export interface FitSettings {
  hiddenLayers: number;
  width: number;
  activation: ActivationName;
  posterior: PosteriorChoice;
  predType: PredType;
  linkApprox: LinkApprox;
  /** Maximise the log marginal likelihood over δ (and σ) after fitting. */
  tune: boolean;
  /** Prior precision δ: used in training, and kept when `tune` is off. */
  priorPrecision: number;
  /** Observation noise σ (regression): used in training, and kept when `tune` is off. */
  sigmaNoise: number;
  epochs: number;
  learningRate: number;
  seed: number;
}

export const DEFAULT_SETTINGS: FitSettings = {
  hiddenLayers: 2,
  width: 32,
  activation: 'tanh',
  posterior: 'full',
  predType: 'glm',
  linkApprox: 'probit',
  tune: true,
  priorPrecision: 1,
  sigmaNoise: 0.1,
  epochs: 1500,
  learningRate: 0.01,
  seed: 0,
};

/** The rectangle of input space a canvas shows. */
export interface View {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export const REGRESSION_VIEW: View = { xMin: -3, xMax: 3, yMin: -2.5, yMax: 2.5 };
export const CLASSIFICATION_VIEW: View = { xMin: -1.75, xMax: 2.75, yMin: -1.25, yMax: 1.75 };

/** Predictive of a 1-D regression on `xs`: mean, functional and predictive standard deviations. */
export interface RegressionCurve {
  task: 'regression';
  xs: number[];
  mean: number[];
  /** sd of f(x) under the posterior (epistemic). */
  functionalStd: number[];
  /** sd of y at x: √(functional variance + σ²). */
  predictiveStd: number[];
}

/** p(class 1 | x) on an nx × ny grid, row r and column c at `probs[r * nx + c]`. */
export interface ClassificationMap {
  task: 'classification';
  nx: number;
  ny: number;
  xs: number[];
  ys: number[];
  probs: number[];
}

export interface FitResult {
  prediction: RegressionCurve | ClassificationMap;
  priorPrecision: number;
  /** σ after fitting (regression); NaN for classification. */
  sigmaNoise: number;
  logMarginalLikelihood: number;
  /** Parameters of the network, and of those the posterior treats as random. */
  networkParams: number;
  posteriorParams: number;
  trainingLoss: number;
  /** Milliseconds spent training (0 when a cached MAP was reused) and on Laplace + predictive. */
  trainMs: number;
  laplaceMs: number;
}

/** The MAP network and its final training loss. */
export interface TrainedMap {
  model: Sequential;
  loss: number;
}

export type ProgressHandler = (epoch: number, epochs: number, loss: number) => void;

const REGRESSION_GRID = 240;
const CLASSIFICATION_GRID = 48;

/** Reject point sets the posterior cannot be fitted on, with a message for the page. */
export function checkPoints(task: Task, points: readonly Point[]): void {
  if (points.length < 2) throw new ValueError(`fit: add at least 2 points (have ${points.length})`);
  if (task === 'classification') {
    const ones = points.filter((p) => p.label === 1).length;
    if (ones === 0 || ones === points.length)
      throw new ValueError(`fit: add points of both classes (shift-click adds the second class)`);
  }
}

/**
 * What training depends on: the data, the architecture and the training prior.
 * Two fits with the same key share a MAP.
 */
export function trainingKey(
  task: Task,
  points: readonly Point[],
  s: FitSettings,
  hiddenLayers: number,
): string {
  return JSON.stringify([
    task,
    points.map((p) => [p.x, p.y, p.label]),
    hiddenLayers,
    s.width,
    s.activation,
    s.epochs,
    s.learningRate,
    s.seed,
    s.priorPrecision,
    task === 'regression' ? s.sigmaNoise : 0,
  ]);
}

function inputsAndTargets(task: Task, points: readonly Point[]): { X: number[][]; y: number[] } {
  return task === 'regression'
    ? { X: points.map((p) => [p.x]), y: points.map((p) => p.y) }
    : { X: points.map((p) => [p.x, p.y]), y: points.map((p) => p.label) };
}

/** Train an MLP with `hiddenLayers` hidden layers to the MAP under the prior N(0, δ⁻¹I). */
export function trainMap(
  task: Task,
  points: readonly Point[],
  s: FitSettings,
  hiddenLayers: number,
  onProgress?: ProgressHandler,
): TrainedMap {
  checkPoints(task, points);
  const { X, y } = inputsAndTargets(task, points);
  const n = X.length;
  const sizes = [
    X[0]!.length,
    ...Array.from({ length: hiddenLayers }, () => s.width),
    task === 'regression' ? 1 : 2,
  ];
  const model = Sequential.mlp(sizes, { activation: s.activation, seed: s.seed });
  // Report about 50 times per fit: enough for a smooth bar, few enough messages.
  const every = Math.max(1, Math.round(s.epochs / 50));
  const { losses } = train(model, X, task === 'regression' ? y.map((v) => [v]) : y, {
    loss: task === 'regression' ? 'mse' : 'crossEntropy',
    epochs: s.epochs,
    seed: s.seed + 1,
    optimizer: adam({ lr: s.learningRate }),
    weightDecay: weightDecay(task, s.priorPrecision, n, s.sigmaNoise),
    ...(onProgress
      ? {
          onProgress: ({ epoch, loss }) => {
            if ((epoch + 1) % every === 0 || epoch + 1 === s.epochs) onProgress(epoch + 1, s.epochs, loss);
          },
        }
      : {}),
  });
  return { model, loss: losses[losses.length - 1]! };
}

/**
 * Most parameters a full Hessian may cover here: P² doubles of storage
 * (128 MB at 4000) and P³/3 flops per factorisation, seconds in a browser.
 */
export const MAX_FULL_PARAMS = 4000;

/** The Laplace approximation of `model` at its weights, tuned or not as `s` says. */
export function fitLaplace(
  task: Task,
  points: readonly Point[],
  model: Sequential,
  s: FitSettings,
): BaseLaplace {
  if (s.posterior === 'full' && model.nParams > MAX_FULL_PARAMS) {
    throw new ValueError(
      `fit: a full Hessian over ${model.nParams} parameters is too large for the page (at most ${MAX_FULL_PARAMS}); ` +
        `choose Kronecker-factored, diagonal or last layer, or a smaller network`,
    );
  }
  const { X, y } = inputsAndTargets(task, points);
  const structure: HessianStructure = s.posterior === 'lastLayer' ? 'full' : s.posterior;
  const la = laplace(model, {
    likelihood: task,
    hessianStructure: structure,
    subsetOfWeights: s.posterior === 'lastLayer' ? 'lastLayer' : 'all',
    priorPrecision: s.priorPrecision,
    ...(task === 'regression' ? { sigmaNoise: s.sigmaNoise } : {}),
  });
  la.fit(X, y);
  if (s.tune) la.optimizeHyperparameters();
  return la;
}

/** The predictive of a fitted posterior over the view: a curve (regression) or a probability map. */
function predictOnView(
  task: Task,
  la: BaseLaplace,
  view: View,
  s: FitSettings,
): RegressionCurve | ClassificationMap {
  const options =
    s.predType === 'nn'
      ? { predType: 'nn' as const, seed: s.seed }
      : { predType: 'glm' as const, linkApprox: s.linkApprox, seed: s.seed };
  if (task === 'regression') {
    const xs = evenlySpaced(view.xMin, view.xMax, REGRESSION_GRID);
    const prediction = la.predict(
      xs.map((x) => [x]),
      options,
    ) as RegressionPrediction;
    const sigma2 = la.sigmaNoise ** 2;
    const variance = Array.from(prediction.predictiveVariance.data);
    return {
      task,
      xs,
      mean: Array.from(prediction.mean.data),
      functionalStd: variance.map((v) => Math.sqrt(Math.max(v - sigma2, 0))),
      predictiveStd: variance.map((v) => Math.sqrt(v)),
    };
  }
  const { xs, ys, points } = grid2d([view.xMin, view.xMax], [view.yMin, view.yMax], CLASSIFICATION_GRID);
  const { probs } = la.predict(points, options) as ClassificationPrediction;
  const classOne = points.map((_, i) => probs.data[2 * i + 1]!);
  return { task, nx: xs.length, ny: ys.length, xs, ys, probs: classOne };
}

function scalarPrior(la: BaseLaplace): number {
  const p = la.priorPrecision;
  return typeof p === 'number' ? p : p[0]!;
}

/** Laplace and predictive at a trained MAP, with the numbers the page shows. */
function posteriorAt(
  task: Task,
  points: readonly Point[],
  map: TrainedMap,
  s: FitSettings,
  view: View,
): Omit<FitResult, 'trainMs'> {
  const start = performance.now();
  const la = fitLaplace(task, points, map.model, s);
  const prediction = predictOnView(task, la, view, s);
  return {
    prediction,
    priorPrecision: scalarPrior(la),
    sigmaNoise: task === 'regression' ? la.sigmaNoise : Number.NaN,
    logMarginalLikelihood: la.logMarginalLikelihood(),
    networkParams: map.model.nParams,
    posteriorParams: la.nParams,
    trainingLoss: map.loss,
    laplaceMs: performance.now() - start,
  };
}

/** Train (or reuse `cached` when its key matches), fit the posterior and predict over the view. */
export function fitPlayground(
  task: Task,
  points: readonly Point[],
  s: FitSettings,
  view: View,
  onProgress?: ProgressHandler,
  cached?: { key: string; map: TrainedMap },
): { result: FitResult; key: string; map: TrainedMap } {
  const key = trainingKey(task, points, s, s.hiddenLayers);
  const start = performance.now();
  const map = cached?.key === key ? cached.map : trainMap(task, points, s, s.hiddenLayers, onProgress);
  const trainMs = cached?.key === key ? 0 : performance.now() - start;
  return { result: { ...posteriorAt(task, points, map, s, view), trainMs }, key, map };
}

export interface DepthEvidence {
  hiddenLayers: number;
  logMarginalLikelihood: number;
}

/**
 * The tuned log marginal likelihood of networks with 1..maxDepth hidden
 * layers (width, activation and posterior as in `s`). Tuning is always on:
 * evidence compares models at their best hyperparameters.
 */
export function evidenceByDepth(
  task: Task,
  points: readonly Point[],
  s: FitSettings,
  maxDepth: number,
  onProgress?: (depth: number, epoch: number, epochs: number) => void,
): DepthEvidence[] {
  checkPoints(task, points);
  const tuned = { ...s, tune: true };
  const results: DepthEvidence[] = [];
  for (let depth = 1; depth <= maxDepth; depth++) {
    const map = trainMap(task, points, tuned, depth, (epoch, epochs) => onProgress?.(depth, epoch, epochs));
    const la = fitLaplace(task, points, map.model, tuned);
    results.push({ hiddenLayers: depth, logMarginalLikelihood: la.logMarginalLikelihood() });
  }
  return results;
}
