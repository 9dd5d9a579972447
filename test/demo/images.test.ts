import { describe, expect, it } from 'vitest';
import {
  type ImagePredictive,
  imagesData,
  imagesPart,
  outOfDistributionScores,
  outOfDistributionTable,
  QUICK_ANGLES,
  type RotationScores,
  rotationFigures,
  rotationScores,
  rotationTables,
  shiftClaims,
} from '../../demo/images.js';
import type { ImageDataset } from '../../src/data/idx.js';
import type { ImageShape } from '../../src/data/images.js';
import { accuracy, classificationNll, confidence, expectedCalibrationError } from '../../src/metrics.js';
import { tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';

const silent = { write() {} };

/** A stand-in classifier needing no layers: softmax of −β·‖x − class mean‖²/pixels. */
function nearestMean(name: string, train: ImageDataset, beta: number): ImagePredictive {
  const pixels = train.shape[1] * train.shape[2] * train.shape[3];
  const means = new Float64Array(10 * pixels);
  const counts = new Float64Array(10);
  train.labels.forEach((y, n) => {
    counts[y]!++;
    for (let q = 0; q < pixels; q++) means[y * pixels + q]! += train.images[n * pixels + q]!;
  });
  for (let k = 0; k < 10; k++) for (let q = 0; q < pixels; q++) means[k * pixels + q]! /= counts[k]!;
  return {
    name,
    probabilities(images: Float64Array, shape: ImageShape) {
      const out = new Float64Array(shape[0] * 10);
      for (let n = 0; n < shape[0]; n++) {
        const logits = Array.from({ length: 10 }, (_, k) => {
          let d = 0;
          for (let q = 0; q < pixels; q++) d += (images[n * pixels + q]! - means[k * pixels + q]!) ** 2;
          return (-beta * d) / pixels;
        });
        const top = Math.max(...logits);
        const e = logits.map((l) => Math.exp(l - top));
        const z = e.reduce((a, b) => a + b, 0);
        for (let k = 0; k < 10; k++) out[n * 10 + k] = e[k]! / z;
      }
      return out;
    },
  };
}

const uniform: ImagePredictive = {
  name: 'uniform',
  probabilities: (_, shape) => new Float64Array(shape[0] * 10).fill(0.1),
};

describe('the image experiment without a network', () => {
  const data = imagesData({ quick: true });
  const predictives = [
    nearestMean('MAP', data.data.train, 200),
    nearestMean('tempered', data.data.train, 20),
    uniform,
  ];

  it('reads the quick data: 20 test images per class, five angles, a third of the digits', () => {
    expect(data.data.test.shape[0]).toBe(200);
    expect(data.rotated.map((s) => s.degrees)).toEqual(QUICK_ANGLES);
    expect(data.outOfDistribution.shape).toEqual([599, 1, 28, 28]); // every third of the 1,797 digits
  });

  it('scores every predictive at every angle with the metrics of src/metrics', () => {
    const scores = rotationScores(predictives, data.rotated, data.data.test.labels);
    expect(scores).toHaveLength(3 * QUICK_ANGLES.length);
    const at90 = scores.find((s) => s.predictive === 'tempered' && s.degrees === 90)!;
    const set = data.rotated.find((s) => s.degrees === 90)!;
    const probs = tensor(predictives[1]!.probabilities(set.images, set.shape), [200, 10]);
    const labels = data.data.test.labels;
    expectClose(
      [at90.accuracy, at90.nll, at90.ece],
      [accuracy(probs, labels), classificationNll(probs, labels), expectedCalibrationError(probs, labels)],
    );
    expectClose([at90.confidence], [confidence(probs).reduce((a, b) => a + b, 0) / 200]);
    // AUROC against the upright images by entropy, as the direct count over all pairs (ties half).
    const upright = data.rotated.find((s) => s.degrees === 0)!;
    const entropies = (batch: typeof set) => {
      const p = predictives[1]!.probabilities(batch.images, batch.shape);
      return Array.from(
        { length: 200 },
        (_, n) => -p.subarray(n * 10, n * 10 + 10).reduce((h, q) => h + (q > 0 ? q * Math.log(q) : 0), 0),
      );
    };
    const rotatedH = entropies(set);
    const uprightH = entropies(upright);
    let wins = 0;
    for (const a of rotatedH) for (const b of uprightH) wins += a > b ? 1 : a === b ? 0.5 : 0;
    expectClose([at90.aurocEntropy], [wins / (200 * 200)]);
    expect(scores.find((s) => s.predictive === 'tempered' && s.degrees === 0)!.aurocEntropy).toBe(0.5);
    // The stand-in works on upright clothing and fails on clothing turned upside down.
    const map = (degrees: number) => scores.find((s) => s.predictive === 'MAP' && s.degrees === degrees)!;
    expect(map(0).accuracy).toBeGreaterThan(0.5);
    expect(map(180).accuracy).toBeLessThan(map(0).accuracy);
    for (const s of scores.filter((r) => r.predictive === 'uniform')) {
      expectClose([s.nll, s.confidence], [Math.log(10), 0.1]);
    }
  });

  it('lays the scores out as one table per score with a column per angle, and three figures', () => {
    const scores = rotationScores(predictives, data.rotated, data.data.test.labels);
    const tables = rotationTables(scores);
    expect(tables.map((t) => t.caption?.split(' on ')[0])).toEqual([
      'Accuracy',
      'Mean confidence',
      'Test NLL',
      'ECE',
      'Brier score',
      'AUROC by entropy against the upright images',
    ]);
    for (const table of tables) {
      expect(table.columns).toEqual(['predictive', '0°', '30°', '60°', '90°', '180°']);
      expect(table.rows.map((r) => r['predictive'])).toEqual(['MAP', 'tempered', 'uniform']);
    }
    expect(tables[0]!.rows[1]!['90°']).toBe(
      scores.find((s) => s.predictive === 'tempered' && s.degrees === 90)!.accuracy,
    );
    const figures = rotationFigures(scores);
    expect(figures.map((f) => f.name)).toEqual([
      'images-rotation-accuracy',
      'images-rotation-confidence',
      'images-rotation-ece',
    ]);
    for (const figure of figures) expect(figure.svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });

  it('scores out-of-distribution detection: chance for a constant predictive', () => {
    const scores = outOfDistributionScores(predictives, data.data.test, data.outOfDistribution);
    const flat = scores.find((s) => s.predictive === 'uniform')!;
    expect([flat.aurocEntropy, flat.aurocConfidence]).toEqual([0.5, 0.5]);
    expectClose([flat.entropyIn, flat.entropyOut], [Math.log(10), Math.log(10)]);
    const table = outOfDistributionTable(scores);
    expect(table.rows).toHaveLength(3);
    expect(table.rows[2]!['AUROC entropy']).toBe(0.5);
  });
});

describe('shiftClaims', () => {
  const row = (predictive: string, degrees: number, nll: number, ece: number): RotationScores => ({
    predictive,
    degrees,
    accuracy: 0.5,
    nll,
    ece,
    brier: 0.5,
    confidence: 0.5,
    aurocEntropy: 0.5,
  });

  it('compares the mean over the rotations beyond 0° with the baseline, and the OOD AUROC', () => {
    const rotation = [
      row('MAP', 0, 0.1, 0.01),
      row('MAP', 90, 2, 0.3),
      row('MAP', 180, 4, 0.5),
      row('LA', 0, 9, 9), // the unrotated set does not count
      row('LA', 90, 1, 0.35),
      row('LA', 180, 2, 0.5),
    ];
    const ood = [
      { predictive: 'MAP', aurocEntropy: 0.7 },
      { predictive: 'LA', aurocEntropy: 0.8 },
    ].map((s) => ({
      ...s,
      entropyIn: 0,
      entropyOut: 0,
      confidenceIn: 0,
      confidenceOut: 0,
      aurocConfidence: 0,
    }));
    const claims = shiftClaims(rotation, ood);
    expect(claims.map((c) => [c.id, c.holds])).toEqual([
      ['images-rotation-nll-la', true],
      ['images-rotation-ece-la', false],
      ['images-ood-la', true],
    ]);
    expect(claims[0]!.evidence).toBe('mean NLL over the rotations beyond 0°: 1.500 against 3.000');
  });
});

describe('imagesPart', () => {
  it('assembles the part from the predictives it is given', () => {
    const part = imagesPart({ quick: true, progress: silent }, ({ data: { train } }) => ({
      network: 'Nearest class means.',
      predictives: [nearestMean('MAP', train, 200), nearestMean('tempered', train, 20)],
    }));
    // The summary, six per-angle tables, the digits and the timings.
    expect(part.tables).toHaveLength(9);
    expect(part.tables[0]!.rows.map((r) => r['predictive'])).toEqual(['MAP', 'tempered']);
    expect(part.figures.map((row) => row.map((f) => f.name))).toEqual([
      ['images-rotation-accuracy', 'images-rotation-confidence', 'images-rotation-ece'],
      ['images-reliability'],
      ['images-confidence-grid'],
    ]);
    // Two rows (most, least confident) of six PNG pictures per predictive.
    expect(part.figures[2]![0]!.svg.match(/href="data:image\/png;base64,/g)).toHaveLength(2 * 2 * 6);
    expect(part.claims.map((c) => c.id)).toEqual([
      'images-rotation-nll-tempered',
      'images-rotation-ece-tempered',
      'images-ood-tempered',
      'images-rotated-auroc-tempered',
    ]);
    expect(part.notes.some((n) => /In distribution, .* NLL/.test(n))).toBe(true);
    expect(part.intro[0]).toMatch(/Fashion-MNIST.*Nearest class means\./);
  });
});
