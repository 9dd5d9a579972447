import { Matrix, solve } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { ConvergenceError, ValueError } from '../../src/errors.js';
import { laplace, type SampledLaplace } from '../../src/laplace/index.js';
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../../src/nn/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  classificationData,
  fdJacobian,
  flatten,
  makeMlp,
  naiveForward,
  randomInputs,
  regressionData,
} from './oracle.js';

type Likelihood = 'regression' | 'classification';

function fitted(likelihood: Likelihood, options: Record<string, unknown>, seed = 2) {
  const model = makeMlp([2, 4, 2], 'tanh', seed);
  const data =
    likelihood === 'regression' ? regressionData(20, 2, 2, seed) : classificationData(20, 2, 2, seed);
  const y = 'Y' in data ? data.Y : data.y;
  const common = { likelihood, subsetOfWeights: 'all' as const, priorPrecision: 0.5, ...options };
  const full = laplace(model, { ...common, hessianStructure: 'full' }).fit(data.X, y);
  const make = (extra: Record<string, unknown>) =>
    laplace(model, { ...common, hessianStructure: 'sampled', cgTol: 1e-10, ...extra }).fit(
      data.X,
      y,
    ) as SampledLaplace;
  return { model, data, full, make };
}

/** ‖A − B‖_F / ‖B‖_F. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function sampleCovariance(samples: Tensor): Float64Array {
  const [s, p] = samples.shape as [number, number];
  const out = new Float64Array(p * p);
  for (let j = 0; j < s; j++)
    for (let a = 0; a < p; a++)
      for (let b = 0; b < p; b++)
        out[a * p + b]! += (samples.data[j * p + a]! * samples.data[j * p + b]!) / s;
  return out;
}

/** Root mean square over seeds of an error measured on a posterior with S samples. */
function rmsError(
  make: (extra: Record<string, unknown>) => SampledLaplace,
  s: number,
  error: (la: SampledLaplace) => number,
) {
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  return Math.sqrt(
    seeds.reduce((sum, seed) => sum + error(make({ posteriorSamples: s, seed })) ** 2, 0) / seeds.length,
  );
}

