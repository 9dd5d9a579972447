/**
 * Laplace on convolutional networks: every structure against the dense GGN
 * from finite-difference Jacobians through the network's own `apply`, `kron`
 * against BackPACK's KFLR formula for a convolution, and the convolution's
 * rule against the generic rule.
 */
import { Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { conv2d as conv2dOp } from '../../src/autodiff/ops.js';
import { jacobianFactors } from '../../src/laplace/factors.js';
import { type HessianStructure, laplace } from '../../src/laplace/index.js';
import { Network } from '../../src/laplace/network.js';
import { conv2dRule } from '../../src/laplace/rules/conv2d.js';
import type { Conv2d, Layer, LayerJSON, Sequential } from '../../src/nn/index.js';
import {
  Conv2d as Conv2dClass,
  Flatten as FlattenClass,
  Linear as LinearClass,
  Sequential as SequentialClass,
  Tanh as TanhClass,
} from '../../src/nn/index.js';
import { type Shape, type Tensor, Tensor as TensorClass } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { normalisedCnn, residualCnn, smallCnns } from './cnn-layers.js';
import { denseGgnOf, fdJacobianOf, randomInputs } from './oracle.js';

function images(model: Sequential, n: number, seed: number): number[][] {
  return randomInputs(n, model.inFeatures, seed);
}

describe.each(smallCnns())('$name', ({ model, outputs }) => {
  const X = images(model, 6, 3);
  const likelihood = outputs === 2 ? ('regression' as const) : ('classification' as const);
  const y = likelihood === 'regression' ? randomInputs(6, 2, 4) : X.map((_, i) => i % outputs);
  const ggn = denseGgnOf(model, X, likelihood);
  const p = model.nParams;
  const base = { likelihood, subsetOfWeights: 'all' as const, priorPrecision: 0.9 };

  test('full: H equals the dense GGN, and the evidence and predictive the dense formulas', () => {
    const la = laplace(model, { ...base, hessianStructure: 'full' }).fit(X, y);
    const h = (la as unknown as { hessian: Tensor }).hessian;
    expectClose(h.data, ggn.to1DArray(), { rtol: 1e-6, atol: 1e-7 });
    // J P⁻¹ Jᵀ at a test image, P = H + δI (σ = 1).
    const precision = ggn.clone().add(Matrix.eye(p).mul(0.9));
    const x = images(model, 1, 9)[0]!;
    const j = new Matrix(fdJacobianOf(model, x));
    const expected = j.mmul(new Matrix(invert(precision))).mmul(j.transpose());
    const fc = (
      la.predict([x], likelihood === 'regression' ? {} : { linkApprox: 'mc', nSamples: 1 }) as unknown as {
        functionalCovariance?: Tensor;
      }
    ).functionalCovariance;
    if (fc) expectClose(fc.data, expected.to1DArray(), { rtol: 1e-5, atol: 1e-8 });
  });

  test('diag equals the diagonal of the dense GGN', () => {
    const la = laplace(model, { ...base, hessianStructure: 'diag' }).fit(X, y);
    const d = (la as unknown as { hessian: Tensor }).hessian.data;
    expectClose(
      d,
      Array.from({ length: p }, (_, i) => ggn.get(i, i)),
      { rtol: 1e-6, atol: 1e-7 },
    );
  });

  test('lowrank with k = P equals full', () => {
    const full = laplace(model, { ...base, hessianStructure: 'full' }).fit(X, y);
    const low = laplace(model, { ...base, hessianStructure: 'lowrank', rank: p }).fit(X, y);
    expect(low.logMarginalLikelihood()).toBeCloseTo(full.logMarginalLikelihood(), 5);
  });

  test('lastLayer equals the dense GGN restricted to the last layer', () => {
    const la = laplace(model, { ...base, subsetOfWeights: 'lastLayer', hessianStructure: 'full' }).fit(X, y);
    const q = la.nParams;
    const h = (la as unknown as { hessian: Tensor }).hessian;
    const sub = ggn.subMatrix(p - q, p - 1, p - q, p - 1);
    expectClose(h.data, sub.to1DArray(), { rtol: 1e-6, atol: 1e-7 });
  });

  test('the convolution rule agrees with the generic rule', () => {
    const twin = new SequentialClass(
      model.layers.map((l) => (l.type === 'conv2d' ? generic(l) : l)),
      { inputShape: model.inputShape },
    );
    for (const structure of ['full', 'diag'] as HessianStructure[]) {
      const a = laplace(model, { ...base, hessianStructure: structure }).fit(X, y);
      const b = laplace(twin, { ...base, hessianStructure: structure }).fit(X, y);
      expect(b.logMarginalLikelihood()).toBeCloseTo(a.logMarginalLikelihood(), 8);
      expectClose(b.posteriorVariance(), a.posteriorVariance(), { rtol: 1e-9, atol: 1e-12 });
    }
  });

  test('the pooling and flatten rules agree with the generic rule', () => {
    const twin = new SequentialClass(
      model.layers.map((l) => (['maxpool2d', 'avgpool2d', 'flatten'].includes(l.type) ? generic(l) : l)),
      { inputShape: model.inputShape },
    );
    const a = laplace(model, { ...base, hessianStructure: 'full' }).fit(X, y);
    const b = laplace(twin, { ...base, hessianStructure: 'full' }).fit(X, y);
    const ha = (a as unknown as { hessian: Tensor }).hessian;
    const hb = (b as unknown as { hessian: Tensor }).hessian;
    expectClose(hb, ha, { rtol: 1e-12, atol: 1e-14 });
  });

  test('kron: the convolution factors are BackPACK KFLR (A from unfolded patches, B from the bias Jacobian)', () => {
    const conv = model.layers[0] as Conv2d;
    const la = laplace(model, { ...base, hessianStructure: 'kron' }).fit(X, y);
    const [factors] = (la as unknown as { kroneckerFactors: { a: Tensor; b: Tensor }[] }).kroneckerFactors;
    const { a, b } = kflrOracle(model, conv, X, likelihood);
    expectClose(factors!.a.data, a, { rtol: 1e-9, atol: 1e-12 });
    expectClose(factors!.b.data, b, { rtol: 1e-5, atol: 1e-7 });
    expect(Number.isFinite(la.logMarginalLikelihood())).toBe(true);
    // Its GLM predictive is J Σ Jᵀ with kron's own (block-diagonal) covariance Σ.
    if (likelihood === 'regression') {
      const x = images(model, 1, 12)[0]!;
      const j = new Matrix(fdJacobianOf(model, x));
      const sigma = new Matrix(la.posteriorCovariance().toArray() as number[][]);
      const expected = j.mmul(sigma).mmul(j.transpose());
      const fc = (la.predict([x]) as unknown as { functionalCovariance: Tensor }).functionalCovariance;
      expectClose(fc.data, expected.to1DArray(), { rtol: 1e-5, atol: 1e-8 });
    }
  });
});

test('a grouped convolution: full and diag equal the dense GGN', () => {
  const model = new SequentialClass(
    [
      new Conv2dClass(2, 4, 2, { groups: 2, seed: 51 }),
      new TanhClass(),
      new FlattenClass(),
      new LinearClass(16, 3, { seed: 52 }),
    ],
    { inputShape: [2, 3, 3] },
  );
  const X = images(model, 5, 53);
  const y = X.map((_, i) => i % 3);
  const ggn = denseGgnOf(model, X, 'classification');
  const options = { likelihood: 'classification' as const, subsetOfWeights: 'all' as const };
  const full = laplace(model, { ...options, hessianStructure: 'full' }).fit(X, y);
  expectClose((full as unknown as { hessian: Tensor }).hessian.data, ggn.to1DArray(), {
    rtol: 1e-6,
    atol: 1e-7,
  });
  const diag = laplace(model, { ...options, hessianStructure: 'diag' }).fit(X, y);
  expectClose(
    (diag as unknown as { hessian: Tensor }).hessian.data,
    Array.from({ length: model.nParams }, (_, i) => ggn.get(i, i)),
    { rtol: 1e-6, atol: 1e-7 },
  );
});

describe('kron in forward mode', () => {
  const { model } = smallCnns().find((c) => c.name === 'two convolutions')!;
  const X = images(model, 6, 41);
  const y = X.map((_, i) => i % 3);
  const options = { likelihood: 'classification' as const, subsetOfWeights: 'all' as const };

  test("the first convolution's bias rows pushed up to the second agree with the cotangents pulled down", () => {
    // Under the generic rule the max pooling pushes nothing forward, so the twin pulls back.
    const twin = new SequentialClass(
      model.layers.map((l) => (l.type === 'maxpool2d' ? generic(l) : l)),
      { inputShape: model.inputShape },
    );
    const factors = (m: Sequential) =>
      (
        laplace(m, { ...options, hessianStructure: 'kron' }).fit(X, y) as unknown as {
          kroneckerFactors: { a: Tensor; b: Tensor }[];
        }
      ).kroneckerFactors;
    const forward = factors(model);
    const backward = factors(twin);
    expect(forward).toHaveLength(3);
    forward.forEach((f, i) => {
      expectClose(f.b, backward[i]!.b, { rtol: 1e-12, atol: 1e-15 });
      expectClose(f.a, backward[i]!.a, { rtol: 0, atol: 0 });
    });
  });

  test('a grouped convolution pushes each input channel forward on its own', () => {
    const conv = new Conv2dClass(4, 6, 3, { groups: 2, padding: 1, stride: 2, seed: 5 });
    const x = new TensorClass(Float64Array.from(randomInputs(2, 100, 6).flat()), [2, 4, 5, 5]);
    const tangent = new TensorClass(Float64Array.from(randomInputs(2, 100, 7).flat()), [2, 4, 5, 5]);
    const pushed = conv2dRule.pushforwardByChannel!(conv, conv.parameters(), x, tangent);
    const plane = 6 * 3 * 3;
    expect(pushed.shape).toEqual([8, 6, 3, 3]);
    for (let c = 0; c < 4; c++) {
      const alone = tangent.data.map((v, i) => (Math.floor(i / 25) % 4 === c ? v : 0));
      const expected = conv2dOp(new TensorClass(alone, [2, 4, 5, 5]), conv.weight, null, {
        groups: 2,
        padding: 1,
        stride: 2,
      }).data;
      for (let e = 0; e < 2; e++) {
        expectClose(
          pushed.data.subarray((e * 4 + c) * plane, (e * 4 + c + 1) * plane),
          expected.subarray(e * plane, (e + 1) * plane),
          { rtol: 1e-14, atol: 1e-15 },
        );
      }
    }
  });
});

function invert(m: Matrix): number[][] {
  const n = m.rows;
  const aug = m
    .to2DArray()
    .map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(aug[r]![c]!) > Math.abs(aug[pivot]![c]!)) pivot = r;
    [aug[c], aug[pivot]] = [aug[pivot]!, aug[c]!];
    const d = aug[c]![c]!;
    for (let j = 0; j < 2 * n; j++) aug[c]![j]! /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = aug[r]![c]!;
      for (let j = 0; j < 2 * n; j++) aug[r]![j]! -= f * aug[c]![j]!;
    }
  }
  return aug.map((row) => row.slice(n));
}

