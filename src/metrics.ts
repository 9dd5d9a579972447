/**
 * Metrics for predictive distributions.
 *
 * A classifier predicts a probability vector pₙ ∈ Δᴷ⁻¹ for each of N inputs
 * with label yₙ ∈ {0, …, K−1}; a regressor predicts a Gaussian N(μₙ, σₙ²) for
 * a target yₙ. The scores below are the usual ones for judging not just the
 * point prediction but the uncertainty around it:
 *
 *   accuracy   (1/N) Σₙ [argmaxₖ pₙₖ = yₙ]
 *   NLL        −(1/N) Σₙ log pₙ,yₙ                         (proper scoring rule)
 *   Brier      (1/N) Σₙ Σₖ (pₙₖ − [k = yₙ])²              (proper scoring rule)
 *   ECE        Σ_b (|B_b|/N) |acc(B_b) − conf(B_b)|, with inputs binned by their
 *              confidence maxₖ pₙₖ into M equal-width bins (b/M, (b+1)/M]
 *              (Naeini et al. 2015; Guo et al. 2017)
 *   entropy    H(pₙ) = −Σₖ pₙₖ log pₙₖ, with 0 log 0 = 0
 *   confidence maxₖ pₙₖ, the probability of the predicted class (low
 *              confidence flags out-of-distribution inputs: Hendrycks and
 *              Gimpel 2017)
 *   Gaussian NLL  (1/N) Σₙ Σₖ ½ log(2πσₙₖ²) + (yₙₖ − μₙₖ)² / (2σₙₖ²)
 *   AUROC      P(s⁺ > s⁻) + ½ P(s⁺ = s⁻) for a random positive and negative
 *              score: the Mann–Whitney U statistic divided by N⁺N⁻.
 *
 * Inputs are Tensors or plain arrays; probabilities are checked to be rows of
 * a probability table and labels to be integers in range, so a table of logits
 * passed by mistake is an error here rather than a meaningless number.
 */

import { ShapeError, ValueError } from './errors.js';
import type { Tensor } from './tensor.js';

/** Class probabilities: a Tensor of shape [n, k] or n rows of k numbers. */
export type ProbabilityTable = Tensor | readonly (readonly number[])[];

/** Numbers in a flat sequence: a Tensor (read row-major), a Float64Array or a number[]. */
export type Values = Tensor | ArrayLike<number>;

/** One bin of a reliability diagram: inputs whose confidence lies in (lower, upper]. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  /** Mean confidence maxₖ pₖ of the inputs in the bin. */
  confidence: number;
  /** Fraction of the inputs in the bin whose most probable class is the label. */
  accuracy: number;
  count: number;
}

// Rows must sum to one this closely: far looser than rounding, far tighter than logits.
const ROW_SUM_TOLERANCE = 1e-6;

interface Table {
  n: number;
  k: number;
  data: Float64Array;
}

function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && 'shape' in value && !Array.isArray(value);
}

function probabilityTable(probs: ProbabilityTable, fn: string): Table {
  let n: number;
  let k: number;
  let data: Float64Array;
  if (isTensor(probs)) {
    if (probs.shape.length !== 2) {
      throw new ShapeError(`${fn}: probs must have shape [n, k], got [${probs.shape.join(', ')}]`);
    }
    [n, k] = probs.shape as [number, number];
    data = probs.data;
  } else {
    n = probs.length;
    k = probs[0]?.length ?? 0;
    data = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const row = probs[i]!;
      if (row.length !== k) {
        throw new ShapeError(`${fn}: probs is ragged, row 0 has ${k} entries and row ${i} has ${row.length}`);
      }
      for (let j = 0; j < k; j++) data[i * k + j] = row[j]!;
    }
  }
  if (n === 0 || k === 0) throw new ShapeError(`${fn}: probs is empty, shape [${n}, ${k}]`);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const p = data[i * k + j]!;
      if (!(p >= 0 && p <= 1)) {
        throw new ValueError(`${fn}: probs[${i}][${j}] is ${p}, not a probability in [0, 1]`);
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
      throw new ValueError(`${fn}: probs row ${i} sums to ${sum}, not 1 (logits instead of probabilities?)`);
    }
  }
  return { n, k, data };
}

function flatValues(values: Values, fn: string, argument: string): Float64Array {
  const data = isTensor(values) ? values.data : Float64Array.from(values);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!))
      throw new ValueError(`${fn}: ${argument}[${i}] is ${data[i]}, not finite`);
  }
  return data;
}

function classLabels(labels: Values, n: number, k: number, fn: string): Int32Array {
  const values = isTensor(labels) ? labels.data : labels;
  if (values.length !== n) {
    throw new ShapeError(`${fn}: labels has ${values.length} entries but probs has ${n} rows`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = values[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < k)) {
      throw new ValueError(`${fn}: labels[${i}] is ${y}, not a class index in 0..${k - 1}`);
    }
    out[i] = y;
  }
  return out;
}

