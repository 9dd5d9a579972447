import { fc, test as property } from '@fast-check/vitest';
import { CholeskyDecomposition } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { NotPositiveDefiniteError, ShapeError, ValueError } from '../../src/errors.js';
import { choleskyKernel, triangularInverseKernel, trsmKernel } from '../../src/kernels/index.js';
import {
  cholesky,
  choleskyInverse,
  choleskySolve,
  choleskyWithJitter,
  logdetFromCholesky,
  solveTriangular,
} from '../../src/linalg/index.js';
import { eye, randn, Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  EPS,
  fromMl,
  maxAbs,
  maxAbsDiff,
  mlProduct,
  randomGram,
  randomSpd,
  toMl,
  transpose,
  useTypeScriptKernels,
} from '../oracles.js';

useTypeScriptKernels();

/** ‖L·Lᵀ − A‖max ≤ c·n·ε·‖A‖max: the backward error a stable Cholesky attains. */
function expectFactorizes(l: Tensor, a: Tensor): void {
  const n = a.shape[0]!;
  const residual = maxAbsDiff(mlProduct(l, transpose(l)).data, a.data);
  expect(residual).toBeLessThanOrEqual(4 * (n + 1) * EPS * maxAbs(a.data));
  let shapeOk = true;
  for (let i = 0; i < n; i++) {
    shapeOk &&= l.data[i * n + i]! > 0;
    for (let j = i + 1; j < n; j++) shapeOk &&= l.data[i * n + j] === 0;
  }
  expect(shapeOk, 'L is lower triangular with a positive diagonal').toBe(true);
}

describe('cholesky', () => {
  property.prop([fc.integer({ min: 0, max: 70 }), fc.nat(1000), fc.constantFrom(1, 1e3, 1e8)])(
    'L·Lᵀ = A and L agrees with ml-matrix',
    (n, seed, condition) => {
      const { a } = randomSpd(n, seed, condition);
      const l = cholesky(a);
      expectFactorizes(l, a);
      if (n > 0)
        expectClose(l, fromMl(new CholeskyDecomposition(toMl(a)).lowerTriangularMatrix), {
          rtol: 1e-6,
          atol: 1e-9,
        });
    },
  );

  property.prop([fc.integer({ min: 100, max: 300 }), fc.nat(1000)], { numRuns: 3 })(
    'recursive blocks at larger, odd sizes',
    (n, seed) => {
      const a = randomGram(n, n + 7, seed);
      expectFactorizes(cholesky(a), a);
    },
  );

  test('0 × 0 and 1 × 1', () => {
    expect(cholesky(new Tensor(new Float64Array(0), [0, 0])).shape).toEqual([0, 0]);
    expect([...cholesky(tensor([[9]])).data]).toEqual([3]);
  });

  test('a matrix that is not positive definite names its first bad pivot', () => {
    // diag(4, 1, −2, 5): the third pivot (index 2) is −2.
    const a = tensor([
      [4, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, -2, 0],
      [0, 0, 0, 5],
    ]);
    try {
      cholesky(a);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NotPositiveDefiniteError);
      expect((e as NotPositiveDefiniteError).pivot).toBe(2);
      expect((e as Error).message).toMatch(/cholesky: .*pivot 2 is -2/);
    }
    // A rank-deficient Gram matrix fails at a pivot inside the recursion.
    const g = randomGram(120, 60, 4);
    expect(() => cholesky(g)).toThrow(NotPositiveDefiniteError);
  });

  test('bad input is a typed error', () => {
    expect(() => cholesky(randn([2, 3], 1))).toThrow(/cholesky: a must be square, got shape \[2, 3\]/);
    expect(() => cholesky(randn([3], 1))).toThrow(ShapeError);
    expect(() =>
      cholesky(
        tensor([
          [1, 2],
          [0, 1],
        ]),
      ),
    ).toThrow(/cholesky: a must be symmetric/);
    expect(() =>
      cholesky(
        tensor([
          [1, Number.NaN],
          [Number.NaN, 1],
        ]),
      ),
    ).toThrow(ValueError);
  });

  property.prop([
    fc.integer({ min: 1, max: 40 }),
    fc.nat(),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  ])('a single non-finite entry, in either triangle, is named by its index', (n, where, bad) => {
    const { a } = randomSpd(n, 3);
    const index = where % (n * n);
    a.data[index] = bad;
    expect(() => cholesky(a)).toThrow(`cholesky: a has a non-finite value ${bad} at index ${index}`);
    expect(() => choleskyWithJitter(a)).toThrow(`choleskyWithJitter: a has a non-finite value ${bad}`);
  });

  test('choleskyKernel reports −1 on success and leaves the upper triangle alone', () => {
    const { a } = randomSpd(70, 2);
    const work = Float64Array.from(a.data);
    expect(choleskyKernel(70, work, 0, 70)).toBe(-1);
    let untouched = true;
    for (let i = 0; i < 70; i++)
      for (let j = i + 1; j < 70; j++) untouched &&= work[i * 70 + j] === a.data[i * 70 + j];
    expect(untouched).toBe(true);
  });
});

