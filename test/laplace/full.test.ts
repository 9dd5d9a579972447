import { fc, test as propTest } from '@fast-check/vitest';
import { Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { laplace } from '../../src/laplace/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  classificationData,
  denseFunctionalCovariance,
  denseGgn,
  denseLogMarglik,
  fdJacobian,
  flatten,
  makeMlp,
  naiveForward,
  randomInputs,
  regressionData,
  regressionLogLik,
  softmax,
} from './oracle.js';

describe('full GGN Laplace against dense textbook formulas', () => {
  propTest.prop(
    [
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 1e6 }),
    ],
    { numRuns: 8 },
  )('regression: H, evidence and GLM covariance (d=%i, hidden=%i, K=%i)', (d, hidden, k, seed) => {
    const model = makeMlp([d, hidden, k], 'tanh', seed);
    const { X, Y } = regressionData(6, d, k, seed);
    const la = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
      priorPrecision: 0.7,
      sigmaNoise: 0.4,
    }).fit(X, Y);
    const h = denseGgn(model, X, 'regression');
    expectClose((la as unknown as { hessian: Tensor }).hessian.data, h.to1DArray(), {
      rtol: 1e-6,
      atol: 1e-7,
    });
    const theta = Array.from(flatten(model));
    const expected = denseLogMarglik({
      h,
      priorDiag: theta.map(() => 0.7),
      theta,
      c: 1 / 0.16,
      logLik: regressionLogLik(model, X, Y, 0.4),
    });
    expect(la.logMarginalLikelihood()).toBeCloseTo(expected, 6);
    const precision = h
      .clone()
      .mul(1 / 0.16)
      .add(Matrix.eye(theta.length).mul(0.7));
    const xTest = randomInputs(3, d, seed + 7);
    const pred = la.predict(xTest) as {
      mean: Tensor;
      functionalCovariance: Tensor;
      predictiveVariance: Tensor;
    };
    xTest.forEach((x, i) => {
      const cov = denseFunctionalCovariance(fdJacobian(model, flatten(model), x), precision);
      expectClose(pred.functionalCovariance.data.subarray(i * k * k, (i + 1) * k * k), cov.to1DArray(), {
        rtol: 1e-5,
        atol: 1e-8,
      });
      expectClose(pred.mean.data.subarray(i * k, (i + 1) * k), naiveForward(model, flatten(model), x), {
        rtol: 1e-12,
        atol: 1e-12,
      });
      for (let j = 0; j < k; j++)
        expect(pred.predictiveVariance.data[i * k + j]).toBeCloseTo(cov.get(j, j) + 0.16, 8);
    });
  });

  propTest.prop(
    [
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }),
      fc.boolean(),
      fc.constantFrom('regression' as const, 'classification' as const),
      fc.integer({ min: 0, max: 1e6 }),
    ],
    { numRuns: 12 },
  )(
    'H over every pair of layers, with and without biases (sizes %o, bias %s, %s)',
    (sizes, bias, likelihood, seed) => {
      // A softmax needs at least two classes.
      if (likelihood === 'classification') sizes[sizes.length - 1] = Math.max(2, sizes.at(-1)!);
      const model = makeMlp(sizes, 'tanh', seed, bias);
      const d = sizes[0]!;
      const k = sizes.at(-1)!;
      const X = randomInputs(5, d, seed);
      const target =
        likelihood === 'regression' ? regressionData(5, d, k, seed).Y : classificationData(5, d, k, seed).y;
      const h = denseGgn(model, X, likelihood);
      const all = laplace(model, { likelihood, subsetOfWeights: 'all', hessianStructure: 'full' }).fit(
        X,
        target,
      );
      expectClose((all as unknown as { hessian: Tensor }).hessian.data, h.to1DArray(), {
        rtol: 1e-6,
        atol: 1e-7,
      });
      // The last layer is the trailing block of θ in PyTorch order.
      const last = laplace(model, { likelihood, subsetOfWeights: 'lastLayer', hessianStructure: 'full' }).fit(
        X,
        target,
      );
      const lastSize = k * sizes.at(-2)! + (bias ? k : 0);
      const offset = h.rows - lastSize;
      const block = h.subMatrix(offset, h.rows - 1, offset, h.rows - 1);
      expectClose((last as unknown as { hessian: Tensor }).hessian.data, block.to1DArray(), {
        rtol: 1e-6,
        atol: 1e-7,
      });
    },
  );

  test('temperature and a non-zero prior mean enter as in laplace-torch', () => {
    const model = makeMlp([2, 3, 1], 'tanh', 4);
    const { X, Y } = regressionData(9, 2, 1, 4);
    const la = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
      priorPrecision: 1.3,
      sigmaNoise: 0.6,
      temperature: 0.5,
      priorMean: 0.1,
    }).fit(X, Y);
    const theta = Array.from(flatten(model));
    const c = 1 / (0.36 * 0.5);
    // log p(D | θ) = −c·½SSE − N·K·log(σ√2π): the temperature scales the data term, not its normaliser.
    const sse = -2 * 0.36 * (regressionLogLik(model, X, Y, 0.6) + 9 * Math.log(0.6 * Math.sqrt(2 * Math.PI)));
    const logLik = -c * 0.5 * sse - 9 * Math.log(0.6 * Math.sqrt(2 * Math.PI));
    const expected = denseLogMarglik({
      h: denseGgn(model, X, 'regression'),
      priorDiag: theta.map(() => 1.3),
      theta,
      c,
      logLik,
      priorMean: 0.1,
    });
    expect(la.logMarginalLikelihood()).toBeCloseTo(expected, 6);
  });

  test('classification: H and evidence', () => {
    const model = makeMlp([2, 5, 3], 'gelu', 3);
    const { X, y } = classificationData(10, 2, 3, 3);
    const la = laplace(model, {
      likelihood: 'classification',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
      priorPrecision: 2,
    }).fit(X, y);
    const h = denseGgn(model, X, 'classification');
    expectClose((la as unknown as { hessian: Tensor }).hessian.data, h.to1DArray(), {
      rtol: 1e-6,
      atol: 1e-7,
    });
    const theta = Array.from(flatten(model));
    let logLik = 0;
    X.forEach((x, i) => {
      logLik += Math.log(softmax(naiveForward(model, flatten(model), x))[y[i]!]!);
    });
    const expected = denseLogMarglik({ h, priorDiag: theta.map(() => 2), theta, c: 1, logLik });
    expect(la.logMarginalLikelihood()).toBeCloseTo(expected, 6);
  });

  test('H over several fitting batches of 512 examples equals the rows of R, one syrk (a subnetwork of every weight)', () => {
    const model = makeMlp([3, 4, 3], 'tanh', 9);
    const { X, y } = classificationData(1300, 3, 3, 9);
    const options = { likelihood: 'classification' as const, hessianStructure: 'full' as const };
    const layers = laplace(model, { ...options, subsetOfWeights: 'all' }).fit(X, y);
    const everything = Array.from(flatten(model), (_, i) => i);
    const rows = laplace(model, { ...options, subsetOfWeights: { subnetwork: everything } }).fit(X, y);
    const hessian = (la: unknown) => (la as { hessian: Tensor }).hessian.data;
    expectClose(hessian(layers), hessian(rows), { rtol: 1e-12, atol: 1e-12 });
  });

  test('the GLM covariance J P⁻¹ Jᵀ by a triangular solve and through L⁻ᵀ (all weights, last layer)', () => {
    // Wide inputs (all weights) or a wide last hidden layer make the L⁻ᵀ products
    // cheaper than the solve for many test points; one point takes the solve.
    const cases = [
      { sizes: [12, 4, 6], subsetOfWeights: 'all' as const },
      { sizes: [3, 12, 6], subsetOfWeights: 'lastLayer' as const },
    ];
    for (const { sizes, subsetOfWeights } of cases) {
      const model = makeMlp(sizes, 'tanh', 5);
      const d = sizes[0]!;
      const k = sizes.at(-1)!;
      const { X, y } = classificationData(20, d, k, 5);
      const theta = flatten(model);
      const lastSize = k * sizes.at(-2)! + k;
      const cols = Array.from(theta, (_, i) => i).slice(
        subsetOfWeights === 'all' ? 0 : theta.length - lastSize,
      );
      const precision = denseGgn(model, X, 'classification', cols).add(Matrix.eye(cols.length).mul(2));
      for (const count of [1, 60]) {
        const la = laplace(model, {
          likelihood: 'classification',
          subsetOfWeights,
          hessianStructure: 'full',
          priorPrecision: 2,
        }).fit(X, y);
        const xTest = randomInputs(count, d, 30 + count);
        const { functionalCovariance } = la.predict(xTest, { linkApprox: 'bridge' }) as unknown as {
          functionalCovariance: Tensor;
        };
        const usedInverse = (la as unknown as { inverseCache: unknown }).inverseCache !== null;
        expect(usedInverse).toBe(count > 1);
        xTest.forEach((x, i) => {
          const jac = fdJacobian(model, theta, x).map((row) => cols.map((c) => row[c]!));
          const cov = denseFunctionalCovariance(jac, precision);
          expectClose(functionalCovariance.data.subarray(i * k * k, (i + 1) * k * k), cov.to1DArray(), {
            rtol: 1e-5,
            atol: 1e-8,
          });
        });
      }
    }
  });

  test('a full posterior too large to store is refused with advice, before any work', () => {
    const wide = makeMlp([1, 20000, 1], 'tanh', 1);
    const la = laplace(wide, { likelihood: 'regression', hessianStructure: 'full', subsetOfWeights: 'all' });
    expect(() => la.fit([[0]], [[0]])).toThrow(/use hessianStructure 'lowrank'/);
  });
});
