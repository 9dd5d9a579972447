import { inverse, Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { NotFittedError, ShapeError, ValueError } from '../../src/errors.js';
import {
  type HessianStructure,
  type LaplaceOptions,
  laplace,
  type OptimizePriorOptions,
  type PredictOptions,
} from '../../src/laplace/index.js';
import type { Layer } from '../../src/nn/index.js';
import { expectClose } from '../helpers.js';
import { makeMlp, regressionData } from './oracle.js';

describe('samples and moments', () => {
  const model = makeMlp([2, 3, 2], 'tanh', 31);
  const { X, Y } = regressionData(12, 2, 2, 31);
  for (const structure of ['full', 'diag', 'kron', 'lowrank'] as const) {
    test(`${structure}: sample covariance matches posteriorCovariance, which inverts posteriorPrecision`, () => {
      const la = laplace(model, {
        likelihood: 'regression',
        subsetOfWeights: 'all',
        hessianStructure: structure,
        priorPrecision: 2,
        sigmaNoise: 0.8,
        rank: 5,
      }).fit(X, Y);
      const cov = new Matrix(la.posteriorCovariance().toArray() as number[][]);
      const inv = inverse(new Matrix(la.posteriorPrecision().toArray() as number[][]));
      expectClose(cov.to1DArray(), inv.to1DArray(), { rtol: 1e-8, atol: 1e-10 });
      expectClose(
        la.posteriorVariance(),
        Array.from({ length: cov.rows }, (_, i) => cov.get(i, i)),
        { rtol: 1e-9, atol: 1e-12 },
      );
      const n = 20000;
      const samples = la.sample(n, 4).data;
      const p = la.nParams;
      for (let i = 0; i < p; i += 3) {
        for (let j = 0; j <= i; j += 2) {
          let s = 0;
          for (let t = 0; t < n; t++)
            s += (samples[t * p + i]! - la.mean[i]!) * (samples[t * p + j]! - la.mean[j]!);
          const se = Math.sqrt((cov.get(i, i) * cov.get(j, j) + cov.get(i, j) ** 2) / n);
          expect(Math.abs(s / n - cov.get(i, j))).toBeLessThan(6 * se);
        }
      }
    });
  }
});

describe('errors', () => {
  const model = makeMlp([2, 4, 2], 'tanh', 61);
  test('bad input gives typed errors', () => {
    const la = laplace(model, { likelihood: 'regression', hessianStructure: 'diag' });
    expect(() => la.predict([[0, 0]])).toThrow(NotFittedError);
    expect(() => la.logMarginalLikelihood()).toThrow(NotFittedError);
    expect(() => la.fit([[1, 2, 3]], [[0, 0]])).toThrow(ShapeError);
    expect(() => la.fit([[1, 2]], [[0, 0, 0]])).toThrow(ShapeError);
    expect(() => la.fit([[1, Number.NaN]], [[0, 0]])).toThrow(/non-finite value at row 0, column 1/);
    expect(() => laplace(model, { likelihood: 'regression', priorPrecision: -1 })).toThrow(ValueError);
    const swish = {
      layers: [model.layers[0]!, { type: 'swish' } as unknown as Layer, model.layers[2]!],
      inputShape: [2],
    };
    expect(() => laplace(swish, { likelihood: 'regression' })).toThrow(/holds something that is not a layer/);
    expect(() => laplace(model, { likelihood: 'regression', sigmaNoise: 0 })).toThrow(ValueError);
    expect(() => laplace(model, { likelihood: 'classification', sigmaNoise: 2 })).toThrow(ValueError);
    expect(() => laplace(model, { likelihood: 'regression', priorPrecision: [1, 2, 3] })).toThrow(ShapeError);
    const cls = laplace(model, { likelihood: 'classification', hessianStructure: 'diag' });
    expect(() => cls.fit([[1, 2]], [2])).toThrow(/y\[0\] = 2 is not a class index in 0..1/);
    expect(() => cls.fit([[1, 2]], [0.5])).toThrow(ValueError);
    expect(() =>
      laplace(model, {
        likelihood: 'regression',
        hessianStructure: 'kron',
        subsetOfWeights: { subnetwork: [0, 1] },
      }),
    ).toThrow(ValueError);
    expect(() =>
      laplace(model, {
        likelihood: 'regression',
        hessianStructure: 'full',
        subsetOfWeights: { subnetwork: [0, 99] },
      }),
    ).toThrow(/not in 0..21/);
    const kron = laplace(model, { likelihood: 'regression', hessianStructure: 'kron' });
    expect(() => {
      kron.priorPrecision = new Float64Array(kron.nParams).fill(1);
    }).toThrow(ValueError);
    const perParameter = new Float64Array(kron.nParams).fill(1);
    expect(() =>
      laplace(model, { likelihood: 'regression', hessianStructure: 'kron', priorPrecision: perParameter }),
    ).toThrow(/scalar or per layer/);
  });
});

describe('options are checked at the boundary', () => {
  const model = makeMlp([2, 4, 2], 'tanh', 61);
  const X = [
    [0.1, 0.2],
    [0.3, -0.4],
    [1, 2],
    [-1, 0.5],
  ];
  const Y = X.map(([a, b]) => [Math.sin(a!), Math.cos(b!)]);
  const fitted = (hessianStructure: HessianStructure = 'full') =>
    laplace(model, { likelihood: 'regression', hessianStructure, subsetOfWeights: 'all' }).fit(X, Y);

  test('unknown option names are a ValueError naming them', () => {
    expect(() =>
      laplace(model, { likelihood: 'regression', hessianStrucure: 'full' } as unknown as LaplaceOptions),
    ).toThrow(/unknown option 'hessianStrucure'/);
    expect(() => fitted().optimizePriorPrecision({ metod: 'gridsearch' } as OptimizePriorOptions)).toThrow(
      /unknown option 'metod'/,
    );
    expect(() => fitted().predict(X, { linkApprx: 'mc' } as PredictOptions)).toThrow(
      /unknown option 'linkApprx'/,
    );
    expect(() => fitted().optimizeHyperparameters({ optimizer: 'adam' } as never)).toThrow(
      /unknown option 'optimizer'/,
    );
  });

  test('a priorMean with NaN, Infinity or a non-number is a ValueError, not a NaN evidence', () => {
    const p = fitted().nParams;
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '1']) {
      const priorMean = new Array(p).fill(0);
      priorMean[3] = bad;
      expect(() => laplace(model, { likelihood: 'regression', subsetOfWeights: 'all', priorMean })).toThrow(
        /priorMean\[3\]/,
      );
    }
    expect(() => laplace(model, { likelihood: 'regression', priorMean: [Number.NaN] })).toThrow(ValueError);
  });

  test('a classifier needs at least two outputs', () => {
    expect(() => laplace(makeMlp([2, 3, 1], 'tanh', 1), { likelihood: 'classification' })).toThrow(
      /classification needs at least 2 outputs/,
    );
  });

  test('bad values of the tuning options are a ValueError naming the option', () => {
    const bad: [OptimizePriorOptions, RegExp][] = [
      [{ optimizer: 'bogus' as 'adam' }, /optimizer/],
      [{ priorStructure: 'bogus' as 'diag' }, /priorStructure/],
      [{ method: 'bogus' as 'marglik' }, /method/],
      [{ maxIter: -1 }, /maxIter/],
      [{ maxIter: 2.5 }, /maxIter/],
      [{ tol: Number.NaN }, /tol/],
      [{ tol: -1 }, /tol/],
      [{ method: 'gridsearch', valX: X, valY: Y, gridSize: 2.5 }, /gridSize/],
      [{ method: 'gridsearch', valX: X, valY: Y, gridSize: 0 }, /gridSize/],
      [{ method: 'gridsearch', valX: X, valY: Y, logPriorPrecisionMin: Number.NaN }, /logPriorPrecisionMin/],
      [
        { method: 'gridsearch', valX: X, valY: Y, logPriorPrecisionMax: Number.POSITIVE_INFINITY },
        /logPriorPrecisionMax/,
      ],
      [
        { method: 'gridsearch', valX: X, valY: Y, logPriorPrecisionMin: 2, logPriorPrecisionMax: 1 },
        /logPriorPrecisionMin/,
      ],
      [{ optimizer: 'adam', lr: Number.NaN }, /lr/],
      [{ optimizer: 'adam', nSteps: 1.5 }, /nSteps/],
    ];
    for (const [options, message] of bad) {
      expect(() => fitted('diag').optimizePriorPrecision(options), JSON.stringify(options)).toThrow(message);
    }
    expect(() => fitted().optimizeHyperparameters({ priorStructure: 'bogus' as 'diag' })).toThrow(
      /priorStructure/,
    );
    expect(() => fitted().optimizeHyperparameters({ maxIter: -1 })).toThrow(/maxIter/);
  });
});

