/** Losses against textbook formulas; their gradients against closed forms and central differences. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { grad } from '../../src/autodiff/transforms.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { binaryCrossEntropyWithLogits, crossEntropy, mseLoss } from '../../src/nn/index.js';
import { randn, type Tensor, tensor } from '../../src/tensor.js';
import { finiteDifferenceGradient } from '../finite-differences.js';
import { expectClose } from '../helpers.js';

const matrixShape = fc.record({
  n: fc.integer({ min: 1, max: 6 }),
  k: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 0, max: 10_000 }),
});
const reduction = fc.constantFrom<'mean' | 'sum'>('mean', 'sum');

describe('mseLoss', () => {
  test.prop([matrixShape, reduction])(
    'is Σ(p − t)² (/count) with gradient 2(p − t) (/count)',
    ({ n, k, seed }, r) => {
      const pred = randn([n, k], seed);
      const target = randn([n, k], seed + 1);
      const count = r === 'mean' ? n * k : 1;
      let expected = 0;
      for (let i = 0; i < n * k; i++) expected += (pred.data[i]! - target.data[i]!) ** 2;
      expect(mseLoss(pred, target, r).item()).toBeCloseTo(expected / count, 12);
      const g = grad((p: Tensor) => mseLoss(p, target, r))(pred);
      expectClose(
        g.data,
        pred.data.map((p, i) => (2 * (p - target.data[i]!)) / count),
        { rtol: 1e-12, atol: 1e-15 },
      );
    },
  );

  it('defaults to the mean and refuses to broadcast mismatched shapes', () => {
    expect(mseLoss([1, 2], [0, 0]).item()).toBe(2.5);
    expect(() => mseLoss([[1], [2]], [1, 2])).toThrow(/mseLoss: pred is \[2, 1\] and target is \[2\]/);
    expect(() => mseLoss([1, 2], [1, Number.NaN])).toThrow(ValueError);
    expect(() => mseLoss([1], [1], 'median' as 'mean')).toThrow(/reduction must be 'mean' or 'sum'/);
  });
});

describe('crossEntropy', () => {
  const labelsFor = (n: number, k: number, seed: number) =>
    Array.from({ length: n }, (_, i) => (i * 7 + seed) % k);

  test.prop([matrixShape, reduction])(
    'is −Σ log(e^{z_y} / Σ e^z) with gradient softmax − onehot',
    ({ n, k, seed }, r) => {
      const z = randn([n, k], seed);
      const y = labelsFor(n, k, seed);
      const rows = z.toArray() as number[][];
      const probabilities = rows.map((row) => {
        const e = row.map(Math.exp);
        const total = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / total);
      });
      const count = r === 'mean' ? n : 1;
      const expected = -probabilities.reduce((s, p, i) => s + Math.log(p[y[i]!]!), 0) / count;
      expect(crossEntropy(z, y, r).item()).toBeCloseTo(expected, 12);
      const g = grad((logits: Tensor) => crossEntropy(logits, y, r))(z);
      const closedForm = probabilities.flatMap((p, i) => p.map((v, j) => (v - (j === y[i] ? 1 : 0)) / count));
      expectClose(g.data, closedForm, { rtol: 1e-10, atol: 1e-14 });
    },
  );

  it('accepts labels as an array, an Int32Array or a Tensor', () => {
    const z = randn([3, 4], 1);
    const expected = crossEntropy(z, [0, 3, 2]).item();
    expect(crossEntropy(z, Int32Array.of(0, 3, 2)).item()).toBe(expected);
    expect(crossEntropy(z, tensor([0, 3, 2])).item()).toBe(expected);
  });

  it('stays finite for huge logits (log-softmax, no log of an underflowed probability)', () => {
    // Row 0: the label's logit is 1000 below the other: loss = 1000 + log(1 + e^−1000) = 1000.
    const loss = crossEntropy(
      [
        [1000, 0],
        [-1000, 1000],
      ],
      [1, 1],
      'sum',
    );
    expect(loss.item()).toBe(1000);
    const g = grad((z: Tensor) => crossEntropy(z, [1, 1], 'sum'))(
      tensor([
        [1000, 0],
        [-1000, 1000],
      ]),
    );
    expect([...g.data]).toEqual([1, -1, 0, 0]);
  });

  it('rejects bad labels and logits with typed errors', () => {
    const z = randn([2, 3], 0);
    expect(() => crossEntropy(z, [0, 3])).toThrow(/crossEntropy: label 1 is 3, expected an integer in 0..2/);
    expect(() => crossEntropy(z, [0, 1.5])).toThrow(ValueError);
    expect(() => crossEntropy(z, [-1, 0])).toThrow(ValueError);
    expect(() => crossEntropy(z, [0])).toThrow(/crossEntropy: 1 labels for 2 rows of logits/);
    expect(() => crossEntropy(z, tensor([[0, 1]]))).toThrow(ShapeError);
    expect(() => crossEntropy([1, 2, 3], [0])).toThrow(/logits must be \[n, k\]/);
  });
});

describe('binaryCrossEntropyWithLogits', () => {
  test.prop([matrixShape, reduction])(
    'is −t log σ(z) − (1 − t) log(1 − σ(z)) with gradient σ(z) − t',
    ({ n, k, seed }, r) => {
      const z = randn([n, k], seed);
      const t = tensor(
        Float64Array.from({ length: n * k }, (_, i) => ((i * 37 + seed) % 11) / 10),
        [n, k],
      );
      const sigma = z.data.map((v) => 1 / (1 + Math.exp(-v)));
      const count = r === 'mean' ? n * k : 1;
      let expected = 0;
      sigma.forEach((s, i) => {
        expected -= t.data[i]! * Math.log(s) + (1 - t.data[i]!) * Math.log(1 - s);
      });
      expect(binaryCrossEntropyWithLogits(z, t, r).item()).toBeCloseTo(expected / count, 11);
      const g = grad((logits: Tensor) => binaryCrossEntropyWithLogits(logits, t, r))(z);
      expectClose(
        g.data,
        sigma.map((s, i) => (s - t.data[i]!) / count),
        { rtol: 1e-10, atol: 1e-15 },
      );
      // and against differences, independently of the closed form
      const fd = finiteDifferenceGradient(
        (v) => binaryCrossEntropyWithLogits(tensor(v, z.shape), t, r).item(),
        z.data,
      );
      expectClose(g.data, fd, { rtol: 1e-6, atol: 1e-9 });
    },
  );

  it('is stable for large |z|', () => {
    // z = 800, t = 0: −log(1 − σ(800)) = 800 + log(1 + e^−800) = 800 (a naive form gives ∞).
    expect(binaryCrossEntropyWithLogits([800, -800, 800], [0, 1, 1], 'sum').item()).toBe(1600);
  });

  it('rejects targets outside [0, 1] and shape mismatches', () => {
    expect(() => binaryCrossEntropyWithLogits([0, 1], [0, 2])).toThrow(
      /binaryCrossEntropyWithLogits: target 1 is 2, expected a value in \[0, 1\]/,
    );
    expect(() => binaryCrossEntropyWithLogits([0, 1], [0])).toThrow(ShapeError);
  });
});
