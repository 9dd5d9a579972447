/**
 * Toy data for the demo and the CLI examples, every set reproducible from a seed.
 *
 * - `gapRegression`: y = sin(3x) + ε, ε ~ N(0, σ²), with training inputs in two
 *   clusters [−2, −0.6] ∪ [0.6, 2] and test inputs spread evenly over [−3, 3].
 *   Across the gap sin(3x) turns through a full half-period that no training
 *   point sees, and beyond ±2 there is no data at all, so a good predictive
 *   must widen in between and outside (Foong et al. 2019, "In-between
 *   uncertainty in Bayesian neural networks").
 * - `twoMoons`: scikit-learn's make_moons: the upper half of the unit circle
 *   (class 0) and a copy flipped and shifted by (1, −½) (class 1), with
 *   isotropic Gaussian noise, in random order.
 * - `blobs`: isotropic Gaussian clusters, one per class.
 *
 * Inputs are `number[][]` (n rows of d features) and targets `number[]`, the
 * plain shapes that `laplace(...).fit` and `formatCsv` take. A 2-D grid for
 * confidence maps lives here too; the seeded shuffle, the train/test split and
 * the standardiser are in dataset.ts.
 */
import { ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';
import { type Dataset, permute, type SplitDataset, shuffledIndices } from './dataset.js';

export interface GapRegressionOptions {
  nTrain?: number;
  nTest?: number;
  /** Standard deviation σ of the observation noise. */
  noise?: number;
  seed?: RngLike;
}

/** The noise-free function behind `gapRegression`. */
export function gapFunction(x: number): number {
  return Math.sin(3 * x);
}

/** Training clusters of `gapRegression`; the gap is between them. */
export const GAP_CLUSTERS: readonly (readonly [number, number])[] = [
  [-2, -0.6],
  [0.6, 2],
];

/** Range covered by the test inputs of `gapRegression`, gap and far field included. */
const GAP_TEST_RANGE: readonly [number, number] = [-3, 3];

/**
 * 1-D regression with a gap: half the training inputs uniform in each cluster,
 * test inputs evenly spaced over [−3, 3], targets sin(3x) + N(0, noise²).
 */
export function gapRegression({
  nTrain = 80,
  nTest = 200,
  noise = 0.1,
  seed = 0,
}: GapRegressionOptions = {}): SplitDataset {
  positiveInteger('gapRegression', 'nTrain', nTrain);
  positiveInteger('gapRegression', 'nTest', nTest);
  nonNegative('gapRegression', 'noise', noise);
  const rng = toRng(seed);
  const trainX: number[] = [];
  for (let i = 0; i < nTrain; i++) {
    const [low, high] = GAP_CLUSTERS[i % 2]!;
    trainX.push(low + (high - low) * rng.uniform());
  }
  trainX.sort((a, b) => a - b);
  const [testLow, testHigh] = GAP_TEST_RANGE;
  const testX = evenlySpaced(testLow, testHigh, nTest);
  const observe = (x: number) => gapFunction(x) + noise * rng.normal();
  return {
    train: { X: trainX.map((x) => [x]), y: trainX.map(observe) },
    test: { X: testX.map((x) => [x]), y: testX.map(observe) },
  };
}

export interface MoonsOptions {
  n?: number;
  /** Standard deviation of the Gaussian noise added to both coordinates. */
  noise?: number;
  seed?: RngLike;
}

/**
 * Two interleaving half circles (scikit-learn's make_moons): ⌊n/2⌋ points at
 * (cos t, sin t) and the rest at (1 − cos t, ½ − sin t), t evenly spaced on
 * [0, π], plus N(0, noise²) on each coordinate, shuffled.
 */
export function twoMoons({ n = 200, noise = 0.1, seed = 0 }: MoonsOptions = {}): Dataset {
  positiveInteger('twoMoons', 'n', n);
  nonNegative('twoMoons', 'noise', noise);
  const rng = toRng(seed);
  const nOuter = Math.floor(n / 2);
  const nInner = n - nOuter;
  const angle = (i: number, count: number) => (count === 1 ? 0 : (Math.PI * i) / (count - 1));
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < nOuter; i++) {
    const t = angle(i, nOuter);
    X.push([Math.cos(t), Math.sin(t)]);
    y.push(0);
  }
  for (let i = 0; i < nInner; i++) {
    const t = angle(i, nInner);
    X.push([1 - Math.cos(t), 0.5 - Math.sin(t)]);
    y.push(1);
  }
  for (const point of X) {
    point[0]! += noise * rng.normal();
    point[1]! += noise * rng.normal();
  }
  return permute({ X, y }, shuffledIndices(n, rng));
}

