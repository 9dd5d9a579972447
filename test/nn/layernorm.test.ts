/**
 * LayerNorm: forward against direct loops of PyTorch's formula, gradients
 * w.r.t. γ, β and the input against central differences, JSON round trips,
 * errors naming the layer.
 */
import { describe, expect, test } from 'vitest';
import { ValueError } from '../../src/errors.js';
import { LayerNorm } from '../../src/nn/layernorm.js';
import { randn, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { expectGradientsMatchDifferences, expectJsonRoundTrip } from './layer-checks.js';

/** y = (x − μ)/√(σ² + ε)·γ + β over each example's trailing `dims` axes, σ² biased. */
function layerNormLoop(x: Tensor, d: number, gamma: Tensor | null, beta: Tensor | null, eps: number): Tensor {
  const out = new Float64Array(x.size);
  for (let start = 0; start < x.size; start += d) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x.data[start + i]!;
    mean /= d;
    let variance = 0;
    for (let i = 0; i < d; i++) variance += (x.data[start + i]! - mean) ** 2;
    variance /= d;
    for (let i = 0; i < d; i++) {
      const z = (x.data[start + i]! - mean) / Math.sqrt(variance + eps);
      out[start + i] = gamma && beta ? z * gamma.data[i]! + beta.data[i]! : z;
    }
  }
  return new Tensor(out, x.shape);
}

describe('LayerNorm', () => {
  test('forward matches the formula over one or two trailing axes; gradients match central differences', () => {
    const one = new LayerNorm(5);
    one.setParameters([randn([5], 1), randn([5], 2)]);
    const x1 = randn([3, 5], 3);
    const [g1, b1] = one.parameters() as [Tensor, Tensor];
    expectClose(one.apply(one.parameters(), x1), layerNormLoop(x1, 5, g1, b1, 1e-5), {
      rtol: 1e-12,
      atol: 1e-13,
    });
    expectGradientsMatchDifferences(one, x1, 4);

    const two = new LayerNorm([2, 3], { eps: 1e-3 });
    two.setParameters([randn([2, 3], 5), randn([2, 3], 6)]);
    const x2 = randn([2, 4, 2, 3], 7);
    const [g2, b2] = two.parameters() as [Tensor, Tensor];
    expectClose(two.apply(two.parameters(), x2), layerNormLoop(x2, 6, g2, b2, 1e-3), {
      rtol: 1e-12,
      atol: 1e-13,
    });
    expect([...two.outputShape([4, 2, 3])]).toEqual([4, 2, 3]);
    expectGradientsMatchDifferences(two, x2, 8);

    const plain = new LayerNorm(4, { elementwiseAffine: false });
    expect(plain.parameters()).toEqual([]);
    const x3 = randn([2, 4], 9);
    expectClose(plain.apply([], x3), layerNormLoop(x3, 4, null, null, 1e-5), { rtol: 1e-12, atol: 1e-13 });
  });

  test('JSON round trip and errors', () => {
    const layer = new LayerNorm([2, 3]);
    layer.setParameters([randn([2, 3], 1), randn([2, 3], 2)]);
    expect(layer.toJSON()['normalizedShape']).toEqual([2, 3]);
    expectJsonRoundTrip(layer, LayerNorm.fromJSON, randn([2, 2, 3], 3));
    expectJsonRoundTrip(new LayerNorm(3, { elementwiseAffine: false }), LayerNorm.fromJSON, randn([2, 3], 3));
    expect(() => layer.apply(layer.parameters(), randn([2, 3, 2], 1))).toThrow(
      /LayerNorm\(\[2, 3\]\): each example must end in \[2, 3\], got \[3, 2\]/,
    );
    expect(() => new LayerNorm([])).toThrow(ValueError);
    expect(() => LayerNorm.fromJSON({ ...layer.toJSON(), weight: [[1, 2, 3]] }, 'L')).toThrow(
      /L\.weight must be an array of length 2/,
    );
    expect(() => LayerNorm.fromJSON({ ...layer.toJSON(), normalizedShape: [0] }, 'L')).toThrow(
      /L\.normalizedShape/,
    );
  });
});
