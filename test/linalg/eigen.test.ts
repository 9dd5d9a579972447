import { fc, test as property } from '@fast-check/vitest';
import { EigenvalueDecomposition } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { tql2, tridiagonalEigenDC } from '../../src/kernels/index.js';
import { eigh, eigvalsh } from '../../src/linalg/index.js';
import { eye, randn, Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  EPS,
  fromSpectrum,
  maxAbs,
  mlProduct,
  randomGram,
  randomOrthogonal,
  randomSymmetric,
  toMl,
  transpose,
  useTypeScriptKernels,
} from './oracles.js';

useTypeScriptKernels();

/** ‖A·V − V·Λ‖max and ‖Vᵀ·V − I‖max within c·n·ε (times ‖A‖ for the first). */
function expectEigenpairs(a: Tensor, values: Float64Array, vectors: Tensor): void {
  const n = a.shape[0]!;
  const norm = Math.max(maxAbs(a.data), Number.MIN_VALUE);
  const av = mlProduct(a, vectors);
  let residual = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      residual = Math.max(residual, Math.abs(av.data[i * n + j]! - vectors.data[i * n + j]! * values[j]!));
    }
  }
  expect(residual).toBeLessThanOrEqual(32 * (n + 1) * EPS * norm * Math.sqrt(n + 1));
  expectClose(mlProduct(transpose(vectors), vectors), eye(n), { rtol: 0, atol: 32 * (n + 1) * EPS });
  for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
}

describe('eigh', () => {
  property.prop([fc.integer({ min: 0, max: 60 }), fc.nat(1000)])(
    'A·V = V·Λ, Vᵀ·V = I, values as ml-matrix',
    (n, seed) => {
      const a = randomSymmetric(n, seed);
      const { values, vectors } = eigh(a);
      expectEigenpairs(a, values, vectors);
      if (n > 0) {
        const oracle = new EigenvalueDecomposition(toMl(a), { assumeSymmetric: true }).realEigenvalues;
        expectClose(values, oracle, { rtol: 0, atol: 64 * n * EPS * maxAbs(a.data) });
      }
      expectClose(eigvalsh(a), values, { rtol: 0, atol: 16 * (n + 1) * EPS * maxAbs(a.data) });
    },
  );

  property.prop([fc.integer({ min: 100, max: 300 }), fc.nat(1000)], { numRuns: 2 })(
    'larger, odd sizes',
    (n, seed) => {
      const a = randomSymmetric(n, seed);
      const { values, vectors } = eigh(a);
      expectEigenpairs(a, values, vectors);
    },
  );

  test('known spectra: repeated, zero and widely spread eigenvalues', () => {
    const n = 40;
    const q = randomOrthogonal(n, 3);
    const spectra = [
      Array.from({ length: n }, (_, i) => (i < 20 ? 0 : 1)), // rank-deficient, two clusters
      Array.from({ length: n }, (_, i) => 10 ** (i / 3 - 6)), // condition 1e13
      Array.from({ length: n }, (_, i) => (i % 2 ? -5 : 5)), // indefinite, repeated
    ];
    for (const spectrum of spectra) {
      const a = fromSpectrum(q, spectrum);
      const { values, vectors } = eigh(a);
      const sorted = [...spectrum].sort((x, y) => x - y);
      expectClose(values, sorted, { rtol: 0, atol: 64 * n * EPS * maxAbs(sorted) });
      expectEigenpairs(a, values, vectors);
    }
  });

  test('diagonal, identity, rank-one and tiny matrices', () => {
    const d = eigh(
      tensor([
        [3, 0, 0],
        [0, -1, 0],
        [0, 0, 2],
      ]),
    );
    expect([...d.values]).toEqual([-1, 2, 3]);
    expectEigenpairs(eye(5), eigh(eye(5)).values, eigh(eye(5)).vectors);
    const g = randomGram(30, 1, 2);
    const r1 = eigh(g);
    expectEigenpairs(g, r1.values, r1.vectors);
    expect([...eigh(tensor([[7]])).values]).toEqual([7]);
    expect(eigh(new Tensor(new Float64Array(0), [0, 0])).vectors.shape).toEqual([0, 0]);
    const two = tensor([
      [2, 1],
      [1, 2],
    ]);
    expectClose(eigvalsh(two), [1, 3], { rtol: 0, atol: 1e-15 });
  });

  test('tiny and huge scales: eigenvalues scale exactly, vectors stay orthonormal', () => {
    const n = 150;
    const a = randomSymmetric(n, 4);
    const base = eigh(a);
    for (const scale of [2 ** -1000, 1e-200, 1e200, 2 ** 1000]) {
      const scaled = new Tensor(
        a.data.map((v) => v * scale),
        [n, n],
      );
      const { values, vectors } = eigh(scaled);
      expectClose(
        values.map((v) => v / scale),
        base.values,
        { rtol: 0, atol: 64 * n * EPS * maxAbs(base.values) },
      );
      expectClose(mlProduct(transpose(vectors), vectors), eye(n), { rtol: 0, atol: 32 * (n + 1) * EPS });
      expectClose(
        eigvalsh(scaled).map((v) => v / scale),
        base.values,
        { rtol: 0, atol: 64 * n * EPS * maxAbs(base.values) },
      );
    }
  });

  test('bad input is a typed error', () => {
    expect(() => eigh(randn([2, 3], 1))).toThrow(ShapeError);
    expect(() =>
      eigh(
        tensor([
          [1, 2],
          [3, 1],
        ]),
      ),
    ).toThrow(/eigh: a must be symmetric/);
    expect(() =>
      eigvalsh(
        tensor([
          [1, Number.NaN],
          [Number.NaN, 1],
        ]),
      ),
    ).toThrow(ValueError);
  });
});

