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
import { marglikTraining } from '../src/laplace/marglik-training.js';
import { weightDecay } from '../src/laplace/pipeline.js';
import type { PredictOptions } from '../src/laplace/predictive.js';
import { adam, type Sequential, train } from '../src/nn/index.js';
import { ProgressBar } from '../src/report/progress.js';
import { tensor } from '../src/tensor.js';
import type { DemoOptions } from './common.js';
import type { ImageModels, ImagePredictive, ImagesData, StageTime } from './images.js';

export const DEFAULT_CNN = 'conv(8,5,stride=2),relu,maxpool(2),flatten,linear(10)';

export interface CnnSettings {
  architecture: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Prior precision δ assumed in training, as weight decay δ/N. */
  priorPrecision: number;
  seed: number;
  /** Weight samples of the `nn` predictive. */
  nnSamples: number;
  /** Also the last layer with a full posterior covariance. */
  lastLayerFull: boolean;
  /** Also train a second network by online marginal-likelihood training, this many epochs (0: not). */
  marglikEpochs: number;
}

export function cnnSettings(quick: boolean, architecture = DEFAULT_CNN): CnnSettings {
  return {
    architecture,
    epochs: quick ? 5 : 20,
    batchSize: 64,
    learningRate: 3e-3,
    priorPrecision: 1,
    seed: 0,
    nnSamples: quick ? 10 : 20,
    // The full last-layer covariance costs P³ to factor and P²K per image to predict: left out of CI's run.
    lastLayerFull: !quick,
    marglikEpochs: quick ? 5 : 20,
  };
}

/** Images as the Laplace code takes them: one row of C·H·W numbers per image (the same memory). */
function rows(images: Float64Array, shape: ImageShape) {
  return tensor(images, [shape[0], shape[1] * shape[2] * shape[3]]);
}

function laplaceProbabilities(
  la: BaseLaplace,
  images: Float64Array,
  shape: ImageShape,
  options: PredictOptions,
): Float64Array {
  const prediction = la.predict(rows(images, shape), options);
  return (prediction as { probs: { data: Float64Array } }).probs.data;
}

const GLM: PredictOptions = { predType: 'glm', linkApprox: 'probit' };

/** The prior precision as a short phrase: one value, or the range of the per-tensor ones. */
function describePrior(la: BaseLaplace): string {
  const p = la.priorPrecision;
  if (typeof p === 'number') return `δ = ${p.toPrecision(3)}`;
  const values = Array.from(p);
  return `δ from ${Math.min(...values).toPrecision(3)} to ${Math.max(...values).toPrecision(3)} over ${values.length} tensors`;
}