function generic(layer: Layer): Layer {
  return {
    type: `generic-${layer.type}`,
    parameters: () => layer.parameters(),
    setParameters: (params: readonly Tensor[]) => layer.setParameters(params),
    outputShape: (shape: Shape) => layer.outputShape(shape),
    apply: (params: readonly Tensor[], x: Tensor) => layer.apply(params, x),
    toJSON: (): LayerJSON => layer.toJSON(),
  };
}

/**
 * KFLR of the first convolution by direct loops: A = (1/N) Σₙ Uₙ Uₙᵀ over the
 * unfolded patches Uₙ [C·kh·kw × L], B = Σₙ Jₙᵀ Λₙ Jₙ with Jₙ the
 * finite-difference Jacobian of the outputs with respect to the bias (or, for
 * a convolution without bias, the weight Jacobian summed to its output channel
 * through a unit perturbation of every weight's output channel).
 */
function kflrOracle(
  model: Sequential,
  conv: Conv2d,
  X: number[][],
  likelihood: 'regression' | 'classification',
): { a: number[]; b: number[] } {
  const [c, h, w] = model.inputShape as [number, number, number];
  const [k] = conv.kernelSize;
  const [s] = conv.stride;
  const [pad] = conv.padding;
  const outH = Math.floor((h + 2 * pad - k) / s) + 1;
  const outW = Math.floor((w + 2 * pad - k) / s) + 1;
  const depth = c * k * k;
  const a = new Array<number>(depth * depth).fill(0);
  for (const x of X) {
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        const patch: number[] = [];
        for (let ch = 0; ch < c; ch++)
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) {
              const r = i * s - pad + u;
              const q = j * s - pad + v;
              patch.push(r < 0 || r >= h || q < 0 || q >= w ? 0 : x[(ch * h + r) * w + q]!);
            }
        for (let p = 0; p < depth; p++)
          for (let q = 0; q < depth; q++) a[p * depth + q]! += patch[p]! * patch[q]!;
      }
    }
  }
  for (let i = 0; i < a.length; i++) a[i]! /= X.length;
  // Jacobian with respect to a per-channel offset added to the convolution's output:
  // for a layer with a bias this is the bias Jacobian; without one, perturb the output directly.
  const o = conv.outChannels;
  const b = Matrix.zeros(o, o);
  const eps = 1e-6;
  for (const x of X) {
    const input = { data: Float64Array.from(x), shape: [1, ...model.inputShape] };
    const f = (offset: number[]) => {
      let t = conv.apply(
        conv.parameters(),
        new (conv.weight.constructor as new (d: Float64Array, s: number[]) => Tensor)(
          input.data,
          input.shape,
        ),
      );
      const data = Float64Array.from(t.data);
      const plane = data.length / o;
      for (let ch = 0; ch < o; ch++) for (let q = 0; q < plane; q++) data[ch * plane + q]! += offset[ch]!;
      t = new (conv.weight.constructor as new (d: Float64Array, s: readonly number[]) => Tensor)(
        data,
        t.shape,
      );
      for (const layer of model.layers.slice(1)) t = layer.apply(layer.parameters(), t);
      return Array.from(t.data);
    };
    const f0 = f(new Array(o).fill(0));
    const jac = Matrix.zeros(f0.length, o);
    for (let ch = 0; ch < o; ch++) {
      const up = new Array(o).fill(0);
      up[ch] = eps;
      const down = new Array(o).fill(0);
      down[ch] = -eps;
      const fu = f(up);
      const fd = f(down);
      for (let r = 0; r < f0.length; r++) jac.set(r, ch, (fu[r]! - fd[r]!) / (2 * eps));
    }
    let lambda: Matrix;
    if (likelihood === 'regression') lambda = Matrix.eye(f0.length);
    else {
      const m = Math.max(...f0);
      const e = f0.map((v) => Math.exp(v - m));
      const z = e.reduce((sum, v) => sum + v, 0);
      const probs = e.map((v) => v / z);
      lambda = Matrix.diag(probs).sub(new Matrix([probs]).transpose().mmul(new Matrix([probs])));
    }
    b.add(jac.transpose().mmul(lambda).mmul(jac));
  }
  return { a, b: b.to1DArray() };
}

