import { fc, test as property } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { gemmKernel, gemvKernel, mirrorLower, syrkKernel } from '../../src/kernels/index.js';
import { axpy, dot, gemm, gemv, nrm2, syrk } from '../../src/linalg/index.js';
import { seededRng } from '../../src/random.js';
import { randn, Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { fromMl, naiveGemm, toMl, transpose, useTypeScriptKernels } from './oracles.js';

useTypeScriptKernels();

/** Random array of `len` entries in [−1, 1) from a seed. */
function randomArray(len: number, seed: number): Float64Array {
  const rng = seededRng(seed);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

/**
 * gemmKernel against the triple loop on raw arrays with offsets, padded leading
 * dimensions and all transpose combinations; everything outside the m × n block
 * of C must be left alone.
 */
function checkKernel(
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
  seed: number,
) {
  const pad = seed % 3;
  const [aOffset, bOffset, cOffset] = [seed % 5, (seed >> 2) % 4, (seed >> 4) % 3];
  const lda = (transA ? m : k) + pad;
  const ldb = (transB ? k : n) + pad;
  const ldc = n + pad;
  const a = randomArray(aOffset + (transA ? k : m) * lda + 2, seed);
  const b = randomArray(bOffset + (transB ? n : k) * ldb + 2, seed + 1);
  const c = randomArray(cOffset + m * ldc + 2, seed + 2);
  const expected = c.slice();
  naiveGemm(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, expected, cOffset, ldc);
  gemmKernel(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc);
  // Each entry is a k-term dot product of numbers below 1.
  expectClose(c, expected, { rtol: 1e-12, atol: 8 * (k + 2) * 2 ** -52 });
}

describe('gemmKernel', () => {
  property.prop([
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 }),
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom(1, -1, 0.5, 0),
    fc.constantFrom(0, 1, -2),
    fc.nat(1000),
  ])('small shapes match the triple loop', checkKernel);

  property.prop(
    [
      fc.integer({ min: 1, max: 150 }),
      fc.integer({ min: 1, max: 150 }),
      fc.integer({ min: 1, max: 300 }),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom(1, -0.75),
      fc.constantFrom(0, 1, 0.5),
      fc.nat(1000),
    ],
    { numRuns: 15 },
  )('blocked shapes (odd sizes across block edges) match the triple loop', checkKernel);

  test('sizes that straddle the packing blocks (k > 256, m > 128, edge tiles)', () => {
    checkKernel(131, 67, 259, false, false, 1, 0, 3);
    checkKernel(129, 5, 513, true, true, -1, 1, 7);
    checkKernel(9, 2050, 9, false, true, 2, 0.5, 11);
  });

  test('skinny shapes the AD engine uses', () => {
    checkKernel(1000, 50, 1, false, false, 1, 0, 1);
    checkKernel(1000, 1, 50, false, false, 1, 1, 2);
    checkKernel(1, 64, 50, false, true, 1, 0, 3);
    checkKernel(50, 50, 1000, true, false, 1, 0, 4);
    checkKernel(1000, 50, 50, false, true, 1, 0, 5);
  });

  test('beta = 0 overwrites NaN already in C; alpha = 0 or k = 0 only scales C', () => {
    const c = new Float64Array([Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
    gemmKernel(
      2,
      2,
      3,
      1,
      new Float64Array(6).fill(1),
      0,
      3,
      false,
      new Float64Array(6).fill(1),
      0,
      2,
      false,
      0,
      c,
      0,
      2,
    );
    expect([...c]).toEqual([3, 3, 3, 3]);
    const d = new Float64Array([1, 2, 3, 4]);
    gemmKernel(2, 2, 0, 1, new Float64Array(0), 0, 0, false, new Float64Array(0), 0, 2, false, 2, d, 0, 2);
    expect([...d]).toEqual([2, 4, 6, 8]);
  });
});

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
