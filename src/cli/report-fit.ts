/**
 * The HTML report of `laplace-ts fit --report`: the settings and the evidence,
 * the training loss, and how the MAP and the Laplace (GLM) predictive fare on
 * the held-out rows. For a regression on one feature the predictive is drawn
 * along the feature as a mean with its 95% band; otherwise the held-out
 * predictions against the actual targets.
 * For classification, a reliability diagram of both predictives.
 */

import { unstandardize } from '../data/dataset.js';
import { type GaussianPrediction, Z95 } from '../laplace/pipeline.js';
import { reliabilityDiagram } from '../metrics.js';
import { type Block, type Cell, renderReport, type Section } from '../report/report.js';
import { linePlot, reliabilityPlot } from '../report/svg.js';
import { tensor } from '../tensor.js';
import type { ModelFile } from './model-file.js';

export interface FitReportInput {
  file: ModelFile;
  losses: readonly number[];
  scoreRows: Record<string, Cell>[] | null;
  /** Held-out predictions of the MAP and the GLM, with the (standardised) inputs and the targets. */
  heldOut: {
    map: GaussianPrediction | Float64Array;
    glm: GaussianPrediction | Float64Array;
    X: number[][];
    y: number[];
  } | null;
  /** One-feature regression: the GLM predictive along the feature, and the training rows, in the user's units. */
  curve: { x: number[]; prediction: GaussianPrediction; trainX: number[]; trainY: number[] } | null;
}

export function fitReport({ file, losses, scoreRows, heldOut, curve }: FitReportInput): string {
  const { architecture, training } = file;
  const summary: Block = {
    table: {
      rows: [
        { setting: 'task', value: file.task },
        { setting: 'target', value: file.target },
        { setting: 'features', value: file.columns.length },
        { setting: 'hidden layers', value: architecture.hidden.join(', ') || 'none' },
        { setting: 'activation', value: architecture.activation },
        { setting: 'Hessian structure', value: architecture.hessianStructure },
        { setting: 'weights', value: architecture.subsetOfWeights },
        { setting: 'training rows', value: Number(training['rows']) },
        { setting: 'epochs', value: Number(training['epochs']) },
        { setting: 'log marginal likelihood', value: file.logMarginalLikelihood },
        { setting: 'prior precision (tuned)', value: JSON.stringify(file.posterior.priorPrecision) },
        ...(file.task === 'regression'
          ? [
              {
                setting: 'noise σ (tuned, target units)',
                value: file.posterior.sigmaNoise * file.targetScale!.std,
              },
            ]
          : []),
      ],
      digits: 4,
    },
  };
  const sections: Section[] = [
    { title: 'Model', blocks: [summary] },
    {
      title: 'Training',
      blocks: [
        {
          figure: {
            svg: linePlot({
              title: 'Training loss per epoch',
              xLabel: 'epoch',
              yLabel: file.task === 'regression' ? 'mean squared error (standardised)' : 'cross-entropy',
              lines: [{ label: 'training loss', x: losses.map((_, i) => i + 1), y: losses }],
            }),
          },
        },
      ],
    },
  ];
  if (curve) {
    const { x, prediction, trainX, trainY } = curve;
    const interval = (sign: number) =>
      Array.from(prediction.mean, (m, i) => m + sign * Z95 * Math.sqrt(prediction.variance[i]!));
    const points = [{ label: 'training rows', x: trainX, y: trainY, color: '#999999', radius: 2.5 }];
    if (heldOut) {
      const heldOutX = unstandardize(heldOut.X, file.inputScale).map(([v]) => v!);
      points.push({ label: 'held-out rows', x: heldOutX, y: heldOut.y, color: '#000000', radius: 3 });
    }
    sections.push({
      title: 'Predictive',
      blocks: [
        {
          figure: {
            svg: linePlot({
              title: 'Laplace GLM predictive: mean and 95% interval',
              xLabel: file.columns[0],
              yLabel: file.target,
              lines: [{ label: 'mean', x, y: prediction.mean }],
              bands: [{ label: '95% interval', x, lower: interval(-1), upper: interval(1) }],
              points,
            }),
            caption:
              'The interval includes the noise; it widens where the training rows leave the function unconstrained.',
          },
        },
      ],
    });
  }
  if (scoreRows && heldOut) {
    const blocks: Block[] = [
      {
        table: {
          rows: scoreRows,
          caption: `Held-out rows: ${heldOut.y.length}`,
          digits: 4,
          best: { NLL: 'min', RMSE: 'min', accuracy: 'max', ECE: 'min', Brier: 'min' },
        },
      },
    ];
    if (file.task === 'regression') {
      if (!curve) blocks.push({ figure: { svg: regressionFigure(heldOut, file) } });
    } else {
      const k = file.nClasses!;
      const bins = (probs: Float64Array) =>
        reliabilityDiagram(tensor(probs, [heldOut.y.length, k]), heldOut.y);
      blocks.push({
        figure: {
          svg: reliabilityPlot({
            title: 'Reliability on the held-out rows',
            series: [
              { label: 'MAP', bins: bins(heldOut.map as Float64Array) },
              { label: 'Laplace GLM (probit)', bins: bins(heldOut.glm as Float64Array) },
            ],
          }),
          caption: 'Bars below the diagonal are overconfident, above it underconfident.',
        },
      });
    }
    sections.push({ title: 'Held-out predictions', blocks });
  }
  return renderReport({
    title: `laplace-ts fit: ${file.target} (${file.task})`,
    summary: `Data ${training['data']}; ${architecture.hidden.length === 0 ? 'a linear model (no hidden layer)' : `MLP with hidden layers [${architecture.hidden.join(', ')}]`}, Laplace ${architecture.hessianStructure} over ${architecture.subsetOfWeights} weights.`,
    sections,
    footer: `laplace-ts fit, seed ${training['seed']}`,
  });
}

function regressionFigure(heldOut: NonNullable<FitReportInput['heldOut']>, file: ModelFile): string {
  const glm = heldOut.glm as GaussianPrediction;
  const low = heldOut.y.reduce((a, b) => Math.min(a, b));
  const high = heldOut.y.reduce((a, b) => Math.max(a, b));
  return linePlot({
    title: 'Held-out rows: Laplace GLM mean against the actual target',
    xLabel: `actual ${file.target}`,
    yLabel: 'predicted mean',
    lines: [{ label: 'predicted = actual', x: [low, high], y: [low, high], dashed: true, color: '#666666' }],
    points: [{ label: 'held-out rows', x: heldOut.y, y: glm.mean }],
  });
}