describe('a residual CNN', () => {
  const model = residualCnn();
  const X = images(model, 5, 21);
  const Y = randomInputs(5, 2, 22);
  const ggn = denseGgnOf(model, X, 'regression');
  const base = { likelihood: 'regression' as const, subsetOfWeights: 'all' as const, priorPrecision: 1.1 };

  test('full and diag equal the dense GGN; Laplace walks into the blocks (one prior group per tensor)', () => {
    const full = laplace(model, { ...base, hessianStructure: 'full' }).fit(X, Y);
    expectClose((full as unknown as { hessian: Tensor }).hessian.data, ggn.to1DArray(), {
      rtol: 1e-6,
      atol: 1e-7,
    });
    const diag = laplace(model, { ...base, hessianStructure: 'diag' }).fit(X, Y);
    const d = (diag as unknown as { hessian: Tensor }).hessian.data;
    expectClose(
      d,
      Array.from({ length: model.nParams }, (_, i) => ggn.get(i, i)),
      { rtol: 1e-6, atol: 1e-7 },
    );
    // conv (w, b), conv (w, b), 1×1 conv (w), conv (w, b), linear (w, b): 9 tensors.
    const layerwise = laplace(model, {
      ...base,
      hessianStructure: 'diag',
      priorPrecision: new Array(9).fill(1),
    });
    expect((layerwise.priorPrecision as number[]).length).toBe(9);
  });

  test('the same as the whole block through the generic rule', () => {
    const twin = new SequentialClass(
      model.layers.map((l) => (l.type === 'residual' ? generic(l) : l)),
      { inputShape: model.inputShape },
    );
    const a = laplace(model, { ...base, hessianStructure: 'full' }).fit(X, Y);
    const b = laplace(twin, { ...base, hessianStructure: 'full' }).fit(X, Y);
    expect(b.logMarginalLikelihood()).toBeCloseTo(a.logMarginalLikelihood(), 8);
    const xt = images(model, 3, 23);
    const pa = a.predict(xt) as unknown as { functionalCovariance: Tensor };
    const pb = b.predict(xt) as unknown as { functionalCovariance: Tensor };
    expectClose(pb.functionalCovariance, pa.functionalCovariance, { rtol: 1e-8, atol: 1e-12 });
  });

  test('kron reaches the convolutions inside the blocks, and last-layer stops at the head', () => {
    const kron = laplace(model, { ...base, hessianStructure: 'kron' }).fit(X, Y);
    expect((kron as unknown as { kroneckerFactors: unknown[] }).kroneckerFactors).toHaveLength(5);
    expect(Number.isFinite(kron.logMarginalLikelihood())).toBe(true);
    const last = laplace(model, { ...base, subsetOfWeights: 'lastLayer', hessianStructure: 'full' }).fit(
      X,
      Y,
    );
    const q = last.nParams;
    const p = model.nParams;
    const h = (last as unknown as { hessian: Tensor }).hessian;
    expectClose(h.data, ggn.subMatrix(p - q, p - 1, p - q, p - 1).to1DArray(), { rtol: 1e-6, atol: 1e-7 });
  });
});

