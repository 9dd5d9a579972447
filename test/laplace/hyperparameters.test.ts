import { describe, expect, test } from 'vitest';
import { type BaseLaplace, laplace } from '../../src/laplace/index.js';
import { expectClose } from '../helpers.js';
import { makeMlp, regressionData } from './oracle.js';

describe('hyperparameters by the marginal likelihood', () => {
  const model = makeMlp([2, 6, 1], 'tanh', 21);
  const { X, Y } = regressionData(30, 2, 1, 21);

  const stationary = (la: BaseLaplace, set: (v: number) => void, get: () => number) => {
    const v0 = get();
    const h = 1e-4;
    set(v0 * Math.exp(h));
    const up = la.logMarginalLikelihood();
    set(v0 * Math.exp(-h));
    const down = la.logMarginalLikelihood();
    set(v0);
    const mid = la.logMarginalLikelihood();
    // d/d log v ≈ 0 at the optimum, and it is a maximum.
    expect(Math.abs((up - down) / (2 * h))).toBeLessThan(1e-4 * Math.max(1, Math.abs(mid)));
    expect(mid).toBeGreaterThanOrEqual(Math.max(up, down) - 1e-9);
  };

  const stationaryInEachLayer = (la: BaseLaplace) => {
    const values = la.priorPrecision as number[];
    for (let g = 0; g < values.length; g++) {
      stationary(
        la,
        (v) => {
          const next = values.slice();
          next[g] = v;
          la.priorPrecision = next;
        },
        () => (la.priorPrecision as number[])[g]!,
      );
    }
  };

  const stationaryInPriorAndNoise = (la: BaseLaplace) => {
    stationary(
      la,
      (v) => {
        la.priorPrecision = v;
      },
      () => la.priorPrecision as number,
    );
    stationary(
      la,
      (v) => {
        la.sigmaNoise = v;
      },
      () => la.sigmaNoise,
    );
  };

  for (const structure of ['full', 'diag', 'kron', 'lowrank'] as const) {
    test(`${structure}: scalar prior and noise at a stationary point`, () => {
      const la = laplace(model, {
        likelihood: 'regression',
        subsetOfWeights: 'all',
        hessianStructure: structure,
      });
      la.fit(X, Y);
      const result = la.optimizeHyperparameters();
      expect(result.logMarginalLikelihood).toBeCloseTo(la.logMarginalLikelihood(), 10);
      stationaryInPriorAndNoise(la);
    });
  }

  test('full with fewer data rows than weights (Gram-matrix spectrum): stationary point', () => {
    const wide = makeMlp([2, 12, 1], 'tanh', 22);
    const data = regressionData(15, 2, 1, 22);
    const la = laplace(wide, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
    }).fit(data.X, data.Y);
    expect(la.nParams).toBeGreaterThan(15);
    la.optimizeHyperparameters();
    stationaryInPriorAndNoise(la);
  });

  test('full: per-layer prior by the fixed-point update reaches a stationary point', () => {
    const la = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
    }).fit(X, Y);
    la.optimizePriorPrecision({ priorStructure: 'layerwise', tol: 1e-10, maxIter: 2000 });
    expect(la.priorPrecision).toHaveLength(4);
    stationaryInEachLayer(la);
  });

  test('kron: per-layer prior is exact', () => {
    const la = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'kron',
    }).fit(X, Y);
    la.optimizePriorPrecision({ priorStructure: 'layerwise' });
    stationaryInEachLayer(la);
  });

  test("laplace-torch's Adam procedure, run long, reaches the exact maximiser", () => {
    for (const hessianStructure of ['full', 'kron'] as const) {
      const opts = {
        likelihood: 'regression' as const,
        subsetOfWeights: 'all' as const,
        hessianStructure,
        sigmaNoise: 0.3,
      };
      const exact = laplace(model, opts).fit(X, Y);
      exact.optimizePriorPrecision({ priorStructure: 'layerwise' });
      const adamed = laplace(model, opts).fit(X, Y);
      adamed.optimizePriorPrecision({
        priorStructure: 'layerwise',
        optimizer: 'adam',
        nSteps: 3000,
        lr: 0.02,
      });
      expectClose(adamed.priorPrecision as number[], exact.priorPrecision as number[], { rtol: 1e-3 });
      // With the default 100 steps from p₀ = 1, the evidence rises.
      const start = laplace(model, opts).fit(X, Y);
      const before = start.logMarginalLikelihood();
      expect(start.optimizePriorPrecision({ optimizer: 'adam' }).logMarginalLikelihood).toBeGreaterThan(
        before,
      );
    }
  });

  test('gridsearch picks the grid value with the best validation likelihood', () => {
    const la = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'diag',
      sigmaNoise: 0.3,
    }).fit(X, Y);
    const val = regressionData(10, 2, 1, 99);
    const result = la.optimizePriorPrecision({ method: 'gridsearch', valX: val.X, valY: val.Y, gridSize: 9 });
    expect(result.iterations).toBe(9);
    expect(
      [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4].some(
        (g) => Math.abs((result.priorPrecision as number) / g - 1) < 1e-9,
      ),
    ).toBe(true);
  });
});
