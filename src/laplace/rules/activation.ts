/**
 * Elementwise activations, y = σ(z).
 *
 * No parameters; the pullback multiplies each of an example's m cotangents by
 * σ′(z), which is the tangent of σ at z along ones (σ acts elementwise), so
 * the nn module's σ is the only definition. The Jacobian is diagonal, so the
 * pushforward of tangents is the same product.
 */
import { jvp } from '../../autodiff/transforms.js';
import type { Activation } from '../../nn/layers.js';
import { ones, Tensor } from '../../tensor.js';
import type { LayerRule } from './rule.js';

/** σ′(z) elementwise, [n, ...]. */
function slopes(layer: Activation, z: Tensor): Float64Array {
  return jvp((t: Tensor) => layer.forward(t), [z], [ones(z.shape)])[1].data;
}

/**
 * Each of the m vectors per example of z, [n·m, ...], times σ′(z) elementwise;
 * in the cotangent's own buffer when it is `spare` (an [n·m, C, H, W] copy per
 * batch costs more than the products).
 */
function scale(layer: Activation, z: Tensor, cotangent: Tensor, m: number, spare = false): Tensor {
  const slope = slopes(layer, z);
  const n = z.shape[0]!;
  const width = slope.length / n;
  const current = cotangent.data;
  const scaled = spare ? current : new Float64Array(current.length);
  for (let e = 0; e < n; e++) {
    const slopes = e * width;
    for (let r = 0; r < m; r++) {
      const row = (e * m + r) * width;
      for (let j = 0; j < width; j++) scaled[row + j] = current[row + j]! * slope[slopes + j]!;
    }
  }
  return new Tensor(scaled, cotangent.shape);
}

export const activationRule: LayerRule<Activation> = {
  name: 'activation',
  blocks: () => [],
  forward: (layer, _params, x) => layer.forward(x),
  pullback: (layer, _params, z, cotangent, m, spare) => scale(layer, z, cotangent, m, spare),
  pushforward: (layer, _params, z, tangent) => scale(layer, z, tangent, 1),
  slots: () => [],
  gather(layer, z) {
    // Each number reads its own position, weighted by σ′ there.
    const weight = slopes(layer, z);
    const outPlane = z.shape.slice(2).reduce((a, b) => a * b, 1);
    const index = new Float64Array(weight.length);
    for (let i = 0; i < index.length; i += outPlane) for (let q = 0; q < outPlane; q++) index[i + q] = q;
    return { outPlane, index, weight };
  },
};
