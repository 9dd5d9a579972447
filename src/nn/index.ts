/** Networks: layers, Sequential, losses, optimisers and the training loop. */

export { AdaptiveAvgPool2d } from './adaptive-avgpool2d.js';
export { AvgPool2d, type AvgPool2dLayerOptions } from './avgpool2d.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batchnorm.js';
export { Conv2d, type Conv2dLayerOptions } from './conv2d.js';
export { Dropout } from './dropout.js';
export { Flatten } from './flatten.js';
export { LAYER_READERS, type LayerReader, layerFromJSON } from './json.js';
export { LayerNorm, type LayerNormOptions } from './layernorm.js';
export {
  ACTIVATION_NAMES,
  Activation,
  type ActivationName,
  activation,
  ELU,
  GELU,
  Identity,
  LeakyReLU,
  Linear,
  ReLU,
  Sigmoid,
  Softplus,
  Tanh,
} from './layers.js';
export {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  type Labels,
  mseLoss,
  type Reduction,
} from './losses.js';
export { MaxPool2d, type MaxPool2dLayerOptions } from './maxpool2d.js';
export type { ApplyContext, Layer, LayerJSON } from './module.js';
export { type AdamOptions, adam, type Optimizer, type SgdOptions, sgd } from './optim.js';
export { type LayerParser, Residual } from './residual.js';
export {
  type Params,
  ravel,
  Sequential,
  type SequentialJSON,
  unravel,
} from './sequential.js';
export { type LossFunction, type TrainOptions, train } from './train.js';
