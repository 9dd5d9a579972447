import { Matrix } from 'ml-matrix';
import { describe, test } from 'vitest';
import { laplace } from '../../src/laplace/index.js';
import { likelihoodRule } from '../../src/laplace/likelihood.js';
import { softmaxRows } from '../../src/laplace/link.js';
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

describe('square roots of the softmax Hessian', () => {
  test('the K − 1 Cholesky rows give SᵀS = diag(p) − ppᵀ, tiny and underflowed probabilities included', () => {
    const k = 5;
    // Ordinary logits; one class far below the rest; one probability exactly 0 (last); two at 0.
    const f = Float64Array.from([
      0.3, -1.2, 2.0, 0.1, -0.4, 1.0, -30, 0.5, 2.5, -1.0, 0.2, 1.5, -0.3, 0.7, -800, 3.0, -900, 0.0, 1.0,
      -900,
    ]);
    const n = f.length / k;
    const labels = new Int32Array(n);
    const rule = likelihoodRule('classification');
    const targets = { kind: 'classification', labels } as const;
    const { roots, m } = rule.outputCurvature('ggn', f, targets, 0, n, k, true);
    const symmetric = rule.outputCurvature('ggn', f, targets, 0, n, k);
    const p = softmaxRows(f, n, k);
    if (m !== k - 1) throw new Error(`expected ${k - 1} rows, got ${m}`);
    for (let e = 0; e < n; e++) {
      const gram: number[] = [];
      const reference: number[] = [];
      const lambda: number[] = [];
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          let s = 0;
          for (let r = 0; r < m; r++) s += roots[(e * m + r) * k + i]! * roots[(e * m + r) * k + j]!;
          gram.push(s);
          let t = 0;
          for (let r = 0; r < k; r++)
            t += symmetric.roots[(e * k + r) * k + i]! * symmetric.roots[(e * k + r) * k + j]!;
          reference.push(t);
          lambda.push((i === j ? p[e * k + i]! : 0) - p[e * k + i]! * p[e * k + j]!);
        }
      }
      expectClose(gram, lambda, { rtol: 1e-12, atol: 1e-17 });
      expectClose(gram, reference, { rtol: 1e-12, atol: 1e-17 });
    }
  });
});
