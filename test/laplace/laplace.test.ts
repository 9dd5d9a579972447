import { fc, test as propTest } from '@fast-check/vitest';
import { CholeskyDecomposition, inverse, Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { NotFittedError, ShapeError, ValueError } from '../../src/errors.js';
import { type BaseLaplace, Laplace, laplace } from '../../src/laplace/index.js';
import type { Layer } from '../../src/nn/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  denseFunctionalCovariance,
  denseGgn,
  denseLogMarglik,
  fdJacobian,
  flatten,
  makeMlp,
  naiveForward,
  randomInputs,
  softmax,
} from './oracle.js';

const regressionData = (n: number, d: number, k: number, seed: number) => {
  const X = randomInputs(n, d, seed);
  const Y = randomInputs(n, k, seed + 1).map((row, i) =>
    row.map((v, j) => Math.sin(X[i]![j % d]!) + 0.1 * v),
  );
  return { X, Y };
};

const classificationData = (n: number, d: number, k: number, seed: number) => {
  const X = randomInputs(n, d, seed);
  const y = X.map((x) => Math.abs(Math.floor(x[0]! * 2)) % k);
  return { X, y };
};

function regressionLogLik(
  model: ReturnType<typeof makeMlp>,
  X: number[][],
  Y: number[][],
  sigma: number,
): number {
  const theta = flatten(model);
  let sse = 0;
  for (let i = 0; i < X.length; i++) {
    const f = naiveForward(model, theta, X[i]!);
    f.forEach((v, j) => {
      sse += (Y[i]![j]! - v) ** 2;
    });
  }
  const nk = X.length * Y[0]!.length;
  return -sse / (2 * sigma * sigma) - nk * Math.log(sigma * Math.sqrt(2 * Math.PI));
}

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
});

