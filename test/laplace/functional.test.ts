import { fc, test as propTest } from '@fast-check/vitest';
import { CholeskyDecomposition, inverse, Matrix, solve } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { ValueError } from '../../src/errors.js';
import { type BaseLaplace, type FunctionalLaplace, laplace } from '../../src/laplace/index.js';
import type { Sequential } from '../../src/nn/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  classificationData,
  denseDiagonalGgnPosterior,
  fdJacobian,
  flatten,
  makeMlp,
  randomInputs,
  regressionData,
} from './oracle.js';

type Likelihood = 'regression' | 'classification';

function pair(model: Sequential, likelihood: Likelihood, options: Record<string, unknown> = {}) {
  const common = { likelihood, subsetOfWeights: 'all' as const, priorPrecision: 0.8, ...options };
  return {
    full: laplace(model, { ...common, hessianStructure: 'full' }),
    gp: laplace(model, { ...common, hessianStructure: 'gp' }),
  };
}

function covariance(la: BaseLaplace, x: number[][]): Float64Array {
  return (la.predict(x) as { functionalCovariance: Tensor }).functionalCovariance.data;
}

/** The exact MAP of a single Linear layer under ½c‖y − Wx − b‖² + ½δ‖θ‖², by the normal equations. */
function linearRegressionMap(
  model: Sequential,
  X: number[][],
  Y: number[][],
  c: number,
  delta: number,
): void {
  const d = X[0]!.length;
  const k = Y[0]!.length;
  const features = new Matrix(X.map((x) => [...x, 1]));
  const gram = features
    .transpose()
    .mmul(features)
    .mul(c)
    .add(Matrix.eye(d + 1).mul(delta));
  const theta = new Float64Array(k * (d + 1));
  for (let j = 0; j < k; j++) {
    const rhs = features
      .transpose()
      .mmul(Matrix.columnVector(Y.map((y) => y[j]!)))
      .mul(c);
    const w = solve(gram, rhs).to1DArray();
    for (let i = 0; i < d; i++) theta[j * d + i] = w[i]!;
    theta[k * d + j] = w[d]!;
  }
  model.setFlatParameters(theta);
}