describe('choleskyWithJitter', () => {
  test('adds nothing to a positive definite matrix', () => {
    const { a } = randomSpd(20, 1);
    const { factor, jitter } = choleskyWithJitter(a);
    expect(jitter).toBe(0);
    expectFactorizes(factor, a);
  });

  test('rescues a rank-deficient Gram matrix with the smallest jitter that works, and reports it', () => {
    const a = randomGram(80, 20, 7);
    const { factor, jitter } = choleskyWithJitter(a);
    expect(jitter).toBeGreaterThan(0);
    const shifted = Float64Array.from(a.data);
    for (let i = 0; i < 80; i++) shifted[i * 80 + i] = shifted[i * 80 + i]! + jitter;
    expectFactorizes(factor, new Tensor(shifted, [80, 80]));
    // The previous jitter in the sequence (0 for the first) fails.
    let meanDiagonal = 0;
    for (let i = 0; i < 80; i++) meanDiagonal += a.data[i * 80 + i]! / 80;
    const previous = jitter / 10 < 1e-10 * meanDiagonal * 0.99 ? 0 : jitter / 10;
    const smaller = Float64Array.from(a.data);
    for (let i = 0; i < 80; i++) smaller[i * 80 + i] = smaller[i * 80 + i]! + previous;
    expect(() => cholesky(new Tensor(smaller, [80, 80]))).toThrow(NotPositiveDefiniteError);
  });

  test('gives up with a NotPositiveDefiniteError on an indefinite matrix', () => {
    expect(() => choleskyWithJitter(tensor([[-1]]), { maxTries: 3 })).toThrow(NotPositiveDefiniteError);
    expect(() => choleskyWithJitter(eye(2), { growth: 1 })).toThrow(/growth must exceed 1/);
  });
});

describe('triangular solves', () => {
  property.prop([
    fc.integer({ min: 1, max: 90 }),
    fc.integer({ min: 1, max: 12 }),
    fc.boolean(),
    fc.boolean(),
    fc.nat(1000),
  ])('op(L)·X = B to a residual of order n·ε·‖L‖·‖X‖', (n, r, lower, transpose_, seed) => {
    // A well-conditioned triangular matrix: unit-ish diagonal, small off-diagonal.
    const t = randn([n, n], seed);
    const tri = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) tri[i * n + j] = 2 + Math.abs(t.data[i * n + j]!);
        else if (lower ? j < i : j > i) tri[i * n + j] = t.data[i * n + j]! / Math.sqrt(n);
        else tri[i * n + j] = Number.NaN; // the other triangle must never be read
      }
    }
    const b = randn([n, r], seed + 1);
    const x = solveTriangular(new Tensor(tri, [n, n]), b, { lower, transpose: transpose_ });
    const clean = new Tensor(
      tri.map((v) => (Number.isNaN(v) ? 0 : v)),
      [n, n],
    );
    const opL = transpose_ ? transpose(clean) : clean;
    const residual = maxAbsDiff(mlProduct(opL, x).data, b.data);
    expect(residual).toBeLessThanOrEqual(16 * n * EPS * maxAbs(clean.data) * Math.max(1, maxAbs(x.data)) * n);
  });

  test('a vector right-hand side keeps its shape', () => {
    const l = tensor([
      [2, 0],
      [1, 4],
    ]);
    const x = solveTriangular(l, tensor([2, 9]));
    expect(x.shape).toEqual([2]);
    expectClose(x, [1, 2]);
  });

  property.prop([
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 90 }),
    fc.boolean(),
    fc.boolean(),
    fc.nat(1000),
  ])(
    'trsmKernel solves from the right: X·op(A) = B, either triangle, inside larger arrays',
    (m, n, lower, transA, seed) => {
      // A = L or Lᵀ of an SPD matrix, stored at an offset in an (n + 3)-wide array
      // whose other triangle is NaN, which the kernel must never read.
      const l = cholesky(randomSpd(n, seed).a);
      const triangle = lower ? l : transpose(l);
      const lda = n + 3;
      const stored = new Float64Array(2 + n * lda).fill(Number.NaN);
      for (let i = 0; i < n; i++) {
        for (let j = lower ? 0 : i; j <= (lower ? i : n - 1); j++)
          stored[2 + i * lda + j] = triangle.data[i * n + j]!;
      }
      const b = randn([m, n], seed + 1);
      const ldb = n + 1;
      const x = new Float64Array(1 + m * ldb);
      for (let i = 0; i < m; i++) x.set(b.data.subarray(i * n, (i + 1) * n), 1 + i * ldb);
      trsmKernel(false, lower, transA, m, n, stored, 2, lda, x, 1, ldb);
      const solution = new Tensor(
        Float64Array.from({ length: m * n }, (_, k) => x[1 + Math.floor(k / n) * ldb + (k % n)]!),
        [m, n],
      );
      const product = mlProduct(solution, transA ? transpose(triangle) : triangle);
      expectClose(product, b, { rtol: 1e-9, atol: 1e-9 * Math.max(1, maxAbs(solution.data)) });
    },
  );

  test('singular and mismatched inputs are typed errors', () => {
    const singular = tensor([
      [1, 0],
      [1, 0],
    ]);
    expect(() => solveTriangular(singular, tensor([1, 1]))).toThrow(/solveTriangular: l\[1, 1\] is 0/);
    expect(() => solveTriangular(eye(3), randn([2, 2], 1))).toThrow(/b must have 3 rows/);
    expect(() => solveTriangular(eye(2), tensor([1, Number.NaN]))).toThrow(ValueError);
    // A NaN in the triangle that is read is named; one in the other triangle is ignored.
    const withNaN = tensor([
      [1, Number.NaN, 0],
      [Number.NaN, 1, 0],
      [0, 2, 1],
    ]);
    expect(() => solveTriangular(withNaN, tensor([1, 1, 1]))).toThrow(/solveTriangular: l\[1, 0\] is NaN/);
    expect(() => choleskySolve(withNaN, tensor([1, 1, 1]))).toThrow(/choleskySolve: l\[1, 0\] is NaN/);
    const upper = tensor([
      [2, 1],
      [Number.NaN, 4],
    ]);
    expectClose(solveTriangular(upper, tensor([4, 8]), { lower: false }), [1, 2]);
    // Overflow in a badly conditioned solve is reported, not returned.
    const tiny = tensor([
      [1e-300, 0],
      [1, 1e-300],
    ]);
    expect(() => solveTriangular(tiny, tensor([1e10, 1]))).toThrow(/overflowed/);
  });
});

