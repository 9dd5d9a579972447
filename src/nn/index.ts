/** Networks: layers, Sequential, losses, optimisers and the training loop. */

export { LAYER_READERS, type LayerReader, layerFromJSON } from './json.js';
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
export type { ApplyContext, Layer, LayerJSON } from './module.js';
export { type AdamOptions, adam, type Optimizer, type SgdOptions, sgd } from './optim.js';
export {
  type Params,
  ravel,
  Sequential,
  type SequentialJSON,
  unravel,
} from './sequential.js';
export { type LossFunction, type TrainOptions, train } from './train.js';
