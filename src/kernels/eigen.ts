/**
 * Symmetric eigenproblem: Householder tridiagonalisation, implicit QL, and Q.
 *
 * 1. Tridiagonalise: A = Q·T·Qᵀ with Q = H₀·H₁⋯H_{n−3}, each Hₖ = I − τₖ·vₖ·vₖᵀ a
 *    reflector that zeroes row k of the trailing block beyond its first
 *    off-diagonal entry. With p = τ·A₂₂·v and w = p − (τ/2)(pᵀv)·v the trailing
 *    block becomes H·A₂₂·H = A₂₂ − v·wᵀ − w·vᵀ. Only the upper triangle is kept.
 *    In blocks of b reflectors (LAPACK's dsytrd/dlatrd), the b rank-2 updates
 *    are deferred and applied at once as A₂₂ − V·Wᵀ − W·Vᵀ through gemm; meanwhile
 *    the product A₂₂·v of each step is taken with the not-yet-updated A₂₂ and
 *    corrected by the deferred terms, −V·(Wᵀv) − W·(Vᵀv).
 * 2. Diagonalise T = Z·Λ·Zᵀ, here by the implicit QL algorithm with Wilkinson-like
 *    shifts (EISPACK tql2; eigenvectors by divide and conquer live in
 *    tridiagonal.ts): each sweep is a chain of plane rotations, and applying them
 *    to the columns of Q gives the eigenvectors V = Q·Z of A.
 * 3. Q itself, or Q·X, by applying the reflectors in blocks (compact WY).
 */

import { gemmKernel } from './gemm.js';
import { copyPanel, panelAppend, panelProduct, panelUpdateRow } from './wasm/panel.js';

const EPS = 2 ** -52;

/** Reflectors per deferred update in `tridiagonalize`. */
const TBLOCK = 32;

/**
 * Reduce the symmetric n × n matrix in a (upper triangle read, row stride lda) to
 * tridiagonal form. On exit d[0..n) is the diagonal, e[0..n−1) the off-diagonal
 * (e[k] = T[k, k+1]), and row k of a holds the reflector vₖ in a[k, k+2..n)
 * (with an implicit 1 at a[k, k+1]) and τₖ in tau[k]. `work` needs 2n entries.
 */
