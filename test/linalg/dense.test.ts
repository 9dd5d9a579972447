/** The dense wrappers gemm, gemv, syrk, dot, axpy and nrm2, and the level 1 and 2 kernels under them, against ml-matrix and direct loops. */
import { fc, test as property } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { gemvKernel, mirrorLower, syrkKernel } from '../../src/kernels/index.js';
import { axpy, dot, gemm, gemv, nrm2, syrk } from '../../src/linalg/index.js';
import { randn, Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { fromMl, toMl, transpose, useTypeScriptKernels } from '../oracles.js';

useTypeScriptKernels();

describe('gemm', () => {
  property.prop([
    fc.integer({ min: 1, max: 60 }),
    fc.integer({ min: 1, max: 60 }),
    fc.integer({ min: 1, max: 60 }),
    fc.nat(1000),
  ])('agrees with ml-matrix mmul, with and without transposes', (m, n, k, seed) => {
    const a = randn([m, k], seed);
    const b = randn([k, n], seed + 1);
    const expected = fromMl(toMl(a).mmul(toMl(b)));
    expectClose(gemm(a, b), expected, { rtol: 1e-12, atol: 1e-12 * k });
    expectClose(gemm(transpose(a), b, { transA: true }), expected, { rtol: 1e-12, atol: 1e-12 * k });
    expectClose(gemm(a, transpose(b), { transB: true }), expected, { rtol: 1e-12, atol: 1e-12 * k });
    const c = randn([m, n], seed + 2);
    const withC = gemm(a, b, { alpha: 2, beta: -1, c });
    const oracle = fromMl(toMl(a).mmul(toMl(b)).mul(2).sub(toMl(c)));
    expectClose(withC, oracle, { rtol: 1e-12, atol: 1e-11 * k });
    // c is a value: not modified.
    expect(c.data).toEqual(randn([m, n], seed + 2).data);
  });

  test('empty dimensions give empty or zero results', () => {
    expect(gemm(new Tensor(new Float64Array(0), [0, 3]), randn([3, 2], 1)).shape).toEqual([0, 2]);
    const z = gemm(new Tensor(new Float64Array(0), [2, 0]), new Tensor(new Float64Array(0), [0, 3]));
    expect([...z.data]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('bad input is a typed error naming the function and shapes', () => {
    expect(() => gemm(randn([2, 3], 1), randn([4, 5], 2))).toThrow(ShapeError);
    expect(() => gemm(randn([2, 3], 1), randn([4, 5], 2))).toThrow(
      /gemm: inner dimensions differ.*\[2, 3\].*\[4, 5\]/,
    );
    expect(() => gemm(randn([2], 1), randn([2, 2], 2))).toThrow(/gemm: a must be a matrix/);
    expect(() => gemm(tensor([[1, Number.NaN]]), randn([2, 2], 2))).toThrow(ValueError);
    expect(() => gemm(randn([2, 2], 1), randn([2, 2], 2), { beta: 1 })).toThrow(/no c was given/);
    expect(() => gemm(randn([2, 2], 1), randn([2, 2], 2), { c: randn([3, 2], 1), beta: 1 })).toThrow(
      /c must be \[2, 2\]/,
    );
    expect(() => gemm(randn([2, 2], 1), randn([2, 2], 2), { alpha: Number.NaN })).toThrow(/alpha/);
  });
});

describe('level 1 and 2', () => {
  property.prop([fc.integer({ min: 0, max: 200 }), fc.nat(1000)])(
    'dot, axpy and nrm2 agree with plain sums',
    (n, seed) => {
      const x = randn([n], seed);
      const y = randn([n], seed + 1);
      let d = 0;
      let s = 0;
      for (let i = 0; i < n; i++) {
        d += x.data[i]! * y.data[i]!;
        s += x.data[i]! ** 2;
      }
      expect(dot(x, y)).toBeCloseTo(d, 10);
      expect(nrm2(x)).toBeCloseTo(Math.sqrt(s), 10);
      const z = axpy(-0.5, x, y);
      expectClose(
        z,
        y.data.map((v, i) => v - 0.5 * x.data[i]!),
        { rtol: 1e-15, atol: 1e-15 },
      );
    },
  );

  test('nrm2 neither overflows nor underflows', () => {
    expect(nrm2(tensor([3e200, 4e200])) / 5e200).toBeCloseTo(1, 14);
    expect(nrm2(tensor([3e-200, 4e-200])) / 5e-200).toBeCloseTo(1, 14);
    expect(nrm2(tensor([0, 0]))).toBe(0);
  });

  property.prop([
    fc.integer({ min: 1, max: 50 }),
    fc.integer({ min: 1, max: 50 }),
    fc.boolean(),
    fc.nat(1000),
  ])('gemv agrees with ml-matrix', (m, n, trans, seed) => {
    const a = randn([m, n], seed);
    const x = randn([trans ? m : n], seed + 1);
    const y = randn([trans ? n : m], seed + 2);
    const A = trans ? toMl(a).transpose() : toMl(a);
    const ax = A.mmul(toMl(new Tensor(x.data, [x.size, 1]))).to1DArray();
    const expected = ax.map((v, i) => 2 * v + 0.5 * y.data[i]!);
    expectClose(gemv(a, x, { trans, alpha: 2, beta: 0.5, y }), expected, {
      rtol: 1e-12,
      atol: 1e-12 * (m + n),
    });
  });

  test('gemvKernel honours strides', () => {
    // A = [[1, 2], [3, 4]], x = (1, 1) stored with stride 2, y with stride 3.
    const y = new Float64Array([10, 0, 0, 20]);
    gemvKernel(
      2,
      2,
      1,
      new Float64Array([1, 2, 3, 4]),
      0,
      2,
      false,
      new Float64Array([1, 9, 1]),
      0,
      2,
      1,
      y,
      0,
      3,
    );
    expect([...y]).toEqual([13, 0, 0, 27]);
  });

  test('bad vectors are typed errors', () => {
    expect(() => dot(randn([3], 1), randn([4], 1))).toThrow(/dot: x and y differ in length/);
    expect(() => dot(randn([3, 1], 1), randn([3], 1))).toThrow(/dot: x must be a vector/);
    expect(() => gemv(randn([2, 3], 1), randn([2], 1))).toThrow(
      /gemv: op\(a\) is \[2, 3\] but x has 2 entries/,
    );
    expect(() => nrm2(tensor([1, Number.POSITIVE_INFINITY]))).toThrow(ValueError);
  });
});

describe('syrk', () => {
  property.prop(
    [fc.integer({ min: 0, max: 140 }), fc.integer({ min: 0, max: 70 }), fc.boolean(), fc.nat(1000)],
    {
      numRuns: 25,
    },
  )('is α·A·Aᵀ or α·Aᵀ·A, symmetric', (n, k, trans, seed) => {
    const a = randn(trans ? [k, n] : [n, k], seed);
    const at = transpose(a);
    const expected = trans ? toMl(at).mmul(toMl(a)).mul(-2) : toMl(a).mmul(toMl(at)).mul(-2);
    const s = syrk(a, { trans, alpha: -2 });
    expectClose(s, n === 0 ? s : fromMl(expected), { rtol: 1e-12, atol: 1e-12 * (k + 1) });
    expectClose(s, transpose(s), { rtol: 0, atol: 0 });
  });

  test('syrkKernel reads and writes only the lower triangle', () => {
    const n = 150;
    const k = 7;
    const a = randn([n, k], 3).data;
    const c = new Float64Array(n * n).fill(Number.NaN);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) c[i * n + j] = 1;
    syrkKernel(n, k, 1, a, 0, k, false, 1, c, 0, n);
    const lower: number[] = [];
    const expected: number[] = [];
    let upperUntouched = true;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j > i) {
          upperUntouched &&= Number.isNaN(c[i * n + j]!);
          continue;
        }
        let s = 1;
        for (let p = 0; p < k; p++) s += a[i * k + p]! * a[j * k + p]!;
        lower.push(c[i * n + j]!);
        expected.push(s);
      }
    }
    expect(upperUntouched).toBe(true);
    expectClose(lower, expected, { rtol: 1e-13, atol: 1e-13 });
    mirrorLower(n, c, 0, n);
    expect(c.some(Number.isNaN)).toBe(false);
  });
});