describe("hessianStructure 'gp' against the weight-space 'full' posterior", () => {
  propTest.prop(
    [fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 })],
    {
      numRuns: 6,
    },
  )(
    'a linear model at its exact MAP: evidence, predictive and weight posterior agree (d=%i, K=%i)',
    (d, k, seed) => {
      const model = makeMlp([d, k], 'identity', seed);
      const { X, Y } = regressionData(9, d, k, seed);
      const sigma = 0.5;
      linearRegressionMap(model, X, Y, 1 / sigma ** 2, 0.8);
      const { full, gp } = pair(model, 'regression', { sigmaNoise: sigma });
      full.fit(X, Y);
      gp.fit(X, Y);
      // laplace-torch's regression terms against the exact (here: weight-space) evidence of the linear model.
      const c = 1 / sigma ** 2;
      const outputs = X.length * k;
      expect(gp.logLikelihood).toBeCloseTo(full.logLikelihood, 10);
      expect(gp.scatter).toBeCloseTo(full.scatter + 2 * c * full.loss, 9);
      expect((gp as FunctionalLaplace).logDetRatio).toBeCloseTo(
        full.logDetPosteriorPrecision - full.logDetPriorPrecision + outputs * Math.log(sigma ** 2),
        9,
      );
      expect(gp.logDetPosteriorPrecision).toBeCloseTo(full.logDetPosteriorPrecision, 9);
      expect(gp.logMarginalLikelihood()).toBeCloseTo(
        full.logMarginalLikelihood() + full.logLikelihood + 0.5 * outputs * Math.log(2 * Math.PI),
        9,
      );
      const xTest = randomInputs(4, d, seed + 3);
      expectClose(covariance(gp, xTest), covariance(full, xTest), { rtol: 1e-9, atol: 1e-12 });
      expectClose(gp.posteriorCovariance().data, full.posteriorCovariance().data, {
        rtol: 1e-9,
        atol: 1e-12,
      });
      expectClose(gp.posteriorPrecision().data, full.posteriorPrecision().data, { rtol: 1e-9, atol: 1e-10 });
      expectClose(gp.posteriorVariance(), full.posteriorVariance(), { rtol: 1e-9, atol: 1e-12 });
    },
  );

  propTest.prop([fc.integer({ min: 2, max: 3 }), fc.integer({ min: 0, max: 1e6 })], { numRuns: 5 })(
    "regression: an MLP with nSubset = N has full's log det P and predictive (K=%i)",
    (k, seed) => {
      const model = makeMlp([2, 4, k], 'tanh', seed);
      const { X, Y } = regressionData(7, 2, k, seed);
      const { full, gp } = pair(model, 'regression');
      full.fit(X, Y);
      gp.fit(X, Y);
      expect(gp.logDetPosteriorPrecision).toBeCloseTo(full.logDetPosteriorPrecision, 9);
      const xTest = randomInputs(3, 2, seed + 5);
      expectClose(covariance(gp, xTest), covariance(full, xTest), { rtol: 1e-8, atol: 1e-11 });
      expectClose(gp.posteriorVariance(), full.posteriorVariance(), { rtol: 1e-8, atol: 1e-11 });
      // rᵀ(K + σ²I)⁻¹r minimises c‖r − J(θ − μ₀)‖² + (θ − μ₀)ᵀP₀(θ − μ₀); θ* is one candidate.
      expect(gp.scatter).toBeLessThanOrEqual((full.scatter + 2 * full.loss) * (1 + 1e-9) + 1e-12);
    },
  );

  propTest.prop([fc.integer({ min: 2, max: 3 }), fc.integer({ min: 0, max: 1e6 })], { numRuns: 5 })(
    'classification: an MLP with nSubset = N has the dense diagonal-Λ posterior, and a scatter no larger than full (K=%i)',
    (k, seed) => {
      const model = makeMlp([2, 4, k], 'tanh', seed);
      const { X, y } = classificationData(7, 2, k, seed);
      const { full, gp } = pair(model, 'classification');
      full.fit(X, y);
      gp.fit(X, y);
      const xTest = randomInputs(3, 2, seed + 5);
      const dense = denseDiagonalGgnPosterior(model, X, xTest, 'classification', 0.8, 1);
      expect(gp.logDetPosteriorPrecision).toBeCloseTo(dense.logDetPrecision, 6);
      expectClose(covariance(gp, xTest), dense.covariance, { rtol: 1e-6, atol: 1e-9 });
      // μᵀ(K + εI)⁻¹μ ≤ μᵀK⁺μ, the least weight-space scatter over weights with the same outputs on the data.
      expect(gp.scatter).toBeLessThanOrEqual(full.scatter * (1 + 1e-9) + 1e-12);
    },
  );

  propTest.prop([fc.integer({ min: 0, max: 1e6 })], { numRuns: 5 })(
    "classification: when θ* − μ₀ lies in the row space of the prior-scaled Jacobian, the scatters agree up to laplace-torch's ε",
    (seed) => {
      const model = makeMlp([2, 3, 3], 'tanh', seed);
      const { X, y } = classificationData(4, 2, 3, seed);
      const delta = 0.8;
      const theta = flatten(model);
      // μ₀ = θ* − Jᵀα/δ for a random α: then μ = Kα and μᵀK⁻¹μ = αᵀKα = δ‖θ* − μ₀‖².
      const alpha = randomInputs(X.length, 3, seed + 1);
      const shift = new Float64Array(theta.length);
      X.forEach((x, n) => {
        fdJacobian(model, theta, x).forEach((row, j) => {
          row.forEach((v, p) => {
            shift[p]! += (v * alpha[n]![j]!) / delta;
          });
        });
      });
      const priorMean = theta.map((t, p) => t - shift[p]!);
      const { full, gp } = pair(model, 'classification', { priorPrecision: delta, priorMean });
      full.fit(X, y);
      gp.fit(X, y);
      // μᵀ(K + εI)⁻¹μ = αᵀKα − ε·αᵀK(K + εI)⁻¹α, and K(K + εI)⁻¹ has eigenvalues in [0, 1).
      const epsilon = 1e-5;
      const alphaNorm = alpha.flat().reduce((sum, a) => sum + a * a, 0);
      expect(gp.scatter).toBeLessThanOrEqual(full.scatter * (1 + 1e-9));
      expect(gp.scatter).toBeGreaterThanOrEqual(full.scatter - epsilon * alphaNorm - 1e-9 * full.scatter);
      expect(full.scatter - gp.scatter).toBeGreaterThan(0);
    },
  );

  test('a subset: the GP predictive of the M chosen points with the kernel scaled by M/N (dense oracle)', () => {
    const model = makeMlp([2, 3, 2], 'tanh', 4);
    const { X, Y } = regressionData(9, 2, 2, 4);
    const indices = [1, 4, 5, 8];
    const sigma = 0.3;
    const delta = 0.8;
    const gp = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'gp',
      subsetIndices: indices,
      priorPrecision: delta,
      sigmaNoise: sigma,
    }).fit(X, Y);
    const theta = flatten(model);
    const jS = new Matrix(indices.flatMap((i) => fdJacobian(model, theta, X[i]!)));
    const xTest = randomInputs(3, 2, 11);
    const s = indices.length / X.length / delta;
    const c = 1 / sigma ** 2;
    const b = jS
      .mmul(jS.transpose())
      .mul(c * s)
      .add(Matrix.eye(jS.rows));
    const expected: number[] = [];
    for (const x of xTest) {
      const j = new Matrix(fdJacobian(model, theta, x));
      const cross = j.mmul(jS.transpose());
      const cov = j
        .mmul(j.transpose())
        .mul(s)
        .sub(
          cross
            .mmul(inverse(b))
            .mmul(cross.transpose())
            .mul(c * s * s),
        );
      expected.push(...cov.to1DArray());
    }
    expectClose(covariance(gp, xTest), expected, { rtol: 1e-6, atol: 1e-8 });
    expect(Array.from((gp as FunctionalLaplace).subsetIndices)).toEqual(indices);
    const lower = new CholeskyDecomposition(b).lowerTriangularMatrix;
    let logDet = 0;
    for (let i = 0; i < b.rows; i++) logDet += 2 * Math.log(lower.get(i, i));
    // Weight space: P = I/s + c·J_SᵀJ_S; laplace-torch's term: log det(K + σ²I) = log det(σ²B).
    expect(gp.logDetPosteriorPrecision).toBeCloseTo(gp.nParams * Math.log(1 / s) + logDet, 6);
    expect((gp as FunctionalLaplace).logDetRatio).toBeCloseTo(b.rows * Math.log(sigma ** 2) + logDet, 6);
  });
});

