/**
 * Eigenvectors of a symmetric tridiagonal matrix by divide and conquer
 * (Cuppen 1981; Gu and Eisenstat 1995; LAPACK's dstedc).
 *
 * Tearing T at row m with coupling β = T[m−1, m] and ρ = |β|, σ = sign β:
 *
 *     T = diag(T₁', T₂') + ρ·u·uᵀ,    u = e_{m−1} + σ·e_m,
 *
 * where T₁', T₂' are the two halves with ρ taken off their touching diagonal
 * entries. Solving both halves, Tᵢ' = Qᵢ·Dᵢ·Qᵢᵀ, leaves a rank-one update of a
 * diagonal matrix:
 *
 *     T = Q·(D + ρ·z·zᵀ)·Qᵀ,   Q = diag(Q₁, Q₂),   z = Qᵀu
 *                                                  = (last row of Q₁, σ·first row of Q₂).
 *
 * The eigenvalues of D + ρzzᵀ are the roots of the secular equation
 *
 *     f(λ) = 1 + ρ·Σᵢ zᵢ² / (dᵢ − λ) = 0,
 *
 * one in each gap between consecutive dᵢ (and one above the last, ρ > 0), and
 * the eigenvector for λⱼ is proportional to (zᵢ / (dᵢ − λⱼ))ᵢ. Before solving,
 * deflation removes what is already an eigenpair to working precision: an
 * entry with ρ|zᵢ| negligible, or two nearly equal dᵢ, dⱼ whose z-entries a
 * plane rotation merges into one. Each root is found from the nearer pole
 * (so that dᵢ − λ is computed as (dᵢ − d_origin) − τ without cancellation) by
 * rational interpolation of the two sums ψ (poles at or left of the gap) and φ
 * (poles right of it), safeguarded by bisection. Gu and Eisenstat's trick then
 * recomputes z from the computed roots,
 *
 *     ẑᵢ² = −Πⱼ(dᵢ − λⱼ) / Πⱼ≠ᵢ(dᵢ − dⱼ)   (up to the factor ρ, which cancels),
 *
 * so that the vectors (ẑᵢ / (dᵢ − λⱼ))ᵢ are orthogonal to working precision
 * even for close roots. The new eigenvectors Q·U are two gemms: the top rows of
 * Q only meet the columns from Q₁ (and those mixed by deflation), the bottom
 * rows those from Q₂.
 */

import { tql2 } from './eigen.js';
import { gemmKernel } from './gemm.js';

const EPS = 2 ** -52;
/** Subproblems up to this size are solved by implicit QL. */
const BASE = 32;

/**
 * Eigenvalues (into d, ascending) and eigenvectors (the columns of the n × n
 * row-major q, row stride ldq) of the symmetric tridiagonal matrix with
 * diagonal d and off-diagonal e (e[i] = T[i, i+1]; e has n entries, the last is
 * workspace; e is destroyed). Returns −1, or the index of a subproblem
 * eigenvalue where QL failed to converge.
 */
export function tridiagonalEigenDC(
  n: number,
  d: Float64Array,
  e: Float64Array,
  q: Float64Array,
  qOffset: number,
  ldq: number,
): number {
  if (n === 0) return -1;
  // Work on T/‖T‖max so that the deflation tolerances are absolute.
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(d[i]!), i + 1 < n ? Math.abs(e[i]!) : 0);
  if (scale === 0) {
    for (let i = 0; i < n; i++) {
      q.fill(0, qOffset + i * ldq, qOffset + i * ldq + n);
      q[qOffset + i * ldq + i] = 1;
    }
    return -1;
  }
  for (let i = 0; i < n; i++) {
    d[i] = d[i]! / scale;
    e[i] = e[i]! / scale;
  }
  const failed = divide(0, n, d, e, q, qOffset, ldq);
  for (let i = 0; i < n; i++) d[i] = d[i]! * scale;
  if (failed >= 0) return failed;
  // Merges leave each block's eigenvalues unsorted; sort once, moving columns.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    for (let j = i + 1; j < n; j++) if (d[j]! < d[k]!) k = j;
    if (k === i) continue;
    const t = d[i]!;
    d[i] = d[k]!;
    d[k] = t;
    for (let r = 0; r < n; r++) {
      const o = qOffset + r * ldq;
      const v = q[o + i]!;
      q[o + i] = q[o + k]!;
      q[o + k] = v;
    }
  }
  return -1;
}

