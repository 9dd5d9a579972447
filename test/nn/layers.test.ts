/** Layers and Sequential: forward against dense loops, parameter order, JSON, init, errors. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { mul, sum } from '../../src/autodiff/ops.js';
import { grad } from '../../src/autodiff/transforms.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import {
  ELU,
  GELU,
  Identity,
  LeakyReLU,
  Linear,
  ReLU,
  ravel,
  Sequential,
  type SequentialJSON,
  Sigmoid,
  Softplus,
  Tanh,
  unravel,
} from '../../src/nn/index.js';
import type { Activation, ActivationName } from '../../src/nn/layers.js';
import { randn, type Tensor, tensor } from '../../src/tensor.js';
import { finiteDifferenceGradient } from '../finite-differences.js';
import { expectClose } from '../helpers.js';

/** Textbook scalar activations, written independently of the library's kernels. */
const reference: Record<
  Exclude<ActivationName, 'gelu'>,
  { value: (z: number) => number; derivative: (z: number) => number }
> = {
  identity: { value: (z) => z, derivative: () => 1 },
  tanh: { value: Math.tanh, derivative: (z) => 1 / Math.cosh(z) ** 2 },
  sigmoid: {
    value: (z) => 1 / (1 + Math.exp(-z)),
    derivative: (z) => Math.exp(-z) / (1 + Math.exp(-z)) ** 2,
  },
  relu: { value: (z) => Math.max(z, 0), derivative: (z) => (z > 0 ? 1 : 0) },
  leakyrelu: { value: (z) => (z > 0 ? z : 0.01 * z), derivative: (z) => (z > 0 ? 1 : 0.01) },
  elu: { value: (z) => (z > 0 ? z : Math.exp(z) - 1), derivative: (z) => (z > 0 ? 1 : Math.exp(z)) },
  softplus: { value: (z) => Math.log(1 + Math.exp(z)), derivative: (z) => 1 / (1 + Math.exp(-z)) },
};

const activations: Activation[] = [
  new Identity(),
  new Tanh(),
  new Sigmoid(),
  new ReLU(),
  new LeakyReLU(),
  new ELU(),
  new Softplus(),
];

describe('activations', () => {
  const z = [-3.7, -1.2, -0.3, 0.25, 0.9, 2.6];
  for (const layer of activations) {
    it(`${layer.type} matches its textbook value and derivative`, () => {
      const ref = reference[layer.type as Exclude<ActivationName, 'gelu'>];
      expectClose(layer.forward(tensor(z)), z.map(ref.value), { rtol: 1e-12 });
      const derivative = grad((x: Tensor) => sum(layer.forward(x)))(tensor(z));
      expectClose(derivative, z.map(ref.derivative), { rtol: 1e-10 });
    });
  }

  it('GELU is exact x·Φ(x), not the tanh approximation', () => {
    // Φ(1) = 0.8413447460685429, Φ(2) = 0.9772498680518208, Φ(−0.5) = 0.3085375387259869 (normal tables).
    const y = new GELU().forward(tensor([1, 2, -0.5]));
    expectClose(y, [0.8413447460685429, 2 * 0.9772498680518208, -0.5 * 0.3085375387259869], { rtol: 1e-14 });
    // gelu′(x) = Φ(x) + x·φ(x); φ(1) = e^(−1/2)/√(2π).
    const phi1 = Math.exp(-0.5) / Math.sqrt(2 * Math.PI);
    const slope = grad((x: Tensor) => sum(new GELU().forward(x)))(tensor([1]));
    expectClose(slope, [0.8413447460685429 + phi1], { rtol: 1e-12 });
  });

  it('kinks take the documented one-sided derivative at 0', () => {
    const at0 = (layer: Activation) => grad((x: Tensor) => sum(layer.forward(x)))(tensor([0])).data[0];
    expect(at0(new ReLU())).toBe(0);
    expect(at0(new LeakyReLU(0.2))).toBeCloseTo(0.2, 15);
    expect(at0(new ELU(1.5))).toBeCloseTo(1.5, 15);
  });

  it('ELU, softplus and sigmoid stay finite, with finite gradients, for huge |x|', () => {
    const x = tensor([-1000, -50, 50, 1000]);
    for (const layer of [new ELU(), new Softplus(), new Sigmoid()]) {
      const y = layer.forward(x);
      const g = grad((v: Tensor) => sum(layer.forward(v)))(x);
      for (const v of [...y.data, ...g.data]) expect(Number.isFinite(v)).toBe(true);
    }
    expectClose(new Softplus().forward(x), [
      0,
      Math.log1p(Math.exp(-50)),
      50 + Math.log1p(Math.exp(-50)),
      1000,
    ]);
    expectClose(new ELU(2).forward(x), [-2, 2 * Math.expm1(-50), 50, 1000]);
  });

  it('rejects non-finite slopes', () => {
    expect(() => new LeakyReLU(Number.NaN)).toThrow(ValueError);
    expect(() => new ELU(Number.POSITIVE_INFINITY)).toThrow(ValueError);
  });
});

