/**
 * Predictives for the image experiment from a multilayer perceptron on the
 * 784 pixels: a stand-in for the convolutional network until there is one,
 * and a baseline beside it after.
 *
 * One hidden layer of 100 ReLU units, trained to the MAP with Adam; then the
 * linearised Laplace predictive (probit approximation) with a
 * Kronecker-factored GGN over all weights and over the last layer only, the
 * prior precision tuned by the marginal likelihood on the training images.
 */
import type { ImageShape } from '../src/data/images.js';
import {
  classificationPredictive,
  fitPosterior,
  mapProbabilities,
  type TrainSettings,
} from '../src/laplace/pipeline.js';
import { type DemoOptions, trainWithProgress } from './common.js';
import type { ImageModels, ImagePredictive, ImagesData } from './images.js';

/** One row of pixels per image: the layout a perceptron takes. */
export function imageRows(images: Float64Array, shape: ImageShape): number[][] {
  const size = shape[1] * shape[2] * shape[3];
  return Array.from({ length: shape[0] }, (_, n) => Array.from(images.subarray(n * size, (n + 1) * size)));
}

export function mlpSettings(quick: boolean): TrainSettings {
  return {
    task: 'classification',
    hidden: [100],
    activation: 'relu',
    epochs: quick ? 5 : 20,
    batchSize: 64,
    learningRate: 1e-3,
    priorPrecision: 1,
    sigmaNoise: 1,
    seed: 0,
  };
}

/** The MAP network, and its Laplace predictives with KFAC over all weights and over the last layer. */
export function mlpModels(data: ImagesData, options: DemoOptions): ImageModels {
  const { train } = data.data;
  const X = imageRows(train.images, train.shape);
  const y = [...train.labels];
  const settings = mlpSettings(options.quick);
  const { model } = trainWithProgress('images: training the MLP', X, y, 10, settings, options);
  const kron = fitPosterior(
    model,
    X,
    y,
    'classification',
    { hessianStructure: 'kron', subsetOfWeights: 'all' },
    settings,
  );
  const lastLayer = fitPosterior(
    model,
    X,
    y,
    'classification',
    { hessianStructure: 'kron', subsetOfWeights: 'lastLayer' },
    settings,
  );
  const predictives: ImagePredictive[] = [
    { name: 'MAP', probabilities: (images, shape) => mapProbabilities(model, imageRows(images, shape)) },
    {
      name: 'Laplace glm kron',
      probabilities: (images, shape) => classificationPredictive(kron, imageRows(images, shape)),
    },
    {
      name: 'Laplace glm last layer (kron)',
      probabilities: (images, shape) => classificationPredictive(lastLayer, imageRows(images, shape)),
    },
  ];
  return {
    network: `An MLP on the ${X[0]!.length} pixels (${settings.hidden.join('→')} ${settings.activation} units, ${model.nParams.toLocaleString('en')} weights), trained ${settings.epochs} epochs with Adam; its Laplace predictives use the probit approximation with the prior precision tuned by the evidence.`,
    predictives,
  };
}