describe("'gp' posterior samples and tuning", () => {
  test('the sampling transform S has S Sᵀ = P⁻¹ exactly, P the dense diagonal-Λ precision', () => {
    const model = makeMlp([2, 3, 2], 'tanh', 9);
    const { X, y } = classificationData(5, 2, 2, 9);
    const gp = laplace(model, {
      likelihood: 'classification',
      subsetOfWeights: 'all',
      hessianStructure: 'gp',
      priorPrecision: 0.8,
    }).fit(X, y);
    const p = gp.nParams;
    const identity = new Float64Array(p * p);
    for (let i = 0; i < p; i++) identity[i * p + i] = 1;
    const scale = (
      gp as unknown as { applyPosteriorScale(z: Float64Array, n: number): Float64Array }
    ).applyPosteriorScale(identity, p);
    const s = new Matrix(Array.from({ length: p }, (_, r) => Array.from(scale.subarray(r * p, (r + 1) * p))));
    const precision = new Matrix(
      Array.from({ length: p }, (_, r) =>
        Array.from(gp.posteriorPrecision().data.subarray(r * p, (r + 1) * p)),
      ),
    );
    expectClose(s.transpose().mmul(s).to1DArray(), inverse(precision).to1DArray(), {
      rtol: 1e-9,
      atol: 1e-12,
    });
    expectClose(gp.posteriorCovariance().data, inverse(precision).to1DArray(), { rtol: 1e-9, atol: 1e-12 });
    // P itself against finite-difference Jacobians: its predictive is J* P⁻¹ J*ᵀ.
    const xTest = randomInputs(2, 2, 10);
    const dense = denseDiagonalGgnPosterior(model, X, xTest, 'classification', 0.8, 1);
    expectClose(covariance(gp, xTest), dense.covariance, { rtol: 1e-6, atol: 1e-9 });
  });

  for (const likelihood of ['regression', 'classification'] as const) {
    test(`${likelihood}: the tuned hyperparameters are a stationary point of the evidence`, () => {
      const model = makeMlp([2, 5, 2], 'tanh', 3);
      const data =
        likelihood === 'regression' ? regressionData(12, 2, 2, 3) : classificationData(12, 2, 2, 3);
      const y = 'Y' in data ? data.Y : data.y;
      const gp = laplace(model, { likelihood, subsetOfWeights: 'all', hessianStructure: 'gp' }).fit(
        data.X,
        y,
      );
      const result = gp.optimizeHyperparameters();
      const delta = result.priorPrecision as number;
      const sigma = result.sigmaNoise;
      const at = (d: number, s: number) => gp.logMarginalLikelihood({ priorPrecision: d, sigmaNoise: s });
      const best = at(delta, sigma);
      expect(best).toBeCloseTo(result.logMarginalLikelihood, 10);
      const h = 1e-4;
      expect((at(delta * (1 + h), sigma) - at(delta * (1 - h), sigma)) / (2 * h)).toBeCloseTo(0, 5);
      if (likelihood === 'regression') {
        expect((at(delta, sigma * (1 + h)) - at(delta, sigma * (1 - h))) / (2 * h)).toBeCloseTo(0, 5);
      }
      for (const f of [0.5, 2]) expect(at(delta * f, sigma)).toBeLessThan(best);
    });
  }
});

