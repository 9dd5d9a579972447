/** Networks: layers, Sequential, losses, optimisers and the training loop. */
export {
  ACTIVATION_NAMES,
  Activation,
  type ActivationName,
  activation,
  ELU,
  GELU,
  Identity,
  type Layer,
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
export { type AdamOptions, adam, type Optimizer, type SgdOptions, sgd } from './optim.js';
export {
  type LayerJSON,
  type LinearParams,
  type Params,
  ravel,
  Sequential,
  type SequentialJSON,
  unravel,
} from './sequential.js';
export { type LossFunction, type TrainOptions, train } from './train.js';