describe('sample-then-optimise against the exact full posterior', () => {
  for (const likelihood of ['regression', 'classification'] as const) {
    test(`${likelihood}: sample covariance, sample mean and γ converge at the Monte Carlo rate`, () => {
      const { full, make } = fitted(likelihood, {});
      const exact = full.posteriorCovariance().data;
      const p = full.nParams;
      let trace = 0;
      for (let i = 0; i < p; i++) trace += exact[i * p + i]!;
      const gammaExact = p - 0.5 * trace;
      const covarianceError = (la: SampledLaplace) =>
        relativeError(sampleCovariance(la.centredSamples), exact);
      const meanError = (la: SampledLaplace) => {
        const z = la.centredSamples;
        const s = z.shape[0]!;
        let sq = 0;
        for (let i = 0; i < p; i++) {
          let m = 0;
          for (let j = 0; j < s; j++) m += z.data[j * p + i]! / s;
          sq += m * m;
        }
        return Math.sqrt(sq / trace);
      };
      const gammaError = (la: SampledLaplace) => la.effectiveParameters()[0]! / gammaExact - 1;
      for (const error of [covarianceError, meanError, gammaError]) {
        const e64 = rmsError(make, 64, error);
        const e256 = rmsError(make, 256, error);
        // Error × √S roughly constant: quadrupling S halves the error.
        expect(e64 / e256).toBeGreaterThan(1.3);
        expect(e64 / e256).toBeLessThan(3.2);
      }
      // And the estimates are unbiased for the right quantities: within a few standard errors at S = 256.
      expect(rmsError(make, 256, covarianceError)).toBeLessThan(0.4);
      expect(Math.abs(rmsError(make, 256, gammaError))).toBeLessThan(0.15);
    });
  }

  test('the samples solve P ζ = b: the EM γ estimate with b − P₀ζ matches ζᵀ c H ζ from the dense H', () => {
    const { full, make } = fitted('regression', { sigmaNoise: 0.4 });
    const la = make({ posteriorSamples: 8 });
    const h = (full as unknown as { hessian: Tensor }).hessian.data;
    const z = la.centredSamples;
    const p = la.nParams;
    const c = 1 / 0.16;
    let quadratic = 0;
    for (let s = 0; s < 8; s++)
      for (let a = 0; a < p; a++)
        for (let b = 0; b < p; b++)
          quadratic += (c * z.data[s * p + a]! * h[a * p + b]! * z.data[s * p + b]!) / 8;
    expect(la.effectiveParameters()[0]).toBeCloseTo(quadratic, 6);
    expect(la.lastSolve.converged).toBe(true);
  });

  test("'linearised' mean: θ* − P⁻¹∇ from the dense P and a finite-difference gradient", () => {
    const { model, data: raw, full } = fitted('regression', { sigmaNoise: 0.4 });
    const data = raw as { X: number[][]; Y: number[][] };
    const la = laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'sampled',
      priorPrecision: 0.5,
      sigmaNoise: 0.4,
      posteriorMean: 'linearised',
      posteriorSamples: 2,
      cgTol: 1e-12,
    }).fit(data.X, data.Y) as SampledLaplace;
    const theta = flatten(model);
    const c = 1 / 0.16;
    const gradient = Array.from(theta, (t) => 0.5 * t);
    data.X.forEach((x, n) => {
      const f = naiveForward(model, theta, x);
      fdJacobian(model, theta, x).forEach((row, j) => {
        row.forEach((v, i) => {
          gradient[i]! += c * v * (f[j]! - data.Y[n]![j]!);
        });
      });
    });
    const precision = new Matrix(
      Array.from({ length: la.nParams }, (_, i) =>
        Array.from(full.posteriorPrecision().data.subarray(i * la.nParams, (i + 1) * la.nParams)),
      ),
    );
    const step = solve(precision, Matrix.columnVector(gradient)).to1DArray();
    expectClose(
      la.posteriorMeanWeights,
      Array.from(theta, (t, i) => t - step[i]!),
      { rtol: 1e-6, atol: 1e-7 },
    );
    // The predictive mean moves with it: f(x, θ*) + J(x)(θ̄ − θ*).
    const x = [[0.3, -0.7]];
    const mean = (la.predict(x) as { mean: Tensor }).mean.data;
    const jac = fdJacobian(model, theta, x[0]!);
    const f = naiveForward(model, theta, x[0]!);
    const expected = f.map(
      (v, j) => v + jac[j]!.reduce((s, jv, i) => s + jv * (la.posteriorMeanWeights[i]! - theta[i]!), 0),
    );
    expectClose(mean, expected, { rtol: 1e-6, atol: 1e-7 });
  });

  for (const likelihood of ['regression', 'classification'] as const) {
    test(`${likelihood}: the EM fixed point from 256 samples is near the evidence's maximiser`, () => {
      const { full, make } = fitted(likelihood, {});
      const exact = full.optimizePriorPrecision().priorPrecision as number;
      const la = make({ posteriorSamples: 256 });
      const result = la.optimizePriorPrecision();
      expect(Number.isNaN(result.logMarginalLikelihood)).toBe(true);
      expect(Math.abs(Math.log((result.priorPrecision as number) / exact))).toBeLessThan(0.15);
      // Applied to the exact γ, the update leaves the maximiser in place (MacKay's condition).
      full.priorPrecision = exact;
      const cov = full.posteriorCovariance().data;
      const p = full.nParams;
      let trace = 0;
      for (let i = 0; i < p; i++) trace += cov[i * p + i]!;
      const scatter = full.scatter / exact;
      expect((p - exact * trace) / scatter / exact).toBeCloseTo(1, 6);
    });
  }

  test('with most weights left to the prior, MacKay’s update settles in a few steps where EM’s crawls', () => {
    // P = 152 weights, H of rank ≤ 20: γ/P ≤ 0.13, so EM contracts by about 0.87 per step.
    const model = makeMlp([2, 30, 2], 'tanh', 3);
    const { X, Y } = regressionData(10, 2, 2, 3);
    const common = { likelihood: 'regression' as const, subsetOfWeights: 'all' as const, sigmaNoise: 0.3 };
    const exact = laplace(model, { ...common, hessianStructure: 'full' })
      .fit(X, Y)
      .optimizePriorPrecision().priorPrecision as number;
    const make = () =>
      laplace(model, {
        ...common,
        hessianStructure: 'sampled',
        priorPrecision: 1,
        posteriorSamples: 32,
        cgTol: 1e-10,
        seed: 1,
      }).fit(X, Y) as SampledLaplace;
    const limit = make().optimizePriorPrecision({ tol: 1e-10, maxIter: 100 }).priorPrecision as number;
    const mackay = make().optimizePriorPrecision({ maxIter: 5 }).priorPrecision as number;
    const em = make();
    const steps: number[] = [];
    for (let i = 0; i < 60; i++) {
      em.priorPrecision = em.emUpdate()[0]!;
      steps.push(em.priorPrecision as number);
    }
    expect(Math.abs(Math.log(mackay / limit))).toBeLessThan(0.01);
    expect(Math.abs(Math.log(steps[4]! / steps[59]!))).toBeGreaterThan(0.2);
    // Both limits are the evidence's maximiser up to Monte Carlo error (S = 32).
    expect(Math.abs(Math.log(limit / exact))).toBeLessThan(0.15);
    expect(Math.abs(Math.log(steps[59]! / exact))).toBeLessThan(0.15);
  });

  test('per-tensor priors: the damped iteration settles where the full MacKay step never does', () => {
    // P = 74 weights, six prior groups; at S = 64 the full step never settles (δ of the second
    // hidden layer's 6 biases jumps between about 0.05 and 10), at S = 256 it converges.
    const model = makeMlp([2, 6, 6, 2], 'tanh', 1);
    const { X, Y } = regressionData(30, 2, 2, 1);
    const common = {
      likelihood: 'regression' as const,
      subsetOfWeights: 'all' as const,
      sigmaNoise: 0.3,
      priorPrecision: [1, 1, 1, 1, 1, 1],
    };
    const exact = laplace(model, { ...common, hessianStructure: 'full' })
      .fit(X, Y)
      .optimizePriorPrecision({ priorStructure: 'layerwise' }).priorPrecision as number[];
    const make = (posteriorSamples: number) =>
      laplace(model, {
        ...common,
        hessianStructure: 'sampled',
        posteriorSamples,
        cgTol: 1e-10,
        seed: 1,
      }).fit(X, Y) as SampledLaplace;
    const tune = (la: SampledLaplace, maxIter?: number) =>
      Array.from(
        la.optimizePriorPrecision({ priorStructure: 'layerwise', maxIter }).priorPrecision as number[],
      );
    const largestMove = (a: number[], b: number[]) =>
      Math.max(...a.map((v, g) => Math.abs(Math.log(v / b[g]!))));
    // One step per call is the undamped update: after 50 of them every step still moves some δ_g
    // by more than a factor e^0.3.
    const plain = make(64);
    const path = Array.from({ length: 60 }, () => tune(plain, 1));
    for (let i = 50; i < 60; i++) expect(largestMove(path[i]!, path[i - 1]!)).toBeGreaterThan(0.3);
    const la = make(64);
    tune(la);
    expect(la.lastPriorIteration.converged).toBe(true);
    // At the limit the full update moves no δ_g: MacKay's fixed point, not a damped standstill.
    expect(la.lastPriorIteration.residual).toBeLessThan(1e-6);
    // Where the full step converges too, both reach the same point, the evidence's maximiser
    // up to Monte Carlo error (S = 256; groups of 2 and 6 weights have few effective parameters).
    const damped = make(256);
    const limit = tune(damped);
    expect(damped.lastPriorIteration.converged).toBe(true);
    const undamped = make(256);
    for (let i = 0; i < 80; i++) tune(undamped, 1);
    expect(largestMove(limit, tune(undamped, 1))).toBeLessThan(1e-4);
    expect(largestMove(limit, exact)).toBeLessThan(0.4);
    // Stopping at maxIter short of tol is reported.
    const capped = make(64);
    tune(capped, 3);
    expect(capped.lastPriorIteration).toMatchObject({ iterations: 3, converged: false });
    expect(capped.lastPriorIteration.residual).toBeGreaterThan(1e-6);
  });

  test('per-layer priors: one γ per group, summing to the scalar γ', () => {
    const { make } = fitted('classification', {});
    const scalar = make({ posteriorSamples: 16 }).effectiveParameters();
    const layered = make({
      posteriorSamples: 16,
      priorPrecision: [0.5, 0.5, 0.5, 0.5],
    }).effectiveParameters();
    expect(layered.length).toBe(4);
    expect(layered.reduce((a, b) => a + b, 0)).toBeCloseTo(scalar[0]!, 8);
  });

  test('the GLM predictive from samples approaches the exact one', () => {
    const { full, make } = fitted('regression', {});
    const x = [
      [0.1, 0.2],
      [-1, 0.5],
    ];
    const exact = (full.predict(x) as { functionalCovariance: Tensor }).functionalCovariance.data;
    const sampled = (make({ posteriorSamples: 512 }).predict(x) as { functionalCovariance: Tensor })
      .functionalCovariance.data;
    expect(relativeError(sampled, exact)).toBeLessThan(0.2);
  });
});

