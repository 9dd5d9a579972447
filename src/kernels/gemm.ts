/**
 * General matrix multiply, C ← α·op(A)·op(B) + β·C, on row-major Float64Arrays.
 *
 * C is m × n, op(A) is m × k and op(B) is k × n; op(X) = Xᵀ when the matching
 * flag is set, so element (i, p) of op(A) is a[aOffset + i·lda + p], or
 * a[aOffset + p·lda + i] when transposed. C must not overlap A or B.
 *
 * The blocked path follows Goto and van de Geijn (2008). The product is cut
 * into kc-deep slices of B (kc × nc, copied once into `packedB` as 4-column
 * strips laid out p by p) and mc-tall slices of A (mc × kc, copied with α folded
 * in into `packedA` as 4-row strips). A micro-kernel then forms each 4 × 4 tile
 * of C as a sum of kc outer products of a 4-vector of A with a 4-vector of B,
 * holding the 16 partial sums in local variables, which V8 keeps in registers:
 * per step 8 loads feed 16 multiply-adds, and both strips are read contiguously
 * from cache. The packed A slice (~256 KiB) lives in L2 and a B strip (8 KiB)
 * in L1 while it is used against every strip of A. Packing also absorbs the
 * transposes, so the micro-kernel never sees them. The sizes are in
 * blocking.ts, shared with the WebAssembly kernel so that both sum alike.
 *
 * Small or skinny products (the shapes of a neural network's per-layer work)
 * do not repay packing and take loops that read both operands along rows.
 */

import { KC, MC, MR, NC, NR } from './blocking.js';
// The packed path runs in src/kernels/wasm when a WebAssembly backend is active.
import { gemmWasm } from './wasm/gemm.js';

/** Below this many multiply-adds (or with a dimension under 8) the unpacked loops win. */
const SMALL = 40_000;

let packedA = new Float64Array(MC * KC);
let packedB = new Float64Array(KC * NC);
const edgeTile = new Float64Array(MR * NR);

export function gemmKernel(
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  transA: boolean,
  b: Float64Array,
  bOffset: number,
  ldb: number,
  transB: boolean,
  beta: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0 || alpha === 0) {
    scaleC(m, n, beta, c, cOffset, ldc);
    return;
  }
  if (m < 8 || n < 8 || k < 8 || m * n * k < SMALL) {
    gemmUnpacked(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc);
    return;
  }
  // WebAssembly: same blocking, so the same bits; returns false under the 'js' backend.
  if (gemmWasm(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc))
    return;
  scaleC(m, n, beta, c, cOffset, ldc);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packB(kc, nc, b, transB ? bOffset + jc * ldb + pc : bOffset + pc * ldb + jc, ldb, transB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packA(mc, kc, alpha, a, transA ? aOffset + pc * lda + ic : aOffset + ic * lda + pc, lda, transA);
        macroKernel(mc, nc, kc, c, cOffset + ic * ldc + jc, ldc);
      }
    }
  }
}

/** C ← β·C; β = 0 writes zeros so that NaN or garbage in C does not survive. */
function scaleC(m: number, n: number, beta: number, c: Float64Array, cOffset: number, ldc: number): void {
  if (beta === 1) return;
  if (beta === 0 && ldc === n) {
    c.fill(0, cOffset, cOffset + m * n);
    return;
  }
  for (let i = 0; i < m; i++) {
    const ci = cOffset + i * ldc;
    if (beta === 0) c.fill(0, ci, ci + n);
    else for (let j = 0; j < n; j++) c[ci + j] = beta * c[ci + j]!;
  }
}

/**
 * packedA ← α·op(A)[0:mc, 0:kc] as ⌈mc/4⌉ strips; strip s holds rows 4s..4s+3,
 * column p at [s·4kc + 4p .. +3], zero-padded past row mc.
 */