describe('tridiagonal divide and conquer', () => {
  /** T·Z = Z·Λ and Zᵀ·Z = I for the tridiagonal (d, e), values against QL. */
  function checkTridiagonal(diagonal: number[], offDiagonal: number[]): void {
    const n = diagonal.length;
    const d = Float64Array.from(diagonal);
    const e = new Float64Array(n);
    e.set(offDiagonal);
    const z = new Float64Array(n * n);
    expect(tridiagonalEigenDC(n, d, e, z, 0, n)).toBe(-1);
    const dq = Float64Array.from(diagonal);
    const eq = new Float64Array(n);
    eq.set(offDiagonal);
    expect(tql2(n, dq, eq, null, 0, 0, 0)).toBe(-1);
    const norm = Math.max(maxAbs(diagonal), maxAbs(offDiagonal), Number.MIN_VALUE);
    expectClose(d, dq, { rtol: 0, atol: 64 * n * EPS * norm });
    const t = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      t[i * n + i] = diagonal[i]!;
      if (i + 1 < n) {
        t[i * n + i + 1] = offDiagonal[i]!;
        t[(i + 1) * n + i] = offDiagonal[i]!;
      }
    }
    expectEigenpairs(new Tensor(t, [n, n]), d, new Tensor(z, [n, n]));
  }

  test('Wilkinson matrices (pairs of nearly equal eigenvalues) and glued copies', () => {
    const m = 21;
    const w = Array.from({ length: m }, (_, i) => Math.abs(i - 10));
    checkTridiagonal(w, Array(m - 1).fill(1));
    // Five copies glued by 1e-8: clusters of five nearly equal eigenvalues.
    const glued = Array.from({ length: 5 * m }, (_, i) => w[i % m]!);
    const couplings = Array.from({ length: 5 * m - 1 }, (_, i) => ((i + 1) % m === 0 ? 1e-8 : 1));
    checkTridiagonal(glued, couplings);
  });

  test('heavy deflation: constant, zero-coupled and graded tridiagonals', () => {
    const n = 150;
    checkTridiagonal(Array(n).fill(2), Array(n - 1).fill(0));
    checkTridiagonal(Array(n).fill(2), Array(n - 1).fill(1)); // distinct, analytic spectrum
    checkTridiagonal(
      Array.from({ length: n }, (_, i) => 10 ** (-i / 10)),
      Array.from({ length: n - 1 }, (_, i) => 10 ** (-i / 10 - 1)),
    );
    checkTridiagonal(
      Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0)),
      Array.from({ length: n - 1 }, (_, i) => (i % 7 === 0 ? 1e-12 : 0.5)),
    );
    checkTridiagonal([], []);
    checkTridiagonal([0, 0, 0], [0, 0]);
  });

  test('eigh on a GGN-like spectrum: a few large eigenvalues and a big null space', () => {
    const n = 200;
    const q = randomOrthogonal(n, 11);
    const spectrum = Array.from({ length: n }, (_, i) => (i < 170 ? 0 : 1000 * 0.8 ** (n - 1 - i)));
    const a = fromSpectrum(q, spectrum);
    const { values, vectors } = eigh(a);
    expectEigenpairs(a, values, vectors);
    expectClose(
      values,
      [...spectrum].sort((x, y) => x - y),
      { rtol: 0, atol: 64 * n * EPS * 1000 },
    );
  });
});
