import { describe, expect, test } from 'vitest';
import {
  arange,
  eye,
  linspace,
  randn,
  ShapeError,
  Tensor,
  TracerError,
  tensor,
  zeros,
} from '../src/index.js';
import { seededRng } from '../src/random.js';

describe('Tensor', () => {
  test('nested arrays round-trip through toArray', () => {
    const value = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const t = tensor(value);
    expect(t.shape).toEqual([2, 3]);
    expect(t.toArray()).toEqual(value);
    expect(tensor(7).item()).toBe(7);
  });

  test('ragged arrays and bad shapes are ShapeErrors', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => tensor(new Float64Array(5), [2, 3])).toThrow(/5 values do not fill shape \[2, 3\]/);
    expect(() => zeros([2, -1])).toThrow(ShapeError);
  });

  test('constructors', () => {
    expect(eye(2, 3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(arange(3).toArray()).toEqual([0, 1, 2]);
    expect(arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  test('a tensor without storage is a tracer and refuses to give data', () => {
    const t = new Tensor(undefined, [2]);
    expect(() => t.data).toThrow(TracerError);
  });
});

describe('seeded random numbers', () => {
  test('the same seed gives the same stream; different seeds differ', () => {
    expect(randn([5], 3).data).toEqual(randn([5], 3).data);
    expect(randn([5], 3).data).not.toEqual(randn([5], 4).data);
  });

  test('normals have mean 0 and variance 1 within sampling error', () => {
    const n = 100_000;
    const x = randn([n], 11).data;
    let mean = 0;
    for (const v of x) mean += v / n;
    let variance = 0;
    for (const v of x) variance += (v - mean) ** 2 / (n - 1);
    // Standard errors: 1/√n for the mean, √(2/n) for the variance; allow 5 of them.
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  test('uniforms lie in [0, 1) and integers in range', () => {
    const rng = seededRng(5);
    for (let i = 0; i < 10_000; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      const k = rng.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
    }
  });
});
