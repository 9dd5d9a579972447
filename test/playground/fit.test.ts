/** The playground's fitting module (what the worker runs) in Node. */
import { test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  CLASSIFICATION_VIEW,
  type ClassificationMap,
  checkPoints,
  DEFAULT_SETTINGS,
  evidenceByDepth,
  type FitSettings,
  fitLaplace,
  fitPlayground,
  MAX_FULL_PARAMS,
  type Point,
  REGRESSION_VIEW,
  type RegressionCurve,
  trainingKey,
  trainMap,
} from '../../playground/fit.js';
import { gapRegression, twoMoons } from '../../src/data/toy.js';
import type { RegressionPrediction } from '../../src/index.js';

/** Small and quick, still enough to fit the toy sets. */
const SETTINGS: FitSettings = { ...DEFAULT_SETTINGS, width: 16, epochs: 600, learningRate: 0.02 };

function gapPoints(n: number): Point[] {
  const { train } = gapRegression({ nTrain: n, noise: 0.05, seed: 3 });
  return train.X.map(([x], i) => ({ x: x!, y: train.y[i]!, label: 0 }));
}

function moonPoints(n: number): Point[] {
  const { X, y } = twoMoons({ n, noise: 0.1, seed: 4 });
  return X.map(([a, b], i) => ({ x: a!, y: b!, label: y[i]! }));
}

const meanOf = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('fitPlayground, regression', () => {
  const points = gapPoints(30);
  const { result, key, map } = fitPlayground('regression', points, SETTINGS, REGRESSION_VIEW);
  const curve = result.prediction as RegressionCurve;

  test('the curve covers the view and the mean fits the data', () => {
    expect(curve.xs[0]).toBe(REGRESSION_VIEW.xMin);
    expect(curve.xs.at(-1)).toBeCloseTo(REGRESSION_VIEW.xMax, 12);
    const residuals = points.map((p) => {
      const i = curve.xs.findIndex((x) => x >= p.x);
      return (curve.mean[i]! - Math.sin(3 * p.x)) ** 2;
    });
    expect(Math.sqrt(meanOf(residuals))).toBeLessThan(0.2);
  });

  test('predictive variance = functional variance + σ², functional variance = diag J P⁻¹ Jᵀ', () => {
    const la = fitLaplace('regression', points, map.model, SETTINGS);
    expect(la.sigmaNoise).toBeCloseTo(result.sigmaNoise, 10);
    const direct = la.predict(
      curve.xs.map((x) => [x]),
      { predType: 'glm' },
    ) as RegressionPrediction;
    const covariance = direct.functionalCovariance.data; // [n, 1, 1]
    curve.xs.forEach((_, i) => {
      expect(curve.functionalStd[i]! ** 2).toBeCloseTo(covariance[i]!, 8);
      expect(curve.predictiveStd[i]! ** 2).toBeCloseTo(covariance[i]! + result.sigmaNoise ** 2, 8);
    });
  });

  test('uncertainty is larger in the gap and beyond the data than on it', () => {
    const over = (a: number, b: number) =>
      meanOf(curve.functionalStd.filter((_, i) => curve.xs[i]! >= a && curve.xs[i]! <= b));
    const onData = (over(-1.9, -0.7) + over(0.7, 1.9)) / 2;
    expect(over(-0.3, 0.3)).toBeGreaterThan(2 * onData);
    expect(over(2.5, 3)).toBeGreaterThan(2 * onData);
  });

  test('tuning raises the evidence above that of the starting hyperparameters', () => {
    const untuned = fitLaplace('regression', points, map.model, { ...SETTINGS, tune: false });
    expect(result.logMarginalLikelihood).toBeGreaterThan(untuned.logMarginalLikelihood());
    expect(result.networkParams).toBe(map.model.nParams);
    expect(result.posteriorParams).toBe(map.model.nParams);
  });

  test('a posterior-only change reuses the trained network; an architecture change retrains', () => {
    const diag = { ...SETTINGS, posterior: 'diag' as const, predType: 'nn' as const };
    const again = fitPlayground('regression', points, diag, REGRESSION_VIEW, undefined, { key, map });
    expect(again.key).toBe(key);
    expect(again.map).toBe(map);
    expect(again.result.trainMs).toBe(0);
    expect(trainingKey('regression', points, { ...SETTINGS, width: 8 }, SETTINGS.hiddenLayers)).not.toBe(key);
    expect(
      trainingKey('regression', points, { ...SETTINGS, sigmaNoise: 0.3 }, SETTINGS.hiddenLayers),
    ).not.toBe(key);
  });

  test('last-layer Laplace treats only the last layer as random', () => {
    const last = fitPlayground(
      'regression',
      points,
      { ...SETTINGS, posterior: 'lastLayer' },
      REGRESSION_VIEW,
      undefined,
      {
        key,
        map,
      },
    );
    expect(last.result.posteriorParams).toBe(SETTINGS.width + 1);
  });
});

