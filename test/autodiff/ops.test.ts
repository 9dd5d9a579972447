/**
 * The public ops: composite ops against textbook formulas, NumPy semantics of
 * matmul and the shape helpers (ml-matrix as the oracle), special functions
 * against published values, and typed errors at every public boundary.
 */
import fc from 'fast-check';
import { Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import {
  add,
  broadcastTo,
  concat,
  erf,
  expandDims,
  gelu,
  linear,
  logSoftmax,
  logsumexp,
  matmul,
  max,
  mean,
  min,
  moveAxis,
  mul,
  pad,
  pow,
  reshape,
  scatterAdd,
  sigmoid,
  slice,
  softmax,
  softplus,
  squeeze,
  stack,
  sum,
  sumTo,
  take,
  transpose,
} from '../../src/autodiff/ops.js';
import { treeFlatten } from '../../src/autodiff/pytree.js';
import { erfcScalar, erfScalar } from '../../src/autodiff/special.js';
import { grad, jacrev, jvp, vjp, vmap } from '../../src/autodiff/transforms.js';
import { ShapeError, TracerError, ValueError } from '../../src/errors.js';
import { randn, type Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';

const seed = fc.integer({ min: 0, max: 1e6 });
const dim = fc.integer({ min: 1, max: 5 });
const RUNS = { numRuns: 20 };

const toMatrix = (t: Tensor) => new Matrix(t.toArray() as number[][]);

describe('matmul (NumPy semantics, ml-matrix oracle)', () => {
  test('matrix · matrix, matrix · vector, vector · matrix, vector · vector', () => {
    fc.assert(
      fc.property(seed, dim, dim, dim, (s, m, k, n) => {
        const A = randn([m, k], s);
        const B = randn([k, n], s + 1);
        const v = randn([k], s + 2);
        const u = randn([m], s + 3);
        const AB = toMatrix(A).mmul(toMatrix(B));
        expectClose(matmul(A, B).data, AB.to1DArray());
        const Av = matmul(A, v);
        expect(Av.shape).toEqual([m]);
        expectClose(
          Av.data,
          toMatrix(A)
            .mmul(Matrix.columnVector(Array.from(v.data)))
            .getColumn(0),
        );
        const uA = matmul(u, A);
        expect(uA.shape).toEqual([k]);
        expectClose(uA.data, Matrix.rowVector(Array.from(u.data)).mmul(toMatrix(A)).getRow(0));
        const vv = matmul(v, v);
        expect(vv.shape).toEqual([]);
        expect(vv.item()).toBeCloseTo(
          v.data.reduce((acc, x) => acc + x * x, 0),
          12,
        );
      }),
      RUNS,
    );
  });

  test('batched with broadcasting batch axes: each batch member is a matrix product', () => {
    fc.assert(
      fc.property(seed, dim, dim, dim, dim, (s, b, m, k, n) => {
        const A = randn([b, 1, m, k], s);
        const B = randn([3, k, n], s + 1);
        const C = matmul(A, B);
        expect(C.shape).toEqual([b, 3, m, n]);
        for (let i = 0; i < b; i++) {
          for (let j = 0; j < 3; j++) {
            const Ai = new Matrix(m, k);
            const Bj = new Matrix(k, n);
            for (let r = 0; r < m * k; r++) Ai.set(Math.floor(r / k), r % k, A.data[i * m * k + r]!);
            for (let r = 0; r < k * n; r++) Bj.set(Math.floor(r / n), r % n, B.data[j * k * n + r]!);
            const got = C.data.subarray((i * 3 + j) * m * n, (i * 3 + j + 1) * m * n);
            expectClose(got, Ai.mmul(Bj).to1DArray());
          }
        }
      }),
      { numRuns: 10 },
    );
  });

  test('linear(x, W, b) = x Wᵀ + b, for a batch and a single vector', () => {
    const W = randn([3, 4], 1);
    const b = randn([3], 2);
    const X = randn([5, 4], 3);
    const expected = toMatrix(X).mmul(toMatrix(W).transpose()).addRowVector(Array.from(b.data));
    expectClose(linear(X, W, b).data, expected.to1DArray());
    expectClose(linear(tensor(X.data.slice(0, 4)), W, b).data, expected.getRow(0));
    expectClose(linear(X, W).data, toMatrix(X).mmul(toMatrix(W).transpose()).to1DArray());
  });
});

describe('composite ops against textbook formulas', () => {
  test('softmax, logSoftmax, logsumexp along an axis', () => {
    fc.assert(
      fc.property(seed, dim, dim, (s, m, n) => {
        const X = randn([m, n], s);
        const sm = softmax(X);
        const ls = logSoftmax(X, 1);
        const lse = logsumexp(X, 1);
        for (let i = 0; i < m; i++) {
          const row = Array.from(X.data.slice(i * n, (i + 1) * n));
          const z = row.reduce((acc, x) => acc + Math.exp(x), 0);
          expect(lse.data[i]).toBeCloseTo(Math.log(z), 12);
          row.forEach((x, j) => {
            expect(sm.data[i * n + j]).toBeCloseTo(Math.exp(x) / z, 13);
            expect(ls.data[i * n + j]).toBeCloseTo(x - Math.log(z), 12);
          });
        }
        // softmax is the gradient of logsumexp.
        expectClose(grad((v: Tensor) => sum(logsumexp(v, 1)))(X), sm, { rtol: 1e-12, atol: 1e-15 });
      }),
      RUNS,
    );
  });

  test('logsumexp does not overflow or underflow, and −∞ entries are ignored', () => {
    expect(logsumexp(tensor([1000, 1000])).item()).toBeCloseTo(1000 + Math.LN2, 10);
    expect(logsumexp(tensor([-1000, -1000])).item()).toBeCloseTo(-1000 + Math.LN2, 10);
    expect(logsumexp(tensor([Number.NEGATIVE_INFINITY, 0])).item()).toBe(0);
    expect(logsumexp(tensor([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).item()).toBe(
      Number.NEGATIVE_INFINITY,
    );
    expectClose(softmax(tensor([1000, 0, -1000])).data, [1, 0, 0]);
  });

  test('sum / mean / max / min over axes with keepdims', () => {
    const X = tensor([
      [1, 5, 3],
      [4, 2, 6],
    ]);
    expectClose(sum(X, 0).data, [5, 7, 9]);
    expect(sum(X, -1, true).shape).toEqual([2, 1]);
    expect(mean(X).item()).toBeCloseTo(3.5, 15);
    expectClose(mean(X, [0, 1], true).data, [3.5]);
    expectClose(max(X, 1).data, [5, 6]);
    expectClose(min(X, 0).data, [1, 2, 3]);
    // Ties share the derivative of max equally.
    expectClose(grad((v: Tensor) => max(v))(tensor([1, 3, 3])).data, [0, 0.5, 0.5]);
  });

  test('sigmoid and softplus are stable at large |x|', () => {
    expectClose(sigmoid(tensor([-800, 0, 800])).data, [0, 0.5, 1]);
    expectClose(softplus(tensor([-800, 0, 800])).data, [0, Math.LN2, 800]);
    expect(softplus(tensor([-40])).item()).toBeCloseTo(Math.exp(-40), 30);
  });
});

describe('special functions against published values', () => {
  // Abramowitz and Stegun table 7.1 / correctly rounded values (also CPython's math.erf / erfc).
  const erfValues: [number, number][] = [
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.5, 0.9661051464753108],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
  ];
  const erfcValues: [number, number][] = [
    [1, 0.15729920705028513],
    [2, 0.004677734981047265],
    [3, 2.209049699858544e-5],
    [4, 1.541725790028002e-8],
    [5, 1.5374597944280351e-12],
    [6, 2.1519736712498916e-17],
    [10, 2.088487583762545e-45],
  ];

  test('erf and erfc to a few ulps', () => {
    for (const [x, v] of erfValues) {
      expect(Math.abs(erfScalar(x) - v)).toBeLessThanOrEqual(4e-16 * v);
      expect(Math.abs(erfScalar(-x) + v)).toBeLessThanOrEqual(4e-16 * v);
    }
    for (const [x, v] of erfcValues) expect(Math.abs(erfcScalar(x) - v)).toBeLessThanOrEqual(1e-14 * v);
    expectClose(erf(tensor([0.5, -1])).data, [0.5204998778130465, -0.8427007929497149], { rtol: 1e-15 });
  });

  test('gelu(x) = x Φ(x), accurate in the left tail', () => {
    // Φ(−x) = erfc(x/√2)/2, so gelu(−5) = −5 · erfc(5/√2)/2 = −5 · 2.866515718791939e-7.
    expect(gelu(tensor(-5)).item()).toBeCloseTo(-5 * 2.866515718791939e-7, 20);
    expect(gelu(tensor(1)).item()).toBeCloseTo(0.8413447460685429, 15);
    // gelu′(x) = Φ(x) + x φ(x)
    const d = grad((v: Tensor) => gelu(v))(tensor(0.7)).item();
    expect(d).toBeCloseTo(0.758036347776927 + (0.7 * Math.exp(-0.245)) / Math.sqrt(2 * Math.PI), 14);
  });
});

describe('shape helpers', () => {
  test('reshape, transpose, moveAxis, squeeze, expandDims, stack, concat, slice, pad, take, scatterAdd', () => {
    const X = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(reshape(X, [3, -1]).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(transpose(X).toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(moveAxis(randn([2, 3, 4], 1), 0, -1).shape).toEqual([3, 4, 2]);
    expect(squeeze(reshape(X, [1, 2, 1, 3])).shape).toEqual([2, 3]);
    expect(expandDims(X, -1).shape).toEqual([2, 3, 1]);
    expect(stack([X, X], 1).shape).toEqual([2, 2, 3]);
    expect(concat([X, X], 1).toArray()).toEqual([
      [1, 2, 3, 1, 2, 3],
      [4, 5, 6, 4, 5, 6],
    ]);
    expect(slice(X, [0, 1], [2, -1]).toArray()).toEqual([[2], [5]]);
    expect(slice(X, [1]).toArray()).toEqual([[4, 5, 6]]);
    expect(pad(tensor([1, 2]), [1], [2]).toArray()).toEqual([0, 1, 2, 0, 0]);
    expect(take(X, [2, 0, 2], 1).toArray()).toEqual([
      [3, 1, 3],
      [6, 4, 6],
    ]);
    expect(take(X, Int32Array.of(1)).toArray()).toEqual([[4, 5, 6]]);
    expect(scatterAdd(tensor([1, 2, 3]), [0, 2, 0], 0, 3).toArray()).toEqual([4, 0, 2]);
    expect(sumTo(broadcastTo(tensor([1, 2, 3]), [4, 3]), [3]).toArray()).toEqual([4, 8, 12]);
    expect(sumTo(randn([2, 3], 1), [2, 1]).shape).toEqual([2, 1]);
  });

  test('take with per-example labels under vmap (batched indices)', () => {
    const logits = randn([4, 3], 1);
    const labels = tensor([2, 0, 1, 2]);
    const picked = vmap((l: Tensor, y: Tensor) => take(l, y))(logits, labels);
    expectClose(
      picked.data,
      [0, 1, 2, 3].map((i) => logits.data[i * 3 + labels.data[i]!]!),
    );
  });
});

describe('typed errors at the public boundary', () => {
  test('shape mismatches name the op and the shapes', () => {
    expect(() => matmul(randn([2, 3], 1), randn([4, 5], 2))).toThrow(
      new ShapeError('matmul: inner dimensions differ, a is [2, 3] and b is [4, 5]'),
    );
    expect(() => add(randn([2, 3], 1), randn([4], 2))).toThrow(
      /add: shapes \[2, 3\] and \[4\] do not broadcast/,
    );
    expect(() => reshape(randn([2, 3], 1), [4, 2])).toThrow(ShapeError);
    expect(() => reshape(randn([2, 3], 1), [-1, -1])).toThrow(/more than one/);
    expect(() => transpose(randn([2, 3], 1), [0, 0])).toThrow(ShapeError);
    expect(() => sum(randn([2, 3], 1), 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => concat([randn([2, 3], 1), randn([3, 3], 2)], 1)).toThrow(
      /concat: tensor 1 has shape \[3, 3\]/,
    );
    expect(() => slice(randn([2, 3], 1), [0, 2], [2, 1])).toThrow(
      /slice: axis 1 of \[2, 3\] cannot be sliced/,
    );
    expect(() => broadcastTo(randn([2, 3], 1), [3, 3])).toThrow(
      /broadcastTo: cannot broadcast \[2, 3\] to \[3, 3\]/,
    );
    expect(() => linear(randn([5, 4], 1), randn([3, 5], 2))).toThrow(
      /linear: x is \[5, 4\] and weight is \[3, 5\]/,
    );
    expect(() => max(tensor([]))).toThrow(/max: empty tensor/);
  });

  test('bad indices for take name the index', () => {
    expect(() => take(tensor([1, 2, 3]), [0, 3])).toThrow(
      new ValueError('take: index 3 (at position 1) is not an integer in [0, 3)'),
    );
    expect(() => take(tensor([1, 2, 3]), [0.5])).toThrow(ValueError);
  });

  test('grad of a non-scalar output, wrong argnums, wrong arity and shapes of tangents and cotangents', () => {
    const x = randn([3], 1);
    expect(() => grad((v: Tensor) => mul(v, 2))(x)).toThrow(
      new ShapeError('grad: f must return a scalar, got shape [3]'),
    );
    expect(() => grad((v: Tensor) => sum(v), 1)(x)).toThrow(/grad: argnums 1 is out of range for 1 argument/);
    expect(() => jvp((v: Tensor) => v, [x], [] as never)).toThrow(
      new ValueError('jvp: 1 primals but 0 tangents'),
    );
    expect(() => jvp((v: Tensor) => v, [x], [randn([2], 2)])).toThrow(
      new ShapeError('jvp: tangents: leaf 0 has shape [2], expected [3]'),
    );
    expect(() => jvp((v: Tensor) => v, [x], [tensor([1, Number.NaN, 0])])).toThrow(
      /jvp: tangents \(leaf 0\) has a non-finite value NaN at index 1/,
    );
    expect(() => jvp((v: { a: Tensor }) => v.a, [{ a: x }], [[x]])).toThrow(
      /jvp: tangents: has structure \[\[\*\]\], expected \[\{a: \*\}\]/,
    );
    const [, pullback] = vjp((v: Tensor) => mul(v, 2), x);
    expect(() => pullback(randn([4], 3))).toThrow(
      /vjp pullback: cotangent: leaf 0 has shape \[4\], expected \[3\]/,
    );
    expect(() => vmap((a: Tensor, b: Tensor) => add(a, b))(randn([3, 2], 1), randn([4, 2], 2))).toThrow(
      /vmap: mapped axes have different sizes/,
    );
    expect(() => vmap((a: Tensor) => a, 2)(randn([3, 2], 1))).toThrow(/vmap: inAxes 2 is out of range/);
    expect(() => jacrev(42 as never)).toThrow(/jacrev: f must be a function/);
  });

  test('concrete data of a traced value, and tracers leaking out of a transformation', () => {
    expect(() => grad((v: Tensor) => tensor(v.data[0]!))(tensor(1))).toThrow(TracerError);
    let leaked: Tensor | undefined;
    grad((v: Tensor) => {
      leaked = mul(v, 2);
      return sum(leaked);
    })(tensor([1]));
    expect(() => add(leaked!, 1)).toThrow(/escaped from a finished grad, jvp or vmap/);
  });

  test('pytrees reject values that are not arrays, plain objects, tensors or numbers', () => {
    expect(() => treeFlatten({ a: new Map() } as never)).toThrow(/treeFlatten: \.a is an instance of Map/);
  });
});

describe('pow at a zero base', () => {
  test('∂/∂e of 0^e is 0, as JAX (not log(0)·0 = NaN), in both modes; elsewhere log(x)·xᵉ', () => {
    const inExponent = (e: Tensor) => sum(pow(tensor([0, 0, 2, 0.5]), e));
    const e = tensor([2, 0.5, 1.5, 3]);
    const g = grad(inExponent)(e).data;
    expectClose(g, [0, 0, Math.log(2) * 2 ** 1.5, Math.log(0.5) * 0.5 ** 3], { rtol: 1e-14 });
    const [, tangent] = jvp(inExponent, [e], [tensor([1, 1, 0, 0])]);
    expect(tangent.item()).toBe(0);
  });
});