describe("'gp' options", () => {
  const model = makeMlp([2, 3, 2], 'tanh', 1);
  const { X, Y } = regressionData(10, 2, 2, 1);
  const make = (options: Record<string, unknown>) =>
    laplace(model, { likelihood: 'regression', subsetOfWeights: 'all', hessianStructure: 'gp', ...options });

  test('a random subset is reproducible by its seed and drawn without replacement', () => {
    const a = make({ nSubset: 6, seed: 5 }).fit(X, Y) as FunctionalLaplace;
    const b = make({ nSubset: 6, seed: 5 }).fit(X, Y) as FunctionalLaplace;
    expect(Array.from(a.subsetIndices)).toEqual(Array.from(b.subsetIndices));
    expect(new Set(a.subsetIndices).size).toBe(6);
    expect(a.logMarginalLikelihood()).toBe(b.logMarginalLikelihood());
    const draws = new Set(
      [1, 2, 3, 4, 6, 7].map((seed) =>
        Array.from((make({ nSubset: 6, seed }).fit(X, Y) as FunctionalLaplace).subsetIndices).join(),
      ),
    );
    expect(draws.size).toBeGreaterThan(1);
    expect(Array.from((make({}).fit(X, Y) as FunctionalLaplace).subsetIndices)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });

  test('bad options are ValueErrors that name them', () => {
    expect(() => make({ nSubset: 0 })).toThrow(ValueError);
    expect(() => make({ nSubset: 2.5 })).toThrow(/nSubset/);
    expect(() => make({ nSubset: 11 }).fit(X, Y)).toThrow(/nSubset is 11/);
    expect(() => make({ subsetIndices: [1, 1] })).toThrow(/twice/);
    expect(() => make({ subsetIndices: [-1] })).toThrow(/subsetIndices\[0\]/);
    expect(() => make({ subsetIndices: [] })).toThrow(/empty/);
    expect(() => make({ subsetIndices: [3, 10] }).fit(X, Y)).toThrow(/10/);
    expect(() => make({ subsetIndices: [1, 2], nSubset: 3 })).toThrow(/nSubset is 3/);
    expect(() => make({ priorPrecision: [1, 2, 3, 4] })).toThrow(/scalar priorPrecision/);
    expect(() => make({ curvature: 'ef' })).toThrow(/curvature/);
    const fitted = make({}).fit(X, Y);
    expect(() => fitted.optimizePriorPrecision({ priorStructure: 'layerwise' })).toThrow(/scalar prior/);
    expect(() => fitted.optimizePriorPrecision({ optimizer: 'adam' })).toThrow(/adam/);
    expect(() => make({ independentOutputs: 'yes' })).toThrow(/independentOutputs/);
    expect(() => make({}).predict(X)).toThrow(/fit/);
  });
});
