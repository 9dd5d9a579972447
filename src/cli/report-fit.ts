/**
 * The HTML report of `laplace-ts fit --report`: the settings and the evidence,
 * the training loss, and how the MAP and the Laplace (GLM) predictive fare on
 * the held-out rows. For a regression on one feature the held-out predictive
 * is drawn as a mean with its 95% band; otherwise predicted against actual.
 * For classification, a reliability diagram of both predictives.
 */

import { tensor } from '../autodiff/tensor.js';
import { reliabilityDiagram } from '../metrics.js';
import type { Standardizer } from './dataset.js';
import type { ModelFile } from './model-file.js';
import type { GaussianPrediction } from './pipeline.js';
import { type Block, type Cell, renderReport, type Section } from './report.js';
import { linePlot, reliabilityPlot } from './svg.js';

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
  inputScale: Standardizer;
}

const Z95 = 1.959963984540054;

export function fitReport({ file, losses, scoreRows, heldOut, inputScale }: FitReportInput): string {
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
    if (file.task === 'regression')
      blocks.push({ figure: { svg: regressionFigure(heldOut, inputScale, file) } });
    else {
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
    summary: `Data ${training['data']}; MLP with hidden layers [${architecture.hidden.join(', ')}], Laplace ${architecture.hessianStructure} over ${architecture.subsetOfWeights} weights.`,
    sections,
    footer: `laplace-ts fit, seed ${training['seed']}`,
  });
}

function regressionFigure(
  heldOut: NonNullable<FitReportInput['heldOut']>,
  inputScale: Standardizer,
  file: ModelFile,
): string {
  const map = heldOut.map as GaussianPrediction;
  const glm = heldOut.glm as GaussianPrediction;
  if (file.columns.length === 1) {
    const order = heldOut.X.map((_, i) => i).sort((a, b) => heldOut.X[a]![0]! - heldOut.X[b]![0]!);
    const x = order.map((i) => heldOut.X[i]![0]! * inputScale.std[0]! + inputScale.mean[0]!);
    const pick = (p: GaussianPrediction, sign: number) =>
      order.map((i) => p.mean[i]! + sign * Z95 * Math.sqrt(p.variance[i]!));
    return linePlot({
      title: 'Held-out predictive: mean and 95% interval',
      xLabel: file.columns[0],
      yLabel: file.target,
      lines: [
        { label: 'Laplace GLM mean', x, y: order.map((i) => glm.mean[i]!) },
        { label: 'MAP', x, y: order.map((i) => map.mean[i]!), dashed: true },
      ],
      bands: [{ label: 'GLM 95%', x, lower: pick(glm, -1), upper: pick(glm, 1) }],
      points: [{ label: 'held-out data', x, y: order.map((i) => heldOut.y[i]!), color: '#000000' }],
    });
  }
  const low = Math.min(...heldOut.y);
  const high = Math.max(...heldOut.y);
  return linePlot({
    title: 'Held-out rows: Laplace GLM mean against the actual target',
    xLabel: `actual ${file.target}`,
    yLabel: 'predicted mean',
    lines: [{ label: 'predicted = actual', x: [low, high], y: [low, high], dashed: true, color: '#666666' }],
    points: [{ label: 'held-out rows', x: heldOut.y, y: glm.mean }],
  });
}
