/**
 * Predictives for the image experiment from a convolutional network given as
 * an architecture string (src/data/arch.ts), e.g. the default
 *
 *   conv(8,5,stride=2),relu,maxpool(2),flatten,linear(10)      (3,098 weights)
 *
 * trained to the MAP with Adam (weight decay δ/N for a prior precision δ),
 * then the linearised Laplace predictive (probit approximation) with a
 * Kronecker-factored GGN over all weights and over the last layer only, the
 * prior precision tuned by the marginal likelihood on the training images.
 *
 * Cost on two cores, measured: the default network trains 300 images for two
 * epochs in 0.6 s, its KFAC fit takes 1.1 s per 300 images and its GLM
 * predictive 0.5 s per 100; the two-block network
 * conv(16,3,pad=1),relu,maxpool(2),conv(32,3,pad=1),relu,maxpool(2),flatten,linear(10)
 * (20,490 weights) is about ten times slower throughout.
 */
import { softmax } from '../src/autodiff/ops.js';
import { resolveArchitecture } from '../src/data/arch.js';
import { networkFromArchitecture } from '../src/data/arch-network.js';
import type { ImageShape } from '../src/data/images.js';
import type { BaseLaplace } from '../src/laplace/base.js';
import { laplace } from '../src/laplace/laplace.js';
import { weightDecay } from '../src/laplace/pipeline.js';
import { adam, type Sequential, train } from '../src/nn/index.js';
import { ProgressBar } from '../src/report/progress.js';
import { tensor } from '../src/tensor.js';
import type { DemoOptions } from './common.js';
import type { ImageModels, ImagePredictive, ImagesData } from './images.js';

export const DEFAULT_CNN = 'conv(8,5,stride=2),relu,maxpool(2),flatten,linear(10)';

export interface CnnSettings {
  architecture: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Prior precision δ assumed in training, as weight decay δ/N. */
  priorPrecision: number;
  seed: number;
}

export function cnnSettings(quick: boolean, architecture = DEFAULT_CNN): CnnSettings {
  return {
    architecture,
    epochs: quick ? 5 : 20,
    batchSize: 64,
    learningRate: 3e-3,
    priorPrecision: 1,
    seed: 0,
  };
}

/** Images as the Laplace code takes them: one row of C·H·W numbers per image (the same memory). */
function rows(images: Float64Array, shape: ImageShape) {
  return tensor(images, [shape[0], shape[1] * shape[2] * shape[3]]);
}

function glmProbabilities(la: BaseLaplace, images: Float64Array, shape: ImageShape): Float64Array {
  const prediction = la.predict(rows(images, shape), { predType: 'glm', linkApprox: 'probit' });
  return (prediction as { probs: { data: Float64Array } }).probs.data;
}

/** The MAP CNN, and its Laplace predictives with KFAC over all weights and over the last layer. */
export function cnnModels(
  data: ImagesData,
  options: DemoOptions,
  settings = cnnSettings(options.quick),
): ImageModels {
  const { train: trainSet } = data.data;
  const n = trainSet.shape[0];
  const architecture = resolveArchitecture(settings.architecture, trainSet.shape.slice(1));
  const model: Sequential = networkFromArchitecture(architecture, { seed: settings.seed });
  const X = rows(trainSet.images, trainSet.shape);
  const y = [...trainSet.labels];
  const bar = new ProgressBar('images: training the CNN', settings.epochs, { stream: options.progress });
  const { losses } = train(model, X, trainSet.labels, {
    loss: 'crossEntropy',
    epochs: settings.epochs,
    batchSize: Math.min(settings.batchSize, n),
    optimizer: adam({ lr: settings.learningRate }),
    weightDecay: weightDecay('classification', settings.priorPrecision, n),
    seed: settings.seed,
    onProgress: ({ loss }) => bar.tick(1, `loss ${loss.toPrecision(3)}`),
  });
  bar.finish(`loss ${losses.at(-1)!.toPrecision(3)}`);
  const fitKron = (subsetOfWeights: 'all' | 'lastLayer') => {
    const la = laplace(model, {
      likelihood: 'classification',
      hessianStructure: 'kron',
      subsetOfWeights,
      priorPrecision: settings.priorPrecision,
    });
    la.fit(X, y);
    la.optimizeHyperparameters();
    return la;
  };
  const kron = fitKron('all');
  const lastLayer = fitKron('lastLayer');
  const predictives: ImagePredictive[] = [
    { name: 'MAP', probabilities: (images, shape) => softmax(model.forward(rows(images, shape))).data },
    { name: 'Laplace glm kron', probabilities: (images, shape) => glmProbabilities(kron, images, shape) },
    {
      name: 'Laplace glm last layer (kron)',
      probabilities: (images, shape) => glmProbabilities(lastLayer, images, shape),
    },
  ];
  return {
    network: `A CNN ${settings.architecture} (${model.nParams.toLocaleString('en')} weights), trained ${settings.epochs} epochs with Adam; its Laplace predictives use the probit approximation with the prior precision tuned by the evidence.`,
    predictives,
  };
}