/** Index of the largest of k entries from `offset`; the first on ties. */
function argmaxRow(data: Float64Array, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (data[offset + j]! > data[offset + best]!) best = j;
  return best;
}

/** Fraction of inputs whose most probable class (the first, on ties) is the label. */
export function accuracy(probs: ProbabilityTable, labels: Values): number {
  const { n, k, data } = probabilityTable(probs, 'accuracy');
  const y = classLabels(labels, n, k, 'accuracy');
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmaxRow(data, i * k, k) === y[i]) correct++;
  return correct / n;
}

/**
 * Mean negative log probability of the label, −(1/N) Σₙ log pₙ,yₙ.
 *
 * A probability of exactly 0 would give +∞; it is read as the smallest
 * positive double 2⁻¹⁰⁷⁴, so one confidently wrong input costs at most
 * 1074·log 2 ≈ 744.4 nats. No other value is altered.
 */
export function classificationNll(probs: ProbabilityTable, labels: Values): number {
  const { n, k, data } = probabilityTable(probs, 'classificationNll');
  const y = classLabels(labels, n, k, 'classificationNll');
  let total = 0;
  for (let i = 0; i < n; i++) total -= Math.log(Math.max(data[i * k + y[i]!]!, Number.MIN_VALUE));
  return total / n;
}

/** Brier score (1/N) Σₙ Σₖ (pₙₖ − [k = yₙ])², between 0 (certain and right) and 2. */
export function brierScore(probs: ProbabilityTable, labels: Values): number {
  const { n, k, data } = probabilityTable(probs, 'brierScore');
  const y = classLabels(labels, n, k, 'brierScore');
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const residual = data[i * k + j]! - (j === y[i] ? 1 : 0);
      total += residual * residual;
    }
  }
  return total / n;
}

/** Shannon entropy −Σₖ pₙₖ log pₙₖ (nats) of each row, with 0 log 0 = 0. */
export function predictiveEntropy(probs: ProbabilityTable): Float64Array {
  const { n, k, data } = probabilityTable(probs, 'predictiveEntropy');
  const entropy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = 0;
    for (let j = 0; j < k; j++) {
      const p = data[i * k + j]!;
      if (p > 0) h -= p * Math.log(p);
    }
    entropy[i] = h;
  }
  return entropy;
}

/** Confidence maxₖ pₙₖ of each row: the probability given to the predicted class. */
export function confidence(probs: ProbabilityTable): Float64Array {
  const { n, k, data } = probabilityTable(probs, 'confidence');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = data[i * k + argmaxRow(data, i * k, k)]!;
  return out;
}

/**
 * Reliability diagram: inputs grouped by confidence c = maxₖ pₖ into `nBins`
 * equal-width bins (b/M, (b+1)/M]; for each non-empty bin, its mean confidence
 * and accuracy. Empty bins are left out (they have neither). A calibrated
 * classifier has accuracy ≈ confidence in every bin.
 */
export function reliabilityDiagram(probs: ProbabilityTable, labels: Values, nBins = 10): ReliabilityBin[] {
  return binByConfidence(probs, labels, nBins, 'reliabilityDiagram');
}

/**
 * Expected calibration error Σ_b (|B_b|/N) |acc(B_b) − conf(B_b)| over
 * `nBins` equal-width confidence bins (b/M, (b+1)/M], as in Guo et al. 2017.
 */
export function expectedCalibrationError(probs: ProbabilityTable, labels: Values, nBins = 10): number {
  const bins = binByConfidence(probs, labels, nBins, 'expectedCalibrationError');
  let n = 0;
  let weighted = 0;
  for (const bin of bins) {
    n += bin.count;
    weighted += bin.count * Math.abs(bin.accuracy - bin.confidence);
  }
  return weighted / n;
}

function binByConfidence(
  probs: ProbabilityTable,
  labels: Values,
  nBins: number,
  fn: string,
): ReliabilityBin[] {
  if (!(Number.isInteger(nBins) && nBins >= 1)) {
    throw new ValueError(`${fn}: nBins must be a positive integer, got ${nBins}`);
  }
  const { n, k, data } = probabilityTable(probs, fn);
  const y = classLabels(labels, n, k, fn);
  const count = new Float64Array(nBins);
  const sumConfidence = new Float64Array(nBins);
  const correct = new Float64Array(nBins);
  for (let i = 0; i < n; i++) {
    const predicted = argmaxRow(data, i * k, k);
    const confidence = data[i * k + predicted]!;
    // Bin b holds (b/M, (b+1)/M]; the product c·M can round across a boundary, so check against it.
    let b = Math.ceil(confidence * nBins) - 1;
    if (b > 0 && confidence <= b / nBins) b--;
    else if (b < nBins - 1 && confidence > (b + 1) / nBins) b++;
    b = Math.min(Math.max(b, 0), nBins - 1);
    count[b]!++;
    sumConfidence[b]! += confidence;
    if (predicted === y[i]) correct[b]!++;
  }
  const bins: ReliabilityBin[] = [];
  for (let b = 0; b < nBins; b++) {
    const c = count[b]!;
    if (c === 0) continue;
    bins.push({
      lower: b / nBins,
      upper: (b + 1) / nBins,
      confidence: sumConfidence[b]! / c,
      accuracy: correct[b]! / c,
      count: c,
    });
  }
  return bins;
}

