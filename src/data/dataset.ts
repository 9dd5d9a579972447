/**
 * Rows of data for training: a seeded shuffle, a train/test split, and a
 * standardiser.
 *
 * Networks train best on inputs of unit scale, so every column is mapped to
 * z = (x − mean)/std with the mean and (population, 1/n) standard deviation of
 * the training rows only; held-out rows reuse those numbers, or the test
 * score would peek at the test set. A split shuffles the rows with a seeded
 * Fisher–Yates permutation and holds out the first fraction.
 */
import { ShapeError, ValueError } from '../errors.js';
import type { TargetScale } from '../laplace/pipeline.js';
import { type RngLike, toRng } from '../random.js';

/** Inputs (n rows of d features) and targets. */
export interface Dataset {
  X: number[][];
  y: number[];
}

export interface SplitDataset {
  train: Dataset;
  test: Dataset;
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
export function shuffledIndices(n: number, seed: RngLike): number[] {
  const rng = toRng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export function permute({ X, y }: Dataset, order: readonly number[]): Dataset {
  return { X: order.map((i) => X[i]!), y: order.map((i) => y[i]!) };
}

export interface SplitOptions {
  /** Fraction of rows held out for testing, rounded to the nearest row (at least one each side). */
  testFraction?: number;
  seed?: RngLike;
}

/** Shuffle rows with a seed, then hold out the first `testFraction` of them as the test set. */
export function trainTestSplit(
  data: Dataset,
  { testFraction = 0.2, seed = 0 }: SplitOptions = {},
): SplitDataset {
  const n = data.X.length;
  if (data.y.length !== n) {
    throw new ShapeError(`trainTestSplit: X has ${n} rows but y has ${data.y.length}`);
  }
  if (n < 2) throw new ShapeError(`trainTestSplit: need at least 2 rows, got ${n}`);
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new ValueError(`trainTestSplit: testFraction must be in (0, 1), got ${testFraction}`);
  }
  const nTest = Math.min(Math.max(Math.round(testFraction * n), 1), n - 1);
  const order = shuffledIndices(n, seed);
  return { test: permute(data, order.slice(0, nTest)), train: permute(data, order.slice(nTest)) };
}

/** Per-column mean and standard deviation (population, 1/n) of training data. */
export interface Standardizer {
  mean: number[];
  std: number[];
}

/**
 * Fit z = (x − mean)/std per column, by two passes over the column divided by
 * c, a power of two near its largest magnitude: |x/c| < 2, so neither the sum
 * nor the squares can overflow (values near 1e200) or underflow (near 1e-200),
 * and since dividing by a power of two is exact, every rounding is the one the
 * unscaled sums would make where those do not overflow: mean = c·Σ(x/c)/n and
 * std = c·√(Σ(x/c − mean/c)²/n) are the textbook numbers, bit for bit.
 *
 * A column whose spread is within rounding of its magnitude (std ≤ 1e-12·max|x|),
 * or so small that 1/std would overflow, is constant to the network: it gets
 * std 1, so it maps to (near) zeros rather than to NaN or noise.
 */
export function fitStandardizer(X: readonly (readonly number[])[]): Standardizer {
  const n = X.length;
  const d = X[0]?.length ?? 0;
  if (n === 0 || d === 0) throw new ShapeError(`fitStandardizer: X is empty, shape [${n}, ${d}]`);
  const largest = new Array<number>(d).fill(0);
  for (const [i, row] of X.entries()) {
    if (row.length !== d)
      throw new ShapeError(`fitStandardizer: row 0 has ${d} entries and row ${i} has ${row.length}`);
    for (let j = 0; j < d; j++) largest[j] = Math.max(largest[j]!, Math.abs(row[j]!));
  }
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(1);
  for (let j = 0; j < d; j++) {
    const biggest = largest[j]!;
    if (!Number.isFinite(biggest)) {
      throw new ValueError(`fitStandardizer: column ${j} holds a non-finite value`);
    }
    if (biggest === 0) continue;
    const c = 2 ** Math.floor(Math.log2(biggest));
    let scaledMean = 0;
    for (const row of X) scaledMean += row[j]! / c / n;
    let scaledVariance = 0;
    for (const row of X) scaledVariance += (row[j]! / c - scaledMean) ** 2 / n;
    mean[j] = scaledMean * c;
    const s = Math.sqrt(scaledVariance) * c;
    if (s > 1e-12 * biggest && s > MIN_SPREAD) std[j] = s;
  }
  return { mean, std };
}

/** Below this a spread is not resolved in double precision (1/std would overflow near 1e-308). */
const MIN_SPREAD = 1e-290;

/**
 * Apply a fitted standardiser to rows with the same columns. Where x − mean
 * overflows (|x| and |mean| near the largest double), z is x/std − mean/std;
 * a |z| below 1e-290 (what is left of a constant column of tiny values) is 0,
 * since subnormal inputs only carry rounding noise into the curvature.
 */
export function standardize(X: readonly (readonly number[])[], { mean, std }: Standardizer): number[][] {
  return X.map((row, i) => {
    if (row.length !== mean.length) {
      throw new ShapeError(
        `standardize: row ${i} has ${row.length} entries but the standardiser has ${mean.length}`,
      );
    }
    return row.map((x, j) => {
      const z = (x - mean[j]!) / std[j]!;
      if (!Number.isFinite(z)) return x / std[j]! - mean[j]! / std[j]!;
      return Math.abs(z) < MIN_SPREAD ? 0 : z;
    });
  });
}

/** Undo `standardize`: x = z·std + mean. */
export function unstandardize(Z: readonly (readonly number[])[], { mean, std }: Standardizer): number[][] {
  return Z.map((row) => row.map((z, j) => z * std[j]! + mean[j]!));
}

/**
 * Standardise targets: z = (y − m)/s with the training targets' mean and
 * (population) standard deviation; the target is one more column to `fitStandardizer`.
 */
export function fitTargetScale(y: readonly number[]): TargetScale {
  if (y.length === 0) throw new ValueError('fitTargetScale: no targets');
  const { mean, std } = fitStandardizer(y.map((v) => [v]));
  return { mean: mean[0]!, std: std[0]! };
}