describe('Linear', () => {
  it('initialises weight and bias from U(−1/√in, 1/√in), seeded', () => {
    const layer = new Linear(64, 100, { seed: 3 });
    const bound = 1 / 8;
    expect(layer.weight.shape).toEqual([100, 64]);
    expect(layer.bias!.shape).toEqual([100]);
    const w = layer.weight.data;
    const b = layer.bias!.data;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...b.map(Math.abs))).toBeLessThanOrEqual(bound);
    // Spread: the whole interval is used (a U(−c, c) sample of 6400 has max |w| ≈ c) and mean ≈ 0, var ≈ c²/3.
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const variance = w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(variance / ((bound * bound) / 3)).toBeGreaterThan(0.95);
    expect(variance / ((bound * bound) / 3)).toBeLessThan(1.05);
    expect(new Linear(64, 100, { seed: 3 }).weight.data).toEqual(w);
    expect(new Linear(64, 100, { seed: 4 }).weight.data).not.toEqual(w);
    expect(new Linear(3, 2, { bias: false, seed: 0 }).bias).toBeNull();
  });

  it('rejects non-positive or fractional sizes', () => {
    expect(() => new Linear(0, 2, { seed: 0 })).toThrow(
      /Linear: inFeatures must be a positive integer, got 0/,
    );
    expect(() => new Linear(2, 1.5, { seed: 0 })).toThrow(ValueError);
  });
});

/** y = σ(…σ(x W₁ᵀ + b₁)…) W_Lᵀ + b_L with plain loops. */
function denseForward(model: Sequential, x: number[][]): number[][] {
  let h = x;
  for (const layer of model.layers) {
    if (layer instanceof Linear) {
      const W = layer.weight.toArray() as number[][];
      const b = layer.bias ? (layer.bias.toArray() as number[]) : null;
      h = h.map((row) => W.map((wRow, i) => wRow.reduce((s, w, j) => s + w * row[j]!, b ? b[i]! : 0)));
    } else {
      const f = reference[layer.type as Exclude<ActivationName, 'gelu'>].value;
      h = h.map((row) => row.map(f));
    }
  }
  return h;
}

const architecture = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 4 }),
  activation: fc.constantFrom<ActivationName>(
    'tanh',
    'relu',
    'sigmoid',
    'softplus',
    'leakyrelu',
    'elu',
    'identity',
  ),
  n: fc.integer({ min: 1, max: 6 }),
  seed: fc.integer({ min: 0, max: 1000 }),
});

