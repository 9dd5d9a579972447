import { describe, expect, test } from 'vitest';
import { Laplace, laplace } from '../../src/laplace/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { makeMlp, randomInputs, regressionData } from './oracle.js';

describe('serialisation', () => {
  const model = makeMlp([2, 4, 2], 'tanh', 61);
  const { X, Y } = regressionData(10, 2, 2, 61);

  for (const structure of ['full', 'diag', 'kron', 'lowrank'] as const) {
    test(`${structure}: toJSON / fromJSON round-trips through JSON text`, () => {
      const la = laplace(model, {
        likelihood: 'regression',
        hessianStructure: structure,
        subsetOfWeights: 'all',
        rank: 4,
      }).fit(X, Y);
      la.optimizeHyperparameters();
      const restored = Laplace.fromJSON(JSON.parse(JSON.stringify(la.toJSON())), model);
      expect(restored.logMarginalLikelihood()).toBeCloseTo(la.logMarginalLikelihood(), 9);
      const xt = randomInputs(2, 2, 3);
      expectClose(
        (restored.predict(xt) as { functionalCovariance: Tensor }).functionalCovariance,
        (la.predict(xt) as { functionalCovariance: Tensor }).functionalCovariance,
        { rtol: 1e-9, atol: 1e-12 },
      );
    });
  }

  test('fromJSON refuses a model whose weights are not the posterior mean', () => {
    const la = laplace(model, {
      likelihood: 'regression',
      hessianStructure: 'diag',
      subsetOfWeights: 'all',
    }).fit(X, Y);
    const other = makeMlp([2, 4, 2], 'tanh', 62);
    expect(() => Laplace.fromJSON(la.toJSON(), other)).toThrow(/posterior was fitted at/);
  });
});
