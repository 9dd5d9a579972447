import { fc, test as property } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { NotPositiveDefiniteError, ValueError } from '../../src/errors.js';
import {
  cholesky,
  denseOperator,
  diagonalOperator,
  hutchinsonDiagonal,
  hutchinsonTrace,
  logdetFromCholesky,
  lowRankPlusDiagonal,
  slqLogdet,
} from '../../src/linalg/index.js';
import { randn } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { randomSpd, randomSymmetric, useTypeScriptKernels } from '../oracles.js';

useTypeScriptKernels();

describe('Hutchinson estimators', () => {
  property.prop([fc.integer({ min: 2, max: 60 }), fc.nat(1000)], { numRuns: 20 })(
    'the trace estimate lies within 5 standard errors of the trace',
    (n, seed) => {
      const a = randomSymmetric(n, seed);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += a.data[i * n + i]!;
      const { estimate, standardError } = hutchinsonTrace(denseOperator(a), { probes: 200, seed });
      expect(Math.abs(estimate - trace)).toBeLessThanOrEqual(5 * standardError + 1e-12);
    },
  );

  test('is exact for a diagonal operator, whose Rademacher variance is zero', () => {
    const d = [3, -1, 0.5, 7];
    const { estimate, standardError } = hutchinsonTrace(diagonalOperator(d), { probes: 5 });
    expect(estimate).toBeCloseTo(9.5, 12);
    expect(standardError).toBeCloseTo(0, 12);
    expectClose(hutchinsonDiagonal(diagonalOperator(d), { probes: 3 }), d, { rtol: 1e-15, atol: 0 });
  });

  test('the diagonal estimate converges on a dense matrix', () => {
    const n = 30;
    const a = randomSymmetric(n, 3);
    const diag = Array.from({ length: n }, (_, i) => a.data[i * n + i]!);
    const estimate = hutchinsonDiagonal(denseOperator(a), { probes: 4000, seed: 1 });
    // Per entry the variance is Σ_{j≠i} A[i, j]² / probes: about (n/4000)^½ here.
    expectClose(estimate, diag, { rtol: 0, atol: 5 * Math.sqrt(n / 4000) });
  });

  test('bad options are typed errors', () => {
    expect(() => hutchinsonTrace(diagonalOperator([1]), { probes: 0 })).toThrow(
      /probes must be an integer ≥ 1/,
    );
  });
});

describe('slqLogdet', () => {
  property.prop([fc.integer({ min: 5, max: 80 }), fc.nat(1000), fc.constantFrom(10, 1000)], { numRuns: 15 })(
    'lies within a statistical band of the Cholesky log-determinant',
    (n, seed, condition) => {
      const { a } = randomSpd(n, seed, condition);
      const exact = logdetFromCholesky(cholesky(a));
      const { estimate, standardError } = slqLogdet(denseOperator(a), { probes: 40, steps: 25, seed });
      // Sampling error plus a small quadrature bias (25 nodes on a spectrum in [1, 1000]).
      expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(
        5 * standardError + 1e-6 * Math.abs(exact) + 1e-8,
      );
    },
  );

  test('is exact when steps reach the dimension of a diagonal operator', () => {
    const d = [0.5, 2, 3, 10];
    const { estimate } = slqLogdet(diagonalOperator(d), { probes: 3, steps: 10 });
    expect(estimate).toBeCloseTo(Math.log(30), 10);
  });

  test('agrees with the determinant lemma on a low-rank-plus-diagonal operator', () => {
    const n = 300;
    const lr = lowRankPlusDiagonal(randn([n, 5], 1), [10, 5, 2, 1, 0.5], new Float64Array(n).fill(0.3));
    const { estimate, standardError } = slqLogdet(lr, { probes: 30, steps: 20, seed: 2 });
    expect(Math.abs(estimate - lr.logdet())).toBeLessThanOrEqual(5 * standardError + 1e-6);
  });

  test('an indefinite operator is a NotPositiveDefiniteError', () => {
    expect(() => slqLogdet(diagonalOperator([1, -2, 3]))).toThrow(NotPositiveDefiniteError);
    expect(() => slqLogdet(diagonalOperator([1, 2]), { steps: 0 })).toThrow(ValueError);
  });
});
