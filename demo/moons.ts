/**
 * Part 2: overconfidence far from the data (2-D classification).
 *
 * Away from its decision boundary, a trained network's softmax confidence is
 * close to one, including where no example was ever seen (for ReLU networks it
 * provably tends to one far from the data: Hein et al. 2019). The linearised Laplace
 * predictive has logit covariance J P⁻¹ Jᵀ that grows with the Jacobian too,
 * and the probit approximation
 *
 *     p(y | x) ≈ softmax(μ / √(1 + π/8 · diag Σ))
 *
 * pulls the confidence back towards uniform there (Kristiadi, Hein, Hennig
 * 2020), while on the data it stays close to the MAP's.
 */

import { grid2d, twoMoons } from '../src/data/toy.js';
import {
  classificationPredictive,
  classificationScores,
  fitPosterior,
  mapProbabilities,
  type TrainSettings,
} from '../src/laplace/pipeline.js';
import type { Sequential } from '../src/nn/index.js';
import { heatmap } from '../src/report/svg.js';
import { type DemoOptions, meanWhere, type PartResult, secondsSince, trainWithProgress } from './common.js';

/** max over classes of each row of probabilities [n, k]. */
function confidence(probs: Float64Array, k: number): Float64Array {
  const out = new Float64Array(probs.length / k);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(...probs.subarray(i * k, (i + 1) * k));
  return out;
}

export function moonsPart(options: DemoOptions): PartResult {
  const start = performance.now();
  const train = twoMoons({ n: 300, noise: 0.15, seed: 2 });
  const test = twoMoons({ n: 1000, noise: 0.15, seed: 3 });
  const settings: TrainSettings = {
    task: 'classification',
    hidden: [50],
    activation: 'tanh',
    epochs: 1000,
    batchSize: 50,
    learningRate: 3e-3,
    priorPrecision: 1,
    sigmaNoise: 1,
    seed: 0,
  };
  const { model } = trainWithProgress('2/4 moons: training', train.X, train.y, 2, settings, options);
  const la = fitPosterior(
    model,
    train.X,
    train.y,
    'classification',
    { hessianStructure: 'full', subsetOfWeights: 'all' },
    settings,
  );

  const side = options.quick ? 40 : 70;
  const grid = grid2d([-4, 5], [-3.5, 4], side, side);
  const mapGrid = confidence(mapProbabilities(model as Sequential, grid.points), 2);
  const glmGrid = confidence(classificationPredictive(la, grid.points), 2);
  // "Far from the data": grid points more than 1 away from every training input.
  const far = grid.points.map(
    ([gx, gy]) => Math.min(...train.X.map(([a, b]) => Math.hypot(gx! - a!, gy! - b!))) > 1,
  );
  const nearData = (i: number) => !far[i];
  const isFar = (i: number) => far[i]!;

  const mcGrid = confidence(classificationPredictive(la, grid.points, 'mc', { seed: 5, nSamples: 4000 }), 2);
  const predictives = [
    { predictive: 'MAP', probs: mapProbabilities(model, test.X), grid: mapGrid },
    {
      predictive: 'Laplace glm (Monte Carlo)',
      probs: classificationPredictive(la, test.X, 'mc', { seed: 5 }),
      grid: mcGrid,
    },
    {
      predictive: 'Laplace glm (probit)',
      probs: classificationPredictive(la, test.X, 'probit'),
      grid: glmGrid,
    },
  ];
  const rows = predictives.map(({ predictive, probs, grid: g }) => {
    const s = classificationScores(probs, test.y, 2);
    return {
      predictive,
      'test accuracy': s.accuracy,
      'test NLL': s.nll,
      ECE: s.ece,
      'confidence near data': meanWhere(g, nearData),
      'confidence far away': meanWhere(g, isFar),
    };
  });
  const [map, mc, probit] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];

  const points = [0, 1].map((c) => ({
    label: `class ${c}`,
    x: train.X.filter((_, i) => train.y[i] === c).map(([a]) => a!),
    y: train.X.filter((_, i) => train.y[i] === c).map(([, b]) => b!),
    shape: c === 0 ? ('circle' as const) : ('triangle' as const),
    color: c === 0 ? '#ffffff' : '#000000',
    radius: 3,
  }));
  const map2d = (title: string, values: Float64Array) =>
    heatmap({
      title,
      xs: grid.xs,
      ys: grid.ys,
      values,
      valueDomain: [0.5, 1],
      valueLabel: 'confidence max p(y | x)',
      points,
      width: 460,
      height: 400,
      xLabel: 'x₁',
      yLabel: 'x₂',
    });

  return {
    title: 'Overconfidence far from the data (two moons)',
    intro: [
      `An MLP 2 → 50 → 2 (tanh) is trained on 300 points of two moons (noise 0.15). The Laplace approximation is the full GGN over all ${la.nParams} weights, its prior precision tuned by the marginal likelihood (δ = ${(la.priorPrecision as number).toPrecision(3)}); predictions use the probit approximation.`,
      'The maps show the confidence max p(y | x) over the plane: the MAP is almost certain everywhere except on the decision boundary; the linearised Laplace predictive, E softmax(f) over the Gaussian logits f ~ N(f(x, θ*), J P⁻¹ Jᵀ), stays confident on the data and grows less certain away from it.',
      `Estimated by sampling the logits (Monte Carlo, 1,000 samples per test point and 4,000 per grid point) the predictive keeps the MAP's test NLL; the probit approximation (laplace-torch's default) is much less confident everywhere (test NLL ${probit['test NLL'].toFixed(3)}): it shrinks each logit by its own variance, which here is dominated by a shift common to both logits that softmax ignores.`,
    ],
    tables: [
      {
        rows,
        caption:
          '1000 test points; confidence max p(y | x) averaged over the grid within 1 of a training point (near) and farther (far)',
        best: { 'test accuracy': 'max', 'test NLL': 'min', ECE: 'min' },
      },
    ],
    figures: [
      [
        { svg: map2d('MAP', mapGrid), caption: 'MAP: softmax of the network', name: 'moons-map' },
        {
          svg: map2d('Laplace glm, Monte Carlo', mcGrid),
          caption: 'Linearised Laplace, E softmax(f) by sampling f',
          name: 'moons-glm-mc',
        },
        {
          svg: map2d('Laplace glm, probit', glmGrid),
          caption: 'Linearised Laplace, probit approximation',
          name: 'moons-glm-probit',
        },
      ],
    ],
    claims: [
      {
        id: 'moons-glm-less-confident-far-away',
        statement: 'far from the data the GLM predictive is less confident than the MAP',
        holds:
          mc['confidence far away'] < map['confidence far away'] - 0.03 &&
          probit['confidence far away'] < mc['confidence far away'],
        evidence: `mean confidence far away: MAP ${map['confidence far away'].toFixed(3)}, glm Monte Carlo ${mc['confidence far away'].toFixed(3)}, glm probit ${probit['confidence far away'].toFixed(3)}`,
      },
      {
        id: 'moons-accuracy-kept',
        statement:
          'on the test data the GLM predictive (Monte Carlo) is as accurate as the MAP, with a test NLL within 0.05',
        holds: mc['test accuracy'] >= map['test accuracy'] - 0.01 && mc['test NLL'] < map['test NLL'] + 0.05,
        evidence: `accuracy ${mc['test accuracy'].toFixed(3)} vs ${map['test accuracy'].toFixed(3)}, NLL ${mc['test NLL'].toFixed(3)} vs ${map['test NLL'].toFixed(3)}`,
      },
    ],
    notes: [],
    seconds: secondsSince(start),
  };
}