/** Solve the block [o, o+s) of T into the diagonal block of q at (o, o). */
function divide(
  o: number,
  s: number,
  d: Float64Array,
  e: Float64Array,
  q: Float64Array,
  qOffset: number,
  ldq: number,
): number {
  const block = qOffset + o * ldq + o;
  if (s <= BASE) {
    for (let i = 0; i < s; i++) {
      q.fill(0, block + i * ldq, block + i * ldq + s);
      q[block + i * ldq + i] = 1;
    }
    // tql2 zeroes e[o+s−1], the coupling to the next block, which the caller has saved.
    const failed = tql2(s, d.subarray(o, o + s), e.subarray(o, o + s), q, block, ldq, s);
    return failed >= 0 ? o + failed : -1;
  }
  const m = s >> 1;
  const beta = e[o + m - 1]!;
  const rho = Math.abs(beta);
  d[o + m - 1] = d[o + m - 1]! - rho;
  d[o + m] = d[o + m]! - rho;
  const left = divide(o, m, d, e, q, qOffset, ldq);
  if (left >= 0) return left;
  const right = divide(o + m, s - m, d, e, q, qOffset, ldq);
  if (right >= 0) return right;
  merge(o, s, m, rho, beta < 0 ? -1 : 1, d, q, block, ldq);
  return -1;
}

const TOP = 0;
const BOTTOM = 1;
const DENSE = 2;

/**
 * Eigenpairs of diag(Q₁, Q₂)·(D + ρzzᵀ)·diag(Q₁, Q₂)ᵀ into d[o, o+s) and the s × s
 * block of q at `block`: the non-deflated pairs first (ascending), then the
 * deflated ones.
 */