describe('structures agree where they must', () => {
  const model = makeMlp([3, 4, 2], 'tanh', 11);
  const { X, Y } = regressionData(8, 3, 2, 11);
  const base = {
    likelihood: 'regression' as const,
    subsetOfWeights: 'all' as const,
    priorPrecision: 1.3,
    sigmaNoise: 0.5,
  };
  const full = laplace(model, { ...base, hessianStructure: 'full' }).fit(X, Y);

  test('diag equals the diagonal of full', () => {
    const diag = laplace(model, { ...base, hessianStructure: 'diag' }).fit(X, Y);
    const h = (full as unknown as { hessian: Tensor }).hessian.data;
    const d = (diag as unknown as { hessian: Tensor }).hessian.data;
    const p = full.nParams;
    expectClose(
      d,
      Array.from({ length: p }, (_, i) => h[i * p + i]!),
      { rtol: 1e-12, atol: 1e-14 },
    );
    const logdet = Array.from(d).reduce((s, v) => s + Math.log(v / 0.25 + 1.3), 0);
    expect(diag.logDetPosteriorPrecision).toBeCloseTo(logdet, 10);
  });

  test('lowrank with k = P equals full', () => {
    const lowrank = laplace(model, { ...base, hessianStructure: 'lowrank', rank: full.nParams }).fit(X, Y);
    expect(lowrank.logMarginalLikelihood()).toBeCloseTo(full.logMarginalLikelihood(), 6);
    expectClose(lowrank.posteriorCovariance(), full.posteriorCovariance(), { rtol: 1e-6, atol: 1e-8 });
    const xt = randomInputs(4, 3, 5);
    const a = full.predict(xt) as { functionalCovariance: Tensor };
    const b = lowrank.predict(xt) as { functionalCovariance: Tensor };
    expectClose(b.functionalCovariance, a.functionalCovariance, { rtol: 1e-6, atol: 1e-9 });
    expectClose(lowrank.posteriorVariance(), full.posteriorVariance(), { rtol: 1e-6, atol: 1e-9 });
  });

  test('lastLayer equals full Laplace over the last layer as a subnetwork, and the dense formula', () => {
    const last = laplace(model, { ...base, subsetOfWeights: 'lastLayer', hessianStructure: 'full' }).fit(
      X,
      Y,
    );
    const p = flatten(model).length;
    const lastIdx = Array.from({ length: 4 * 2 + 2 }, (_, i) => p - 10 + i);
    const sub = laplace(model, {
      ...base,
      subsetOfWeights: { subnetwork: lastIdx },
      hessianStructure: 'full',
    }).fit(X, Y);
    expect(last.nParams).toBe(10);
    expect(last.logMarginalLikelihood()).toBeCloseTo(sub.logMarginalLikelihood(), 10);
    const h = denseGgn(model, X, 'regression', lastIdx);
    const theta = lastIdx.map((i) => flatten(model)[i]!);
    const expected = denseLogMarglik({
      h,
      priorDiag: theta.map(() => 1.3),
      theta,
      c: 4,
      logLik: regressionLogLik(model, X, Y, 0.5),
    });
    expect(last.logMarginalLikelihood()).toBeCloseTo(expected, 6);
  });

  test('a subnetwork of every weight equals all weights, for each structure that supports it', () => {
    const everything = { subnetwork: Array.from({ length: full.nParams }, (_, i) => i) };
    const xt = randomInputs(3, 3, 12);
    for (const hessianStructure of ['full', 'diag', 'lowrank'] as const) {
      const opts = { ...base, hessianStructure, rank: 6 };
      const all = laplace(model, opts).fit(X, Y);
      const sub = laplace(model, { ...opts, subsetOfWeights: everything }).fit(X, Y);
      expect(sub.logMarginalLikelihood()).toBeCloseTo(all.logMarginalLikelihood(), 8);
      const a = all.predict(xt) as { functionalCovariance: Tensor };
      const b = sub.predict(xt) as { functionalCovariance: Tensor };
      expectClose(b.functionalCovariance, a.functionalCovariance, { rtol: 1e-7, atol: 1e-10 });
    }
  });

  test('kron equals full for one Linear layer without bias and one data point', () => {
    const single = makeMlp([3, 2], 'identity', 4, false);
    const x = [randomInputs(1, 3, 9)[0]!];
    const y = [[0.3, -0.2]];
    for (const likelihood of ['regression', 'classification'] as const) {
      const target = likelihood === 'regression' ? y : [1];
      const opts = { likelihood, subsetOfWeights: 'all' as const, priorPrecision: 0.9 };
      const kron = laplace(single, { ...opts, hessianStructure: 'kron' }).fit(x, target);
      const dense = laplace(single, { ...opts, hessianStructure: 'full' }).fit(x, target);
      expect(kron.logMarginalLikelihood()).toBeCloseTo(dense.logMarginalLikelihood(), 10);
      expectClose(kron.posteriorPrecision(), dense.posteriorPrecision(), { rtol: 1e-10, atol: 1e-12 });
      expectClose(kron.posteriorCovariance(), dense.posteriorCovariance(), { rtol: 1e-9, atol: 1e-12 });
      expectClose(kron.posteriorVariance(), dense.posteriorVariance(), { rtol: 1e-9, atol: 1e-12 });
      const xt = randomInputs(3, 3, 10);
      const a = dense.predict(xt) as { functionalCovariance: Tensor };
      const b = kron.predict(xt) as { functionalCovariance: Tensor };
      expectClose(b.functionalCovariance, a.functionalCovariance, { rtol: 1e-9, atol: 1e-12 });
    }
  });

  test('KFLR factors: B is the bias block of the dense GGN, A the mean outer product of layer inputs', () => {
    for (const likelihood of ['regression', 'classification'] as const) {
      const deep = makeMlp([3, 4, 3, 2], 'tanh', 17);
      const Xd = randomInputs(7, 3, 17);
      const target = likelihood === 'regression' ? Xd.map((x) => [x[0]!, x[1]!]) : Xd.map((_, i) => i % 2);
      const kron = laplace(deep, { likelihood, subsetOfWeights: 'all', hessianStructure: 'kron' }).fit(
        Xd,
        target,
      );
      const factors = (kron as unknown as { kroneckerFactors: { b: Tensor; a: Tensor }[] }).kroneckerFactors;
      const h = denseGgn(deep, Xd, likelihood);
      const theta = flatten(deep);
      // Bias offsets in PyTorch order for [3, 4, 3, 2]: W₁ 12, b₁ 4, W₂ 12, b₂ 3, W₃ 6, b₃ 2.
      const biasBlocks = [
        { offset: 12, size: 4 },
        { offset: 28, size: 3 },
        { offset: 37, size: 2 },
      ];
      biasBlocks.forEach(({ offset, size }, l) => {
        const block = h.subMatrix(offset, offset + size - 1, offset, offset + size - 1);
        expectClose(factors[l]!.b.data, block.to1DArray(), { rtol: 1e-6, atol: 1e-8 });
      });
      // Layer inputs by a naive forward pass of the prefix network.
      const inputsOf = (x: number[]): number[][] => {
        const a1 = x;
        const z1 = [0, 1, 2, 3].map(
          (i) => theta[12 + i]! + [0, 1, 2].reduce((s, j) => s + theta[i * 3 + j]! * a1[j]!, 0),
        );
        const a2 = z1.map(Math.tanh);
        const z2 = [0, 1, 2].map(
          (i) => theta[28 + i]! + [0, 1, 2, 3].reduce((s, j) => s + theta[16 + i * 4 + j]! * a2[j]!, 0),
        );
        return [a1, a2, z2.map(Math.tanh)];
      };
      for (let l = 0; l < 3; l++) {
        const d = factors[l]!.a.shape[0]!;
        const expected = new Float64Array(d * d);
        for (const x of Xd) {
          const a = inputsOf(x)[l]!;
          for (let i = 0; i < d; i++)
            for (let j = 0; j < d; j++) expected[i * d + j]! += (a[i]! * a[j]!) / Xd.length;
        }
        expectClose(factors[l]!.a.data, expected, { rtol: 1e-12, atol: 1e-14 });
      }
    }
  });

  test('subnetwork indices keep the order given, as laplace-torch indexes them', () => {
    const forward = laplace(model, {
      ...base,
      hessianStructure: 'full',
      subsetOfWeights: { subnetwork: [7, 1] },
      priorPrecision: [100, 1],
      priorMean: [0.2, 0],
    }).fit(X, Y);
    const backward = laplace(model, {
      ...base,
      hessianStructure: 'full',
      subsetOfWeights: { subnetwork: [1, 7] },
      priorPrecision: [1, 100],
      priorMean: [0, 0.2],
    }).fit(X, Y);
    const theta = flatten(model);
    expect(Array.from(forward.mean)).toEqual([theta[7], theta[1]]);
    expect(forward.logMarginalLikelihood()).toBeCloseTo(backward.logMarginalLikelihood(), 10);
  });

  test('kron log-determinant is Σ log(c·λᴮλᴬ + δ) over Kronecker eigenvalues', () => {
    const kron = laplace(model, { ...base, hessianStructure: 'kron' }).fit(X, Y);
    const factors = (kron as unknown as { kroneckerFactors: { b: Tensor; a: Tensor }[] }).kroneckerFactors;
    // The dense precision of each layer block: c·(B ⊗ A) + δI for the weight, c·B + δI for the bias.
    let logdet = 0;
    for (const { b, a } of factors) {
      const bm = new Matrix(b.toArray() as number[][]);
      const am = new Matrix(a.toArray() as number[][]);
      const kronBA = kroneckerProduct(bm, am)
        .mul(4)
        .add(Matrix.eye(bm.rows * am.rows).mul(1.3));
      logdet += logDet(kronBA) + logDet(bm.clone().mul(4).add(Matrix.eye(bm.rows).mul(1.3)));
    }
    expect(kron.logDetPosteriorPrecision).toBeCloseTo(logdet, 8);
  });
});