/**
 * The MAP CNN and its Laplace predictives: `nn` (sampled weights) and `glm`
 * with KFAC over all weights, `glm` over the last layer (KFAC and full), the
 * prior tuned by the evidence; and a second network trained by online
 * marginal-likelihood training, whose MAP and `glm` KFAC predictive share one
 * prior.
 */
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
  const stages: StageTime[] = [];
  const timed = <T>(stage: string, f: () => T): T => {
    const start = performance.now();
    const result = f();
    stages.push({ stage, seconds: (performance.now() - start) / 1000 });
    return result;
  };
  const batchSize = Math.min(settings.batchSize, n);
  const { losses } = timed(`train the MAP (${settings.epochs} epochs of Adam)`, () => {
    const bar = new ProgressBar('images: training the CNN', settings.epochs, { stream: options.progress });
    const result = train(model, X, trainSet.labels, {
      loss: 'crossEntropy',
      epochs: settings.epochs,
      batchSize,
      optimizer: adam({ lr: settings.learningRate }),
      weightDecay: weightDecay('classification', settings.priorPrecision, n),
      seed: settings.seed,
      onProgress: ({ loss }) => bar.tick(1, `loss ${loss.toPrecision(3)}`),
    });
    bar.finish(`loss ${result.losses.at(-1)!.toPrecision(3)}`);
    return result;
  });
  const fitLaplace = (subsetOfWeights: 'all' | 'lastLayer', hessianStructure: 'kron' | 'full') =>
    timed(
      `fit Laplace ${subsetOfWeights === 'all' ? 'all weights' : 'last layer'} ${hessianStructure} + tune δ`,
      () => {
        const la = laplace(model, {
          likelihood: 'classification',
          hessianStructure,
          subsetOfWeights,
          priorPrecision: settings.priorPrecision,
        });
        la.fit(X, y);
        la.optimizeHyperparameters();
        return la;
      },
    );
  const kron = fitLaplace('all', 'kron');
  const lastLayer = fitLaplace('lastLayer', 'kron');
  const lastLayerFull = settings.lastLayerFull ? fitLaplace('lastLayer', 'full') : null;
  const mapProbabilities = (net: Sequential) => (images: Float64Array, shape: ImageShape) =>
    softmax(net.forward(rows(images, shape))).data;
  const predictives: ImagePredictive[] = [
    { name: 'MAP', probabilities: mapProbabilities(model) },
    {
      name: 'Laplace nn kron',
      probabilities: (images, shape) =>
        laplaceProbabilities(kron, images, shape, { predType: 'nn', nSamples: settings.nnSamples, seed: 0 }),
    },
    {
      name: 'Laplace glm kron',
      probabilities: (images, shape) => laplaceProbabilities(kron, images, shape, GLM),
    },
    {
      name: 'Laplace glm last layer (kron)',
      probabilities: (images, shape) => laplaceProbabilities(lastLayer, images, shape, GLM),
    },
  ];
  if (lastLayerFull) {
    predictives.push({
      name: 'Laplace glm last layer (full)',
      probabilities: (images, shape) => laplaceProbabilities(lastLayerFull, images, shape, GLM),
    });
  }
  const sentences = [
    `A CNN ${settings.architecture} (${model.nParams.toLocaleString('en')} weights), trained ${settings.epochs} epochs with Adam (prior precision δ = ${settings.priorPrecision} as weight decay); its Laplace predictives use the probit approximation (glm) or ${settings.nnSamples} weight samples (nn), with the prior precision then tuned by the evidence (all weights: ${describePrior(kron)}).`,
  ];
  if (settings.marglikEpochs > 0) {
    const second = networkFromArchitecture(architecture, { seed: settings.seed });
    const result = timed(`marglik training (${settings.marglikEpochs} epochs, kron evidence)`, () => {
      const bar = new ProgressBar('images: marglik training', settings.marglikEpochs, {
        stream: options.progress,
      });
      const out = marglikTraining(second, X, y, {
        likelihood: 'classification',
        hessianStructure: 'kron',
        epochs: settings.marglikEpochs,
        marglikFrequency: Math.max(1, Math.round(settings.marglikEpochs / 5)),
        batchSize,
        optimizer: adam({ lr: settings.learningRate }),
        priorPrecision: settings.priorPrecision,
        seed: settings.seed,
        onProgress: ({ loss, epoch }) => bar.update(epoch, `loss ${loss.toPrecision(3)}`),
      });
      bar.finish(`best epoch ${out.bestEpoch}`);
      return out;
    });
    predictives.push(
      { name: 'MAP (marglik)', probabilities: mapProbabilities(second) },
      {
        name: 'Laplace glm kron (marglik)',
        probabilities: (images, shape) => laplaceProbabilities(result.laplace, images, shape, GLM),
      },
    );
    sentences.push(
      `The (marglik) rows are a second network of the same architecture trained ${settings.marglikEpochs} epochs by online marginal-likelihood training (Immer et al. 2021): every ${Math.max(1, Math.round(settings.marglikEpochs / 5))} epochs a KFAC Laplace's evidence sets the per-tensor prior precisions, which become the weight decay, so the MAP and the prior agree (${describePrior(result.laplace)}; best evidence at epoch ${result.bestEpoch}).`,
    );
  }
  void losses;
  return { network: sentences.join(' '), predictives, stages };
}