export function tridiagonalize(
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  d: Float64Array,
  e: Float64Array,
  tau: Float64Array,
  work: Float64Array,
): void {
  let k0 = 0;
  if (n > 4 * TBLOCK) {
    // Vᵀ, Wᵀ and Vᵀ again of the current block, row j of each holding vⱼ or wⱼ at
    // global columns: its first 2b rows are [Vᵀ; Wᵀ], its last 2b rows [Wᵀ; Vᵀ], so
    // that V·Wᵀ + W·Vᵀ = [V W]·[Wᵀ; Vᵀ] is one product of depth 2b.
    const vwv = new Float64Array(3 * TBLOCK * n);
    const vt = vwv.subarray(0, TBLOCK * n);
    const wt = vwv.subarray(TBLOCK * n, 2 * TBLOCK * n);
    const vtAgain = vwv.subarray(2 * TBLOCK * n);
    for (; n - k0 > 3 * TBLOCK; k0 += TBLOCK) {
      vwv.fill(0);
      // Every product of the panel is with the trailing block as it is now: under a
      // WebAssembly backend, one copy in linear memory serves them all, and the
      // deferred terms are kept there too (wasm/panel.ts: the same bits under
      // 'wasm-simd'; 'wasm-relaxed' fuses its multiply-adds).
      const panel = copyPanel(n - k0 - 1, TBLOCK, a, aOffset + (k0 + 1) * lda + k0 + 1, lda);
      for (let j = 0; j < TBLOCK; j++) {
        const k = k0 + j;
        const rk = aOffset + k * lda;
        // Bring row k up to date with the deferred updates of this block.
        if (j > 0) {
          if (panel !== undefined) panelUpdateRow(panel, j, a, rk + k);
          else updateRow(j, k, n, vt, wt, a, rk);
        }
        if (!reflect(k, n, a, aOffset, lda, d, e, tau)) {
          continue; // H = I: vⱼ = wⱼ = 0
        }
        const m = n - k - 1;
        const v = rk + k + 1;
        const p = work;
        // p = A₂₂·v with A₂₂ as the block began, less the deferred terms V·(Wᵀv) + W·(Vᵀv).
        if (panel !== undefined) {
          panelProduct(panel, j, a, v, p);
        } else {
          symmetricProduct(m, a, aOffset + (k + 1) * lda + k + 1, lda, a, v, p);
          subtractDeferred(j, k, n, vt, wt, a, v, p);
        }
        finishW(m, tau[k]!, a, v, p);
        const vj = j * n + k + 1;
        vt.set(a.subarray(v, v + m), vj);
        wt.set(p.subarray(0, m), vj);
        vtAgain.set(a.subarray(v, v + m), vj);
        if (panel !== undefined) panelAppend(panel, j, a, v, p);
      }
      // A₂₂ ← A₂₂ − V·Wᵀ − W·Vᵀ on the trailing upper triangle.
      const k1 = k0 + TBLOCK;
      syr2kUpper(n - k1, 2 * TBLOCK, vwv, k1, TBLOCK * n + k1, n, a, aOffset + k1 * lda + k1, lda);
    }
  }
  for (let k = k0; k + 2 < n; k++) {
    if (!reflect(k, n, a, aOffset, lda, d, e, tau)) continue;
    const m = n - k - 1;
    const v = aOffset + k * lda + k + 1;
    const p = work;
    symmetricProduct(m, a, v + lda, lda, a, v, p);
    finishW(m, tau[k]!, a, v, p);
    // A₂₂ ← A₂₂ − v·wᵀ − w·vᵀ on the upper triangle.
    for (let i = 0; i < m; i++) {
      const ri = v + (i + 1) * lda;
      const vi = a[v + i]!;
      const wi = p[i]!;
      for (let j = i; j < m; j++) a[ri + j] = a[ri + j]! - vi * p[j]! - wi * a[v + j]!;
    }
  }
  if (n >= 2) {
    d[n - 2] = a[aOffset + (n - 2) * lda + n - 2]!;
    e[n - 2] = a[aOffset + (n - 2) * lda + n - 1]!;
    tau[n - 2] = 0;
  }
  if (n >= 1) {
    d[n - 1] = a[aOffset + (n - 1) * lda + n - 1]!;
    e[n - 1] = 0;
    tau[n - 1] = 0;
  }
}

/**
 * Row k (a[rk + k …], up to column n−1) loses the deferred updates of the
 * block's first j reflectors: a[k, c] −= vᵢ[k]·wᵢ[c] + wᵢ[k]·vᵢ[c] for i = 0 … j−1
 * in order, the w term first (vᵢ, wᵢ are row i of vt and wt, at global
 * columns). Two reflectors per pass over the row.
 */
export function updateRow(
  j: number,
  k: number,
  n: number,
  vt: Float64Array,
  wt: Float64Array,
  a: Float64Array,
  rk: number,
): void {
  let i = 0;
  for (; i + 1 < j; i += 2) {
    const v0 = i * n;
    const v1 = v0 + n;
    const vk0 = vt[v0 + k]!;
    const wk0 = wt[v0 + k]!;
    const vk1 = vt[v1 + k]!;
    const wk1 = wt[v1 + k]!;
    for (let c = k; c < n; c++) {
      a[rk + c] = a[rk + c]! - vk0 * wt[v0 + c]! - wk0 * vt[v0 + c]! - vk1 * wt[v1 + c]! - wk1 * vt[v1 + c]!;
    }
  }
  if (i < j) {
    const v0 = i * n;
    const vk0 = vt[v0 + k]!;
    const wk0 = wt[v0 + k]!;
    for (let c = k; c < n; c++) a[rk + c] = a[rk + c]! - vk0 * wt[v0 + c]! - wk0 * vt[v0 + c]!;
  }
}

/**
 * p (rows k+1 … n−1) loses the deferred terms V·(Wᵀv) + W·(Vᵀv) of the block's
 * first j reflectors, v at a[v …]: p −= (vᵢ·v)·wᵢ + (wᵢ·v)·vᵢ for i = 0 … j−1 in
 * order, the w term first; each dot summed from 0 along the rows. Two
 * reflectors per pass.
 */