export interface BlobsOptions {
  n?: number;
  /** Cluster centres, one per class; by default `nClasses` points on a circle of radius 2.5. */
  centers?: readonly (readonly number[])[];
  nClasses?: number;
  /** Standard deviation of each cluster along every axis. */
  std?: number;
  seed?: RngLike;
}

/** Gaussian blobs: point i belongs to class i mod K and is drawn from N(centre, std²·I); shuffled. */
export function blobs({ n = 300, centers, nClasses = 3, std = 0.5, seed = 0 }: BlobsOptions = {}): Dataset {
  positiveInteger('blobs', 'n', n);
  nonNegative('blobs', 'std', std);
  const centres =
    centers ??
    Array.from({ length: positiveInteger('blobs', 'nClasses', nClasses) }, (_, c) => {
      const angle = (2 * Math.PI * c) / nClasses + Math.PI / 2;
      return [2.5 * Math.cos(angle), 2.5 * Math.sin(angle)];
    });
  const dim = centres[0]?.length ?? 0;
  if (centres.length === 0 || dim === 0 || centres.some((c) => c.length !== dim)) {
    throw new ShapeError(`blobs: centers must be a non-empty list of points of one dimension`);
  }
  const rng = toRng(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % centres.length;
    X.push(centres[label]!.map((c) => c + std * rng.normal()));
    y.push(label);
  }
  return permute({ X, y }, shuffledIndices(n, rng));
}

/** `count` evenly spaced points from `low` to `high`, both included; one point sits in the middle. */
export function evenlySpaced(low: number, high: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    count === 1 ? (low + high) / 2 : low + ((high - low) * i) / (count - 1),
  );
}

/** A regular grid over a rectangle, for confidence maps. */
export interface Grid2d {
  /** The nx column centres along x and ny row centres along y. */
  xs: number[];
  ys: number[];
  /** All nx·ny points, row by row: point (row r, column c) is `points[r * nx + c]` = [xs[c], ys[r]]. */
  points: number[][];
}

/** An nx × ny grid of evenly spaced points covering [xMin, xMax] × [yMin, yMax], edges included. */
export function grid2d(
  [xMin, xMax]: readonly [number, number],
  [yMin, yMax]: readonly [number, number],
  nx: number,
  ny = nx,
): Grid2d {
  positiveInteger('grid2d', 'nx', nx);
  positiveInteger('grid2d', 'ny', ny);
  if (!(xMax > xMin && yMax > yMin)) {
    throw new ValueError(`grid2d: ranges must be increasing, got [${xMin}, ${xMax}] × [${yMin}, ${yMax}]`);
  }
  const xs = evenlySpaced(xMin, xMax, nx);
  const ys = evenlySpaced(yMin, yMax, ny);
  return { xs, ys, points: ys.flatMap((y) => xs.map((x) => [x, y])) };
}

function positiveInteger(fn: string, name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1))
    throw new ValueError(`${fn}: ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(fn: string, name: string, value: number): void {
  if (!(value >= 0 && Number.isFinite(value)))
    throw new ValueError(`${fn}: ${name} must be finite and ≥ 0, got ${value}`);
}
