/**
 * Networks from architecture strings.
 *
 * Each resolved layer spec (src/data/arch.ts) becomes the src/nn layer of its
 * JSON type with the same options, initialised as PyTorch initialises it
 * (the layers' own constructors), and the layers a Sequential over the
 * architecture's input shape. The parametric layers draw, in order, from
 * independent streams split off one seeded generator, so a seed fixes the
 * whole network.
 */
import {
  AvgPool2d,
  activation,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  type Layer,
  Linear,
  MaxPool2d,
  Sequential,
} from '../nn/index.js';
import { type RngLike, toRng } from '../random.js';
import type { ResolvedArchitecture, ResolvedLayerSpec } from './arch.js';

/** The layer a resolved spec describes; `seed` initialises its weights. */
function layerFromSpec(spec: ResolvedLayerSpec, seed: RngLike): Layer {
  switch (spec.type) {
    case 'conv2d':
      return new Conv2d(spec.inChannels, spec.outChannels, spec.kernelSize, {
        stride: spec.stride,
        padding: spec.padding,
        dilation: spec.dilation,
        groups: spec.groups,
        bias: spec.bias,
        seed,
      });
    case 'maxpool2d':
      return new MaxPool2d(spec.kernelSize, { stride: spec.stride, padding: spec.padding });
    case 'avgpool2d':
      return new AvgPool2d(spec.kernelSize, { stride: spec.stride, padding: spec.padding });
    case 'flatten':
      return new Flatten();
    case 'linear':
      return new Linear(spec.inFeatures, spec.outFeatures, { bias: spec.bias, seed });
    case 'batchnorm2d':
      return new BatchNorm2d(spec.numFeatures);
    case 'batchnorm1d':
      return new BatchNorm1d(spec.numFeatures);
    case 'dropout':
      return new Dropout(spec.p);
    case 'leakyrelu':
      return activation('leakyrelu', { negativeSlope: spec.negativeSlope });
    case 'elu':
      return activation('elu', { alpha: spec.alpha });
    default:
      return activation(spec.type);
  }
}

/** The Sequential network of a resolved architecture, its weights initialised from `seed`. */
export function networkFromArchitecture(
  architecture: ResolvedArchitecture,
  { seed }: { seed: RngLike },
): Sequential {
  const rng = toRng(seed);
  const layers = architecture.layers.map((spec) => layerFromSpec(spec, rng.split()));
  return new Sequential(layers, { inputShape: architecture.inputShape });
}
