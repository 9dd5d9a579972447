/**
 * Parity with laplace-torch 0.1a2 (BackPACK 1.5.2 backend) on convolutional
 * networks.
 *
 * test/fixtures/laplace-torch/cnn.json is written by
 * scripts/reference/cnn_fixtures.py in the reference environment: three small
 * float64 CNNs (ReLU + max pooling; tanh + strided convolution without bias +
 * overlapping average pooling; a two-channel regression with σ ≠ 1), their
 * data, and for every subset of weights (all, last layer) and Hessian
 * structure (full, kron, diag) what laplace-torch computed at prior precision
 * δ: the evidence and its terms, the posterior precision, the GLM predictive,
 * and its Adam tuning of δ. Each case is rebuilt here from the same JSON
 * network and data and must agree to rounding.
 *
 * Conventions mapped, not compared blindly:
 * - laplace-torch stores Kronecker factors per parameter tensor, [B, A] for a
 *   weight and [B] for a bias, with the backend's loss factor c (½ for
 *   MSELoss(sum), whose GGN is 2 Σ JᵀJ, and 1 for cross-entropy) spread as
 *   c^(1/len) over the factors. With laplace-ts's per-layer B = Σₙ Jₙᵀ Λₙ Jₙ
 *   (Λ = I for regression, before 1/σ²) and A = (1/N) Σₙ Uₙ Uₙᵀ:
 *   B_weight = B/√c, A_weight = √c·A, B_bias = B, so B_weight ⊗ A_weight = B ⊗ A.
 * - Its posterior precision is then H/(σ²T) + δ, the prior added to the
 *   eigenvalues of each block, which for a scalar δ is the dense
 *   blockdiag(B ⊗ A, B)/σ² + δI compared below.
 */
import { describe, expect, test } from 'vitest';
import {
  type BaseLaplace,
  type HessianStructure,
  type KronLaplace,
  laplace,
} from '../../src/laplace/index.js';
import { Sequential } from '../../src/nn/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { type FixtureNetwork, flat, readFixture } from './laplace-torch-fixtures.js';

interface ReferenceCase {
  subsetOfWeights: 'all' | 'lastLayer';
  hessianStructure: Exclude<HessianStructure, 'lowrank'>;
  logMarginalLikelihood: number;
  logLikelihood: number;
  logDetPosteriorPrecision: number;
  scatter: number;
  nParams: number;
  posteriorPrecision?: number[][];
  posteriorPrecisionDiagonal?: number[];
  /** Per parameter tensor: [B, A] for a weight, [B] for a bias. */
  kroneckerFactors?: number[][][][];
  fMu: number[][];
  fVar: number[][][];
  probs?: number[][];
  adamPriorPrecision: number;
  adamLogMarginalLikelihood: number;
}

interface ReferenceNetwork extends FixtureNetwork<ReferenceCase> {
  fMap: number[][];
}

const fixture = readFixture<{ networks: ReferenceNetwork[] }>('laplace-torch/cnn.json');

/** Both sides compute in float64 from the same weights and data; the fixture keeps 15 digits. */
const SCALAR = { rtol: 1e-10, atol: 1e-12 };
const MATRIX = { rtol: 1e-9, atol: 1e-12 };

/** blockdiag(F₀ ⊗ F₁ or F₀ over the tensors)·scale + δI, dense and row-major. */
function denseFromFactors(tensors: number[][][][], scale: number, delta: number): Float64Array {
  const sizes = tensors.map((fs) => fs.reduce((n, f) => n * f.length, 1));
  const p = sizes.reduce((a, b) => a + b, 0);
  const out = new Float64Array(p * p);
  let offset = 0;
  tensors.forEach((fs, t) => {
    const [b, a] = [fs[0]!, fs[1] ?? [[1]]];
    const m = a.length;
    for (let i = 0; i < sizes[t]!; i++) {
      for (let j = 0; j < sizes[t]!; j++) {
        const v = b[Math.floor(i / m)]![Math.floor(j / m)]! * a[i % m]![j % m]!;
        out[(offset + i) * p + offset + j] = v * scale;
      }
    }
    offset += sizes[t]!;
  });
  for (let i = 0; i < p; i++) out[i * p + i]! += delta;
  return out;
}

