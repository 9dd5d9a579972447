import { fc, test as property } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { NotPositiveDefiniteError, ShapeError, ValueError } from '../../src/errors.js';
import {
  applyToColumns,
  cg,
  cholesky,
  choleskySolve,
  denseOperator,
  diagonalOperator,
  eigh,
  type LinearOperator,
  lanczos,
  logdetFromCholesky,
  lowRankPlusDiagonal,
  operatorToDense,
  scaledOperator,
  sumOperator,
} from '../../src/linalg/index.js';
import { randn, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  EPS,
  fromSpectrum,
  maxAbs,
  mlProduct,
  randomOrthogonal,
  randomSpd,
  randomSymmetric,
  transpose,
  useTypeScriptKernels,
} from '../oracles.js';

useTypeScriptKernels();

/** An operator that exposes only matvec, as user code might. */
function matvecOnly(a: Tensor): LinearOperator {
  const n = a.shape[0]!;
  return {
    size: n,
    matvec(v, out) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a.data[i * n + j]! * v[j]!;
        out[i] = s;
      }
    },
  };
}

describe('operators', () => {
  property.prop([fc.integer({ min: 1, max: 30 }), fc.nat(1000)])(
    'dense, diagonal, sum and scale agree with the matrices',
    (n, seed) => {
      const a = randomSymmetric(n, seed);
      const d = randn([n], seed + 1);
      const op = sumOperator(denseOperator(a), scaledOperator(diagonalOperator(d), -2), matvecOnly(a));
      const expected = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++)
          expected[i * n + j] = 2 * a.data[i * n + j]! - (i === j ? 2 * d.data[i]! : 0);
      }
      expectClose(operatorToDense(op), expected, { rtol: 1e-13, atol: 1e-13 });
      // matmat on a block of 3 columns equals three matvecs.
      const v = randn([n, 3], seed + 2);
      const out = new Float64Array(3 * n);
      applyToColumns(op, v.data, 3, out);
      expectClose(out, mlProduct(new Tensor(expected, [n, n]), v).data, { rtol: 1e-12, atol: 1e-12 });
    },
  );

  property.prop([fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 8 }), fc.nat(1000)])(
    'lowRankPlusDiagonal: matvec, Woodbury solve and determinant lemma against a dense Cholesky',
    (n, r, seed) => {
      const u = randn([n, r], seed);
      const s = randn([r], seed + 1).data.map((x, i) => (i === 0 ? 0 : Math.abs(x))); // one zero weight
      const d = randn([n], seed + 2).data.map((x) => 0.1 + Math.abs(x));
      const lr = lowRankPlusDiagonal(u, s, d);
      const dense = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let v = i === j ? d[i]! : 0;
          for (let p = 0; p < r; p++) v += u.data[i * r + p]! * s[p]! * u.data[j * r + p]!;
          dense[i * n + j] = v;
        }
      }
      const a = new Tensor(dense, [n, n]);
      expectClose(operatorToDense(lr), a, { rtol: 1e-12, atol: 1e-12 });
      const l = cholesky(a);
      expect(lr.logdet()).toBeCloseTo(logdetFromCholesky(l), 9);
      const b = randn([n], seed + 3).data;
      expectClose(lr.solve(b), choleskySolve(l, b).data, { rtol: 1e-8, atol: 1e-9 });
      expect(lr.operator).toBe(lr);
    },
  );

  test('bad operators and arguments are typed errors', () => {
    expect(() => sumOperator(diagonalOperator([1, 2]), diagonalOperator([1]))).toThrow(
      /sumOperator: operator 1 has size 1 but operator 0 has size 2/,
    );
    expect(() => denseOperator(randn([2, 3], 1))).toThrow(ShapeError);
    const u = randn([4, 2], 1);
    expect(() => lowRankPlusDiagonal(u, [1], [1, 1, 1, 1])).toThrow(/s must have one entry per column of u/);
    expect(() => lowRankPlusDiagonal(u, [1, -1], [1, 1, 1, 1])).toThrow(
      /s must be non-negative, s\[1\] is -1/,
    );
    expect(() => lowRankPlusDiagonal(u, [1, 1], [1, 0, 1, 1])).toThrow(/d must be positive, d\[1\] is 0/);
    expect(() => lowRankPlusDiagonal(u, [1, 1], [1, 1, 1, 1]).solve(new Float64Array(3))).toThrow(
      /b must have 4/,
    );
    expect(() => scaledOperator(diagonalOperator([1]), Number.NaN)).toThrow(ValueError);
  });
});

