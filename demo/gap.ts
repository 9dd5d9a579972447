/**
 * Part 1: in-between and far-away uncertainty in 1-D regression.
 *
 * Training inputs lie in two clusters with a gap between them (Foong et al.
 * 2019). An MLP trained to the MAP gives a curve, and with the noise σ alone
 * its error bars are the same everywhere, in the gap and far outside the data
 * as much as on it. The Laplace posterior N(θ*, P⁻¹), with prior precision and
 * σ tuned by the marginal likelihood, gives two predictives:
 *
 *   nn    sample θ ~ N(θ*, P⁻¹) and run the network f(x, θ): the samples leave
 *         the region where the Gaussian is a good description of the
 *         posterior, and the mean drifts away from the data (underfitting);
 *   glm   linearise, f(x, θ) ≈ f(x, θ*) + J(x)(θ − θ*): Gaussian with mean
 *         f(x, θ*) and variance J P⁻¹ Jᵀ + σ², which grows where the data
 *         does not pin the function down (Immer, Korzepa, Bauer 2021).
 *
 * The network is small (1 → 50 → 1, 151 weights), so the posterior is the
 * full GGN over all weights.
 */

import { gapFunction, gapRegression } from '../src/data/toy.js';
import type { RegressionPrediction } from '../src/laplace/base.js';
import { fitPosterior, type TrainSettings, Z95 } from '../src/laplace/pipeline.js';
import { gaussianNll, rmse } from '../src/metrics.js';
import { linePlot } from '../src/report/svg.js';
import { tensor } from '../src/tensor.js';
import { type DemoOptions, meanWhere, type PartResult, secondsSince, trainWithProgress } from './common.js';

