/**
 * The image experiment, without the network: data, shifted test sets, scores,
 * tables, figures and claims, for any classifiers of images given to it.
 *
 * Under dataset shift a model's accuracy falls; a well-calibrated predictive
 * lets its confidence fall with it. Following Ovadia et al. 2019 ("Can you
 * trust your model's uncertainty?"), each predictive is scored on the
 * Fashion-MNIST test images rotated by 0°, 15°, …, 180°:
 *
 *   accuracy, NLL, ECE (10 bins), Brier, and mean confidence maxₖ pₖ
 *
 * per angle, one table per score with the angles as columns, and line plots of
 * accuracy, confidence and ECE against the angle. Out of distribution, the
 * UCI handwritten digits in MNIST's geometry (no clothing at all): the
 * predictive entropy and confidence should tell them from the test images,
 * scored by AUROC (entropy: digits are the positives; confidence: the test
 * images are).
 *
 * What produces the probabilities (the MAP network, the Laplace predictives)
 * is passed in as `ImagePredictive`s, so that this file needs no layer type.
 */

import type { ImageDataset } from '../src/data/idx.js';
import type { ImageBatch, ImageShape } from '../src/data/images.js';
import {
  accuracy,
  auroc,
  brierScore,
  classificationNll,
  confidence,
  expectedCalibrationError,
  predictiveEntropy,
} from '../src/metrics.js';
import type { Cell, Figure, Table } from '../src/report/report.js';
import { linePlot } from '../src/report/svg.js';
import { tensor } from '../src/tensor.js';
import type { Claim, DemoOptions, PartResult } from './common.js';
import {
  digitsOutOfDistribution,
  FASHION_MNIST_CLASSES,
  type FashionMnist,
  loadFashionMnist,
  ROTATION_ANGLES,
  type RotatedSet,
  rotatedSets,
} from './images-data.js';

/** A classifier under test: its name in tables, and class probabilities [N, K] (row-major) for images [N, C, H, W]. */
export interface ImagePredictive {
  name: string;
  probabilities(images: Float64Array, shape: ImageShape): Float64Array;
}

/** Everything the experiment reads: the data, the rotated test sets, the out-of-distribution images. */
export interface ImagesData {
  data: FashionMnist;
  rotated: RotatedSet[];
  outOfDistribution: ImageBatch;
}

/** The quick run's angles: a coarser sweep of the same range. */
export const QUICK_ANGLES: readonly number[] = [0, 30, 60, 90, 180];

/** Images per class in the full run: the shipped subset's sizes, so the run takes the same time with or without the full set. */
export const FULL_RUN_PER_CLASS = { train: 300, test: 100 } as const;
/** Images per class in the quick run. */
export const QUICK_RUN_PER_CLASS = { train: 100, test: 20 } as const;

/**
 * Read the data: a stratified sample of `perClass` training and test images
 * per class (by default 100 and 20 in the quick run, 300 and 100 in the full
 * one; 'all' keeps every image) from the full Fashion-MNIST when installed,
 * else from the shipped subset; the rotated test sets (five angles in the
 * quick run, thirteen in the full one); and the digits.
 */
export function imagesData(
  options: Pick<DemoOptions, 'quick'> & { perClass?: { train: number; test: number } | 'all' },
): ImagesData {
  const perClass = options.perClass ?? (options.quick ? QUICK_RUN_PER_CLASS : FULL_RUN_PER_CLASS);
  const data = loadFashionMnist(perClass === 'all' ? {} : { perClass });
  return {
    data,
    rotated: rotatedSets(data.test, options.quick ? QUICK_ANGLES : ROTATION_ANGLES),
    outOfDistribution: digitsOutOfDistribution(),
  };
}

/** One predictive's scores on one rotated test set. */
export interface RotationScores {
  predictive: string;
  degrees: number;
  accuracy: number;
  nll: number;
  ece: number;
  brier: number;
  /** Mean confidence maxₖ pₖ. */
  confidence: number;
}

function mean(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total / values.length;
}

function probabilityTable(predictive: ImagePredictive, batch: ImageBatch, nClasses: number) {
  const probs = predictive.probabilities(batch.images, batch.shape);
  return tensor(probs, [batch.shape[0], nClasses]);
}