describe('fitPlayground, classification', () => {
  const points = moonPoints(60);
  const settings = { ...SETTINGS, posterior: 'kron' as const };
  const { result, key, map } = fitPlayground('classification', points, settings, CLASSIFICATION_VIEW);
  const probs = (result.prediction as ClassificationMap).probs;

  test('a probability map on the grid that agrees with the network and classifies the points', () => {
    const grid = result.prediction as ClassificationMap;
    expect(probs).toHaveLength(grid.nx * grid.ny);
    expect(probs.every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(Number.isNaN(result.sigmaNoise)).toBe(true);
    // The probit predictive softens the MAP network's logits but, on a binary problem, keeps
    // its decision wherever the network is not on the fence.
    const logits = map.model.forward(grid.ys.flatMap((y) => grid.xs.map((x) => [x, y]))).data;
    const clear = probs
      .map((p, i) => [logits[2 * i + 1]! - logits[2 * i]!, p] as const)
      .filter(([margin]) => Math.abs(margin) > 0.5);
    expect(clear.filter(([margin, p]) => margin > 0 === p > 0.5).length / clear.length).toBeGreaterThan(0.97);
    // Under the prior δ = 1 the MAP is smooth, and still separates most of the two moons.
    const out = map.model.forward(points.map((p) => [p.x, p.y])).data;
    const correct = points.filter((p, i) => out[2 * i + 1]! > out[2 * i]! === (p.label === 1)).length;
    expect(correct / points.length).toBeGreaterThan(0.8);
  });

  test('every link approximation gives probabilities; the MAP network is shared', () => {
    for (const linkApprox of ['bridge', 'bridgeNorm', 'mc'] as const) {
      const other = fitPlayground(
        'classification',
        points,
        { ...settings, linkApprox },
        CLASSIFICATION_VIEW,
        undefined,
        { key, map },
      );
      const q = (other.result.prediction as ClassificationMap).probs;
      expect(other.result.trainMs).toBe(0);
      expect(q.every((p) => p >= 0 && p <= 1)).toBe(true);
      // Same posterior, other link: the decision (p > ½) agrees on most of the grid.
      const agree = q.filter((p, i) => p > 0.5 === probs[i]! > 0.5).length;
      expect(agree / q.length).toBeGreaterThan(0.9);
    }
  });
});

describe('points and depths', () => {
  test('too few points, or one class only, are refused with a message', () => {
    expect(() => checkPoints('regression', [{ x: 0, y: 0, label: 0 }])).toThrow(/at least 2 points/);
    expect(() =>
      checkPoints(
        'classification',
        moonPoints(10).map((p) => ({ ...p, label: 0 })),
      ),
    ).toThrow(/both classes/);
    expect(() => checkPoints('classification', moonPoints(10))).not.toThrow();
  });

  test('a full Hessian too large for the page is refused before any work, naming the way out', () => {
    const points = gapPoints(4);
    const wide = { ...SETTINGS, width: 64, hiddenLayers: 2, epochs: 1 };
    const { model } = trainMap('regression', points, wide, 2);
    expect(model.nParams).toBeGreaterThan(MAX_FULL_PARAMS);
    expect(() => fitLaplace('regression', points, model, wide)).toThrow(/too large.*Kronecker-factored/);
    expect(fitLaplace('regression', points, model, { ...wide, posterior: 'kron' }).nParams).toBe(
      model.nParams,
    );
  });

  test('evidence by depth: one finite log evidence per depth, each that depth’s tuned evidence', () => {
    const points = gapPoints(16);
    const settings = { ...SETTINGS, epochs: 150, width: 8, tune: false };
    const results = evidenceByDepth('regression', points, settings, 2);
    expect(results.map((r) => r.hiddenLayers)).toEqual([1, 2]);
    const single = fitPlayground(
      'regression',
      points,
      { ...settings, tune: true, hiddenLayers: 2 },
      REGRESSION_VIEW,
    );
    expect(results[1]!.logMarginalLikelihood).toBeCloseTo(single.result.logMarginalLikelihood, 8);
  });
});