function pointCount(values: Values, length: number): number {
  // A Tensor [n, k] holds n points of k outputs each; a flat sequence holds one output per point.
  return isTensor(values) && values.shape.length >= 1 ? values.shape[0]! : length;
}

function sameLength(fn: string, entries: [string, Float64Array][]): void {
  const [firstName, first] = entries[0]!;
  for (const [name, values] of entries.slice(1)) {
    if (values.length !== first.length) {
      throw new ShapeError(
        `${fn}: ${name} has ${values.length} entries but ${firstName} has ${first.length}`,
      );
    }
  }
  if (first.length === 0) throw new ShapeError(`${fn}: ${firstName} is empty`);
}

/**
 * Gaussian negative log likelihood per point,
 * (1/N) Σₙ Σₖ ½ log(2πσₙₖ²) + (yₙₖ − μₙₖ)² / (2σₙₖ²).
 * `variance` is the predictive variance σ² (including observation noise),
 * not the standard deviation. A Tensor [n, k] counts n points of k outputs.
 */
export function gaussianNll(mean: Values, variance: Values, targets: Values): number {
  const mu = flatValues(mean, 'gaussianNll', 'mean');
  const v = flatValues(variance, 'gaussianNll', 'variance');
  const y = flatValues(targets, 'gaussianNll', 'targets');
  sameLength('gaussianNll', [
    ['mean', mu],
    ['variance', v],
    ['targets', y],
  ]);
  let total = 0;
  for (let i = 0; i < mu.length; i++) {
    const s2 = v[i]!;
    if (!(s2 > 0)) throw new ValueError(`gaussianNll: variance[${i}] is ${s2}, must be positive`);
    const r = y[i]! - mu[i]!;
    total += 0.5 * Math.log(2 * Math.PI * s2) + (r * r) / (2 * s2);
  }
  return total / pointCount(mean, mu.length);
}

/** Root mean squared error √((1/M) Σ (yᵢ − μᵢ)²) over all M entries. */
export function rmse(mean: Values, targets: Values): number {
  const mu = flatValues(mean, 'rmse', 'mean');
  const y = flatValues(targets, 'rmse', 'targets');
  sameLength('rmse', [
    ['mean', mu],
    ['targets', y],
  ]);
  let total = 0;
  for (let i = 0; i < mu.length; i++) total += (y[i]! - mu[i]!) ** 2;
  return Math.sqrt(total / mu.length);
}

/**
 * Area under the ROC curve for telling positives from negatives by score
 * (higher means more positive): U / (N⁺N⁻), where the Mann–Whitney U counts
 * pairs with s⁺ > s⁻ plus half the ties. Computed from mid-ranks of the pooled
 * scores in O(N log N): U = R⁺ − N⁺(N⁺+1)/2 with R⁺ the positives' rank sum.
 * For out-of-distribution detection, positives are the OOD inputs' entropies.
 */
export function auroc(scoresPositive: Values, scoresNegative: Values): number {
  const positive = flatValues(scoresPositive, 'auroc', 'scoresPositive');
  const negative = flatValues(scoresNegative, 'auroc', 'scoresNegative');
  if (positive.length === 0 || negative.length === 0) {
    throw new ShapeError(
      `auroc: need at least one score of each kind, got ${positive.length} positive and ${negative.length} negative`,
    );
  }
  const nPos = positive.length;
  const pooled = new Float64Array(nPos + negative.length);
  pooled.set(positive);
  pooled.set(negative, nPos);
  const order = Array.from(pooled.keys()).sort((a, b) => pooled[a]! - pooled[b]!);
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && pooled[order[end + 1]!] === pooled[order[start]!]) end++;
    const midRank = (start + end) / 2 + 1; // ranks are 1-based; a tie shares the mean of its ranks
    for (let t = start; t <= end; t++) if (order[t]! < nPos) positiveRankSum += midRank;
    start = end + 1;
  }
  return (positiveRankSum - (nPos * (nPos + 1)) / 2) / (nPos * negative.length);
}
