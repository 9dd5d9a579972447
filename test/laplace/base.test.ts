import { inverse, Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { NotFittedError, ShapeError, ValueError } from '../../src/errors.js';
import { laplace } from '../../src/laplace/index.js';
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
