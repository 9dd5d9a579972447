/** Dropout: definition, gradients, JSON, errors. */
import { describe, expect, test } from 'vitest';
import { sum } from '../../src/autodiff/ops.js';
import { grad } from '../../src/autodiff/transforms.js';
import { ValueError } from '../../src/errors.js';
import { Dropout } from '../../src/nn/dropout.js';
import { seededRng } from '../../src/random.js';
import { ones, randn, type Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { expectJsonRoundTrip } from './layer-checks.js';

describe('Dropout', () => {
  test('is the identity at prediction time and when not training', () => {
    const layer = new Dropout(0.3);
    const x = randn([4, 5], 1);
    expect(layer.apply([], x)).toBe(x);
    expect(layer.apply([], x, { training: false, rng: seededRng(1) })).toBe(x);
  });

  test('in training, zeroes a fraction ≈ p and scales the rest by 1/(1 − p); the gradient is the mask', () => {
    const p = 0.3;
    const layer = new Dropout(p);
    const x = randn([200, 50], 2);
    const y = layer.apply([], x, { training: true, rng: seededRng(3) });
    let dropped = 0;
    for (let i = 0; i < x.size; i++) {
      if (y.data[i] === 0) dropped++;
      else expect(y.data[i]).toBeCloseTo(x.data[i]! / (1 - p), 14);
    }
    // 10,000 Bernoulli(0.3) draws: the count is within 5 standard deviations (√(n p (1 − p)) ≈ 46) of 3,000.
    expect(Math.abs(dropped - 3000)).toBeLessThan(5 * 46);
    // Same generator state, same mask: the gradient of Σ y is the mask itself.
    const g = grad((v: Tensor) => sum(layer.apply([], v, { training: true, rng: seededRng(3) })))(x);
    const mask = layer.apply([], ones(x.shape), { training: true, rng: seededRng(3) });
    expectClose(g, mask, { rtol: 0, atol: 0 });
    expect(
      new Dropout(1).apply([], x, { training: true, rng: seededRng(4) }).data.every((v) => v === 0),
    ).toBe(true);
  });

  test('JSON round trip and errors', () => {
    const layer = new Dropout(0.25);
    expect(layer.toJSON()).toEqual({ type: 'dropout', p: 0.25 });
    expectJsonRoundTrip(layer, Dropout.fromJSON, randn([2, 3], 1));
    expect(Dropout.fromJSON({ type: 'dropout' }, 'L').p).toBe(0.5);
    expect(() => new Dropout(1.5)).toThrow(/Dropout: p must be a probability in \[0, 1\], got 1.5/);
    expect(() => Dropout.fromJSON({ type: 'dropout', p: 'half' }, 'L')).toThrow(ValueError);
  });
});
