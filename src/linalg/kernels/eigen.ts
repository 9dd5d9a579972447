/**
 * Symmetric eigenproblem: Householder tridiagonalisation and implicit QL.
 *
 * 1. Tridiagonalise: A = Q·T·Qᵀ with Q = H₀·H₁⋯H_{n−3}, each Hₖ = I − τₖ·vₖ·vₖᵀ a
 *    reflector that zeroes row k of the trailing block beyond its first
 *    off-diagonal entry. With p = τ·A₂₂·v and w = p − (τ/2)(pᵀv)·v the trailing
 *    block becomes H·A₂₂·H = A₂₂ − v·wᵀ − w·vᵀ. Only the upper triangle is kept,
 *    row by row, so each row is read once for the product A₂₂·v (as a dot and
 *    an axpy at the same time) and once for the rank-2 update.
 * 2. Diagonalise T = Z·Λ·Zᵀ by the implicit QL algorithm with Wilkinson-like
 *    shifts (EISPACK tql2): each sweep is a chain of plane rotations, and
 *    accumulating them onto Q gives the eigenvectors V = Q·Z of A.
 *
 * The rotations of step 2 act on pairs of columns of V; we keep Vᵀ row-major so
 * that they act on pairs of contiguous rows instead.
 */

const EPS = 2 ** -52;

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
  for (let k = 0; k + 2 < n; k++) {
    const rk = aOffset + k * lda;
    const m = n - k - 1; // size of the trailing block A[k+1:, k+1:]
    // Householder vector for x = A[k, k+1:]: (I − τvvᵀ)x = β·e₁, v₀ = 1.
    const alpha = a[rk + k + 1]!;
    let xnorm2 = 0;
    for (let j = k + 2; j < n; j++) xnorm2 += a[rk + j]! * a[rk + j]!;
    d[k] = a[rk + k]!;
    if (xnorm2 === 0) {
      tau[k] = 0;
      e[k] = alpha;
      continue;
    }
    const beta = -Math.sign(alpha || 1) * Math.sqrt(alpha * alpha + xnorm2);
    const t = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    for (let j = k + 2; j < n; j++) a[rk + j] = a[rk + j]! * scale;
    a[rk + k + 1] = 1;
    tau[k] = t;
    e[k] = beta;
    // p = τ·A₂₂·v from the upper triangle: row i contributes A[i, i:]·v[i:] to pᵢ
    // and A[i, j]·vᵢ to pⱼ (j > i).
    const v = rk + k + 1; // v[j − k − 1] = a[v + j − k − 1]
    const p = work;
    p.fill(0, 0, m);
    for (let i = 0; i < m; i++) {
      const ri = aOffset + (k + 1 + i) * lda + k + 1;
      const vi = a[v + i]!;
      let s = a[ri + i]! * vi;
      for (let j = i + 1; j < m; j++) {
        const aij = a[ri + j]!;
        s += aij * a[v + j]!;
        p[j] = p[j]! + aij * vi;
      }
      p[i] = p[i]! + s;
    }
    // w = p − (τ/2)(pᵀv)·v, both scaled by τ.
    let pv = 0;
    for (let i = 0; i < m; i++) {
      p[i] = t * p[i]!;
      pv += p[i]! * a[v + i]!;
    }
    const half = 0.5 * t * pv;
    for (let i = 0; i < m; i++) p[i] = p[i]! - half * a[v + i]!;
    // A₂₂ ← A₂₂ − v·wᵀ − w·vᵀ on the upper triangle.
    for (let i = 0; i < m; i++) {
      const ri = aOffset + (k + 1 + i) * lda + k + 1;
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
 * Qᵀ = H_{n−3}⋯H₁·H₀ from the reflectors left in a by `tridiagonalize`, written
 * row-major into q (n × n, row stride ldq). Built as I·H_{n−3}, then ·H_{n−4}, …:
 * Hₖ acts on columns k+1.. and, at that point, only rows k+1.. are not yet
 * identity rows, so each step is X₂₂ ← X₂₂ − τ·(X₂₂·v)·vᵀ on the trailing block.
 */
export function tridiagonalQt(
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
  for (let k = n - 3; k >= 0; k--) {
    const t = tau[k]!;
    if (t === 0) continue;
    const v = aOffset + k * lda + k + 1; // v₀ = 1 is stored there
    const m = n - k - 1;
    for (let i = 0; i < m; i++) {
      const qi = qOffset + (k + 1 + i) * ldq + k + 1;
      let s = 0;
      for (let j = 0; j < m; j++) s += q[qi + j]! * a[v + j]!;
      s *= t;
      for (let j = 0; j < m; j++) q[qi + j] = q[qi + j]! - s * a[v + j]!;
    }
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
 * ascending order and returns −1. If z is given, its first n rows (each of
 * length zCols, row stride ldz) are rotated along: starting from Qᵀ they end as
 * the eigenvectors of Q·T·Qᵀ, row i belonging to d[i]. Returns the index of an
 * eigenvalue that failed to converge in 30 iterations per eigenvalue, if any.
 */
export function tql2(
  n: number,
  d: Float64Array,
  e: Float64Array,
  z: Float64Array | null,
  zOffset: number,
  ldz: number,
  zCols: number,
): number {
  if (n === 0) return -1;
  e[n - 1] = 0;
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
          if (z !== null) rotateRows(z, zOffset + i * ldz, zOffset + (i + 1) * ldz, zCols, c, s);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  sortAscending(n, d, z, zOffset, ldz, zCols);
  return -1;
}

/** (xᵢ, xᵢ₊₁) ← (c·xᵢ − s·xᵢ₊₁, s·xᵢ + c·xᵢ₊₁) on two rows of length len. */
function rotateRows(z: Float64Array, ri: number, rj: number, len: number, c: number, s: number): void {
  for (let k = 0; k < len; k++) {
    const zi = z[ri + k]!;
    const zj = z[rj + k]!;
    z[rj + k] = s * zi + c * zj;
    z[ri + k] = c * zi - s * zj;
  }
}

/** Selection sort of d with the matching rows of z (n swaps at most). */
function sortAscending(
  n: number,
  d: Float64Array,
  z: Float64Array | null,
  zOffset: number,
  ldz: number,
  zCols: number,
): void {
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    for (let j = i + 1; j < n; j++) if (d[j]! < d[k]!) k = j;
    if (k === i) continue;
    const t = d[i]!;
    d[i] = d[k]!;
    d[k] = t;
    if (z !== null) {
      const ri = zOffset + i * ldz;
      const rk = zOffset + k * ldz;
      for (let c = 0; c < zCols; c++) {
        const v = z[ri + c]!;
        z[ri + c] = z[rk + c]!;
        z[rk + c] = v;
      }
    }
  }
}