export function subtractDeferred(
  j: number,
  k: number,
  n: number,
  vt: Float64Array,
  wt: Float64Array,
  a: Float64Array,
  v: number,
  p: Float64Array,
): void {
  const m = n - k - 1;
  let i = 0;
  for (; i + 1 < j; i += 2) {
    const v0 = i * n + k + 1;
    const v1 = v0 + n;
    let wv0 = 0;
    let vv0 = 0;
    let wv1 = 0;
    let vv1 = 0;
    for (let r = 0; r < m; r++) {
      const vr = a[v + r]!;
      wv0 += wt[v0 + r]! * vr;
      vv0 += vt[v0 + r]! * vr;
      wv1 += wt[v1 + r]! * vr;
      vv1 += vt[v1 + r]! * vr;
    }
    for (let r = 0; r < m; r++) {
      p[r] = p[r]! - vv0 * wt[v0 + r]! - wv0 * vt[v0 + r]! - vv1 * wt[v1 + r]! - wv1 * vt[v1 + r]!;
    }
  }
  if (i < j) {
    const v0 = i * n + k + 1;
    let wv0 = 0;
    let vv0 = 0;
    for (let r = 0; r < m; r++) {
      wv0 += wt[v0 + r]! * a[v + r]!;
      vv0 += vt[v0 + r]! * a[v + r]!;
    }
    for (let r = 0; r < m; r++) p[r] = p[r]! - vv0 * wt[v0 + r]! - wv0 * vt[v0 + r]!;
  }
}

/**
 * The reflector of step k from x = A[k, k+1:] (LAPACK dlarfg): (I − τvvᵀ)x = β·e₁
 * with v₀ = 1, β = −sign(x₀)‖x‖, τ = (β − x₀)/β. Writes d[k], e[k] = β, tau[k] and v
 * over x; returns false (τ = 0) when x is already a multiple of e₁.
 */
function reflect(
  k: number,
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  d: Float64Array,
  e: Float64Array,
  tau: Float64Array,
): boolean {
  const rk = aOffset + k * lda;
  const alpha = a[rk + k + 1]!;
  let xnorm2 = 0;
  for (let j = k + 2; j < n; j++) xnorm2 += a[rk + j]! * a[rk + j]!;
  d[k] = a[rk + k]!;
  if (xnorm2 === 0) {
    tau[k] = 0;
    e[k] = alpha;
    return false;
  }
  const beta = -Math.sign(alpha || 1) * Math.sqrt(alpha * alpha + xnorm2);
  const scale = 1 / (alpha - beta);
  for (let j = k + 2; j < n; j++) a[rk + j] = a[rk + j]! * scale;
  a[rk + k + 1] = 1;
  tau[k] = (beta - alpha) / beta;
  e[k] = beta;
  return true;
}

/**
 * p = S·v for the symmetric m × m S whose upper triangle is at s (row stride
 * lds), v at x[xOffset..]. Row i contributes S[i, i:]·v[i:] to pᵢ and S[i, j]·vᵢ to
 * pⱼ (j > i): one pass over the triangle, a dot and an axpy at once.
 *
 * Every sum has one fixed order, whatever rows are taken together: pⱼ gains
 * S[i, j]·vᵢ for the rows i < j in ascending order, then the dot of row j,
 * summed along the row from S[j, j]·vⱼ. The WebAssembly product (wasm/symv.ts)
 * follows the same order, four rows at a time from other starting rows, and so
 * gives the same bits.
 */
