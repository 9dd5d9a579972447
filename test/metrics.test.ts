import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../src/errors.js';
import {
  accuracy,
  auroc,
  brierScore,
  classificationNll,
  confidence,
  expectedCalibrationError,
  gaussianNll,
  predictiveEntropy,
  reliabilityDiagram,
  rmse,
} from '../src/metrics.js';
import { tensor } from '../src/tensor.js';
import { expectClose } from './helpers.js';

/** Random classification predictions: n rows of k probabilities and labels in 0..k−1. */
const predictions = fc
  .record({ n: fc.integer({ min: 1, max: 30 }), k: fc.integer({ min: 2, max: 5 }) })
  .chain(({ n, k }) =>
    fc.record({
      probs: fc.array(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: k, maxLength: k }).map((w) => {
          const weights = w.map((x) => x + 1e-3);
          const total = weights.reduce((a, b) => a + b, 0);
          return weights.map((x) => x / total);
        }),
        { minLength: n, maxLength: n },
      ),
      labels: fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: n, maxLength: n }),
    }),
  );

const probs = [
  [0.7, 0.2, 0.1],
  [0.1, 0.5, 0.4],
  [0.25, 0.25, 0.5],
  [0.6, 0.3, 0.1],
];
const labels = [0, 2, 2, 1];

describe('classification metrics on a hand-worked case', () => {
  it('accuracy counts argmax hits', () => {
    // argmax: 0, 1, 2, 0 against labels 0, 2, 2, 1.
    expect(accuracy(probs, labels)).toBe(0.5);
    expect(accuracy(tensor(probs), new Float64Array(labels))).toBe(0.5);
  });

  it('NLL is the mean of −log p_y', () => {
    expectClose(
      [classificationNll(probs, labels)],
      [-(Math.log(0.7) + Math.log(0.4) + Math.log(0.5) + Math.log(0.3)) / 4],
    );
  });

  it('Brier sums squared residuals against the one-hot label', () => {
    const byHand = [0.09 + 0.04 + 0.01, 0.01 + 0.25 + 0.36, 0.0625 + 0.0625 + 0.25, 0.36 + 0.49 + 0.01];
    expectClose([brierScore(probs, labels)], [byHand.reduce((a, b) => a + b) / 4]);
  });

  it('ECE and the reliability diagram bin by confidence', () => {
    // Confidences 0.7 (right), 0.5 (wrong), 0.5 (right), 0.6 (wrong); 0.5 falls in (0.4, 0.5].
    const bins = reliabilityDiagram(probs, labels, 10);
    expect(bins.map((b) => [b.lower, b.upper, b.count])).toEqual([
      [0.4, 0.5, 2],
      [0.5, 0.6, 1],
      [0.6, 0.7, 1],
    ]);
    expectClose(
      bins.flatMap((b) => [b.confidence, b.accuracy]),
      [0.5, 0.5, 0.6, 0, 0.7, 1],
    );
    expectClose([expectedCalibrationError(probs, labels, 10)], [(2 * 0 + 0.6 + 0.3) / 4]);
  });

  it('an exact zero probability on the label costs 1074 log 2, not infinity', () => {
    expectClose([classificationNll([[1, 0]], [1])], [1074 * Math.LN2], { rtol: 1e-12 });
  });
});

