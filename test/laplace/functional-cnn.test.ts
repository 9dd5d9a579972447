/**
 * 'gp' and 'sampled' on convolutional and residual networks: the GP with all
 * the data is the weight-space posterior with the diagonal of the output
 * Hessian (log det P, predictive), which for regression is 'full' itself and
 * for classification a dense oracle from finite-difference Jacobians, and the
 * samples' γ is the exact one up to Monte Carlo error.
 */
import { describe, expect, test } from 'vitest';
import { laplace, type SampledLaplace } from '../../src/laplace/index.js';
import type { Sequential } from '../../src/nn/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { residualCnn, smallCnns } from './cnn-layers.js';
import { denseDiagonalGgnPosterior, randomInputs } from './oracle.js';

const cases = [
  ...smallCnns().map((c) => ({
    ...c,
    likelihood: c.outputs === 2 ? ('regression' as const) : ('classification' as const),
  })),
  {
    name: 'residual CNN (two classes)',
    model: residualCnn(),
    outputs: 2,
    likelihood: 'classification' as const,
  },
];

describe.each(cases)(
  '$name',
  ({
    model,
    outputs,
    likelihood,
  }: {
    model: Sequential;
    outputs: number;
    likelihood: 'regression' | 'classification';
  }) => {
    const X = randomInputs(6, model.inFeatures, 3);
    const y = likelihood === 'regression' ? randomInputs(6, 2, 4) : X.map((_, i) => i % outputs);
    const common = { likelihood, subsetOfWeights: 'all' as const, priorPrecision: 0.7 };
    const full = laplace(model, { ...common, hessianStructure: 'full' }).fit(X, y);

    test("'gp' with nSubset = N: log det P and the GLM predictive of the diagonal-Λ posterior", () => {
      const gp = laplace(model, { ...common, hessianStructure: 'gp' }).fit(X, y);
      const xTest = randomInputs(2, model.inFeatures, 9);
      const cov = (la: typeof gp) =>
        (la.predict(xTest) as { functionalCovariance: Tensor }).functionalCovariance.data;
      if (likelihood === 'regression') {
        expect(gp.logDetPosteriorPrecision).toBeCloseTo(full.logDetPosteriorPrecision, 8);
        expectClose(cov(gp), cov(full), { rtol: 1e-8, atol: 1e-11 });
      } else {
        const dense = denseDiagonalGgnPosterior(model, X, xTest, likelihood, 0.7, 1);
        expect(gp.logDetPosteriorPrecision).toBeCloseTo(dense.logDetPrecision, 6);
        expectClose(cov(gp), dense.covariance, { rtol: 1e-6, atol: 1e-9 });
      }
    });

    test("'sampled': γ from 256 samples within 10% of the exact one", () => {
      const la = laplace(model, {
        ...common,
        hessianStructure: 'sampled',
        posteriorSamples: 256,
        cgTol: 1e-10,
      }).fit(X, y) as SampledLaplace;
      const cov = full.posteriorCovariance().data;
      const p = full.nParams;
      let trace = 0;
      for (let i = 0; i < p; i++) trace += cov[i * p + i]!;
      expect(la.effectiveParameters()[0]! / (p - 0.7 * trace)).toBeGreaterThan(0.9);
      expect(la.effectiveParameters()[0]! / (p - 0.7 * trace)).toBeLessThan(1.1);
    });
  },
);
