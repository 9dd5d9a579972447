/**
 * Linear layers, z = a Wᵀ + b.
 *
 * The Jacobian of z[i] with respect to W[i, j] is a[j], so the row of the
 * parameters' Jacobian for cotangent g is g ⊗ a for the weight and g for the
 * bias: one outer slot (a, g) serves both, and no row is ever formed. Pulling
 * g back to the input is g·W. KFLR's factors are B = Σ g gᵀ and A = Σ a aᵀ.
 */
import { gemm, mat, tr } from '../../kernels/view.js';
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
    gemm(
      mat(out, n, outFeatures),
      1,
      mat(x.data, n, inFeatures),
      tr(mat(weight!.data, outFeatures, inFeatures)),
      bias ? 1 : 0,
    );
    return new Tensor(out, [n, outFeatures]);
  },
  pullback(layer, [weight], _x, cotangent) {
    const rows = cotangent.shape[0]!;
    const { inFeatures, outFeatures } = layer;
    const out = new Float64Array(rows * inFeatures);
    // Cotangent of the input: g · W, [rows × out]·[out × in].
    gemm(
      mat(out, rows, inFeatures),
      1,
      mat(cotangent.data, rows, outFeatures),
      mat(weight!.data, outFeatures, inFeatures),
    );
    return new Tensor(out, [rows, inFeatures]);
  },
  slots(layer, _params, x, cotangent) {
    return [{ a: x.data, g: cotangent.data, width: layer.outFeatures }];
  },
  kronecker: {
    inputSums(layer, x) {
      const inn = layer.inFeatures;
      const a = new Float64Array(inn * inn);
      const X = mat(x.data, x.shape[0]!, inn);
      gemm(mat(a, inn, inn), 1, tr(X), X);
      return a;
    },
    // The bias's Jacobian rows are the cotangents themselves.
    biasRows: (_layer, cotangent) => cotangent.data,
  },
};