function merge(
  o: number,
  s: number,
  m: number,
  rho: number,
  sigma: number,
  d: Float64Array,
  q: Float64Array,
  block: number,
  ldq: number,
): void {
  const z = new Float64Array(s);
  const dv = new Float64Array(s);
  for (let i = 0; i < m; i++) z[i] = q[block + (m - 1) * ldq + i]! * Math.SQRT1_2;
  for (let i = m; i < s; i++) z[i] = sigma * q[block + m * ldq + i]! * Math.SQRT1_2;
  for (let i = 0; i < s; i++) dv[i] = d[o + i]!;
  rho *= 2; // z was scaled to unit length
  // Q = diag(Q₁, Q₂) explicitly: clear the off-diagonal blocks.
  for (let r = 0; r < m; r++) q.fill(0, block + r * ldq + m, block + r * ldq + s);
  for (let r = m; r < s; r++) q.fill(0, block + r * ldq, block + r * ldq + m);
  const type = new Uint8Array(s);
  type.fill(BOTTOM, m);

  // Deflation, in ascending order of d.
  const order = Array.from({ length: s }, (_, i) => i).sort((a, b) => dv[a]! - dv[b]!);
  let dmax = 0;
  let zmax = 0;
  for (let i = 0; i < s; i++) {
    dmax = Math.max(dmax, Math.abs(dv[i]!));
    zmax = Math.max(zmax, Math.abs(z[i]!));
  }
  const tol = 8 * EPS * Math.max(dmax, zmax);
  const kept: number[] = [];
  const deflated: number[] = [];
  let prev = -1;
  for (const j of order) {
    if (rho * Math.abs(z[j]!) <= tol) {
      deflated.push(j);
      continue;
    }
    if (prev < 0) {
      prev = j;
      continue;
    }
    // A rotation in the (prev, j) plane that zeroes z[prev]; if it leaves a
    // negligible off-diagonal (dⱼ − d_prev)·c·s, prev is deflated.
    const tau = Math.hypot(z[prev]!, z[j]!);
    const c = z[j]! / tau;
    const sn = -z[prev]! / tau;
    if (Math.abs((dv[j]! - dv[prev]!) * c * sn) <= tol) {
      z[j] = tau;
      z[prev] = 0;
      rotateColumns(q, block, ldq, s, m, prev, j, c, sn, type);
      const dPrev = dv[prev]! * c * c + dv[j]! * sn * sn;
      dv[j] = dv[prev]! * sn * sn + dv[j]! * c * c;
      dv[prev] = dPrev;
      deflated.push(prev);
    } else {
      kept.push(prev);
    }
    prev = j;
  }
  if (prev >= 0) kept.push(prev);
  kept.sort((a, b) => dv[a]! - dv[b]!);
  const k = kept.length;

  // Roots of the secular equation and the Gu–Eisenstat vectors.
  const poles = new Float64Array(k);
  const weights = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    poles[i] = dv[kept[i]!]!;
    weights[i] = z[kept[i]!]! ** 2;
  }
  const origin = new Int32Array(k);
  const shift = new Float64Array(k);
  for (let j = 0; j < k; j++) secularRoot(j, k, poles, weights, rho, origin, shift);
  // gap(i, j) = dᵢ − λⱼ, computed from λⱼ's own origin.
  const gap = (i: number, j: number) => poles[i]! - poles[origin[j]!]! - shift[j]!;
  const zHat = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let w = gap(i, i);
    for (let j = 0; j < k; j++) if (j !== i) w *= gap(i, j) / (poles[i]! - poles[j]!);
    zHat[i] = Math.sign(z[kept[i]!]!) * Math.sqrt(Math.max(-w, 0));
  }
  // Columns of Q taking part, ordered top-only, mixed, bottom-only, and the
  // matching rows of U (U[r, j] = ẑ / (d − λⱼ), columns normalised).
  const columns = [...kept.keys()].sort((a, b) => rank(type[kept[a]!]!) - rank(type[kept[b]!]!));
  const tops = columns.filter((i) => type[kept[i]!] === TOP).length;
  const bottoms = columns.filter((i) => type[kept[i]!] === BOTTOM).length;
  const u = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let norm = 0;
    for (let i = 0; i < k; i++) {
      const v = zHat[i]! / gap(i, j);
      norm += v * v;
    }
    norm = 1 / Math.sqrt(norm);
    for (let r = 0; r < k; r++) {
      const i = columns[r]!;
      u[r * k + j] = (zHat[i]! / gap(i, j)) * norm;
    }
  }
  const g = new Float64Array(s * k);
  for (let r = 0; r < s; r++) {
    const qr = block + r * ldq;
    for (let c = 0; c < k; c++) g[r * k + c] = q[qr + kept[columns[c]!]!]!;
  }
  const nd = deflated.length;
  const kept2 = new Float64Array(s * nd);
  for (let r = 0; r < s; r++) {
    const qr = block + r * ldq;
    for (let c = 0; c < nd; c++) kept2[r * nd + c] = q[qr + deflated[c]!]!;
  }
  const mixed = k - tops - bottoms;
  // Top rows meet the top-only and mixed columns; bottom rows the mixed and bottom-only.
  gemmKernel(m, k, tops + mixed, 1, g, 0, k, false, u, 0, k, false, 0, q, block, ldq);
  gemmKernel(
    s - m,
    k,
    mixed + bottoms,
    1,
    g,
    m * k + tops,
    k,
    false,
    u,
    tops * k,
    k,
    false,
    0,
    q,
    block + m * ldq,
    ldq,
  );
  for (let r = 0; r < s; r++) {
    const qr = block + r * ldq + k;
    for (let c = 0; c < nd; c++) q[qr + c] = kept2[r * nd + c]!;
  }
  for (let j = 0; j < k; j++) d[o + j] = poles[origin[j]!]! + shift[j]!;
  for (let c = 0; c < nd; c++) d[o + k + c] = dv[deflated[c]!]!;
}

function rank(t: number): number {
  return t === TOP ? 0 : t === DENSE ? 1 : 2;
}