/** Every predictive scored on every rotated set (labels are the unrotated test set's). */
export function rotationScores(
  predictives: readonly ImagePredictive[],
  rotated: readonly RotatedSet[],
  labels: Int32Array,
  nClasses = FASHION_MNIST_CLASSES.length,
): RotationScores[] {
  return predictives.flatMap((predictive) =>
    rotated.map((set) => {
      const probs = probabilityTable(predictive, set, nClasses);
      return {
        predictive: predictive.name,
        degrees: set.degrees,
        accuracy: accuracy(probs, labels),
        nll: classificationNll(probs, labels),
        ece: expectedCalibrationError(probs, labels, 10),
        brier: brierScore(probs, labels),
        confidence: mean(confidence(probs)),
      };
    }),
  );
}

const ROTATION_METRICS = [
  { key: 'accuracy', title: 'Accuracy', best: 'max' },
  { key: 'confidence', title: 'Mean confidence', best: undefined },
  { key: 'nll', title: 'Test NLL', best: 'min' },
  { key: 'ece', title: 'ECE', best: 'min' },
  { key: 'brier', title: 'Brier score', best: 'min' },
] as const;

const angleColumn = (degrees: number) => `${degrees}°`;

/** One table per score: a row per predictive, a column per angle. */
export function rotationTables(scores: readonly RotationScores[]): Table[] {
  const names = [...new Set(scores.map((s) => s.predictive))];
  const angles = [...new Set(scores.map((s) => s.degrees))];
  return ROTATION_METRICS.map(({ key, title, best }) => ({
    caption: `${title} on the test images rotated by each angle`,
    columns: ['predictive', ...angles.map(angleColumn)],
    rows: names.map((name) => {
      const row: Record<string, Cell> = { predictive: name };
      for (const s of scores) if (s.predictive === name) row[angleColumn(s.degrees)] = s[key];
      return row;
    }),
    ...(best === undefined ? {} : { best: Object.fromEntries(angles.map((a) => [angleColumn(a), best])) }),
  }));
}

/** Accuracy, mean confidence and ECE against the angle, a line per predictive. */
export function rotationFigures(scores: readonly RotationScores[]): Figure[] {
  const names = [...new Set(scores.map((s) => s.predictive))];
  return (['accuracy', 'confidence', 'ece'] as const).map((key) => {
    const title = ROTATION_METRICS.find((m) => m.key === key)!.title;
    return {
      name: `images-rotation-${key}`,
      caption: `${title} against the rotation of the test images.`,
      svg: linePlot({
        title,
        xLabel: 'rotation (degrees)',
        yLabel: title.toLowerCase(),
        ...(key === 'ece' ? {} : { yDomain: [0, 1] as const }),
        lines: names.map((name) => {
          const own = scores.filter((s) => s.predictive === name);
          return { label: name, x: own.map((s) => s.degrees), y: own.map((s) => s[key]) };
        }),
      }),
    };
  });
}

/** How well one predictive tells out-of-distribution images from the test images. */
export interface OutOfDistributionScores {
  predictive: string;
  entropyIn: number;
  entropyOut: number;
  confidenceIn: number;
  confidenceOut: number;
  /** P(entropy of an OOD image > entropy of a test image), ties counting half. */
  aurocEntropy: number;
  /** P(confidence of a test image > confidence of an OOD image), ties counting half. */
  aurocConfidence: number;
}

export function outOfDistributionScores(
  predictives: readonly ImagePredictive[],
  inDistribution: ImageBatch | ImageDataset,
  outOfDistribution: ImageBatch,
  nClasses = FASHION_MNIST_CLASSES.length,
): OutOfDistributionScores[] {
  return predictives.map((predictive) => {
    const inside = probabilityTable(predictive, inDistribution, nClasses);
    const outside = probabilityTable(predictive, outOfDistribution, nClasses);
    const entropyIn = predictiveEntropy(inside);
    const entropyOut = predictiveEntropy(outside);
    const confidenceIn = confidence(inside);
    const confidenceOut = confidence(outside);
    return {
      predictive: predictive.name,
      entropyIn: mean(entropyIn),
      entropyOut: mean(entropyOut),
      confidenceIn: mean(confidenceIn),
      confidenceOut: mean(confidenceOut),
      aurocEntropy: auroc(entropyOut, entropyIn),
      aurocConfidence: auroc(confidenceIn, confidenceOut),
    };
  });
}