describe('normalisation layers through the generic rule', () => {
  const model = normalisedCnn();
  const X = images(model, 5, 31);
  const y = X.map((_, i) => i % 2);
  const ggn = denseGgnOf(model, X, 'classification');

  test('full equals the dense GGN; kron says which layer has no factors', () => {
    const la = laplace(model, {
      likelihood: 'classification',
      subsetOfWeights: 'all',
      hessianStructure: 'full',
    }).fit(X, y);
    expectClose((la as unknown as { hessian: Tensor }).hessian.data, ggn.to1DArray(), {
      rtol: 1e-6,
      atol: 1e-7,
    });
    expect(() =>
      laplace(model, { likelihood: 'classification', subsetOfWeights: 'all', hessianStructure: 'kron' }),
    ).toThrow(/layers\[1\] \(batchnorm2d\) has no Kronecker factors/);
  });
});

test('diag reads the first convolution through the gather of relu, max pooling and tanh above it', () => {
  // The same row squares and bias rows as from the cotangents formed at its output.
  const { model } = smallCnns().find((c) => c.name === 'two convolutions')!;
  const network = new Network(model);
  const theta = Network.flatParameters(model);
  const n = 4;
  const x = Float64Array.from(images(model, n, 7).flat());
  const dense = jacobianFactors(network, theta, x, n);
  const gathered = jacobianFactors(network, theta, x, n, undefined, undefined, false, true);
  expect(dense.layerCotangents[0]).toBeDefined();
  expect(gathered.layerCotangents[0]).toBeUndefined();
  for (const slot of [0, 1]) {
    expectClose(gathered.rowSquares(slot)!, dense.rowSquares(slot)!, { rtol: 1e-12, atol: 1e-14 });
  }
  expectClose(gathered.biasRows(0), dense.biasRows(0), { rtol: 1e-12, atol: 1e-14 });
});