/** (x, y) ← (c·x + s·y, c·y − s·x) on columns x, y of the s × s block, over the rows where either is non-zero. */
function rotateColumns(
  q: Float64Array,
  block: number,
  ldq: number,
  s: number,
  m: number,
  x: number,
  y: number,
  c: number,
  sn: number,
  type: Uint8Array,
): void {
  const tx = type[x]!;
  const ty = type[y]!;
  const from = tx === TOP && ty === TOP ? 0 : tx === BOTTOM && ty === BOTTOM ? m : 0;
  const to = tx === TOP && ty === TOP ? m : s;
  for (let r = from; r < to; r++) {
    const o = block + r * ldq;
    const a = q[o + x]!;
    const b = q[o + y]!;
    q[o + x] = c * a + sn * b;
    q[o + y] = c * b - sn * a;
  }
  if (tx !== ty || tx === DENSE) {
    type[x] = DENSE;
    type[y] = DENSE;
  }
}

/**
 * Root j of 1 + ρ·Σᵢ wᵢ/(dᵢ − λ) (d ascending, w > 0, ρ > 0), written as
 * λ = d[origin[j]] + shift[j] with the origin at the nearer end of its interval.
 */
function secularRoot(
  j: number,
  k: number,
  d: Float64Array,
  w: Float64Array,
  rho: number,
  origin: Int32Array,
  shift: Float64Array,
): void {
  const last = j === k - 1;
  let org = j;
  let lo = 0;
  let hi: number;
  if (last) {
    let total = 0;
    for (let i = 0; i < k; i++) total += w[i]!;
    hi = rho * total;
  } else {
    const half = (d[j + 1]! - d[j]!) / 2;
    let f = 1;
    for (let i = 0; i < k; i++) f += (rho * w[i]!) / (d[i]! - d[j]! - half);
    if (f >= 0) {
      hi = half;
    } else {
      org = j + 1;
      lo = -half;
      hi = 0;
    }
  }
  const d0 = d[org]!;
  // Poles relative to the origin; the root is at τ in (lo, hi).
  const dj = d[j]! - d0;
  const dj1 = last ? 0 : d[j + 1]! - d0;
  let tau = (lo + hi) / 2;
  for (let iter = 0; iter < 200; iter++) {
    let psi = 0;
    let dpsi = 0;
    let phi = 0;
    let dphi = 0;
    for (let i = 0; i < k; i++) {
      const denom = d[i]! - d0 - tau;
      const t = w[i]! / denom;
      if (i <= j) {
        psi += t;
        dpsi += t / denom;
      } else {
        phi += t;
        dphi += t / denom;
      }
    }
    psi *= rho;
    dpsi *= rho;
    phi *= rho;
    dphi *= rho;
    const f = 1 + psi + phi;
    if (Math.abs(f) <= 8 * k * EPS * (1 + Math.abs(psi) + Math.abs(phi))) break;
    if (f < 0) lo = tau;
    else hi = tau;
    // Interpolate ψ by a + b/(dⱼ − x) and φ by c + s/(dⱼ₊₁ − x), matching value
    // and slope at τ, and step to the root of 1 + a + c + b/(dⱼ − x) + s/(dⱼ₊₁ − x).
    const delta1 = dj - tau;
    const b = dpsi * delta1 * delta1;
    const a = psi - b / delta1;
    let next: number;
    if (last) {
      // 1 + a + b/(delta1 − η) = 0.
      next = 1 + a > 0 ? tau + delta1 + b / (1 + a) : Number.NaN;
    } else {
      const delta2 = dj1 - tau;
      const sPole = dphi * delta2 * delta2;
      const c = phi - sPole / delta2;
      const A = 1 + a + c;
      const B = A * (delta1 + delta2) + b + sPole;
      const C = delta1 * delta2 * f;
      // A·η² − B·η + C = 0, the root that keeps τ + η inside (lo, hi).
      const disc = Math.sqrt(Math.max(B * B - 4 * A * C, 0));
      const qq = B >= 0 ? (B + disc) / 2 : (B - disc) / 2;
      const eta1 = qq === 0 ? Number.NaN : C / qq;
      const eta2 = A === 0 ? Number.NaN : qq / A;
      next = tau + eta1 > lo && tau + eta1 < hi ? tau + eta1 : tau + eta2;
    }
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (next === tau || hi - lo <= 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) {
      tau = next;
      break;
    }
    tau = next;
  }
  origin[j] = org;
  shift[j] = tau;
}
