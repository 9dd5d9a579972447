import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  fitStandardizer,
  shuffledIndices,
  standardize,
  trainTestSplit,
  unstandardize,
} from '../../src/data/dataset.js';
import { blobs, GAP_CLUSTERS, gapFunction, gapRegression, grid2d, twoMoons } from '../../src/data/toy.js';
import { ValueError } from '../../src/errors.js';
import { expectClose } from '../helpers.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('gapRegression', () => {
  it('puts training inputs only in the two clusters and test inputs across [−3, 3]', () => {
    const { train, test } = gapRegression({ nTrain: 60, nTest: 61, seed: 3 });
    expect(train.X).toHaveLength(60);
    const [[a, b], [c, d]] = GAP_CLUSTERS as [[number, number], [number, number]];
    for (const [x] of train.X) expect((x! >= a && x! <= b) || (x! >= c && x! <= d)).toBe(true);
    expect(train.X.filter(([x]) => x! < 0)).toHaveLength(30);
    const testX = test.X.map(([x]) => x!);
    expect(testX[0]).toBe(-3);
    expect(testX[60]).toBe(3);
    expect(testX.filter((x) => x > b && x < c).length).toBeGreaterThan(5);
  });

  it('is noise-free at noise 0, reproducible by seed, and different across seeds', () => {
    const clean = gapRegression({ noise: 0, seed: 1 });
    expect(clean.train.y).toEqual(clean.train.X.map(([x]) => gapFunction(x!)));
    expect(gapRegression({ seed: 5 })).toEqual(gapRegression({ seed: 5 }));
    expect(gapRegression({ seed: 5 }).train.X).not.toEqual(gapRegression({ seed: 6 }).train.X);
  });

  it('has residuals with the requested noise level', () => {
    const { train } = gapRegression({ nTrain: 4000, noise: 0.3, seed: 2 });
    const residuals = train.y.map((y, i) => y - gapFunction(train.X[i]![0]!));
    // Standard error of a variance estimate from 4000 normals is ~2%; allow 10%.
    expect(Math.sqrt(mean(residuals.map((r) => r * r)))).toBeCloseTo(0.3, 1);
  });
});

describe('twoMoons and blobs', () => {
  it('without noise, moons lie on their half circles, half of each class', () => {
    const { X, y } = twoMoons({ n: 101, noise: 0, seed: 1 });
    expect(y.filter((label) => label === 0)).toHaveLength(50);
    X.forEach(([u, v], i) => {
      const [cx, cy] = y[i] === 0 ? [0, 0] : [1, 0.5];
      expect(Math.hypot(u! - cx, v! - cy)).toBeCloseTo(1, 12);
      // Class 0 is the upper half circle, class 1 the lower one.
      expect(y[i] === 0 ? v! >= -1e-12 : v! <= 0.5 + 1e-12).toBe(true);
    });
  });

  it('shuffles the moons reproducibly', () => {
    expect(twoMoons({ seed: 4 })).toEqual(twoMoons({ seed: 4 }));
    const { y } = twoMoons({ n: 40, seed: 4 });
    expect(y.slice(0, 20).some((label) => label === 1)).toBe(true);
  });

  it('draws blobs around their centres with the requested spread', () => {
    const centers = [
      [0, 0],
      [5, -5],
    ];
    const { X, y } = blobs({ n: 2000, centers, std: 0.5, seed: 9 });
    for (const label of [0, 1]) {
      const members = X.filter((_, i) => y[i] === label);
      expect(members).toHaveLength(1000);
      for (const axis of [0, 1]) {
        const values = members.map((p) => p[axis]!);
        expect(mean(values)).toBeCloseTo(centers[label]![axis]!, 1);
        expect(Math.sqrt(mean(values.map((v) => (v - mean(values)) ** 2)))).toBeCloseTo(0.5, 1);
      }
    }
    expect(new Set(blobs({ nClasses: 4 }).y)).toEqual(new Set([0, 1, 2, 3]));
  });

  it('rejects bad sizes', () => {
    expect(() => twoMoons({ n: 0 })).toThrow(new ValueError('twoMoons: n must be a positive integer, got 0'));
    expect(() => gapRegression({ noise: -1 })).toThrow(ValueError);
    expect(() => trainTestSplit({ X: [[1], [2]], y: [1] })).toThrow(/X has 2 rows but y has 1/);
  });
});

describe('splitting and standardising', () => {
  test.prop([fc.integer({ min: 1, max: 60 }), fc.integer()])(
    'shuffledIndices is a permutation',
    (n, seed) => {
      expect([...shuffledIndices(n, seed)].sort((a, b) => a - b)).toEqual(
        Array.from({ length: n }, (_, i) => i),
      );
    },
  );

  test.prop([
    fc.integer({ min: 2, max: 50 }),
    fc.double({ min: 0.05, max: 0.95, noNaN: true }),
    fc.integer(),
  ])('trainTestSplit partitions the rows and keeps X and y paired', (n, testFraction, seed) => {
    const data = {
      X: Array.from({ length: n }, (_, i) => [i, -i]),
      y: Array.from({ length: n }, (_, i) => 10 * i),
    };
    const { train, test } = trainTestSplit(data, { testFraction, seed });
    expect(test.X.length).toBe(Math.min(Math.max(Math.round(testFraction * n), 1), n - 1));
    const all = [...train.X, ...test.X].map(([i]) => i!).sort((a, b) => a - b);
    expect(all).toEqual(data.X.map(([i]) => i));
    for (const part of [train, test]) expect(part.y).toEqual(part.X.map(([i]) => 10 * i!));
  });

  const matrix = fc
    .record({ n: fc.integer({ min: 2, max: 20 }), d: fc.integer({ min: 1, max: 4 }) })
    .chain(({ n, d }) =>
      fc.array(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: d, maxLength: d }), {
        minLength: n,
        maxLength: n,
      }),
    );

  test.prop([matrix])('standardised columns have mean 0 and std 1 (or are constant zeros)', (X) => {
    const stats = fitStandardizer(X);
    const Z = standardize(X, stats);
    for (let j = 0; j < X[0]!.length; j++) {
      const column = Z.map((row) => row[j]!);
      expect(Math.abs(mean(column))).toBeLessThan(1e-9);
      const spread = Math.sqrt(mean(column.map((z) => z * z)));
      if (stats.std[j] === 1 && spread < 1e-6) continue; // a constant column
      expect(spread).toBeCloseTo(1, 9);
    }
    expectClose(unstandardize(Z, stats).flat(), X.flat(), { rtol: 1e-9, atol: 1e-9 });
  });

  it('maps a constant column to zeros instead of NaN', () => {
    const stats = fitStandardizer([
      [3, 1],
      [3, 2],
    ]);
    expect(standardize([[3, 1.5]], stats)).toEqual([[0, 0]]);
  });
});

describe('grid2d', () => {
  it('covers the rectangle row by row, edges included', () => {
    const grid = grid2d([-1, 1], [0, 4], 3, 5);
    expect(grid.xs).toEqual([-1, 0, 1]);
    expect(grid.ys).toEqual([0, 1, 2, 3, 4]);
    expect(grid.points).toHaveLength(15);
    expect(grid.points[1 * 3 + 2]).toEqual([1, 1]);
    expect(() => grid2d([1, 0], [0, 1], 3)).toThrow(/ranges must be increasing/);
  });
});
