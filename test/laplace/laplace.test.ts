import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { laplace } from '../../src/laplace/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  denseGgn,
  denseLogMarglik,
  flatten,
  makeMlp,
  randomInputs,
  regressionData,
  regressionLogLik,
} from './oracle.js';

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
