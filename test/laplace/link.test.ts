import { Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { laplace } from '../../src/laplace/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { classificationData, makeMlp, randomInputs, softmax } from './oracle.js';

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