function kroneckerProduct(a: Matrix, b: Matrix): Matrix {
  const out = Matrix.zeros(a.rows * b.rows, a.columns * b.columns);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < a.columns; j++)
      for (let k = 0; k < b.rows; k++)
        for (let l = 0; l < b.columns; l++)
          out.set(i * b.rows + k, j * b.columns + l, a.get(i, j) * b.get(k, l));
  return out;
}

function logDet(m: Matrix): number {
  const l = new CholeskyDecomposition(m).lowerTriangularMatrix;
  let s = 0;
  for (let i = 0; i < m.rows; i++) s += 2 * Math.log(l.get(i, i));
  return s;
}

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

describe('link approximations', () => {
  const model = makeMlp([2, 5, 3], 'tanh', 5);
  const { X, y } = classificationData(40, 2, 3, 5);
  const la = laplace(model, {
    likelihood: 'classification',
    subsetOfWeights: 'all',
    hessianStructure: 'full',
    priorPrecision: 0.5,
  }).fit(X, y);
  const xt = randomInputs(4, 2, 77);
  const glm = la.predict(xt, { linkApprox: 'probit' }) as {
    probs: Tensor;
    mean: Tensor;
    functionalCovariance: Tensor;
  };

  test('probit is softmax(μ / √(1 + π/8 Σₖₖ))', () => {
    for (let i = 0; i < 4; i++) {
      const mu = Array.from(glm.mean.data.subarray(i * 3, i * 3 + 3));
      const kappa = mu.map(
        (_, k) => 1 / Math.sqrt(1 + (Math.PI / 8) * glm.functionalCovariance.data[i * 9 + k * 3 + k]!),
      );
      expectClose(glm.probs.data.subarray(i * 3, i * 3 + 3), softmax(mu.map((m, k) => m * kappa[k]!)), {
        rtol: 1e-12,
      });
    }
  });

  test('bridge and bridgeNorm follow laplace-torch, written with ml-matrix', () => {
    for (const norm of [false, true]) {
      const probs = (la.predict(xt, { linkApprox: norm ? 'bridgeNorm' : 'bridge' }) as { probs: Tensor })
        .probs;
      for (let i = 0; i < 4; i++) {
        const mu = new Matrix([Array.from(glm.mean.data.subarray(i * 3, i * 3 + 3))]);
        const S = new Matrix((glm.functionalCovariance.toArray() as number[][][])[i]!);
        const ones = Matrix.ones(3, 1);
        const s1 = S.mmul(ones);
        const total = ones.transpose().mmul(s1).get(0, 0);
        const muC = mu.clone().sub(s1.transpose().mul(mu.sum() / total));
        const SC = S.clone().sub(s1.mmul(s1.transpose()).div(total));
        let m = muC.to1DArray();
        let v = [0, 1, 2].map((k) => SC.get(k, k));
        if (norm) {
          const vbar = v.reduce((a, b) => a + b, 0) / 3 / Math.sqrt(1.5);
          m = m.map((x) => x / Math.sqrt(vbar));
          v = v.map((x) => x / vbar);
        }
        const sumExp = m.reduce((a, x) => a + Math.exp(-x), 0);
        const alpha = m.map((x, k) => (1 - 2 / 3 + (Math.exp(x) / 9) * sumExp) / v[k]!);
        const a0 = alpha.reduce((a, b) => a + b, 0);
        expectClose(
          probs.data.subarray(i * 3, i * 3 + 3),
          alpha.map((a) => a / a0),
          { rtol: 1e-9 },
        );
      }
    }
  });

  test('mc agrees with a 2-D quadrature of E[softmax(f)] for two classes', () => {
    const binary = makeMlp([2, 4, 2], 'tanh', 8);
    const data = classificationData(30, 2, 2, 8);
    const lb = laplace(binary, {
      likelihood: 'classification',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
      priorPrecision: 0.3,
    }).fit(data.X, data.y);
    const pred = lb.predict([[0.5, -0.3]], {
      linkApprox: 'mc',
      nSamples: 20000,
      seed: 3,
    }) as ClassificationLike;
    const mu = Array.from(pred.mean.data);
    const S = pred.functionalCovariance.data;
    // ∫ softmax(f)₀ N(f; μ, Σ) df on a grid of ±7 standard deviations.
    const sd = [Math.sqrt(S[0]!), Math.sqrt(S[3]!)];
    const det = S[0]! * S[3]! - S[1]! * S[2]!;
    const grid = 400;
    let num = 0;
    let den = 0;
    for (let a = 0; a < grid; a++) {
      for (let b = 0; b < grid; b++) {
        const f0 = mu[0]! + sd[0]! * (-7 + (14 * (a + 0.5)) / grid);
        const f1 = mu[1]! + sd[1]! * (-7 + (14 * (b + 0.5)) / grid);
        const d0 = f0 - mu[0]!;
        const d1 = f1 - mu[1]!;
        const q = (S[3]! * d0 * d0 - 2 * S[1]! * d0 * d1 + S[0]! * d1 * d1) / det;
        const w = Math.exp(-0.5 * q);
        num += w * softmax([f0, f1])[0]!;
        den += w;
      }
    }
    // Monte Carlo standard error is at most 0.5/√20000 ≈ 0.0035.
    expect(Math.abs(pred.probs.data[0]! - num / den)).toBeLessThan(0.012);
  });
});