export function symmetricProduct(
  m: number,
  s: Float64Array,
  sOffset: number,
  lds: number,
  x: Float64Array,
  xOffset: number,
  p: Float64Array,
): void {
  p.fill(0, 0, m);
  let i = 0;
  // Four rows per pass quarter the read-modify-write traffic on p.
  for (; i + 3 < m; i += 4) {
    const r0 = sOffset + i * lds;
    const r1 = r0 + lds;
    const r2 = r1 + lds;
    const r3 = r2 + lds;
    const v0 = x[xOffset + i]!;
    const v1 = x[xOffset + i + 1]!;
    const v2 = x[xOffset + i + 2]!;
    const v3 = x[xOffset + i + 3]!;
    const s01 = s[r0 + i + 1]!;
    const s02 = s[r0 + i + 2]!;
    const s03 = s[r0 + i + 3]!;
    const s12 = s[r1 + i + 2]!;
    const s13 = s[r1 + i + 3]!;
    const s23 = s[r2 + i + 3]!;
    // The block on the diagonal: the axpy below it, and the dots begun.
    p[i + 1] = p[i + 1]! + s01 * v0;
    p[i + 2] = p[i + 2]! + s02 * v0 + s12 * v1;
    p[i + 3] = p[i + 3]! + s03 * v0 + s13 * v1 + s23 * v2;
    let sum0 = s[r0 + i]! * v0 + s01 * v1 + s02 * v2 + s03 * v3;
    let sum1 = s[r1 + i + 1]! * v1 + s12 * v2 + s13 * v3;
    let sum2 = s[r2 + i + 2]! * v2 + s23 * v3;
    let sum3 = s[r3 + i + 3]! * v3;
    for (let j = i + 4; j < m; j++) {
      const a0 = s[r0 + j]!;
      const a1 = s[r1 + j]!;
      const a2 = s[r2 + j]!;
      const a3 = s[r3 + j]!;
      const vj = x[xOffset + j]!;
      sum0 += a0 * vj;
      sum1 += a1 * vj;
      sum2 += a2 * vj;
      sum3 += a3 * vj;
      p[j] = p[j]! + a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3;
    }
    p[i] = p[i]! + sum0;
    p[i + 1] = p[i + 1]! + sum1;
    p[i + 2] = p[i + 2]! + sum2;
    p[i + 3] = p[i + 3]! + sum3;
  }
  // The last rows (at most three, and short) one at a time.
  for (; i < m; i++) {
    const ri = sOffset + i * lds;
    const vi = x[xOffset + i]!;
    let sum = s[ri + i]! * vi;
    for (let j = i + 1; j < m; j++) {
      const a = s[ri + j]!;
      sum += a * x[xOffset + j]!;
      p[j] = p[j]! + a * vi;
    }
    p[i] = p[i]! + sum;
  }
}

/** p ← w = τ·p − (τ/2)·(τ·pᵀv)·v, the vector of the rank-2 update. */
function finishW(m: number, t: number, a: Float64Array, v: number, p: Float64Array): void {
  let pv = 0;
  for (let i = 0; i < m; i++) {
    p[i] = t * p[i]!;
    pv += p[i]! * a[v + i]!;
  }
  const half = 0.5 * t * pv;
  for (let i = 0; i < m; i++) p[i] = p[i]! - half * a[v + i]!;
}

const SYR2K_BASE = 48;
const syr2kScratch = new Float64Array(SYR2K_BASE * SYR2K_BASE);

/**
 * Upper triangle of the m × m block C ← C − Xᵀ·Y, for Xᵀ·Y symmetric (here
 * V·Wᵀ + W·Vᵀ). X and Y are depth × m, rows of stride ld in one array x, from
 * xOffset and yOffset. Recursive like syrk: off-diagonal blocks are one gemm.
 */
function syr2kUpper(
  m: number,
  depth: number,
  x: Float64Array,
  xOffset: number,
  yOffset: number,
  ld: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  if (m <= 0) return;
  if (m <= SYR2K_BASE) {
    const s = syr2kScratch;
    gemmKernel(m, m, depth, 1, x, xOffset, ld, true, x, yOffset, ld, false, 0, s, 0, m);
    for (let i = 0; i < m; i++) {
      const ci = cOffset + i * ldc;
      for (let j = i; j < m; j++) c[ci + j] = c[ci + j]! - s[i * m + j]!;
    }
    return;
  }
  const m1 = Math.max(16, Math.floor(m / 2 / 16) * 16);
  const m2 = m - m1;
  syr2kUpper(m1, depth, x, xOffset, yOffset, ld, c, cOffset, ldc);
  // C₁₂ −= X₁ᵀ·Y₂.
  gemmKernel(m1, m2, depth, -1, x, xOffset, ld, true, x, yOffset + m1, ld, false, 1, c, cOffset + m1, ldc);
  syr2kUpper(m2, depth, x, xOffset + m1, yOffset + m1, ld, c, cOffset + m1 * ldc + m1, ldc);
}

/** Reflectors per block when applying Q. */
const QBLOCK = 32;

/**
 * Q = H₀·H₁⋯H_{n−3} from the reflectors left in a by `tridiagonalize`, written
 * row-major into q (n × n, row stride ldq).
 */
export function tridiagonalQ(
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  tau: Float64Array,
  q: Float64Array,
  qOffset: number,
  ldq: number,
): void {
  for (let i = 0; i < n; i++) {
    const qi = qOffset + i * ldq;
    q.fill(0, qi, qi + n);
    q[qi + i] = 1;
  }
  applyReflectors(n, a, aOffset, lda, tau, q, qOffset, ldq, n, true);
}

