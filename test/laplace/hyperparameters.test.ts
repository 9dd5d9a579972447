import { fc, test as propTest } from '@fast-check/vitest';
import { Matrix, solve } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { ValueError } from '../../src/errors.js';
import {
  type BaseLaplace,
  type HessianStructure,
  type HyperparameterResult,
  laplace,
} from '../../src/laplace/index.js';
import { Linear, Sequential } from '../../src/nn/index.js';
import { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { makeMlp, randomInputs, regressionData } from './oracle.js';

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

/**
 * A single Linear layer at its least-squares weights for targets s·y: θ*(s) = s·θ*(1)
 * and H does not depend on θ. The evidence is then equivariant: its maximiser is
 * δ(s) = δ(1)/s², σ(s) = s·σ(1), and its value drops by N·K·log s (the density of s·y).
 */
describe('the evidence maximiser is scale-equivariant, at any scale', () => {
  const n = 40;
  const d = 3;
  const X = randomInputs(n, d, 7);
  const noise = randomInputs(n, 1, 8);
  const y = X.map((x, i) => 0.3 + 0.5 * x[0]! - x[1]! + 2 * x[2]! + 0.1 * noise[i]![0]!);

  const leastSquaresModel = (scale: number) => {
    const A = new Matrix(X.map((x) => [...x, 1]));
    const w = solve(A, Matrix.columnVector(y.map((v) => scale * v))).to1DArray();
    return new Sequential([
      Linear.fromParameters(
        new Tensor(Float64Array.from(w.slice(0, d)), [1, d]),
        new Tensor(Float64Array.of(w[d]!), [1]),
      ),
    ]);
  };
  const tuned = (
    scale: number,
    structure: HessianStructure,
    noise: boolean,
    start = { prior: 1, sigma: 1 },
  ) => {
    const la = laplace(leastSquaresModel(scale), {
      likelihood: 'regression',
      hessianStructure: structure,
      subsetOfWeights: 'all',
      priorPrecision: start.prior,
      sigmaNoise: noise ? start.sigma : scale,
      rank: 4,
    }).fit(
      X,
      y.map((v) => [scale * v]),
    );
    const before = la.logMarginalLikelihood();
    const result = noise
      ? la.optimizeHyperparameters({ tol: 1e-12 })
      : la.optimizePriorPrecision({ priorStructure: 'layerwise', tol: 1e-12, maxIter: 5000 });
    return { la, before, result };
  };

  propTest.prop(
    [
      fc.integer({ min: -10, max: 10 }),
      fc.constantFrom<HessianStructure>('full', 'diag', 'kron', 'lowrank'),
      fc.boolean(),
    ],
    { numRuns: 24 },
  )('scale 10^%i, %s, noise tuned: %s', (exponent, structure, noise) => {
    const scale = 10 ** exponent;
    const reference = tuned(1, structure, noise).result;
    const { before, result } = tuned(scale, structure, noise);
    expect(result.logMarginalLikelihood).toBeGreaterThanOrEqual(before);
    const delta = (p: HyperparameterResult) =>
      typeof p.priorPrecision === 'number' ? [p.priorPrecision] : Array.from(p.priorPrecision);
    expectClose(
      delta(result).map((v) => v * scale * scale),
      delta(reference),
      { rtol: 1e-6 },
    );
    expect(result.sigmaNoise / scale).toBeCloseTo(reference.sigmaNoise, 6);
    expect(result.logMarginalLikelihood + n * Math.log(scale)).toBeCloseTo(
      reference.logMarginalLikelihood,
      5,
    );
  });

  test('started at the maximiser, tuning ends there (targets scaled by 1e7 and 1e-8)', () => {
    for (const structure of ['full', 'diag', 'kron', 'lowrank'] as const) {
      const reference = tuned(1, structure, true).result;
      for (const scale of [1e7, 1e-8]) {
        const start = {
          prior: (reference.priorPrecision as number) / scale ** 2,
          sigma: reference.sigmaNoise * scale,
        };
        const { before, result } = tuned(scale, structure, true, start);
        expect(result.logMarginalLikelihood).toBeGreaterThanOrEqual(before - 1e-9 * Math.abs(before));
        expect((result.priorPrecision as number) * scale ** 2).toBeCloseTo(
          reference.priorPrecision as number,
          6,
        );
      }
    }
  });
});

describe('where the evidence has no maximiser, tuning says so', () => {
  const model = makeMlp([2, 3, 1], 'tanh', 5);
  const { X, Y } = regressionData(12, 2, 1, 5);

  test('θ* = μ₀: the evidence increases as δ → ∞', () => {
    for (const hessianStructure of ['full', 'diag', 'kron', 'lowrank'] as const) {
      const probe = laplace(model, { likelihood: 'regression', hessianStructure, subsetOfWeights: 'all' });
      const la = laplace(model, {
        likelihood: 'regression',
        hessianStructure,
        subsetOfWeights: 'all',
        priorMean: probe.mean,
      }).fit(X, Y);
      expect(() => la.optimizePriorPrecision()).toThrow(/→ ∞: the MAP weights equal the prior mean/);
      expect(() => la.optimizePriorPrecision({ priorStructure: 'layerwise' })).toThrow(ValueError);
    }
  });

  test('H = 0 (all inputs zero, no bias): the evidence increases as δ → 0', () => {
    const linear = makeMlp([2, 1], 'tanh', 5, false);
    for (const hessianStructure of ['full', 'diag', 'kron', 'lowrank'] as const) {
      const la = laplace(linear, { likelihood: 'regression', hessianStructure, subsetOfWeights: 'all' }).fit(
        [
          [0, 0],
          [0, 0],
        ],
        [[1], [2]],
      );
      expect(() => la.optimizePriorPrecision()).toThrow(/→ 0: the curvature H is zero/);
    }
  });
});
