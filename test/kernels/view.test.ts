/**
 * Matrix views against direct loops: gemm, syrk and trsm through views give
 * the dense formulas C = α·op(A)·op(B) + β·C, lower(C) = α·A·Aᵀ + β·C and
 * op(L)·X = B, for random sizes, offsets, leading dimensions and transposes.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { gemm, type MatrixView, mat, syrk, tr, trsm } from '../../src/kernels/view.js';
import { seededRng } from '../../src/random.js';

/** Element (i, j) of the matrix a view shows. */
const at = (v: MatrixView, i: number, j: number): number =>
  v.data[v.trans ? v.offset + j * v.ld + i : v.offset + i * v.ld + j]!;

/** A random rows × cols view, stored with a random offset and padding, transposed or not. */
function randomView(rows: number, cols: number, trans: boolean, seed: number): MatrixView {
  const rng = seededRng(seed);
  const [r, c] = trans ? [cols, rows] : [rows, cols];
  const offset = seed % 3;
  const ld = c + (seed % 2);
  const data = Float64Array.from({ length: offset + r * ld }, () => rng.normal());
  const stored = mat(data, r, c, offset, ld);
  return trans ? tr(stored) : stored;
}

const size = fc.integer({ min: 1, max: 9 });

describe('matrix views', () => {
  test.prop([size, size, size, fc.boolean(), fc.boolean(), fc.nat(1000)])(
    'gemm(C, α, op(A), op(B), β) is α·op(A)·op(B) + β·C',
    (m, n, k, ta, tb, seed) => {
      const a = randomView(m, k, ta, seed);
      const b = randomView(k, n, tb, seed + 1);
      const c = randomView(m, n, false, seed + 2);
      const expected = Array.from({ length: m * n }, (_, q) => {
        const i = Math.floor(q / n);
        const j = q % n;
        let s = 0;
        for (let p = 0; p < k; p++) s += at(a, i, p) * at(b, p, j);
        return 0.5 * s - 2 * at(c, i, j);
      });
      gemm(c, 0.5, a, b, -2);
      for (let q = 0; q < m * n; q++) expect(at(c, Math.floor(q / n), q % n)).toBeCloseTo(expected[q]!, 10);
    },
  );

  test.prop([size, size, fc.boolean(), fc.nat(1000)])(
    'syrk(C, α, A, β) is α·A·Aᵀ + β·C on the lower triangle',
    (n, k, ta, seed) => {
      const a = randomView(n, k, ta, seed);
      const c = randomView(n, n, false, seed + 1);
      const before = Array.from({ length: n * n }, (_, q) => at(c, Math.floor(q / n), q % n));
      syrk(c, 2, a, 0.5);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += at(a, i, p) * at(a, j, p);
          const want = j <= i ? 2 * s + 0.5 * before[i * n + j]! : before[i * n + j]!;
          expect(at(c, i, j)).toBeCloseTo(want, 10);
        }
      }
    },
  );

  test.prop([size, size, fc.boolean(), fc.boolean(), fc.nat(1000)])(
    'trsm solves op(L)·X = B (left) and X·op(L) = B (right) in place',
    (m, n, left, ta, seed) => {
      const s = left ? m : n;
      const rng = seededRng(seed);
      // A well-conditioned lower triangle: unit-sized diagonal, small below.
      const stored = new Float64Array(s * s);
      for (let i = 0; i < s; i++)
        for (let j = 0; j <= i; j++) stored[i * s + j] = i === j ? 2 + rng.uniform() : 0.3 * rng.normal();
      const l = ta ? tr(mat(stored, s, s)) : mat(stored, s, s);
      const b = randomView(m, n, false, seed + 1);
      const rhs = Array.from({ length: m * n }, (_, q) => at(b, Math.floor(q / n), q % n));
      trsm(left ? 'left' : 'right', l, true, b);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let back = 0;
          if (left) for (let p = 0; p < s; p++) back += at(l, i, p) * at(b, p, j);
          else for (let p = 0; p < s; p++) back += at(b, i, p) * at(l, p, j);
          expect(back).toBeCloseTo(rhs[i * n + j]!, 9);
        }
      }
    },
  );
});