/** X ← Q·X for X n × cols (row stride ldx), Q from the reflectors left in a by `tridiagonalize`. */
export function applyTridiagonalQ(
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  tau: Float64Array,
  x: Float64Array,
  xOffset: number,
  ldx: number,
  cols: number,
): void {
  applyReflectors(n, a, aOffset, lda, tau, x, xOffset, ldx, cols, false);
}

/**
 * X ← H₀·(H₁·(⋯(H_{n−3}·X))), a block of reflectors at a time: Hₖ⋯Hₖ₊ᵦ₋₁ =
 * I − V·T·Vᵀ (b reflectors) with V the reflectors as columns and T upper
 * triangular (the compact WY form of Schreiber and Van Loan), so that a block
 * costs two gemms, X ← X − V·(T·(Vᵀ·X)). T is built column by column:
 * T[j, j] = τⱼ and T[0:j, j] = −τⱼ·T[0:j, 0:j]·Vᵀ·vⱼ. When X starts as the
 * identity, the columns before the block are still identity columns that the
 * block does not touch, and are skipped.
 */
function applyReflectors(
  n: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  tau: Float64Array,
  x: Float64Array,
  xOffset: number,
  ldx: number,
  cols: number,
  identity: boolean,
): void {
  const reflectors = n - 2;
  if (reflectors <= 0 || cols === 0) return;
  const vt = new Float64Array(QBLOCK * n);
  const w = new Float64Array(QBLOCK * Math.max(n, cols));
  const t = new Float64Array(QBLOCK * QBLOCK);
  const y = new Float64Array(QBLOCK);
  const lastStart = Math.floor((reflectors - 1) / QBLOCK) * QBLOCK;
  for (let k0 = lastStart; k0 >= 0; k0 -= QBLOCK) {
    const nb = Math.min(QBLOCK, reflectors - k0);
    const m = n - k0 - 1; // rows k0+1.. of X
    const c0 = identity ? k0 + 1 : 0;
    const width = cols - c0;
    // Row j of Vᵀ (m entries): zeros, then 1 at position j, then row k0+j of a.
    vt.fill(0, 0, nb * m);
    for (let j = 0; j < nb; j++) {
      const src = aOffset + (k0 + j) * lda + k0 + j + 2;
      const dst = j * m + j;
      vt[dst] = 1;
      for (let r = 1; r < m - j; r++) vt[dst + r] = a[src + r - 1]!;
    }
    for (let j = 0; j < nb; j++) {
      const tj = tau[k0 + j]!;
      for (let i = 0; i < j; i++) {
        let dotIJ = 0;
        for (let r = j; r < m; r++) dotIJ += vt[i * m + r]! * vt[j * m + r]!;
        y[i] = dotIJ;
      }
      for (let i = 0; i < j; i++) {
        let sum = 0;
        for (let p = i; p < j; p++) sum += t[i * QBLOCK + p]! * y[p]!;
        t[i * QBLOCK + j] = -tj * sum;
      }
      t[j * QBLOCK + j] = tj;
    }
    // W = Vᵀ·X (nb × width), W ← T·W, X ← X − V·W.
    const x0 = xOffset + (k0 + 1) * ldx + c0;
    gemmKernel(nb, width, m, 1, vt, 0, m, false, x, x0, ldx, false, 0, w, 0, width);
    for (let i = 0; i < nb; i++) {
      // Row i of T·W needs rows p ≥ i of W, which are still unchanged going down.
      const wi = i * width;
      const tii = t[i * QBLOCK + i]!;
      for (let c = 0; c < width; c++) w[wi + c] = tii * w[wi + c]!;
      for (let p = i + 1; p < nb; p++) {
        const tip = t[i * QBLOCK + p]!;
        const wp = p * width;
        for (let c = 0; c < width; c++) w[wi + c] = w[wi + c]! + tip * w[wp + c]!;
      }
    }
    gemmKernel(m, width, nb, -1, vt, 0, m, true, w, 0, width, false, 1, x, x0, ldx);
  }
}

/** √(a² + b²) without overflow, cheaper than Math.hypot. */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x > y) {
    const r = y / x;
    return x * Math.sqrt(1 + r * r);
  }
  if (y === 0) return 0;
  const r = x / y;
  return y * Math.sqrt(1 + r * r);
}