function packA(
  mc: number,
  kc: number,
  alpha: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  trans: boolean,
): void {
  const size = Math.ceil(mc / MR) * MR * kc;
  if (packedA.length < size) packedA = new Float64Array(size);
  const pa = packedA;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = Math.min(MR, mc - i0);
    const strip = i0 * kc;
    if (rows === MR && !trans) {
      const r0 = aOffset + i0 * lda;
      const r1 = r0 + lda;
      const r2 = r1 + lda;
      const r3 = r2 + lda;
      for (let p = 0; p < kc; p++) {
        const o = strip + p * MR;
        pa[o] = alpha * a[r0 + p]!;
        pa[o + 1] = alpha * a[r1 + p]!;
        pa[o + 2] = alpha * a[r2 + p]!;
        pa[o + 3] = alpha * a[r3 + p]!;
      }
    } else if (rows === MR) {
      for (let p = 0; p < kc; p++) {
        const o = strip + p * MR;
        const s = aOffset + p * lda + i0;
        pa[o] = alpha * a[s]!;
        pa[o + 1] = alpha * a[s + 1]!;
        pa[o + 2] = alpha * a[s + 2]!;
        pa[o + 3] = alpha * a[s + 3]!;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const o = strip + p * MR;
        for (let r = 0; r < MR; r++) {
          pa[o + r] =
            r < rows
              ? alpha * (trans ? a[aOffset + p * lda + i0 + r]! : a[aOffset + (i0 + r) * lda + p]!)
              : 0;
        }
      }
    }
  }
}

/** packedB ← op(B)[0:kc, 0:nc] as ⌈nc/4⌉ strips of 4 columns, row p at [s·4kc + 4p .. +3]. */
function packB(kc: number, nc: number, b: Float64Array, bOffset: number, ldb: number, trans: boolean): void {
  const size = Math.ceil(nc / NR) * NR * kc;
  if (packedB.length < size) packedB = new Float64Array(size);
  const pb = packedB;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = Math.min(NR, nc - j0);
    const strip = j0 * kc;
    if (cols === NR && !trans) {
      for (let p = 0; p < kc; p++) {
        const o = strip + p * NR;
        const s = bOffset + p * ldb + j0;
        pb[o] = b[s]!;
        pb[o + 1] = b[s + 1]!;
        pb[o + 2] = b[s + 2]!;
        pb[o + 3] = b[s + 3]!;
      }
    } else if (cols === NR) {
      const r0 = bOffset + j0 * ldb;
      const r1 = r0 + ldb;
      const r2 = r1 + ldb;
      const r3 = r2 + ldb;
      for (let p = 0; p < kc; p++) {
        const o = strip + p * NR;
        pb[o] = b[r0 + p]!;
        pb[o + 1] = b[r1 + p]!;
        pb[o + 2] = b[r2 + p]!;
        pb[o + 3] = b[r3 + p]!;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const o = strip + p * NR;
        for (let q = 0; q < NR; q++) {
          pb[o + q] =
            q < cols ? (trans ? b[bOffset + (j0 + q) * ldb + p]! : b[bOffset + p * ldb + j0 + q]!) : 0;
        }
      }
    }
  }
}

/** C[0:mc, 0:nc] += packedA·packedB, tile by tile; partial edge tiles go through `edgeTile`. */
function macroKernel(
  mc: number,
  nc: number,
  kc: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  const pa = packedA;
  const pb = packedB;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = Math.min(NR, nc - j0);
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const rows = Math.min(MR, mc - i0);
      if (rows === MR && cols === NR) {
        microKernel(kc, pa, i0 * kc, pb, j0 * kc, c, cOffset + i0 * ldc + j0, ldc);
      } else {
        edgeTile.fill(0);
        microKernel(kc, pa, i0 * kc, pb, j0 * kc, edgeTile, 0, NR);
        for (let r = 0; r < rows; r++) {
          const ci = cOffset + (i0 + r) * ldc + j0;
          for (let q = 0; q < cols; q++) c[ci + q] = c[ci + q]! + edgeTile[r * NR + q]!;
        }
      }
    }
  }
}

