/**
 * Layer specs to layers.
 *
 * The one place where the importer meets src/nn: each `LayerSpec` the graph
 * walk produced becomes the layer of the same meaning, holding the spec's
 * float64 weights as they are (no copy, no rounding), so a network written by
 * `exportOnnx` in float64 comes back bit for bit.
 */
import { AdaptiveAvgPool2d } from '../nn/adaptive-avgpool2d.js';
import { AvgPool2d } from '../nn/avgpool2d.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/batchnorm.js';
import { Conv2d } from '../nn/conv2d.js';
import { Flatten } from '../nn/flatten.js';
import { activation, Linear } from '../nn/layers.js';
import { MaxPool2d } from '../nn/maxpool2d.js';
import type { Layer } from '../nn/module.js';
import { Residual } from '../nn/residual.js';
import { Sequential } from '../nn/sequential.js';
import { Tensor } from '../tensor.js';
import type { LayerSpec } from './graph.js';

/** The Sequential of `specs` for examples of `inputShape`. */
export function buildSequential(specs: readonly LayerSpec[], inputShape: readonly number[]): Sequential {
  return new Sequential(specs.map(buildLayer), { inputShape });
}

function buildLayer(spec: LayerSpec): Layer {
  switch (spec.kind) {
    case 'linear':
      return Linear.fromParameters(
        new Tensor(spec.weight, [spec.outFeatures, spec.inFeatures]),
        spec.bias === null ? null : new Tensor(spec.bias, [spec.outFeatures]),
      );
    case 'activation':
      return activation(spec.name, {
        ...(spec.negativeSlope !== undefined ? { negativeSlope: spec.negativeSlope } : {}),
        ...(spec.alpha !== undefined ? { alpha: spec.alpha } : {}),
      });
    case 'conv2d': {
      const layer = new Conv2d(spec.inChannels, spec.outChannels, spec.kernelSize, {
        stride: spec.stride,
        padding: spec.padding,
        dilation: spec.dilation,
        groups: spec.groups,
        bias: spec.bias !== null,
        seed: 0,
      });
      const weight = new Tensor(spec.weight, [
        spec.outChannels,
        spec.inChannels / spec.groups,
        ...spec.kernelSize,
      ]);
      layer.setParameters(
        spec.bias === null ? [weight] : [weight, new Tensor(spec.bias, [spec.outChannels])],
      );
      return layer;
    }
    case 'maxpool2d':
      return new MaxPool2d(spec.kernelSize, {
        stride: spec.stride,
        padding: spec.padding,
        dilation: spec.dilation,
      });
    case 'avgpool2d':
      return new AvgPool2d(spec.kernelSize, { stride: spec.stride, padding: spec.padding });
    case 'globalavgpool2d':
      return new AdaptiveAvgPool2d(1);
    case 'flatten':
      return new Flatten();
    case 'batchnorm': {
      const c = spec.numFeatures;
      const layer =
        spec.dims === 1 ? new BatchNorm1d(c, { eps: spec.eps }) : new BatchNorm2d(c, { eps: spec.eps });
      layer.setParameters([new Tensor(spec.weight, [c]), new Tensor(spec.bias, [c])]);
      layer.setRunningStats(new Tensor(spec.runningMean, [c]), new Tensor(spec.runningVar, [c]));
      return layer;
    }
    case 'residual':
      return new Residual(
        spec.inner.map(buildLayer),
        spec.shortcut.length === 0 ? null : spec.shortcut.map(buildLayer),
      );
  }
}