describe('Sequential', () => {
  test.prop([architecture])(
    'forward equals the dense textbook composition',
    ({ sizes, activation, n, seed }) => {
      const model = Sequential.mlp(sizes, { activation, seed });
      const x = randn([n, sizes[0]!], seed + 1);
      const y = model.forward(x);
      expect(y.shape).toEqual([n, sizes[sizes.length - 1]!]);
      expectClose(y.data, denseForward(model, x.toArray() as number[][]).flat(), {
        rtol: 1e-12,
        atol: 1e-14,
      });
      // A single input [in] gives a single output [out].
      const one = model.forward(tensor((x.toArray() as number[][])[0]!));
      expectClose(one.data, y.data.subarray(0, sizes[sizes.length - 1]!), { rtol: 1e-12, atol: 1e-14 });
    },
  );

  it('mlp puts activations between Linear layers only', () => {
    const model = Sequential.mlp([1, 50, 50, 1], { seed: 0 });
    expect(
      model.layers.map((l) => (l instanceof Linear ? `${l.inFeatures}→${l.outFeatures}` : l.type)),
    ).toEqual(['1→50', 'tanh', '50→50', 'tanh', '50→1']);
    expect(model.nParams).toBe(2 * 50 + 50 * 51 + 51);
    expect(model.linearLayers).toHaveLength(3);
  });

  it('flatParameters is PyTorch order: per layer weight row-major, then bias', () => {
    const first = new Linear(2, 3, { seed: 1 });
    const second = new Linear(3, 1, { bias: false, seed: 2 });
    first.weight = tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    first.bias = tensor([7, 8, 9]);
    second.weight = tensor([[10, 11, 12]]);
    const model = new Sequential([first, new Tanh(), second]);
    expect([...model.flatParameters()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const params = unravel(
      model,
      Float64Array.from({ length: 12 }, (_, i) => -i),
    );
    expect(params[0]![0]!.toArray()).toEqual([
      [-0, -1],
      [-2, -3],
      [-4, -5],
    ]);
    expect(params[0]![1]!.toArray()).toEqual([-6, -7, -8]);
    expect(params[1]).toEqual([]);
    expect(params[2]![0]!.toArray()).toEqual([[-9, -10, -11]]);
    expect(params[2]![1]).toBeUndefined();
  });

  test.prop([architecture])(
    'ravel and unravel are inverse; setFlatParameters round-trips',
    ({ sizes, activation, seed }) => {
      const model = Sequential.mlp(sizes, { activation, seed });
      const theta = randn([model.nParams], seed + 7).data;
      const params = unravel(model, theta);
      expect(ravel(params)).toEqual(theta);
      model.setFlatParameters(theta);
      expect(model.flatParameters()).toEqual(theta);
      const x = randn([3, sizes[0]!], seed);
      expectClose(model.forward(x), model.apply(params, x));
    },
  );

  test.prop([architecture])(
    'apply is differentiable in params and x (gradients agree with central differences)',
    ({ sizes, activation, n, seed }) => {
      // ReLU-like kinks make finite differences unreliable near 0; smooth activations only.
      fc.pre(!['relu', 'leakyrelu', 'elu'].includes(activation));
      const model = Sequential.mlp(sizes, { activation, seed });
      const x = randn([n, sizes[0]!], seed + 1);
      const w = randn([n, sizes[sizes.length - 1]!], seed + 2);
      const objective = (p: ReturnType<Sequential['parameters']>, input: Tensor) =>
        sum(mul(model.apply(p, input), w));
      const [gp, gx] = grad(objective, [0, 1])(model.parameters(), x) as [
        ReturnType<Sequential['parameters']>,
        Tensor,
      ];
      const theta = model.flatParameters();
      const fdTheta = finiteDifferenceGradient((t) => objective(unravel(model, t), x).item(), theta);
      expectClose(ravel(gp), fdTheta, { rtol: 1e-6, atol: 1e-8 });
      const fdX = finiteDifferenceGradient(
        (v) => objective(model.parameters(), tensor(v, x.shape)).item(),
        x.data,
      );
      expectClose(gx.data, fdX, { rtol: 1e-6, atol: 1e-8 });
    },
  );

  it('rejects inputs of the wrong shape or with non-finite values', () => {
    const model = Sequential.mlp([3, 4, 2], { seed: 0 });
    expect(() => model.forward([[1, 2]])).toThrow(
      /Sequential.apply: x is \[1, 2\], expected \[n, 3\] or \[3\]/,
    );
    expect(() => model.forward([[[1, 2, 3]]])).toThrow(ShapeError);
    expect(() => model.forward([[1, Number.NaN, 3]])).toThrow(
      /Sequential.forward: x has a non-finite value NaN at index 1/,
    );
  });

  it('rejects parameters that do not fit the architecture', () => {
    const model = Sequential.mlp([3, 4, 2], { seed: 0 });
    const p = model.parameters();
    expect(() => model.setParameters(p.slice(0, 1))).toThrow(/3 arrays of tensors \(one per layer\)/);
    expect(() => model.setParameters([[randn([3, 4], 0), p[0]![1]!], [], p[2]!])).toThrow(
      /params\[0\]\[0\] is \[3, 4\], expected \[4, 3\] for layer 0 \(linear\)/,
    );
    expect(() => model.setParameters([[p[0]![0]!], [], p[2]!])).toThrow(
      /params\[0\] must be 2 tensors for layer 0 \(linear\), got 1/,
    );
    expect(() => model.setParameters([p[0]!, [], [p[2]![0]!, tensor([1, Number.NaN])]])).toThrow(ValueError);
    expect(() => unravel(model, new Float64Array(5))).toThrow(
      /theta has 5 values, the model has 26 parameters/,
    );
    expect(() => model.apply([p[0]!], [1, 2, 3])).toThrow(/Sequential.apply: params must be an array of 3/);
  });

  it('rejects Linear layers that do not chain and empty networks', () => {
    expect(
      () => new Sequential([new Linear(2, 3, { seed: 0 }), new Tanh(), new Linear(4, 1, { seed: 0 })]),
    ).toThrow(/layer 2 \(linear\): Linear\(4 → 1\): expects inputs of shape \[4\] but receives \[3\]/);
    expect(() => new Sequential([new Tanh()])).toThrow(/give options.inputShape/);
    expect(() => new Sequential([])).toThrow(/non-empty array/);
    expect(() => Sequential.mlp([3], { seed: 0 })).toThrow(ValueError);
    expect(() => Sequential.mlp([3, 2], { activation: 'swish' as ActivationName, seed: 0 })).toThrow(
      /unknown activation 'swish'/,
    );
  });
});

describe('Sequential JSON', () => {
  it('round-trips through JSON text, keeping activation parameters', () => {
    const model = new Sequential([
      new Linear(2, 3, { seed: 1 }),
      new LeakyReLU(0.2),
      new Linear(3, 3, { bias: false, seed: 2 }),
      new ELU(0.7),
      new Linear(3, 2, { seed: 3 }),
      new GELU(),
    ]);
    const json = JSON.parse(JSON.stringify(model.toJSON())) as SequentialJSON;
    expect(json.layers.map((l) => l.type)).toEqual([
      'linear',
      'leakyrelu',
      'linear',
      'elu',
      'linear',
      'gelu',
    ]);
    expect(json.layers[1]).toEqual({ type: 'leakyrelu', negativeSlope: 0.2 });
    expect(json.layers[2]).toMatchObject({ inFeatures: 3, outFeatures: 3, bias: null });
    const copy = Sequential.fromJSON(json);
    expect(copy.flatParameters()).toEqual(model.flatParameters());
    const x = randn([4, 2], 9);
    expect(copy.forward(x).data).toEqual(model.forward(x).data);
    expect(copy.toJSON()).toEqual(json);
  });

  it('imports a network written by hand as PyTorch would export it', () => {
    const model = Sequential.fromJSON({
      layers: [
        {
          type: 'linear',
          inFeatures: 2,
          outFeatures: 2,
          weight: [
            [1, -1],
            [0.5, 2],
          ],
          bias: [0, 1],
        },
        { type: 'relu' },
        { type: 'linear', inFeatures: 2, outFeatures: 1, weight: [[3, 1]], bias: [-1] },
      ],
    });
    // x = (2, 1): z₁ = (2 − 1 + 0, 1 + 2 + 1) = (1, 4), relu keeps it, y = 3·1 + 1·4 − 1 = 6.
    expect(model.forward([2, 1]).data[0]).toBe(6);
  });

  const linear = { type: 'linear', inFeatures: 2, outFeatures: 1, weight: [[1, 2]], bias: [0] };
  const bad: [string, unknown, RegExp][] = [
    ['not an object', 42, /expected an object \{ layers/],
    ['an unknown type', { layers: [linear, { type: 'swish' }] }, /layers\[1\] has unknown type "swish"/],
    [
      'too few weight rows',
      { layers: [{ ...linear, outFeatures: 2 }] },
      /weight must be 2 rows \(outFeatures\) of 2/,
    ],
    ['a short weight row', { layers: [{ ...linear, weight: [[1]] }] }, /weight\[0\] must have 2 numbers/],
    [
      'a non-finite weight',
      { layers: [{ ...linear, weight: [[1, null]] }] },
      /weight\[0\]\[1\] must be a finite number/,
    ],
    ['a long bias', { layers: [{ ...linear, bias: [0, 1] }] }, /bias must be null or 1 numbers/],
    [
      'a fractional size',
      { layers: [{ ...linear, inFeatures: 1.5 }] },
      /inFeatures must be a positive integer/,
    ],
    [
      'a broken chain',
      { layers: [linear, { type: 'tanh' }, { ...linear, weight: [[1, 2]] }] },
      /Linear layer 1 has inFeatures 2 but Linear layer 0 has outFeatures 1/,
    ],
    [
      'a bad slope',
      { layers: [linear, { type: 'leakyrelu', negativeSlope: 'x' }] },
      /negativeSlope must be a finite number/,
    ],
  ];
  for (const [name, json, message] of bad) {
    it(`rejects ${name} with a typed error`, () => {
      let error: unknown;
      try {
        Sequential.fromJSON(json as SequentialJSON);
      } catch (e) {
        error = e;
      }
      expect(error instanceof ShapeError || error instanceof ValueError).toBe(true);
      expect((error as Error).message).toMatch(/^Sequential.fromJSON/);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe('Linear.fromParameters', () => {
  it('wraps given tensors, inferring the sizes', () => {
    const layer = Linear.fromParameters([[1, 2, 3]], [4]);
    expect([layer.inFeatures, layer.outFeatures]).toEqual([3, 1]);
    expect(new Sequential([layer]).forward([1, 1, 1]).data[0]).toBe(10);
    expect(Linear.fromParameters([[1]]).bias).toBeNull();
  });

  it('rejects bad shapes and values', () => {
    expect(() => Linear.fromParameters([1, 2])).toThrow(/weight is \[2\], expected \[out, in\]/);
    expect(() => Linear.fromParameters([[1, 2]], [1, 2])).toThrow(/bias is \[2\], expected \[1\]/);
    expect(() => Linear.fromParameters([[1, Number.NaN]])).toThrow(ValueError);
  });
});