describe('classification metrics: identities on random predictions', () => {
  test.prop([predictions])(
    'confident one-hot predictions of the label score perfectly',
    ({ probs, labels }) => {
      const k = probs[0]!.length;
      const oneHot = labels.map((y) => Array.from({ length: k }, (_, j) => (j === y ? 1 : 0)));
      expect(accuracy(oneHot, labels)).toBe(1);
      expect(classificationNll(oneHot, labels)).toBe(0);
      expect(brierScore(oneHot, labels)).toBe(0);
      expect(expectedCalibrationError(oneHot, labels)).toBe(0);
      expect([...predictiveEntropy(oneHot)]).toEqual(labels.map(() => 0));
    },
  );

  test.prop([predictions])(
    'uniform predictions: NLL and entropy log k, Brier (k−1)/k',
    ({ labels, probs }) => {
      const k = probs[0]!.length;
      const uniform = labels.map(() => Array.from({ length: k }, () => 1 / k));
      expectClose([classificationNll(uniform, labels)], [Math.log(k)]);
      expectClose([brierScore(uniform, labels)], [(k - 1) / k]);
      expectClose(
        predictiveEntropy(uniform),
        labels.map(() => Math.log(k)),
      );
    },
  );

  test.prop([predictions, fc.integer({ min: 1, max: 15 })])(
    'ECE equals a brute-force binning with explicit (lower, upper] comparisons',
    ({ probs, labels }, nBins) => {
      let weighted = 0;
      for (let b = 0; b < nBins; b++) {
        const lower = b / nBins;
        const upper = (b + 1) / nBins;
        const members = probs
          .map((p, i) => ({ confidence: Math.max(...p), right: p.indexOf(Math.max(...p)) === labels[i] }))
          .filter(({ confidence }) => confidence > lower && confidence <= upper);
        if (members.length === 0) continue;
        const conf = members.reduce((s, m) => s + m.confidence, 0) / members.length;
        const acc = members.filter((m) => m.right).length / members.length;
        weighted += members.length * Math.abs(acc - conf);
      }
      expectClose([expectedCalibrationError(probs, labels, nBins)], [weighted / probs.length], {
        atol: 1e-12,
      });
      const bins = reliabilityDiagram(probs, labels, nBins);
      expect(bins.reduce((s, b) => s + b.count, 0)).toBe(probs.length);
    },
  );

  test.prop([predictions])('with one bin, ECE is |accuracy − mean confidence|', ({ probs, labels }) => {
    const meanConfidence = probs.reduce((s, p) => s + Math.max(...p), 0) / probs.length;
    expectClose(
      [expectedCalibrationError(probs, labels, 1)],
      [Math.abs(accuracy(probs, labels) - meanConfidence)],
      {
        atol: 1e-12,
      },
    );
  });

  test.prop([predictions])('entropy is −Σ p log p, between 0 and log k', ({ probs }) => {
    const k = probs[0]!.length;
    const entropy = predictiveEntropy(tensor(probs));
    expectClose(
      entropy,
      probs.map((p) => -p.reduce((s, x) => s + x * Math.log(x), 0)),
    );
    for (const h of entropy) expect(h).toBeLessThanOrEqual(Math.log(k) + 1e-12);
  });
});

describe('regression metrics', () => {
  it('Gaussian NLL is the negative log density, averaged over points', () => {
    const mean = [0, 1, -2];
    const variance = [1, 0.25, 4];
    const y = [0, 2, 1];
    const density = y.map(
      (t, i) => Math.exp(-((t - mean[i]!) ** 2) / (2 * variance[i]!)) / Math.sqrt(2 * Math.PI * variance[i]!),
    );
    expectClose([gaussianNll(mean, variance, y)], [-density.reduce((s, p) => s + Math.log(p), 0) / 3]);
    expectClose([gaussianNll([0], [1], [0])], [0.5 * Math.log(2 * Math.PI)]);
  });

  it('a Tensor [n, k] counts n points: the k outputs of a point add up', () => {
    const mean = tensor([
      [0, 1],
      [2, 3],
    ]);
    const variance = tensor([
      [1, 2],
      [3, 4],
    ]);
    const y = tensor([
      [0.5, 0],
      [2, 5],
    ]);
    const perEntry = [0, 1, 2, 3].map((i) => gaussianNll([mean.data[i]!], [variance.data[i]!], [y.data[i]!]));
    expectClose(
      [gaussianNll(mean, variance, y)],
      [(perEntry[0]! + perEntry[1]! + perEntry[2]! + perEntry[3]!) / 2],
    );
  });

  it('RMSE by hand', () => {
    expectClose([rmse([1, 2, 3, 4], [1, 4, 3, 0])], [Math.sqrt((0 + 4 + 0 + 16) / 4)]);
    expect(rmse(tensor([[1, 2]]), [1, 2])).toBe(0);
  });
});

