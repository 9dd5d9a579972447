import { Matrix } from 'ml-matrix';
import { describe, test } from 'vitest';
import { laplace } from '../../src/laplace/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { fdJacobian, flatten, makeMlp, naiveForward, regressionData } from './oracle.js';

describe('the empirical Fisher', () => {
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
