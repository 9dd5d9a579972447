/**
 * Linear layers, z = a Wᵀ + b.
 *
 * The Jacobian of z[i] with respect to W[i, j] is a[j], so the row of the
 * parameters' Jacobian for cotangent g is g ⊗ a for the weight and g for the
 * bias: one outer slot (a, g) serves both, and no row is ever formed. Pulling
 * g back to the input is g·W. KFLR's factors are B = Σ g gᵀ and A = Σ a aᵀ.
 */
import { gemmKernel } from '../../kernels/gemm.js';
import type { Linear } from '../../nn/layers.js';
import { Tensor } from '../../tensor.js';
import type { LayerRule } from './rule.js';

export const linearRule: LayerRule<Linear> = {
  name: 'linear',
  blocks(layer) {
    const weight = {
      slot: 0,
      structure: 'outer',
      part: 'weight',
      rows: layer.outFeatures,
      cols: layer.inFeatures,
    } as const;
    if (layer.bias === null) return [weight];
    return [weight, { slot: 0, structure: 'direct', part: 'bias', rows: layer.outFeatures, cols: 1 }];
  },
  forward(layer, [weight, bias], x) {
    const n = x.shape[0]!;
    const { inFeatures, outFeatures } = layer;
    const out = new Float64Array(n * outFeatures);
    if (bias) for (let r = 0; r < n; r++) out.set(bias.data, r * outFeatures);
    // z = a Wᵀ + b for all rows at once: [n × in]·[in × out].
    // biome-ignore format: BLAS argument groups
    gemmKernel(
      n, outFeatures, inFeatures, 1,
      x.data, 0, inFeatures, false,
      weight!.data, 0, inFeatures, true,
      bias ? 1 : 0, out, 0, outFeatures,
    );
    return new Tensor(out, [n, outFeatures]);
  },
  pullback(layer, [weight], _x, cotangent) {
    const rows = cotangent.shape[0]!;
    const { inFeatures, outFeatures } = layer;
    const out = new Float64Array(rows * inFeatures);
    // Cotangent of the input: g · W, [rows × out]·[out × in].
    // biome-ignore format: BLAS argument groups
    gemmKernel(
      rows, inFeatures, outFeatures, 1,
      cotangent.data, 0, outFeatures, false,
      weight!.data, 0, inFeatures, false,
      0, out, 0, inFeatures,
    );
    return new Tensor(out, [rows, inFeatures]);
  },
  slots(layer, _params, x, cotangent) {
    return [{ a: x.data, g: cotangent.data, width: layer.outFeatures }];
  },
  kronecker(layer, x, cotangent) {
    const out = layer.outFeatures;
    const inn = layer.inFeatures;
    const rows = cotangent.shape[0]!;
    const b = new Float64Array(out * out);
    gemmKernel(out, out, rows, 1, cotangent.data, 0, out, true, cotangent.data, 0, out, false, 0, b, 0, out);
    const a = new Float64Array(inn * inn);
    gemmKernel(inn, inn, x.shape[0]!, 1, x.data, 0, inn, true, x.data, 0, inn, false, 0, a, 0, inn);
    return { b, a, outFeatures: out, inFeatures: inn };
  },
};