describe('the preconditioned solver on a CNN', () => {
  // conv 3×3 (1→4) → ReLU → max pool → linear (16 → 3): P = 91, 40 examples, a weak prior (ill-conditioned P).
  const model = new Sequential(
    [
      new Conv2d(1, 4, 3, { seed: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(16, 3, { seed: 2 }),
    ],
    { inputShape: [1, 6, 6] },
  );
  const X = randomInputs(40, 36, 5);
  const y = X.map((_, i) => i % 3);
  const common = {
    likelihood: 'classification' as const,
    subsetOfWeights: 'all' as const,
    priorPrecision: 0.01,
    hessianStructure: 'sampled' as const,
    cgTol: 1e-10,
  };
  const make = (options: Record<string, unknown>) =>
    laplace(model, { ...common, ...options }).fit(X, y) as SampledLaplace;

  test('Nyström of rank 20 reaches 1e-10 in a fraction of Jacobi’s iterations, to the same samples', () => {
    const nystrom = make({ posteriorSamples: 4, seed: 3, cgRank: 20 });
    const jacobi = make({ posteriorSamples: 4, seed: 3, cgPreconditioner: 'diag' });
    const a = nystrom.centredSamples.data;
    const b = jacobi.centredSamples.data;
    expect(nystrom.lastSolve.converged && jacobi.lastSolve.converged).toBe(true);
    expect(nystrom.lastSolve.iterations).toBeLessThan(jacobi.lastSolve.iterations / 2);
    expect(relativeError(a, b)).toBeLessThan(1e-7);
  });

  test('a Nyström rank at least rank H makes the preconditioner P itself: CG converges at once', () => {
    // H has rank ≤ 40·(3 − 1) = 80 < P = 91, so rank 91 captures it exactly.
    const la = make({ posteriorSamples: 4, seed: 3, cgRank: 91 });
    void la.centredSamples;
    expect(la.lastSolve.iterations).toBeLessThanOrEqual(2);
  });

  test('sample covariance converges to the exact posterior covariance at the Monte Carlo rate', () => {
    const full = laplace(model, { ...common, hessianStructure: 'full' }).fit(X, y);
    const exact = full.posteriorCovariance().data;
    const error = (la: SampledLaplace) => relativeError(sampleCovariance(la.centredSamples), exact);
    const rms = (s: number) => rmsError((extra) => make({ cgRank: 91, ...extra }), s, error);
    const [e64, e256] = [rms(64), rms(256)];
    expect(e64 / e256).toBeGreaterThan(1.3);
    expect(e64 / e256).toBeLessThan(3.2);
    expect(e256).toBeLessThan(0.4);
  });

  test('stopping at cgMaxIter short of cgTol is a ConvergenceError with the residual reached', () => {
    const la = make({ posteriorSamples: 2, cgPreconditioner: 'diag', cgMaxIter: 3 });
    let caught: unknown;
    try {
      void la.centredSamples;
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConvergenceError);
    const error = caught as ConvergenceError;
    expect(error.message).toMatch(/cgMaxIter = 3/);
    expect(error.iterations).toBe(3);
    expect(error.residual).toBeGreaterThan(1e-10);
    expect(la.lastSolve).toEqual({ iterations: 3, relativeResidual: error.residual, converged: false });
  });
});

describe("'sampled' options", () => {
  const model = makeMlp([2, 3, 2], 'tanh', 1);
  const { X, Y } = regressionData(10, 2, 2, 1);
  const make = (options: Record<string, unknown>) =>
    laplace(model, {
      likelihood: 'regression',
      subsetOfWeights: 'all',
      hessianStructure: 'sampled',
      ...options,
    });

  test('bad options are ValueErrors that name them', () => {
    expect(() => make({ posteriorSamples: 0 })).toThrow(/posteriorSamples/);
    expect(() => make({ posteriorMean: 'mode' })).toThrow(/posteriorMean/);
    expect(() => make({ cgTol: 0 })).toThrow(/cgTol/);
    expect(() => make({ cgMaxIter: 1.5 })).toThrow(/cgMaxIter/);
    expect(() => make({ cgPreconditioner: 'kron' })).toThrow(/cgPreconditioner/);
    expect(() => make({ cgRank: 0 })).toThrow(/cgRank/);
    expect(() => make({ curvature: 'ef' })).toThrow(/curvature/);
    const la = make({ posteriorSamples: 4 }).fit(X, Y);
    expect(() => la.logMarginalLikelihood()).toThrow(ValueError);
    expect(() => la.posteriorCovariance()).toThrow(/never forms/);
    expect(() => la.optimizePriorPrecision({ optimizer: 'adam' })).toThrow(/EM/);
    expect(() => la.toJSON()).toThrow(ValueError);
  });

  test('samples are reproducible by seed', () => {
    const a = make({ posteriorSamples: 3, seed: 4 }).fit(X, Y) as SampledLaplace;
    const b = make({ posteriorSamples: 3, seed: 4 }).fit(X, Y) as SampledLaplace;
    expect(Array.from(a.centredSamples.data)).toEqual(Array.from(b.centredSamples.data));
    expect(Array.from(a.sample(2, 7).data)).toEqual(Array.from(b.sample(2, 7).data));
  });
});

describe('the g-prior', () => {
  test('makes the samples’ predictive and the EM prior invariant to the scale of a feature', () => {
    const scales = [1, 30, 0.05];
    const make = (scaled: boolean) => {
      const model = makeMlp([3, 2], 'identity', 6);
      const { X, Y } = regressionData(15, 3, 2, 6);
      if (scaled) {
        const theta = model.flatParameters();
        for (let k = 0; k < 2; k++) for (let j = 0; j < 3; j++) theta[k * 3 + j]! /= scales[j]!;
        model.setFlatParameters(theta);
      }
      const x = scaled ? X.map((row) => row.map((v, j) => v * scales[j]!)) : X;
      const test = [[0.4, -1, 2]].map((row) => (scaled ? row.map((v, j) => v * scales[j]!) : row));
      return { model, x, Y, test };
    };
    const run = (scaled: boolean, priorScaling: 'none' | 'g') => {
      const { model, x, Y, test } = make(scaled);
      const la = laplace(model, {
        likelihood: 'regression',
        subsetOfWeights: 'all',
        hessianStructure: 'sampled',
        priorScaling,
        posteriorSamples: 8,
        cgTol: 1e-12,
        seed: 3,
      }).fit(x, Y) as SampledLaplace;
      const delta = la.optimizePriorPrecision({ maxIter: 4 }).priorPrecision as number;
      const cov = (la.predict(test) as { functionalCovariance: Tensor }).functionalCovariance.data;
      return { delta, cov };
    };
    const plain = run(false, 'g');
    const rescaled = run(true, 'g');
    expect(rescaled.delta).toBeCloseTo(plain.delta, 6);
    expectClose(rescaled.cov, plain.cov, { rtol: 1e-6, atol: 1e-10 });
    // A scalar prior without the scaling is not invariant.
    expect(Math.abs(run(true, 'none').delta / run(false, 'none').delta - 1)).toBeGreaterThan(0.01);
  });
});
