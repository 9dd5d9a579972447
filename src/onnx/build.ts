/**
 * Layer specs to layers.
 *
 * The one place where the importer meets src/nn: each `LayerSpec` the graph
 * walk produced becomes the layer of the same meaning, holding the spec's
 * float64 weights as they are (no copy, no rounding), so a network written by
 * `exportOnnx` in float64 comes back bit for bit.
 */
import { activation, Linear } from '../nn/layers.js';
import type { Layer } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { Tensor } from '../tensor.js';
import { OnnxError } from './errors.js';
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
    default:
      throw new OnnxError(`importOnnx: a ${spec.kind} layer is not available in this build`);
  }
}