export function outOfDistributionTable(scores: readonly OutOfDistributionScores[]): Table {
  return {
    caption:
      'Fashion-MNIST test images against the UCI digits (out of distribution): mean predictive entropy and confidence of each, and the AUROC of telling them apart by each (0.5 is chance)',
    columns: [
      'predictive',
      'entropy (test)',
      'entropy (digits)',
      'confidence (test)',
      'confidence (digits)',
      'AUROC entropy',
      'AUROC confidence',
    ],
    rows: scores.map((s) => ({
      predictive: s.predictive,
      'entropy (test)': s.entropyIn,
      'entropy (digits)': s.entropyOut,
      'confidence (test)': s.confidenceIn,
      'confidence (digits)': s.confidenceOut,
      'AUROC entropy': s.aurocEntropy,
      'AUROC confidence': s.aurocConfidence,
    })),
    best: { 'AUROC entropy': 'max', 'AUROC confidence': 'max' },
  };
}

/**
 * The claims: each predictive other than `baseline` has a lower NLL and ECE
 * averaged over the rotated sets beyond 0°, and a higher OOD AUROC by entropy,
 * than the baseline.
 */
export function shiftClaims(
  rotation: readonly RotationScores[],
  outOfDistribution: readonly OutOfDistributionScores[],
  baseline = 'MAP',
): Claim[] {
  const shifted = (name: string, key: 'nll' | 'ece') =>
    mean(rotation.filter((s) => s.predictive === name && s.degrees !== 0).map((s) => s[key]));
  const others = [...new Set(rotation.map((s) => s.predictive))].filter((name) => name !== baseline);
  const id = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const claims: Claim[] = [];
  for (const name of others) {
    for (const key of ['nll', 'ece'] as const) {
      const mine = shifted(name, key);
      const theirs = shifted(baseline, key);
      const what = key === 'nll' ? 'NLL' : 'ECE';
      claims.push({
        id: `images-rotation-${key}-${id(name)}`,
        statement: `${name} has a lower ${what} than the ${baseline} on rotated images`,
        holds: mine < theirs,
        evidence: `mean ${what} over the rotations beyond 0°: ${mine.toFixed(3)} against ${theirs.toFixed(3)}`,
      });
    }
    const mine = outOfDistribution.find((s) => s.predictive === name);
    const theirs = outOfDistribution.find((s) => s.predictive === baseline);
    if (mine && theirs) {
      claims.push({
        id: `images-ood-${id(name)}`,
        statement: `${name} tells the digits from clothing by entropy better than the ${baseline}`,
        holds: mine.aurocEntropy > theirs.aurocEntropy,
        evidence: `AUROC ${mine.aurocEntropy.toFixed(3)} against ${theirs.aurocEntropy.toFixed(3)}`,
      });
    }
  }
  return claims;
}

/** What trains the predictives: a sentence on the network and how it was fitted, and the predictives, the MAP among them. */
export interface ImageModels {
  network: string;
  predictives: ImagePredictive[];
}

/**
 * The part, once something trains the predictives: `makeModels` gets the
 * data and returns the MAP (named `baseline`) and the predictives to compare
 * with it.
 */
export function imagesPart(
  options: DemoOptions,
  makeModels: (data: ImagesData, options: DemoOptions) => ImageModels,
  baseline = 'MAP',
): PartResult {
  const start = performance.now();
  const data = imagesData(options);
  const { network, predictives } = makeModels(data, options);
  const rotation = rotationScores(predictives, data.rotated, data.data.test.labels);
  const ood = outOfDistributionScores(predictives, data.data.test, data.outOfDistribution);
  return {
    title: 'Images: Fashion-MNIST under rotation, and digits that are not clothing',
    intro: [
      `${data.data.description}. ${network}`,
      `Each predictive is scored on the test images rotated by ${data.rotated.map((s) => `${s.degrees}°`).join(', ')} (as in Ovadia et al. 2019), and on the ${data.outOfDistribution.shape[0].toLocaleString('en')} UCI handwritten digits resized into MNIST's 20×20 box, which are out of distribution.`,
    ],
    tables: [...rotationTables(rotation), outOfDistributionTable(ood)],
    figures: [rotationFigures(rotation)],
    claims: shiftClaims(rotation, ood, baseline),
    notes: [],
    seconds: (performance.now() - start) / 1000,
  };
}