describe('non-finite numbers are reported where they arise', () => {
  const model = makeMlp([2, 4, 2], 'tanh', 61);
  const X = [
    [0.1, 0.2],
    [0.3, -0.4],
  ];
  const Y = [
    [1, 2],
    [3, 4],
  ];

  test('inputs so large that the curvature overflows: a ValueError saying so, not NotPositiveDefinite', () => {
    for (const hessianStructure of ['full', 'diag', 'kron', 'lowrank'] as const) {
      const la = laplace(model, { likelihood: 'regression', hessianStructure, subsetOfWeights: 'all' });
      let error: unknown;
      try {
        la.fit([[1e300, 1e300], ...X], [[0, 0], ...Y]);
        la.logMarginalLikelihood();
      } catch (e) {
        error = e;
      }
      expect(error, hessianStructure).toBeInstanceOf(ValueError);
      expect((error as Error).message).toMatch(/not finite/);
      expect((error as Error).message).toMatch(/example 0/);
    }
  });

  test('a model with a non-finite weight (diverged training) is a ValueError naming the weight', () => {
    const diverged = makeMlp([2, 4, 2], 'tanh', 61);
    diverged.layers[0]!.parameters()[0]!.data[2] = Number.NaN;
    expect(() => laplace(diverged, { likelihood: 'regression' }).fit(X, Y)).toThrow(/weight 2 .*NaN/);
  });

  test('predicting at inputs that overflow the network is a ValueError', () => {
    // Linear in x: the output and its Jacobian grow with the input.
    const linear = makeMlp([2, 4, 2], 'identity', 61);
    const la = laplace(linear, {
      likelihood: 'regression',
      hessianStructure: 'full',
      subsetOfWeights: 'all',
    });
    la.fit(X, Y);
    expect(() =>
      la.predict([
        [0, 0],
        [1e300, -1e300],
      ]),
    ).toThrow(/predict: .*not finite for example 1/);
  });
});
