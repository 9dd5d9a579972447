/**
 * BatchNorm1d and BatchNorm2d (eval mode): forward against direct
 * loops of PyTorch's formulas, gradients w.r.t. γ, β and the input against
 * central differences, JSON round trips, errors naming the layer.
 */
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/nn/batchnorm.js';
import { rand, randn, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { expectGradientsMatchDifferences, expectJsonRoundTrip } from './layer-checks.js';

/** y = (x − μ_c)/√(σ²_c + ε)·γ_c + β_c, channel c = axis 1, one value at a time. */
function batchNormLoop(
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  gamma: Tensor,
  beta: Tensor,
  eps: number,
): Tensor {
  const c = x.shape[1]!;
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const ch = Math.floor(i / inner) % c;
    out[i] =
      ((x.data[i]! - mean.data[ch]!) / Math.sqrt(variance.data[ch]! + eps)) * gamma.data[ch]! +
      beta.data[ch]!;
  }
  return new Tensor(out, x.shape);
}

/** A layer with non-trivial statistics and affine parameters. */
function withStats<T extends BatchNorm1d | BatchNorm2d>(layer: T, seed: number): T {
  const c = layer.numFeatures;
  layer.setRunningStats(randn([c], seed), rand([c], seed + 1, 0.2, 2));
  layer.setParameters([randn([c], seed + 2), randn([c], seed + 3)]);
  return layer;
}

describe('BatchNorm1d and BatchNorm2d (eval mode)', () => {
  test('forward matches the formula for [n, C], [n, C, L] and [n, C, H, W]; gradients match central differences', () => {
    const cases = [
      [withStats(new BatchNorm1d(4), 1), randn([3, 4], 10)],
      [withStats(new BatchNorm1d(3, { eps: 1e-3 }), 2), randn([2, 3, 5], 11)],
      [withStats(new BatchNorm2d(2), 3), randn([2, 2, 3, 4], 12)],
    ] as const;
    for (const [layer, x] of cases) {
      const [gamma, beta] = layer.parameters() as [Tensor, Tensor];
      const y = layer.apply(layer.parameters(), x);
      expectClose(y, batchNormLoop(x, layer.runningMean, layer.runningVar, gamma, beta, layer.eps), {
        rtol: 1e-12,
        atol: 1e-13,
      });
      expect([...layer.outputShape(x.shape.slice(1))]).toEqual(x.shape.slice(1));
      expectGradientsMatchDifferences(layer, x, 20);
    }
  });

  test('defaults are PyTorch’s: eps 1e-5, running mean 0 and variance 1, γ = 1, β = 0; affine = false has no parameters', () => {
    const layer = new BatchNorm2d(3);
    expect(layer.eps).toBe(1e-5);
    expect([...layer.runningMean.data]).toEqual([0, 0, 0]);
    expect([...layer.runningVar.data]).toEqual([1, 1, 1]);
    expect(layer.parameters().map((t) => [...t.data])).toEqual([
      [1, 1, 1],
      [0, 0, 0],
    ]);
    const plain = new BatchNorm1d(2, { affine: false });
    plain.setRunningStats(new Tensor(Float64Array.of(1, -1), [2]), new Tensor(Float64Array.of(4, 0.25), [2]));
    expect(plain.parameters()).toEqual([]);
    const y = plain.apply([], new Tensor(Float64Array.of(3, 0), [1, 2]));
    expectClose(y, [2 / Math.sqrt(4 + 1e-5), 1 / Math.sqrt(0.25 + 1e-5)], { rtol: 1e-14 });
  });

  test('JSON round trip in the documented form', () => {
    const layer = withStats(new BatchNorm2d(3), 5);
    const json = layer.toJSON();
    expect(Object.keys(json).sort()).toEqual([
      'bias',
      'eps',
      'numFeatures',
      'runningMean',
      'runningVar',
      'type',
      'weight',
    ]);
    expect(json['type']).toBe('batchnorm2d');
    expectJsonRoundTrip(layer, BatchNorm2d.fromJSON, randn([2, 3, 2, 2], 1));
    expectJsonRoundTrip(withStats(new BatchNorm1d(2), 6), BatchNorm1d.fromJSON, randn([4, 2], 2));
    expectJsonRoundTrip(new BatchNorm1d(2, { affine: false }), BatchNorm1d.fromJSON, randn([4, 2], 2));
  });

  test('errors name the layer or the JSON field', () => {
    const layer = new BatchNorm2d(3);
    expect(() => layer.apply(layer.parameters(), randn([2, 4, 2, 2], 1))).toThrow(ShapeError);
    expect(() => layer.apply(layer.parameters(), randn([2, 4, 2, 2], 1))).toThrow(
      /BatchNorm2d\(3\): each example must be \[3, H, W\], got \[4, 2, 2\]/,
    );
    expect(() => new BatchNorm1d(3).outputShape([3, 2, 2])).toThrow(/BatchNorm1d\(3\)/);
    expect(() => new BatchNorm1d(0)).toThrow(/BatchNorm1d: numFeatures must be a positive integer/);
    expect(() => new BatchNorm1d(2, { eps: -1 })).toThrow(ValueError);
    const json = layer.toJSON();
    expect(() => BatchNorm2d.fromJSON({ ...json, runningVar: [1, -1, 1] }, 'L')).toThrow(
      /L\.runningVar\[1\] must be ≥ 0/,
    );
    expect(() => BatchNorm2d.fromJSON({ ...json, runningMean: [1, 2] }, 'L')).toThrow(
      /L\.runningMean must be an array of length 3/,
    );
    expect(() => BatchNorm2d.fromJSON({ ...json, weight: null }, 'L')).toThrow(
      /L: weight and bias must both be present/,
    );
    expect(() => BatchNorm2d.fromJSON({ ...json, numFeatures: 1.5 }, 'L')).toThrow(
      /L\.numFeatures must be an integer ≥ 1/,
    );
    expect(() => layer.setRunningStats(randn([2], 1), randn([3], 1))).toThrow(ShapeError);
  });
});