describe('lanczos', () => {
  property.prop([fc.integer({ min: 5, max: 120 }), fc.integer({ min: 1, max: 5 }), fc.nat(1000)], {
    numRuns: 20,
  })('top-k Ritz pairs match eigh', (n, k, seed) => {
    const a = randomSymmetric(n, seed);
    const exact = eigh(a).values;
    const { values, vectors, residuals, converged } = lanczos(denseOperator(a), k, { seed });
    expect(converged).toBe(true);
    const norm = maxAbs(exact);
    for (let c = 0; c < k; c++) {
      expect(Math.abs(values[c]! - exact[n - 1 - c]!)).toBeLessThanOrEqual(1e-8 * norm);
      expect(residuals[c]).toBeLessThanOrEqual(1e-10 * norm);
    }
    // Columns are orthonormal and are eigenvectors: A·y ≈ θ·y.
    expectClose(mlProduct(transpose(vectors), vectors).data, eyeData(k), { rtol: 0, atol: 1e-10 });
    const ay = mlProduct(a, vectors);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        expect(Math.abs(ay.data[i * k + c]! - values[c]! * vectors.data[i * k + c]!)).toBeLessThanOrEqual(
          1e-7 * norm,
        );
      }
    }
  });

  test('breakdown: an invariant Krylov space smaller than k is left and restarted', () => {
    // diag(5, 5, 5, 1, 1, 1, 0.5): any start vector spans a 3-dimensional Krylov space.
    const op = diagonalOperator([5, 5, 5, 1, 1, 1, 0.5]);
    const { values, converged, matvecs } = lanczos(op, 4, { seed: 3 });
    expectClose(values, [5, 5, 5, 1], { rtol: 0, atol: 1e-12 });
    expect(converged).toBe(true);
    expect(matvecs).toBeLessThanOrEqual(7);
    // A rank-2 operator on R^50.
    const q = randomOrthogonal(50, 2);
    const spectrum = Array.from({ length: 50 }, (_, i) => (i === 49 ? 3 : i === 48 ? 2 : 0));
    const low = lanczos(denseOperator(fromSpectrum(q, spectrum)), 3);
    expectClose(low.values, [3, 2, 0], { rtol: 0, atol: 1e-12 });
  });

  test('clustered top of the spectrum (a GGN-like decaying spectrum)', () => {
    const n = 200;
    const q = randomOrthogonal(n, 9);
    const spectrum = Array.from({ length: n }, (_, i) => 100 * 0.9 ** (n - 1 - i));
    const { values } = lanczos(denseOperator(fromSpectrum(q, spectrum)), 10, { seed: 1 });
    expectClose(values, spectrum.slice(-10).reverse(), { rtol: 1e-8, atol: 0 });
  });

  test('k = 0, k = n and bad arguments', () => {
    expect(lanczos(diagonalOperator([1, 2]), 0).values.length).toBe(0);
    expectClose(lanczos(diagonalOperator([1, 3, 2]), 3).values, [3, 2, 1], { rtol: 0, atol: 1e-14 });
    expect(() => lanczos(diagonalOperator([1, 2]), 3)).toThrow(/lanczos: k is 3 but the operator has size 2/);
    expect(() => lanczos(diagonalOperator([1, 2]), 2, { maxIter: 1 })).toThrow(/maxIter/);
    expect(() => lanczos({ size: 2 } as unknown as LinearOperator, 1)).toThrow(/matvec/);
  });

  test('an operator whose products are not finite is a ValueError, never converged NaN values', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const op: LinearOperator = {
        size: 4,
        matvec: (v, out) => {
          for (let i = 0; i < 4; i++) out[i] = (i + 1) * v[i]!;
          out[2] = bad;
        },
      };
      expect(() => lanczos(op, 2)).toThrow(/lanczos: .*not finite/);
    }
  });
});

function eyeData(k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) out[i * k + i] = 1;
  return out;
}

describe('cg', () => {
  property.prop([fc.integer({ min: 1, max: 80 }), fc.nat(1000), fc.constantFrom(10, 1e4)])(
    'agrees with a direct solve',
    (n, seed, condition) => {
      const { a } = randomSpd(n, seed, condition);
      const b = randn([n], seed + 1).data;
      const result = cg(denseOperator(a), b, { tol: 1e-12 });
      expect(result.converged).toBe(true);
      const direct = choleskySolve(cholesky(a), b).data;
      expectClose(result.x, direct, { rtol: 0, atol: 1e-9 * condition * maxAbs(direct) });
      expect(result.residualNorm).toBeLessThanOrEqual(
        1e-10 * Math.sqrt(n) * maxAbs(b) + 64 * n * EPS * condition,
      );
    },
  );

  test('a Jacobi preconditioner cuts the iterations on a badly scaled system', () => {
    const n = 100;
    const { a } = randomSpd(n, 4, 10);
    // D·A·D with D spanning four orders of magnitude.
    const scale = Array.from({ length: n }, (_, i) => 10 ** ((2 * i) / (n - 1)));
    const scaled = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) scaled[i * n + j] = scale[i]! * a.data[i * n + j]! * scale[j]!;
    const op = denseOperator(new Tensor(scaled, [n, n]));
    const b = randn([n], 5).data;
    const plain = cg(op, b, { tol: 1e-10 });
    const inverseDiagonal = Array.from({ length: n }, (_, i) => 1 / scaled[i * n + i]!);
    const preconditioned = cg(op, b, { tol: 1e-10, preconditioner: diagonalOperator(inverseDiagonal) });
    expect(preconditioned.converged).toBe(true);
    expect(preconditioned.iterations).toBeLessThan(plain.iterations / 2);
    expectClose(preconditioned.x, plain.x, { rtol: 1e-6, atol: 1e-8 });
  });

  test('zero right-hand side, a starting guess, an iteration cap', () => {
    const op = diagonalOperator([1, 2, 3]);
    expect([...cg(op, new Float64Array(3)).x]).toEqual([0, 0, 0]);
    const warm = cg(op, new Float64Array([1, 2, 3]), { x0: new Float64Array([1, 1, 1]) });
    expect(warm.iterations).toBe(0);
    const { a } = randomSpd(50, 1, 1e6);
    const capped = cg(denseOperator(a), randn([50], 2).data, { maxIter: 3 });
    expect(capped.converged).toBe(false);
    expect(capped.iterations).toBe(3);
  });

  test('an indefinite operator or mismatched vector is a typed error', () => {
    expect(() => cg(diagonalOperator([1, -1]), new Float64Array([1, 1]))).toThrow(NotPositiveDefiniteError);
    expect(() => cg(diagonalOperator([1, 1]), new Float64Array(3))).toThrow(
      /cg: b has 3 entries but the operator has size 2/,
    );
    expect(() => cg(diagonalOperator([1, 1]), new Float64Array([1, Number.NaN]))).toThrow(ValueError);
  });
});