/** C[4 × 4] += Σₚ a[p]·b[p]ᵀ over kc packed 4-vectors of A and B. */
function microKernel(
  kc: number,
  pa: Float64Array,
  ia: number,
  pb: Float64Array,
  ib: number,
  c: Float64Array,
  ic: number,
  ldc: number,
): void {
  let c00 = 0;
  let c01 = 0;
  let c02 = 0;
  let c03 = 0;
  let c10 = 0;
  let c11 = 0;
  let c12 = 0;
  let c13 = 0;
  let c20 = 0;
  let c21 = 0;
  let c22 = 0;
  let c23 = 0;
  let c30 = 0;
  let c31 = 0;
  let c32 = 0;
  let c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = pa[ia]!;
    const a1 = pa[ia + 1]!;
    const a2 = pa[ia + 2]!;
    const a3 = pa[ia + 3]!;
    const b0 = pb[ib]!;
    const b1 = pb[ib + 1]!;
    const b2 = pb[ib + 2]!;
    const b3 = pb[ib + 3]!;
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c22 += a2 * b2;
    c23 += a2 * b3;
    c30 += a3 * b0;
    c31 += a3 * b1;
    c32 += a3 * b2;
    c33 += a3 * b3;
    ia += MR;
    ib += NR;
  }
  c[ic] = c[ic]! + c00;
  c[ic + 1] = c[ic + 1]! + c01;
  c[ic + 2] = c[ic + 2]! + c02;
  c[ic + 3] = c[ic + 3]! + c03;
  ic += ldc;
  c[ic] = c[ic]! + c10;
  c[ic + 1] = c[ic + 1]! + c11;
  c[ic + 2] = c[ic + 2]! + c12;
  c[ic + 3] = c[ic + 3]! + c13;
  ic += ldc;
  c[ic] = c[ic]! + c20;
  c[ic + 1] = c[ic + 1]! + c21;
  c[ic + 2] = c[ic + 2]! + c22;
  c[ic + 3] = c[ic + 3]! + c23;
  ic += ldc;
  c[ic] = c[ic]! + c30;
  c[ic + 1] = c[ic + 1]! + c31;
  c[ic + 2] = c[ic + 2]! + c32;
  c[ic + 3] = c[ic + 3]! + c33;
}

/**
 * C ← α·op(A)·op(B) + β·C without packing. With B not transposed, row i of C
 * accumulates rows of B scaled by A[i, p] (`gemmRowUpdates`); with only B transposed each C[i, j] is a dot product of two rows, four columns
 * at a time; a single column of C is a matrix-vector product.
 */