describe('choleskySolve, choleskyInverse, logdetFromCholesky', () => {
  property.prop([fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 5 }), fc.nat(1000)])(
    'A·X = B, A·A⁻¹ = I and log det A = Σ log λ',
    (n, r, seed) => {
      const { a, eigenvalues } = randomSpd(n, seed, 1e4);
      const l = cholesky(a);
      const b = randn([n, r], seed + 1);
      const x = choleskySolve(l, b);
      const scale = (n + 1) * EPS * 1e4;
      expect(maxAbsDiff(mlProduct(a, x).data, b.data)).toBeLessThanOrEqual(
        64 * scale * Math.max(1, maxAbs(x.data)),
      );
      const inverse = choleskyInverse(l);
      expectClose(inverse, transpose(inverse), { rtol: 0, atol: 0 });
      expectClose(mlProduct(a, inverse), eye(n), { rtol: 0, atol: 64 * scale });
      const expected = eigenvalues.reduce((s, v) => s + Math.log(v), 0);
      expect(logdetFromCholesky(l)).toBeCloseTo(expected, 9);
    },
  );

  test('choleskyInverse across several column blocks; the kernels at an offset', () => {
    const n = 150;
    const { a } = randomSpd(n, 12, 100);
    const l = cholesky(a);
    const inverse = choleskyInverse(l);
    expectClose(mlProduct(a, inverse), eye(n), { rtol: 0, atol: 1e-11 });
    expectClose(inverse, transpose(inverse), { rtol: 0, atol: 0 });
    // L⁻¹ written into a padded buffer at an offset.
    const ld = n + 3;
    const x = new Float64Array(5 + n * ld).fill(Number.NaN);
    triangularInverseKernel(n, l.data, 0, n, x, 5, ld);
    const xs = new Float64Array(n * n);
    for (let i = 0; i < n; i++) xs.set(x.subarray(5 + i * ld, 5 + i * ld + n), i * n);
    expectClose(mlProduct(l, new Tensor(xs, [n, n])), eye(n), { rtol: 0, atol: 1e-12 });
  });

  test('a factor without a positive diagonal is rejected', () => {
    expect(() => choleskySolve(tensor([[0]]), tensor([1]))).toThrow(/choleskySolve: l\[0, 0\] is 0/);
    expect(() => logdetFromCholesky(tensor([[-1]]))).toThrow(ValueError);
    expect(() => choleskyInverse(randn([2, 3], 1))).toThrow(ShapeError);
  });
});
