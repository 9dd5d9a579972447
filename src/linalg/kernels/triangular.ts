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
 * contiguous. The right-sided solve is the left-sided one transposed,
 * Tᵀ·Xᵀ = Bᵀ, done through a scratch copy of Bᵀ.
 */
import { gemmKernel } from './gemm.js';

/** Below this many rows a block is solved by substitution. */
const BASE = 32;

let transposeScratch = new Float64Array(0);

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
  if (left) {
    solveLeft(tLower, transA, m, n, a, aOffset, lda, b, bOffset, ldb);
    return;
  }
  // X·T = B ⇔ Tᵀ·Xᵀ = Bᵀ, and Tᵀ is lower exactly when T is upper.
  if (transposeScratch.length < m * n) transposeScratch = new Float64Array(m * n);
  const bt = transposeScratch;
  transposeInto(m, n, b, bOffset, ldb, bt, 0, m);
  solveLeft(!tLower, !transA, n, m, a, aOffset, lda, bt, 0, m);
  transposeInto(n, m, bt, 0, m, b, bOffset, ldb);
}

/** out (n × m) ← in (m × n)ᵀ, in cache-sized tiles. */
export function transposeInto(
  m: number,
  n: number,
  src: Float64Array,
  srcOffset: number,
  lds: number,
  out: Float64Array,
  outOffset: number,
  ldo: number,
): void {
  const B = 32;
  for (let i0 = 0; i0 < m; i0 += B) {
    const iEnd = Math.min(i0 + B, m);
    for (let j0 = 0; j0 < n; j0 += B) {
      const jEnd = Math.min(j0 + B, n);
      for (let i = i0; i < iEnd; i++) {
        const s = srcOffset + i * lds;
        for (let j = j0; j < jEnd; j++) out[outOffset + j * ldo + i] = src[s + j]!;
      }
    }
  }
}

/**
 * T·X = B where T[i, j] = a[aOffset + i·lda + j] (t false) or a[aOffset + j·lda + i]
 * (t true), and T is lower (`tLower`) or upper triangular.
 */
function solveLeft(
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
  if (m <= BASE) {
    if (tLower) forwardSubstitution(t, m, n, a, aOffset, lda, b, bOffset, ldb);
    else backSubstitution(t, m, n, a, aOffset, lda, b, bOffset, ldb);
    return;
  }
  // Split at a multiple of the base size so that the blocks stay aligned.
  const m1 = Math.max(BASE, Math.floor(m / 2 / BASE) * BASE);
  const m2 = m - m1;
  const b2 = bOffset + m1 * ldb;
  const t22 = aOffset + m1 * lda + m1;
  // Offset in a of T[m1, 0] (lower) or of T[0, m1] (upper).
  const offDiag = tLower === t ? aOffset + m1 : aOffset + m1 * lda;
  if (tLower) {
    solveLeft(tLower, t, m1, n, a, aOffset, lda, b, bOffset, ldb);
    gemmKernel(m2, n, m1, -1, a, offDiag, lda, t, b, bOffset, ldb, false, 1, b, b2, ldb);
    solveLeft(tLower, t, m2, n, a, t22, lda, b, b2, ldb);
  } else {
    solveLeft(tLower, t, m2, n, a, t22, lda, b, b2, ldb);
    gemmKernel(m1, n, m2, -1, a, offDiag, lda, t, b, b2, ldb, false, 1, b, bOffset, ldb);
    solveLeft(tLower, t, m1, n, a, aOffset, lda, b, bOffset, ldb);
  }
}

/** Rows of X in order: xᵢ = (bᵢ − Σ_{p<i} T[i, p]·x_p) / T[i, i]. */
function forwardSubstitution(
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
  for (let i = 0; i < m; i++) {
    const bi = bOffset + i * ldb;
    const ti = aOffset + i * rs;
    let p = 0;
    for (; p + 1 < i; p += 2) {
      const t0 = a[ti + p * cs]!;
      const t1 = a[ti + (p + 1) * cs]!;
      const b0 = bOffset + p * ldb;
      const b1 = b0 + ldb;
      for (let j = 0; j < n; j++) b[bi + j] = b[bi + j]! - t0 * b[b0 + j]! - t1 * b[b1 + j]!;
    }
    for (; p < i; p++) {
      const t0 = a[ti + p * cs]!;
      const b0 = bOffset + p * ldb;
      for (let j = 0; j < n; j++) b[bi + j] = b[bi + j]! - t0 * b[b0 + j]!;
    }
    const d = a[ti + i * cs]!;
    for (let j = 0; j < n; j++) b[bi + j] = b[bi + j]! / d;
  }
}

/** Rows of X in reverse: xᵢ = (bᵢ − Σ_{p>i} T[i, p]·x_p) / T[i, i]. */
function backSubstitution(
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
  for (let i = m - 1; i >= 0; i--) {
    const bi = bOffset + i * ldb;
    const ti = aOffset + i * rs;
    let p = i + 1;
    for (; p + 1 < m; p += 2) {
      const t0 = a[ti + p * cs]!;
      const t1 = a[ti + (p + 1) * cs]!;
      const b0 = bOffset + p * ldb;
      const b1 = b0 + ldb;
      for (let j = 0; j < n; j++) b[bi + j] = b[bi + j]! - t0 * b[b0 + j]! - t1 * b[b1 + j]!;
    }
    for (; p < m; p++) {
      const t0 = a[ti + p * cs]!;
      const b0 = bOffset + p * ldb;
      for (let j = 0; j < n; j++) b[bi + j] = b[bi + j]! - t0 * b[b0 + j]!;
    }
    const d = a[ti + i * cs]!;
    for (let j = 0; j < n; j++) b[bi + j] = b[bi + j]! / d;
  }
}