function gemmUnpacked(
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  transA: boolean,
  b: Float64Array,
  bOffset: number,
  ldb: number,
  transB: boolean,
  beta: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  if (!transB && n > 1) {
    gemmRowUpdates(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, beta, c, cOffset, ldc);
    return;
  }
  scaleC(m, n, beta, c, cOffset, ldc);
  // Element (i, p) of op(A) is a[aOffset + i·ais + p·aps]; likewise for op(B).
  const ais = transA ? 1 : lda;
  const aps = transA ? lda : 1;
  const bps = transB ? 1 : ldb;
  const bjs = transB ? ldb : 1;
  if (n === 1 && aps === 1 && bps === 1) {
    for (let i = 0; i < m; i++)
      c[cOffset + i * ldc] = c[cOffset + i * ldc]! + alpha * dot(k, a, aOffset + i * ais, b, bOffset);
    return;
  }
  if (n === 1) {
    for (let i = 0; i < m; i++) {
      const ai = aOffset + i * ais;
      let s0 = 0;
      let s1 = 0;
      let p = 0;
      for (; p + 1 < k; p += 2) {
        s0 += a[ai + p * aps]! * b[bOffset + p * bps]!;
        s1 += a[ai + (p + 1) * aps]! * b[bOffset + (p + 1) * bps]!;
      }
      if (p < k) s0 += a[ai + p * aps]! * b[bOffset + p * bps]!;
      c[cOffset + i * ldc] = c[cOffset + i * ldc]! + alpha * (s0 + s1);
    }
    return;
  }
  if (!transA) {
    for (let i = 0; i < m; i++) {
      const ci = cOffset + i * ldc;
      const ai = aOffset + i * lda;
      let j = 0;
      for (; j + 3 < n; j += 4) {
        const b0 = bOffset + j * ldb;
        const b1 = b0 + ldb;
        const b2 = b1 + ldb;
        const b3 = b2 + ldb;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let p = 0; p < k; p++) {
          const ap = a[ai + p]!;
          s0 += ap * b[b0 + p]!;
          s1 += ap * b[b1 + p]!;
          s2 += ap * b[b2 + p]!;
          s3 += ap * b[b3 + p]!;
        }
        c[ci + j] = c[ci + j]! + alpha * s0;
        c[ci + j + 1] = c[ci + j + 1]! + alpha * s1;
        c[ci + j + 2] = c[ci + j + 2]! + alpha * s2;
        c[ci + j + 3] = c[ci + j + 3]! + alpha * s3;
      }
      for (; j < n; j++) {
        const bj = bOffset + j * ldb;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
        c[ci + j] = c[ci + j]! + alpha * s;
      }
    }
    return;
  }
  // Both transposed: C += α·(B·A)ᵀ, accumulated as outer products of row p of A
  // (contiguous over i) with column p of B.
  for (let p = 0; p < k; p++) {
    const ap = aOffset + p * lda;
    for (let i = 0; i < m; i++) {
      const ci = cOffset + i * ldc;
      const aip = alpha * a[ap + i]!;
      for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + aip * b[bOffset + j * bjs + p * bps]!;
    }
  }
}

/** Σₚ x[p]·y[p] over contiguous runs, with four partial sums to break the add chain. */
export function dot(k: number, x: Float64Array, xOffset: number, y: Float64Array, yOffset: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let p = 0;
  for (; p + 3 < k; p += 4) {
    s0 += x[xOffset + p]! * y[yOffset + p]!;
    s1 += x[xOffset + p + 1]! * y[yOffset + p + 1]!;
    s2 += x[xOffset + p + 2]! * y[yOffset + p + 2]!;
    s3 += x[xOffset + p + 3]! * y[yOffset + p + 3]!;
  }
  for (; p < k; p++) s0 += x[xOffset + p]! * y[yOffset + p]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * Row i of C ← β·(row i of C) + α·Σₚ op(A)[i, p]·(row p of B), B not transposed:
 * the first term is written rather than added (so β is applied in the same pass),
 * the rest are added four rows of B at a time.
 */
export function gemmRowUpdates(
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  transA: boolean,
  b: Float64Array,
  bOffset: number,
  ldb: number,
  beta: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  const ais = transA ? 1 : lda;
  const aps = transA ? lda : 1;
  for (let i = 0; i < m; i++) {
    const ci = cOffset + i * ldc;
    const ai = aOffset + i * ais;
    const first = alpha * a[ai]!;
    if (beta === 0) {
      for (let j = 0; j < n; j++) c[ci + j] = first * b[bOffset + j]!;
    } else if (beta === 1) {
      for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + first * b[bOffset + j]!;
    } else {
      for (let j = 0; j < n; j++) c[ci + j] = beta * c[ci + j]! + first * b[bOffset + j]!;
    }
    let p = 1;
    for (; p + 3 < k; p += 4) {
      const a0 = alpha * a[ai + p * aps]!;
      const a1 = alpha * a[ai + (p + 1) * aps]!;
      const a2 = alpha * a[ai + (p + 2) * aps]!;
      const a3 = alpha * a[ai + (p + 3) * aps]!;
      const b0 = bOffset + p * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      for (let j = 0; j < n; j++) {
        c[ci + j] = c[ci + j]! + a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
      }
    }
    for (; p < k; p++) {
      const a0 = alpha * a[ai + p * aps]!;
      const b0 = bOffset + p * ldb;
      for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + a0 * b[b0 + j]!;
    }
  }
}
