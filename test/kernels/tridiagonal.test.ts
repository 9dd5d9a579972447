import { describe, expect, test } from 'vitest';
import { tql2, tridiagonalEigenDC } from '../../src/kernels/index.js';
import { eigh } from '../../src/linalg/index.js';
import { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  EPS,
  expectEigenpairs,
  fromSpectrum,
  maxAbs,
  randomOrthogonal,
  useTypeScriptKernels,
} from '../oracles.js';

useTypeScriptKernels();

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