describe.each(fixture.networks)('laplace-torch 0.1a2 on $name', (net) => {
  const model = Sequential.fromJSON(net.model);

  test('the JSON network is the PyTorch one: parameters() order and outputs', () => {
    expect(Array.from(model.flatParameters())).toEqual(net.parameters);
    expectClose(model.forward(net.XTest) as Tensor, flat(net.fMap), SCALAR);
  });

  describe.each(net.cases)('$subsetOfWeights $hessianStructure', (ref) => {
    const fitted = (): BaseLaplace =>
      laplace(model, {
        likelihood: net.likelihood,
        subsetOfWeights: ref.subsetOfWeights,
        hessianStructure: ref.hessianStructure,
        priorPrecision: net.priorPrecision,
        sigmaNoise: net.sigmaNoise,
      }).fit(net.X, net.y);
    const la = fitted();

    test('the evidence and its terms', () => {
      expect(la.nParams).toBe(ref.nParams);
      expectClose([la.logMarginalLikelihood()], [ref.logMarginalLikelihood], SCALAR);
      expectClose([la.logLikelihood], [ref.logLikelihood], SCALAR);
      expectClose([la.logDetPosteriorPrecision], [ref.logDetPosteriorPrecision], SCALAR);
      expectClose([la.scatter], [ref.scatter], SCALAR);
    });

    test('the posterior precision', () => {
      const precision = la.posteriorPrecision();
      const p = la.nParams;
      if (ref.posteriorPrecision) expectClose(precision, flat(ref.posteriorPrecision), MATRIX);
      if (ref.posteriorPrecisionDiagonal) {
        const diagonal = Array.from({ length: p }, (_, i) => precision.data[i * p + i]!);
        expectClose(diagonal, ref.posteriorPrecisionDiagonal, MATRIX);
      }
      if (ref.kroneckerFactors) {
        const c = net.likelihood === 'regression' ? 0.5 : 1;
        const expected = denseFromFactors(ref.kroneckerFactors, 1 / net.sigmaNoise ** 2, net.priorPrecision);
        expectClose(precision, expected, MATRIX);
        // Factor by factor, under the scaling convention of the header.
        const tensors = [...ref.kroneckerFactors];
        for (const { b, a } of (la as KronLaplace).kroneckerFactors) {
          const [bWeight, aWeight] = tensors.shift()!;
          expectClose(
            b,
            flat(bWeight!).map((v) => v * Math.sqrt(c)),
            MATRIX,
          );
          expectClose(
            a,
            flat(aWeight!).map((v) => v / Math.sqrt(c)),
            MATRIX,
          );
          // A bias's factor is B itself; the next tensor is a bias when it has one factor.
          if (tensors[0]?.length === 1) expectClose(b, flat(tensors.shift()![0]!), MATRIX);
        }
        expect(tensors).toHaveLength(0);
      }
    });

    test("the GLM predictive (probit for classification, laplace-torch's default)", () => {
      const prediction = la.predict(net.XTest) as {
        mean: Tensor;
        functionalCovariance: Tensor;
        probs?: Tensor;
      };
      expectClose(prediction.mean, flat(ref.fMu), SCALAR);
      expectClose(prediction.functionalCovariance, flat(ref.fVar), MATRIX);
      if (ref.probs) expectClose(prediction.probs!, flat(ref.probs), SCALAR);
    });

    test("laplace-torch's Adam on the prior precision, and the exact maximiser beyond it", () => {
      const adam = fitted();
      adam.optimizePriorPrecision({ optimizer: 'adam' });
      expectClose([adam.priorPrecision as number], [ref.adamPriorPrecision], SCALAR);
      expectClose([adam.logMarginalLikelihood()], [ref.adamLogMarginalLikelihood], SCALAR);
      const exact = fitted();
      exact.optimizePriorPrecision();
      expect(exact.logMarginalLikelihood()).toBeGreaterThanOrEqual(ref.adamLogMarginalLikelihood - 1e-9);
    });
  });
});