describe('auroc', () => {
  const bruteForce = (positive: number[], negative: number[]) => {
    let u = 0;
    for (const p of positive) for (const q of negative) u += p > q ? 1 : p === q ? 0.5 : 0;
    return u / (positive.length * negative.length);
  };
  // Scores from a few values, so that ties are common.
  const scores = fc.array(
    fc.integer({ min: 0, max: 6 }).map((x) => x / 2),
    { minLength: 1, maxLength: 25 },
  );
  const continuous = fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 25 });

  test.prop([scores, scores])('equals the O(n²) pair count with ties counted half', (positive, negative) => {
    expectClose([auroc(positive, negative)], [bruteForce(positive, negative)], { atol: 1e-12 });
  });

  test.prop([continuous, continuous])('auroc(a, b) + auroc(b, a) = 1', (a, b) => {
    expectClose([auroc(a, b) + auroc(b, a)], [1], { atol: 1e-12 });
    expectClose([auroc(a, b)], [bruteForce(a, b)], { atol: 1e-12 });
  });

  it('is 1 for perfect separation, 0 reversed, ½ for identical scores', () => {
    expect(auroc([3, 4, 5], [0, 1, 2])).toBe(1);
    expect(auroc([0, 1], [2, 3, 4])).toBe(0);
    expect(auroc([1, 1], [1, 1, 1])).toBe(0.5);
    expect(auroc(new Float64Array([2]), tensor([1, 3]))).toBe(0.5);
  });
});

describe('bad input gets a typed error naming function and argument', () => {
  it('rejects logits, ragged tables, bad shapes', () => {
    expect(() => accuracy([[2, -1]], [0])).toThrow(
      new ValueError('accuracy: probs[0][0] is 2, not a probability in [0, 1]'),
    );
    expect(() => brierScore([[0.5, 0.4]], [0])).toThrow(/brierScore: probs row 0 sums to 0.9/);
    expect(() => classificationNll([[0.5, 0.5], [1]], [0, 0])).toThrow(ShapeError);
    expect(() => predictiveEntropy(tensor([0.5, 0.5]))).toThrow(/must have shape \[n, k\], got \[2\]/);
    expect(() => accuracy([], [])).toThrow(ShapeError);
    expect(() => accuracy([[Number.NaN, 1]], [0])).toThrow(ValueError);
  });

  it('rejects labels out of range, non-integer or of the wrong length', () => {
    expect(() => accuracy(probs, [0, 1, 2, 3])).toThrow(
      new ValueError('accuracy: labels[3] is 3, not a class index in 0..2'),
    );
    expect(() => brierScore(probs, [0, 1, 0.5, 1])).toThrow(/labels\[2\] is 0.5/);
    expect(() => expectedCalibrationError(probs, [0, 1])).toThrow(
      new ShapeError('expectedCalibrationError: labels has 2 entries but probs has 4 rows'),
    );
    expect(() => reliabilityDiagram(probs, labels, 0)).toThrow(/nBins must be a positive integer, got 0/);
  });

  it('rejects bad regression and AUROC inputs', () => {
    expect(() => gaussianNll([0, 1], [1, 0], [0, 1])).toThrow(
      new ValueError('gaussianNll: variance[1] is 0, must be positive'),
    );
    expect(() => gaussianNll([0, 1], [1], [0, 1])).toThrow(/variance has 1 entries but mean has 2/);
    expect(() => rmse([Number.NaN], [0])).toThrow(/rmse: mean\[0\] is NaN/);
    expect(() => rmse([], [])).toThrow(/empty/);
    expect(() => auroc([], [1])).toThrow(/auroc: need at least one score of each kind/);
    expect(() => auroc([Number.POSITIVE_INFINITY], [1])).toThrow(ValueError);
  });
});

describe('confidence', () => {
  test.prop([predictions])('is the largest probability of each row', ({ probs }) => {
    expect([...confidence(probs)]).toEqual(probs.map((row) => Math.max(...row)));
  });

  test.prop([predictions, fc.integer({ min: 1, max: 15 })])(
    'its mean is the count-weighted mean confidence of the reliability bins',
    ({ probs, labels }, nBins) => {
      const bins = reliabilityDiagram(probs, labels, nBins);
      const weighted = bins.reduce((total, bin) => total + bin.count * bin.confidence, 0) / labels.length;
      const values = confidence(probs);
      expectClose([values.reduce((a, b) => a + b, 0) / values.length], [weighted], { rtol: 1e-12 });
    },
  );

  it('rejects logits', () => {
    expect(() => confidence([[2, -1]])).toThrow(ValueError);
  });
});
