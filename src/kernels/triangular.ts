/**
 * Triangular solves with many right-hand sides (BLAS trsm).
 *
 * Left:  op(A)·X = B with A m × m triangular, B m × n.
 * Right: X·op(A) = B with A n × n triangular, B m × n.
 * X overwrites B.
 *
 * Let T = op(A). If T is lower triangular, split it as
 *
 *     [T₁₁  0 ] [X₁]   [B₁]
 *     [T₂₁ T₂₂] [X₂] = [B₂]   ⇒   T₁₁X₁ = B₁,  T₂₂X₂ = B₂ − T₂₁X₁,
 *
 * and recurse on both halves: the update B₂ − T₂₁X₁ is a gemm, so nearly all of
 * the m²n flops run in the gemm kernel. An upper T is the mirror image (solve X₂
 * first). Small blocks are solved by substitution along rows of B, which are
 * contiguous.
 *
 * The right-sided solve splits the columns instead. For an upper T,
 *
 *     [X₁ X₂] [T₁₁ T₁₂]
 *             [ 0  T₂₂] = [B₁ B₂]   ⇒   X₁T₁₁ = B₁,  X₂T₂₂ = B₂ − X₁T₁₂,
 *
 * (a lower T solves X₂ first), and each row x of a narrow block solves
 * x·T = b on its own, xⱼ = (bⱼ − Σₚ xₚ·T[p, j]) / T[j, j], as dot products along
 * the row.
 */
import { gemmKernel, gemmRowUpdates } from './gemm.js';

/** Below this many rows a block is solved by substitution. */
const BASE = 16;

/**
 * Solve op(A)·X = B (`left`) or X·op(A) = B in place of B (m × n, row stride ldb).
 * `lower` says which triangle of A is stored; `transA` applies op(A) = Aᵀ. The
 * other triangle of A is never read. No validation: callers check.
 */
export function trsmKernel(
  left: boolean,
  lower: boolean,
  transA: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  b: Float64Array,
  bOffset: number,
  ldb: number,
): void {
  if (m === 0 || n === 0) return;
  // op(A) is lower triangular exactly when one of `lower`, `transA` holds.
  const tLower = lower !== transA;
  solve(left, tLower, transA, m, n, a, aOffset, lda, b, bOffset, ldb);
}

/**
 * T·X = B (`left`) or X·T = B, where T[i, j] = a[aOffset + i·lda + j] (t false)
 * or a[aOffset + j·lda + i] (t true), and T is lower (`tLower`) or upper
 * triangular. B is m × n; T has B's rows (left) or columns (right).
 */
function solve(
  left: boolean,
  tLower: boolean,
  t: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  b: Float64Array,
  bOffset: number,
  ldb: number,
): void {
  const size = left ? m : n;
  if (size <= BASE) {
    if (left) substitution(tLower, t, m, n, a, aOffset, lda, b, bOffset, ldb);
    else rowSubstitution(tLower, t, m, n, a, aOffset, lda, b, bOffset, ldb);
    return;
  }
  // Split at a multiple of the base size so that the blocks stay aligned.
  const s1 = Math.max(BASE, Math.floor(size / 2 / BASE) * BASE);
  const s2 = size - s1;
  const t22 = aOffset + s1 * lda + s1;
  // Offset in a of T[s1, 0] (lower) or of T[0, s1] (upper).
  const offDiag = tLower === t ? aOffset + s1 : aOffset + s1 * lda;
  // B₂: the rows (left) or columns (right) from s1 on.
  const b2 = bOffset + (left ? s1 * ldb : s1);
  // X₁ comes first for a lower T from the left or an upper T from the right, else X₂.
  const [first, firstT, firstB, other, otherT, otherB] =
    tLower === left ? [s1, aOffset, bOffset, s2, t22, b2] : [s2, t22, b2, s1, aOffset, bOffset];
  solve(left, tLower, t, left ? first : m, left ? n : first, a, firstT, lda, b, firstB, ldb);
  // B_other −= T_other,first·X_first (left) or X_first·T_first,other (right).
  if (left) gemmKernel(other, n, first, -1, a, offDiag, lda, t, b, firstB, ldb, false, 1, b, otherB, ldb);
  else gemmKernel(m, other, first, -1, b, firstB, ldb, false, a, offDiag, lda, t, 1, b, otherB, ldb);
  solve(left, tLower, t, left ? other : m, left ? n : other, a, otherT, lda, b, otherB, ldb);
}

