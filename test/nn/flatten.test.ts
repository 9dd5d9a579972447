/** Flatten: definition, gradients, JSON, errors. */
import { describe, expect, test } from 'vitest';
import { mul } from '../../src/autodiff/ops.js';
import { ShapeError } from '../../src/errors.js';
import { Flatten } from '../../src/nn/flatten.js';
import { randn } from '../../src/tensor.js';
import { expectGradientsMatchDifferences, expectJsonRoundTrip } from './layer-checks.js';

describe('Flatten', () => {
  test('[n, C, H, W] → [n, C·H·W] in row-major (PyTorch) order; gradients', () => {
    const layer = new Flatten();
    const x = randn([2, 3, 2, 4], 1);
    const y = layer.apply([], x);
    expect([...y.shape]).toEqual([2, 24]);
    expect([...y.data]).toEqual([...x.data]);
    expect([...layer.outputShape([3, 2, 4])]).toEqual([24]);
    expectGradientsMatchDifferences(layer, mul(x, 1), 2);
  });

  test('JSON round trip and errors', () => {
    expect(new Flatten().toJSON()).toEqual({ type: 'flatten' });
    expectJsonRoundTrip(new Flatten(), Flatten.fromJSON, randn([2, 3, 2], 1));
    expect(() => new Flatten().apply([], randn([], 1))).toThrow(ShapeError);
    expect(() => Flatten.fromJSON(5 as never, 'L')).toThrow(/L must be an object/);
  });
});