interface ClassificationLike {
  probs: Tensor;
  mean: Tensor;
  functionalCovariance: Tensor;
}

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

describe('the nn predictive and the empirical Fisher', () => {
  test('nn predictive with a vanishing posterior is the MAP network', () => {
    const model = makeMlp([2, 4, 3], 'relu', 41);
    const { X, y } = classificationData(20, 2, 3, 41);
    const la = laplace(model, {
      likelihood: 'classification',
      subsetOfWeights: 'all',
      hessianStructure: 'diag',
      priorPrecision: 1e12,
    }).fit(X, y);
    const xt = randomInputs(3, 2, 1);
    const probs = (la.predict(xt, { predType: 'nn', nSamples: 5 }) as { probs: Tensor }).probs;
    xt.forEach((x, i) => {
      expectClose(probs.data.subarray(i * 3, i * 3 + 3), softmax(naiveForward(model, flatten(model), x)), {
        rtol: 1e-5,
      });
    });
  });

  test("ef regression is laplace-torch's 2 Σ (Jᵀr)(Jᵀr)ᵀ; classification Σ ∇ℓ ∇ℓᵀ", () => {
    const model = makeMlp([2, 3, 2], 'tanh', 51);
    const { X, Y } = regressionData(5, 2, 2, 51);
    const la = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
      curvature: 'ef',
    }).fit(X, Y);
    const theta = flatten(model);
    const p = theta.length;
    const ef = Matrix.zeros(p, p);
    X.forEach((x, i) => {
      const j = new Matrix(fdJacobian(model, theta, x));
      const r = new Matrix([naiveForward(model, theta, x).map((f, k) => f - Y[i]![k]!)]);
      const g = r.mmul(j);
      ef.add(g.transpose().mmul(g).mul(2));
    });
    expectClose((la as unknown as { hessian: Tensor }).hessian.data, ef.to1DArray(), {
      rtol: 1e-6,
      atol: 1e-7,
    });
  });
});

describe('serialisation and errors', () => {
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

  test('a full posterior too large to store is refused with advice, before any work', () => {
    const wide = makeMlp([1, 20000, 1], 'tanh', 1);
    const la = laplace(wide, { likelihood: 'regression', hessianStructure: 'full', subsetOfWeights: 'all' });
    expect(() => la.fit([[0]], [[0]])).toThrow(/use hessianStructure 'lowrank'/);
  });

  test('fromJSON refuses a model whose weights are not the posterior mean', () => {
    const la = laplace(model, {
      likelihood: 'regression',
      hessianStructure: 'diag',
      subsetOfWeights: 'all',
    }).fit(X, Y);
    const other = makeMlp([2, 4, 2], 'tanh', 62);
    expect(() => Laplace.fromJSON(la.toJSON(), other)).toThrow(/posterior was fitted at/);
  });

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