export function gapPart(options: DemoOptions): PartResult {
  const start = performance.now();
  const { train, test } = gapRegression({ nTrain: 80, nTest: 200, noise: 0.1, seed: 1 });
  const settings: TrainSettings = {
    task: 'regression',
    hidden: [50],
    activation: 'tanh',
    epochs: options.quick ? 1500 : 3000,
    batchSize: train.X.length,
    learningRate: 1e-2,
    priorPrecision: 1,
    sigmaNoise: 0.1,
    seed: 0,
  };
  const { model } = trainWithProgress('1/4 gap: training', train.X, train.y, 1, settings, options);
  const la = fitPosterior(
    model,
    train.X,
    train.y,
    'regression',
    { hessianStructure: 'full', subsetOfWeights: 'all' },
    settings,
  );

  const x = test.X.map(([v]) => v!);
  const glm = la.predict(test.X, { predType: 'glm' }) as RegressionPrediction;
  const nn = la.predict(test.X, { predType: 'nn', nSamples: 200, seed: 7 }) as RegressionPrediction;
  const mapMean = model.forward(tensor(test.X)).data;
  const noise = la.sigmaNoise ** 2;
  const predictives = [
    { name: 'MAP (σ only)', mean: mapMean, variance: new Float64Array(x.length).fill(noise) },
    { name: 'Laplace nn (sampled weights)', mean: nn.mean.data, variance: nn.predictiveVariance.data },
    { name: 'Laplace glm (linearised)', mean: glm.mean.data, variance: glm.predictiveVariance.data },
  ];
  const inData = (i: number) => Math.abs(x[i]!) >= 0.6 && Math.abs(x[i]!) <= 2;
  const inGap = (i: number) => Math.abs(x[i]!) < 0.6;
  const farOut = (i: number) => Math.abs(x[i]!) > 2;
  const rows = predictives.map((p) => {
    const std = p.variance.map(Math.sqrt);
    return {
      predictive: p.name,
      'test NLL': gaussianNll(p.mean, p.variance, test.y),
      'RMSE on data': rmse(
        p.mean.filter((_, i) => inData(i)),
        test.y.filter((_, i) => inData(i)),
      ),
      'std on data': meanWhere(std, inData),
      'std in gap': meanWhere(std, inGap),
      'std beyond ±2': meanWhere(std, farOut),
    };
  });
  const [map, nnRow, glmRow] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];

  const truth = x.map(gapFunction);
  const figure = (p: (typeof predictives)[0], color: string) =>
    linePlot({
      title: p.name,
      xLabel: 'x',
      yLabel: 'y',
      width: 420,
      height: 340,
      xDomain: [-3, 3],
      yDomain: [-3, 3],
      lines: [
        { label: 'mean', x, y: p.mean, color },
        { label: 'sin 3x', x, y: truth, color: '#666666', dashed: true, strokeWidth: 1.5 },
      ],
      bands: [
        {
          label: '95% interval',
          x,
          lower: Array.from(p.mean, (m, i) => m - Z95 * Math.sqrt(p.variance[i]!)),
          upper: Array.from(p.mean, (m, i) => m + Z95 * Math.sqrt(p.variance[i]!)),
          color,
        },
      ],
      points: [
        { label: 'training data', x: train.X.map(([v]) => v!), y: train.y, color: '#000000', radius: 2.5 },
      ],
    });

  const prior = la.priorPrecision as number;
  return {
    title: 'In-between and far-away uncertainty (1-D regression)',
    intro: [
      `An MLP 1 → 50 → 1 (tanh) is trained to the MAP on 80 noisy samples of sin 3x from two clusters, [−2, −0.6] and [0.6, 2]; the test inputs cover [−3, 3], gap and far field included.`,
      `The Laplace approximation uses the full GGN over all ${la.nParams} weights; the prior precision and the noise are tuned by maximising the log marginal likelihood (δ = ${prior.toPrecision(3)}, σ = ${la.sigmaNoise.toPrecision(3)}, log evidence ${la.logMarginalLikelihood().toFixed(1)}), no validation data.`,
    ],
    tables: [
      {
        rows,
        caption: 'Test NLL over [−3, 3] and the mean predictive standard deviation by region',
        best: { 'test NLL': 'min', 'RMSE on data': 'min' },
      },
    ],
    figures: [
      [
        figure(predictives[0]!, '#0072B2'),
        figure(predictives[1]!, '#D55E00'),
        figure(predictives[2]!, '#009E73'),
      ].map((svg, i) => ({ svg, caption: ['MAP', 'nn', 'glm'][i]!, name: `gap-${['map', 'nn', 'glm'][i]}` })),
    ],
    claims: [
      {
        id: 'gap-glm-beats-nn',
        statement: 'the GLM predictive has a lower test NLL than the NN (sampled-weights) predictive',
        holds: glmRow['test NLL'] < nnRow['test NLL'],
        evidence: `NLL glm ${glmRow['test NLL'].toFixed(3)} vs nn ${nnRow['test NLL'].toFixed(3)} (MAP ${map['test NLL'].toFixed(3)})`,
      },
      {
        id: 'gap-glm-widens',
        statement: 'the GLM bands widen in the gap and beyond the data',
        holds:
          glmRow['std in gap'] > 1.5 * glmRow['std on data'] &&
          glmRow['std beyond ±2'] > 1.5 * glmRow['std on data'],
        evidence: `mean std on data ${glmRow['std on data'].toFixed(3)}, in the gap ${glmRow['std in gap'].toFixed(3)}, beyond ±2 ${glmRow['std beyond ±2'].toFixed(3)}`,
      },
      {
        id: 'gap-nn-underfits',
        statement: 'the NN predictive underfits: its mean leaves the data',
        holds: nnRow['RMSE on data'] > 1.5 * glmRow['RMSE on data'],
        evidence: `RMSE on the data's range: nn ${nnRow['RMSE on data'].toFixed(3)} vs glm ${glmRow['RMSE on data'].toFixed(3)}`,
      },
    ],
    notes: [],
    seconds: secondsSince(start),
  };
}