/**
 * Implicit QL on the symmetric tridiagonal (d, e) (e[i] = T[i, i+1], e has n
 * entries, the last used as workspace). On success d holds the eigenvalues in
 * ascending order and the return value is −1; otherwise it is the index of an
 * eigenvalue that failed to converge in 30·n sweeps.
 *
 * If z is given, its `zRows` rows (each with n entries from zOffset + r·ldz) are
 * multiplied on the right by every rotation, so that starting from Q they end as
 * V = Q·Z, whose column i is the eigenvector of Q·T·Qᵀ for d[i]. A sweep's
 * rotations act on neighbouring columns (i, i+1) for i = m−1 down to l; they are
 * recorded and then applied along each row in one pass, carrying the running
 * entry from one rotation to the next, four rows at a time.
 */
export function tql2(
  n: number,
  d: Float64Array,
  e: Float64Array,
  z: Float64Array | null,
  zOffset: number,
  ldz: number,
  zRows: number,
): number {
  if (n === 0) return -1;
  e[n - 1] = 0;
  const cs = z === null ? null : new Float64Array(2 * n);
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > EPS * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 30 * n) return l;
        // Shift from the leading 2 × 2 block.
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        // One implicit QL sweep from m up to l.
        p = d[m]!;
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (cs !== null) {
            cs[2 * i] = c;
            cs[2 * i + 1] = s;
          }
        }
        if (z !== null) applyRotations(z, zOffset, ldz, zRows, l, m, cs!);
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  sortAscending(n, d, z, zOffset, ldz, zRows);
  return -1;
}

/**
 * For i = m−1 down to l, columns (i, i+1) of each row ← (c·xᵢ − s·xᵢ₊₁, s·xᵢ + c·xᵢ₊₁),
 * with (c, s) = (cs[2i], cs[2i+1]). Column i+1 is final once rotation i is done,
 * so each row needs one load and one store per column; four rows interleave to
 * hide the latency of the carried value.
 */
function applyRotations(
  z: Float64Array,
  zOffset: number,
  ldz: number,
  rows: number,
  l: number,
  m: number,
  cs: Float64Array,
): void {
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const o0 = zOffset + r * ldz;
    const o1 = o0 + ldz;
    const o2 = o1 + ldz;
    const o3 = o2 + ldz;
    let h0 = z[o0 + m]!;
    let h1 = z[o1 + m]!;
    let h2 = z[o2 + m]!;
    let h3 = z[o3 + m]!;
    for (let i = m - 1; i >= l; i--) {
      const c = cs[2 * i]!;
      const s = cs[2 * i + 1]!;
      const x0 = z[o0 + i]!;
      const x1 = z[o1 + i]!;
      const x2 = z[o2 + i]!;
      const x3 = z[o3 + i]!;
      z[o0 + i + 1] = s * x0 + c * h0;
      z[o1 + i + 1] = s * x1 + c * h1;
      z[o2 + i + 1] = s * x2 + c * h2;
      z[o3 + i + 1] = s * x3 + c * h3;
      h0 = c * x0 - s * h0;
      h1 = c * x1 - s * h1;
      h2 = c * x2 - s * h2;
      h3 = c * x3 - s * h3;
    }
    z[o0 + l] = h0;
    z[o1 + l] = h1;
    z[o2 + l] = h2;
    z[o3 + l] = h3;
  }
  for (; r < rows; r++) {
    const o = zOffset + r * ldz;
    let h = z[o + m]!;
    for (let i = m - 1; i >= l; i--) {
      const c = cs[2 * i]!;
      const s = cs[2 * i + 1]!;
      const x = z[o + i]!;
      z[o + i + 1] = s * x + c * h;
      h = c * x - s * h;
    }
    z[o + l] = h;
  }
}

/** Selection sort of d, permuting the columns of z alike (n swaps at most). */
function sortAscending(
  n: number,
  d: Float64Array,
  z: Float64Array | null,
  zOffset: number,
  ldz: number,
  zRows: number,
): void {
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    for (let j = i + 1; j < n; j++) if (d[j]! < d[k]!) k = j;
    if (k === i) continue;
    const t = d[i]!;
    d[i] = d[k]!;
    d[k] = t;
    if (z !== null) {
      for (let r = 0; r < zRows; r++) {
        const o = zOffset + r * ldz;
        const v = z[o + i]!;
        z[o + i] = z[o + k]!;
        z[o + k] = v;
      }
    }
  }
}