/**
 * Rows of X in order (T lower) or in reverse (T upper):
 * xᵢ = (bᵢ − Σₚ T[i, p]·xₚ) / T[i, i] over the rows p already solved. The sum
 * is one row of a gemm, C ← C − T[i, p₀:p₁]·X[p₀:p₁, :], done by its row loop.
 */
function substitution(
  tLower: boolean,
  t: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  b: Float64Array,
  bOffset: number,
  ldb: number,
): void {
  const rs = t ? 1 : lda;
  const cs = t ? lda : 1;
  for (let q = 0; q < m; q++) {
    const i = tLower ? q : m - 1 - q;
    const bi = bOffset + i * ldb;
    const ti = aOffset + i * rs;
    const pFrom = tLower ? 0 : i + 1;
    const solved = tLower ? i : m - 1 - i;
    if (solved > 0) {
      gemmRowUpdates(
        1,
        n,
        solved,
        -1,
        a,
        ti + pFrom * cs,
        lda,
        t,
        b,
        bOffset + pFrom * ldb,
        ldb,
        1,
        b,
        bi,
        ldb,
      );
    }
    const d = a[ti + i * cs]!;
    for (let j = 0; j < n; j++) b[bi + j] = b[bi + j]! / d;
  }
}

/**
 * Each row x of B in turn solves x·T = b: for an upper T, columns in order,
 * xⱼ = (bⱼ − Σ_{p<j} xₚ·T[p, j]) / T[j, j]; for a lower T in reverse, with the
 * sum over p > j. Four rows share each load of T.
 */
function rowSubstitution(
  tLower: boolean,
  t: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  b: Float64Array,
  bOffset: number,
  ldb: number,
): void {
  // T[p, j] = a[aOffset + p·ps + j·js].
  const ps = t ? 1 : lda;
  const js = t ? lda : 1;
  const first = tLower ? n - 1 : 0;
  const step = tLower ? -1 : 1;
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const x0 = bOffset + i * ldb;
    const x1 = x0 + ldb;
    const x2 = x1 + ldb;
    const x3 = x2 + ldb;
    for (let q = 0, j = first; q < n; q++, j += step) {
      const pFrom = tLower ? j + 1 : 0;
      const pTo = tLower ? n : j;
      const tj = aOffset + j * js;
      let s0 = b[x0 + j]!;
      let s1 = b[x1 + j]!;
      let s2 = b[x2 + j]!;
      let s3 = b[x3 + j]!;
      for (let p = pFrom; p < pTo; p++) {
        const tpj = a[tj + p * ps]!;
        s0 -= b[x0 + p]! * tpj;
        s1 -= b[x1 + p]! * tpj;
        s2 -= b[x2 + p]! * tpj;
        s3 -= b[x3 + p]! * tpj;
      }
      const d = a[tj + j * ps]!;
      b[x0 + j] = s0 / d;
      b[x1 + j] = s1 / d;
      b[x2 + j] = s2 / d;
      b[x3 + j] = s3 / d;
    }
  }
  for (; i < m; i++) {
    const x0 = bOffset + i * ldb;
    for (let q = 0, j = first; q < n; q++, j += step) {
      const pFrom = tLower ? j + 1 : 0;
      const pTo = tLower ? n : j;
      const tj = aOffset + j * js;
      let s0 = b[x0 + j]!;
      for (let p = pFrom; p < pTo; p++) s0 -= b[x0 + p]! * a[tj + p * ps]!;
      b[x0 + j] = s0 / a[tj + j * ps]!;
    }
  }
}
